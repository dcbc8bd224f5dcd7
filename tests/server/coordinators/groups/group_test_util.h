// Test harness for the group coordinator: a manual clock and timers, a real partition log for
// __consumer_offsets partition 0 (written as the broker writes it), and helpers that call the
// coordinator and capture answers.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/codec.h"
#include "protocol/record_batch.h"
#include "server/coordinators/groups/group_coordinator.h"
#include "server/coordinators/groups/group_loader.h"
#include "server/coordinators/groups/offsets_append.h"
#include "storage/partition_log.h"

namespace runnel::server::groups::test {

namespace msg = protocol::msg;
using protocol::error_code;

class manual_timers final : public group_timers {
  public:
    int64_t now = 1'700'000'000'000;

    int64_t now_ms() override { return now; }
    void schedule(const std::string& key, int64_t delay_ms, std::function<void()> fn) override {
        timers_[key] = {now + delay_ms, std::move(fn)};
    }
    void cancel(const std::string& key) override { timers_.erase(key); }
    void cancel_all() override { timers_.clear(); }
    bool has(const std::string& prefix) const {
        for (const auto& [k, t] : timers_) {
            if (k.rfind(prefix, 0) == 0) return true;
        }
        return false;
    }
    size_t size() const { return timers_.size(); }

    // Moves the clock forward, firing due timers in deadline order.
    void advance(int64_t ms) {
        const int64_t target = now + ms;
        for (;;) {
            auto next = timers_.end();
            for (auto it = timers_.begin(); it != timers_.end(); ++it) {
                if (it->second.first <= target &&
                    (next == timers_.end() || it->second.first < next->second.first)) {
                    next = it;
                }
            }
            if (next == timers_.end()) break;
            now = std::max(now, next->second.first);
            auto fn = std::move(next->second.second);
            timers_.erase(next);
            fn();
        }
        now = target;
    }

