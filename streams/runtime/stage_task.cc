#include "streams/runtime/stage_task.h"

#include "streams/records/decode.h"
#include "streams/records/json_text.h"

#include <charconv>

namespace runnel::streams {

namespace {

// A stable hash of a key's text (FNV-1a): the partition of the next stage's topic it goes to.
// Both ends are ours, so it only has to be the same on every node and across restarts.
uint64_t stable_hash(std::string_view s) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

std::optional<std::string> key_bytes(const json& key) {
    if (key.is_null()) return std::nullopt;
    return to_text(key);
}

const std::string* find_header(const header_list& headers, std::string_view name) {
    for (const auto& [k, v] : headers) {
        if (k == name) return &v;
    }
    return nullptr;
}

}  // namespace

stage_task::stage_task(const pipeline_spec& spec, const stage_plan& stage, int32_t task_index,
                       int32_t upstream_tasks, int32_t downstream_partitions, state_store& store)
    : spec_(spec),
      stage_(stage),
      task_index_(task_index),
      downstream_partitions_(stage.next_is_single_partition ? 1 : downstream_partitions),
      source_watermark_(spec.max_out_of_order),
      upstream_(stage.reads_sources ? 0 : upstream_tasks) {
    if (stage.reads_sources || stage.first_step >= spec.steps.size()) return;
    const auto& first = spec.steps[stage.first_step];
    if (const auto* a = std::get_if<aggregate_step>(&first)) {
        aggregation_ = make_windowed_aggregation(*a, store);
    } else if (const auto* t = std::get_if<top_step>(&first)) {
        const auto& before = std::get<aggregate_step>(spec.steps[stage.first_step - 1]);
        top_ = std::make_unique<top_by_window>(*t, *before.window, store);
    } else if (const auto* d = std::get_if<dedupe_step>(&first)) {
        dedupe_ = std::make_unique<deduper>(*d, store);
    }
}

std::string stage_task::progress() const {
    if (stage_.reads_sources) return "s" + std::to_string(source_watermark_.max_seen());
    return "u" + upstream_.encode();
}

void stage_task::restore_progress(std::string_view saved) {
    if (saved.empty()) return;
    if (saved[0] == 's' && stage_.reads_sources) {
        int64_t max_seen = no_watermark;
        auto [end, ec] = std::from_chars(saved.data() + 1, saved.data() + saved.size(), max_seen);
        if (ec == std::errc{} && end == saved.data() + saved.size()) {
            source_watermark_.observe(max_seen);
        }
    } else if (saved[0] == 'u' && !stage_.reads_sources) {
        upstream_.decode(saved.substr(1));
    }
}

int64_t stage_task::watermark() const {
    return stage_.reads_sources ? source_watermark_.current() : upstream_.current();
}

void stage_task::process(const input_record& in, int64_t wall_ms,
                         std::vector<produced_record>& out) {
    if (!stage_.reads_sources) {
        if (const auto* marker = find_header(in.headers, watermark_header)) {
            // "<task>:<watermark>:<idle>"
            int32_t task = -1;
            int64_t wm = 0;
            int idle = 0;
            const char* p = marker->data();
            const char* end = p + marker->size();
            auto r1 = std::from_chars(p, end, task);
            if (r1.ec != std::errc{} || r1.ptr == end || *r1.ptr != ':') return;
            auto r2 = std::from_chars(r1.ptr + 1, end, wm);
            if (r2.ec != std::errc{} || r2.ptr == end || *r2.ptr != ':') return;
            std::from_chars(r2.ptr + 1, end, idle);
            if (upstream_.update(task, wm, idle != 0)) close_windows(out);
            return;
        }
        ++counters_.records_in;
        stream_record r;
        if (!in.value || !parse_pair(*in.value, r.key, r.value)) {
            dead_letter_bytes(in, "not a record of this pipeline's internal topic", out);
            return;
        }
        r.timestamp = in.timestamp;
        r.headers = in.headers;
        std::vector<stream_record> next;
        stateful_step(std::move(r), next);
        run_steps(std::move(next), stage_.first_step + 1, out);
        return;
    }

    ++counters_.records_in;
    last_input_wall_ = wall_ms;
    stream_record r;
    if (in.key) r.key = *in.key;
    if (in.value) {
        if (auto problem = decode_value(spec_.source_format, *in.value, r.value)) {
            dead_letter_bytes(in, *problem, out);
            return;
        }
    }
    r.timestamp = in.timestamp;
    r.headers = in.headers;
    if (spec_.event_time_field) {
        json scratch;
        const json* field = spec_.event_time_field->find(r, scratch);
        auto t = field ? event_time_of(*field) : std::nullopt;
        if (!t) {
            dead_letter_bytes(in,
                              "event time field '" + spec_.event_time_field->text() +
                                  "' is missing or not a time (milliseconds or ISO-8601)",
                              out);
            return;
        }
        r.timestamp = *t;
    }
    // Far outside any calendar: window and watermark arithmetic would overflow on them.
    constexpr int64_t time_bound = int64_t{1} << 52;
    if (r.timestamp < -time_bound || r.timestamp > time_bound) {
        dead_letter_bytes(in, "event time " + std::to_string(r.timestamp) + " is out of range",
                          out);
        return;
    }
    source_watermark_.observe(r.timestamp);
    std::vector<stream_record> records;
    records.push_back(std::move(r));
    run_steps(std::move(records), stage_.first_step, out);
}

void stage_task::stateful_step(stream_record r, std::vector<stream_record>& next) {
    const bool on_update = spec_.emit == emit_mode::on_update;
    if (aggregation_) {
        std::vector<window_result> updates;
        if (!aggregation_->add(r, watermark(), on_update, updates)) {
            // Judged on time by the stage before (its watermark is never behind this one's),
            // so this does not happen in a pipeline's own topics; counted if it does.
            ++counters_.late;
            return;
        }
        for (auto& u : updates) next.push_back(std::move(u.record));
    } else if (top_) {
        if (!top_->add(r, watermark(), on_update, next)) ++counters_.late;
    } else if (dedupe_) {
        if (dedupe_->first_seen(r)) {
            next.push_back(std::move(r));
        } else {
            ++counters_.duplicates;
        }
    } else {
        next.push_back(std::move(r));
    }
}

void stage_task::run_steps(std::vector<stream_record> records, size_t from_step,
                           std::vector<produced_record>& out) {
    side_outputs side;
    for (size_t i = from_step; i < stage_.end_step && !records.empty(); ++i) {
        std::vector<stream_record> next;
        next.reserve(records.size());
        for (auto& r : records) run_stateless(spec_.steps[i], std::move(r), next, side);
        records = std::move(next);
    }
    for (auto& d : side.dead) dead_letter(d.record, d.reason, out);
    for (auto& routed : side.routed) {
        emit_to(routed.topic, routed.record, out);
        ++counters_.records_out;
    }
    counters_.unrouted += side.unrouted;
    for (auto& r : records) emit(std::move(r), out);
}

void stage_task::emit(stream_record r, std::vector<produced_record>& out) {
    if (!stage_.next_topic) {
        if (spec_.sink) {
            emit_to(spec_.sink->topic, r, out);
            ++counters_.records_out;
        }
        return;
    }
    if (stage_.next_window && is_late(*stage_.next_window, r.timestamp, watermark())) {
        ++counters_.late;
        if (spec_.late_topic) emit_to(*spec_.late_topic, r, out);
        return;
    }
    json scratch;
    const json* group = stage_.next_key ? stage_.next_key->find(r, scratch) : &r.key;
    std::string key = group_key_text(group ? *group : json(nullptr));
    produced_record p;
    p.topic = *stage_.next_topic;
    p.partition = static_cast<int32_t>(stable_hash(key) %
                                       static_cast<uint64_t>(std::max(downstream_partitions_, 1)));
    p.key = std::move(key);
    p.value = pair_text(r.key, r.value);
    p.timestamp = r.timestamp;
    out.push_back(std::move(p));
    ++counters_.records_out;
}

void stage_task::emit_to(const std::string& topic, const stream_record& r,
                         std::vector<produced_record>& out) {
    const bool sink = spec_.sink && topic == spec_.sink->topic;
    produced_record p;
    p.topic = topic;
    p.key = key_bytes(r.key);
    if (!r.value.is_null()) {
        p.value = encode_value(sink ? spec_.sink->format : data_format::text, r.value);
    }
    p.timestamp = r.timestamp;
    p.headers = r.headers;
    out.push_back(std::move(p));
}

void stage_task::dead_letter(const stream_record& r, const std::string& reason,
                             std::vector<produced_record>& out) {
    ++counters_.dead_lettered;
    produced_record p;
    p.topic = spec_.dead_letter_topic;
    p.key = key_bytes(r.key);
    if (!r.value.is_null()) p.value = encode_value(data_format::text, r.value);
    p.timestamp = r.timestamp;
    p.headers = r.headers;
    p.headers.emplace_back(error_header, reason);
    p.headers.emplace_back(pipeline_header, spec_.name);
    out.push_back(std::move(p));
}

void stage_task::dead_letter_bytes(const input_record& in, const std::string& reason,
                                   std::vector<produced_record>& out) {
    ++counters_.dead_lettered;
    produced_record p{spec_.dead_letter_topic, -1, in.key, in.value, in.timestamp, in.headers};
    p.headers.emplace_back(error_header, reason);
    p.headers.emplace_back(pipeline_header, spec_.name);
    out.push_back(std::move(p));
}

void stage_task::close_windows(std::vector<produced_record>& out) {
    const int64_t wm = watermark();
    const bool finals = spec_.emit == emit_mode::on_close;
    std::vector<stream_record> closed;
    if (aggregation_) {
        std::vector<window_result> results;
        aggregation_->close_until(wm, finals, results);
        for (auto& r : results) closed.push_back(std::move(r.record));
    } else if (top_) {
        top_->close_until(wm, finals, closed);
    } else if (dedupe_) {
        dedupe_->expire_until(wm);
    }
    if (!closed.empty()) run_steps(std::move(closed), stage_.first_step + 1, out);
}

void stage_task::punctuate(int64_t wall_ms, std::vector<produced_record>& out) {
    if (started_wall_ < 0) started_wall_ = wall_ms;
    if (!stage_.reads_sources) close_windows(out);
    if (!stage_.next_topic) return;
    bool idle = false;
    if (stage_.reads_sources) {
        int64_t last = std::max(last_input_wall_, started_wall_);
        idle = wall_ms - last >= spec_.idle_timeout.count();
    }
    const int64_t wm = watermark();
    if (marker_sent_ && wm == last_marker_watermark_ && idle == last_marker_idle_) return;
    marker_sent_ = true;
    last_marker_watermark_ = wm;
    last_marker_idle_ = idle;
    const std::string marker =
        std::to_string(task_index_) + ":" + std::to_string(wm) + ":" + (idle ? "1" : "0");
    for (int32_t p = 0; p < downstream_partitions_; ++p) {
        produced_record m;
        m.topic = *stage_.next_topic;
        m.partition = p;
        m.timestamp = wm > 0 ? wm : 0;
        m.headers.emplace_back(watermark_header, marker);
        out.push_back(std::move(m));
    }
}

}  // namespace runnel::streams