  private:
    std::map<std::string, std::pair<int64_t, std::function<void()>>> timers_;
};

class temp_dir {
  public:
    temp_dir() {
        std::string tmpl = "/tmp/runnel-groups-XXXXXX";
        if (!mkdtemp(tmpl.data())) std::abort();
        path_ = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

// A ConsumerProtocol subscription: version 0, topics, null user data.
inline std::vector<uint8_t> subscription(const std::vector<std::string>& topics) {
    protocol::writer w;
    w.write_int16(0);
    w.write_array_length(static_cast<int32_t>(topics.size()), false);
    for (const auto& t : topics) w.write_string(t, false);
    w.write_int32(-1);
    return w.flatten();
}

struct join_result {
    std::optional<join_response> r;
    bool done() const { return r.has_value(); }
    int16_t error() const { return r ? r->error_code : -999; }
};

struct sync_result {
    std::optional<sync_response> r;
    bool done() const { return r.has_value(); }
    int16_t error() const { return r ? r->error_code : -999; }
};

constexpr int32_t partition0 = 0;

class harness {
  public:
    explicit harness(coordinator_config config = defaults()) { open(config); }

    static coordinator_config defaults() {
        coordinator_config c;
        c.min_session_timeout_ms = 100;
        c.max_session_timeout_ms = 60000;
        c.initial_rebalance_delay_ms = 0;
        return c;
    }

    // A new coordinator over the same log, loaded from it (a broker restart).
    void restart(coordinator_config config = defaults()) {
        coordinator.reset();
        open(config);
    }

    std::shared_ptr<join_result> join(const std::string& group, const std::string& member,
                                      std::vector<member_protocol> protocols, int16_t version = 9,
                                      std::optional<std::string> instance = std::nullopt,
                                      int32_t session_ms = 10000, int32_t rebalance_ms = 30000) {
        join_params p;
        p.group_id = group;
        p.member_id = member;
        p.instance_id = std::move(instance);
        p.protocol_type = "consumer";
        p.protocols = std::move(protocols);
        p.session_timeout_ms = session_ms;
        p.rebalance_timeout_ms = rebalance_ms;
        p.client_id = "client";
        p.client_host = "/127.0.0.1";
        p.api_version = version;
        auto out = std::make_shared<join_result>();
        coordinator->join(partition0, std::move(p),
                          [out](join_response r) { out->r = std::move(r); });
        return out;
    }

    // KIP-394: join with no id, then rejoin with the id handed out. Returns the second join.
    std::shared_ptr<join_result> join_new(const std::string& group,
                                          std::vector<member_protocol> protocols,
                                          int32_t session_ms = 10000) {
        auto first = join(group, "", protocols, 9, std::nullopt, session_ms);
        EXPECT_EQ(first->error(), protocol::to_wire(error_code::member_id_required));
        return join(group, first->r->member_id, std::move(protocols), 9, std::nullopt, session_ms);
    }

    std::shared_ptr<sync_result> sync(const std::string& group, const std::string& member,
                                      int32_t generation,
                                      std::map<std::string, std::vector<uint8_t>> assignment = {},
                                      std::optional<std::string> instance = std::nullopt) {
        msg::sync_group_request req;
        req.group_id = group;
        req.member_id = member;
        req.generation_id = generation;
        req.group_instance_id = std::move(instance);
        for (auto& [id, a] : assignment) req.assignments.push_back({id, a, {}});
        auto out = std::make_shared<sync_result>();
        coordinator->sync(partition0, req, [out](sync_response r) { out->r = std::move(r); });
        return out;
    }

    error_code heartbeat(const std::string& group, const std::string& member, int32_t generation) {
        msg::heartbeat_request req;
        req.group_id = group;
        req.member_id = member;
        req.generation_id = generation;
        return coordinator->heartbeat(partition0, req);
    }

    msg::offset_commit_response commit(const std::string& group, const std::string& member,
                                       int32_t generation,
                                       std::vector<std::tuple<std::string, int32_t, int64_t>> offs,
                                       int16_t version = 9) {
        msg::offset_commit_request req;
        req.group_id = group;
        req.member_id = member;
        req.generation_id_or_member_epoch = generation;
        for (auto& [topic, p, o] : offs) {
            if (req.topics.empty() || req.topics.back().name != topic) {
                req.topics.emplace_back().name = topic;
            }
            req.topics.back().partitions.push_back({p, o, -1, -1, std::string("meta"), {}});
        }
        return coordinator->commit_offsets(partition0, req, version);
    }

    int64_t committed(const std::string& group, const std::string& topic, int32_t p) {
        const auto* offs = coordinator->offsets_of(partition0, group);
        if (!offs) return -1;
        auto t = offs->find(topic);
        if (t == offs->end()) return -1;
        auto it = t->second.find(p);
        return it == t->second.end() ? -1 : it->second.offset;
    }

    classic_group* group(const std::string& id) { return coordinator->find_group(partition0, id); }

    // The records appended so far, decoded.
    std::vector<group_record> records() {
        std::vector<group_record> out;
        auto read = log->read(log->log_start_offset(), 64 << 20, true);
        EXPECT_TRUE(read);
        if (!read || read->empty()) return out;
        std::span<const uint8_t> bytes(*read->bytes);
        size_t pos = 0;
        while (pos < bytes.size()) {
            auto h = protocol::parse_batch_header(bytes.subspan(pos));
            auto batch = bytes.subspan(pos, static_cast<size_t>(h->total_size()));
            pos += batch.size();
            protocol::for_each_record(
                batch,
                [&](const protocol::record& r) {
                    auto d = decode_record(r.key, r.value);
                    EXPECT_TRUE(d.problem.empty()) << d.problem;
                    if (d.record) out.push_back(*d.record);
                    return true;
                },
                nullptr);
        }
        return out;
    }

    manual_timers timers;
    temp_dir dir;
    std::unique_ptr<storage::partition_log> log;
    std::unique_ptr<group_coordinator> coordinator;
    bool fail_appends = false;

  private:
    void open(coordinator_config config) {
        if (!log) {
            auto l = storage::partition_log::open(dir.path() / "__consumer_offsets-0", {});
            EXPECT_TRUE(l) << l.error().message();
            log = std::move(*l);
        }
        timers.cancel_all();
        coordinator = std::make_unique<group_coordinator>(
            config, timers,
            [this](int32_t, std::vector<protocol::record_input> records,
                   const std::optional<txn_producer>& txn) -> storage::result<int64_t> {
                if (fail_appends) return std::make_error_code(std::errc::io_error);
                auto batch = group_records_batch(records, txn);
                auto appended =
                    log->append(batch, std::nullopt, storage::append_origin::coordinator);
                if (!appended) return appended.error();
                return appended->base_offset;
            });
        coordinator->begin_load(partition0);
        auto ec = replay_partition(*coordinator, partition0, *log);
        EXPECT_FALSE(ec) << ec.message();
        coordinator->finish_load(partition0);
    }
};

inline std::vector<member_protocol> range_protocol(const std::vector<std::string>& topics = {"t"}) {
    return {{"range", subscription(topics)}};
}

// One member, stable, subscribed to `topics`; returns its member id (generation 1).
inline std::string one_member_group(harness& h, const std::string& group,
                                    std::vector<std::string> topics = {"t"}) {
    auto j = h.join_new(group, range_protocol(topics));
    h.timers.advance(0);
    const std::string id = j->r->member_id;
    EXPECT_EQ(h.sync(group, id, 1, {{id, {1}}})->error(), 0);
    return id;
}

}  // namespace runnel::server::groups::test
