// partition_log: log compaction (Kafka's LogCleaner / LogCleanerManager). Rules: log_cleaner.h.
#include "protocol/compression.h"
#include "protocol/crc32c.h"
#include "protocol/end_txn_marker.h"
#include "protocol/record_batch.h"
#include "protocol/record_batch_header.h"
#include "storage/file.h"
#include "storage/log.h"
#include "storage/log_cleaner.h"
#include "storage/partition_log.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_set>

namespace runnel::storage {

namespace bl = protocol::batch_layout;
namespace fs = std::filesystem;

namespace {

constexpr int64_t max_relative_offset = std::numeric_limits<int32_t>::max();

void put_uvarint(std::vector<uint8_t>& out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<uint8_t>(v | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<uint8_t>(v));
}
void put_varint(std::vector<uint8_t>& out, int64_t v) {
    put_uvarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
void put_bytes(std::vector<uint8_t>& out, const std::optional<std::span<const uint8_t>>& b) {
    if (!b) {
        put_varint(out, -1);
        return;
    }
    put_varint(out, static_cast<int64_t>(b->size()));
    out.insert(out.end(), b->begin(), b->end());
}

// A record kept by the cleaner, copied out of the batch.
struct kept_record {
    int64_t offset = 0;
    int64_t timestamp = -1;
    std::string key;
    std::optional<std::string> value;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

std::span<const uint8_t> as_span(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string as_string(std::span<const uint8_t> s) {
    return {reinterpret_cast<const char*>(s.data()), s.size()};
}

// Writes the header fields of a rewritten batch (base offset, leader epoch, producer fields and
// last_offset_delta copied from `orig`), then the records section, then the CRC.
std::vector<uint8_t> rewrite_batch(const uint8_t* orig, int16_t attributes, int64_t base_timestamp,
                                   int64_t max_timestamp, int32_t records_count,
                                   std::span<const uint8_t> records_section) {
    std::vector<uint8_t> b(bl::header_size + records_section.size());
    std::memcpy(b.data(), orig, bl::header_size);
    if (!records_section.empty())
        std::memcpy(b.data() + bl::header_size, records_section.data(), records_section.size());
    uint8_t* p = b.data();
    bl::store_i32(p + bl::batch_length, static_cast<int32_t>(b.size() - bl::log_overhead));
    bl::store_i16(p + bl::attributes, attributes);
    bl::store_i64(p + bl::base_timestamp, base_timestamp);
    bl::store_i64(p + bl::max_timestamp, max_timestamp);
    bl::store_i32(p + bl::records_count, records_count);
    bl::store_i32(p + bl::crc, static_cast<int32_t>(protocol::crc32c(p + bl::attributes,
                                                                     b.size() - bl::attributes)));
    return b;
}

// Which transactional batches belong to aborted transactions, as the batches of a range are
// visited in offset order (Kafka's CleanedTransactionMetadata): an aborted transaction (from the
// .txnindex) begins at its first offset and ends at the producer's abort marker.
class aborted_batches {
  public:
    explicit aborted_batches(std::vector<aborted_txn> aborted) : by_first_(std::move(aborted)) {
        std::sort(by_first_.begin(), by_first_.end(),
                  [](const aborted_txn& a, const aborted_txn& b) {
                      return a.first_offset < b.first_offset;
                  });
    }
    // A data batch: is it in an aborted transaction?
    bool aborted(const batch_header& h) {
        reach(h.last_offset());
        return (h.attributes & bl::transactional_bit) && open_.contains(h.producer_id);
    }
    // A transaction marker: an abort ends the producer's aborted transaction.
    void marker(const batch_header& h, bool abort) {
        reach(h.last_offset());
        if (abort) open_.erase(h.producer_id);
    }

  private:
    void reach(int64_t offset) {
        while (next_ < by_first_.size() && by_first_[next_].first_offset <= offset)
            open_.insert(by_first_[next_++].producer_id);
    }
    std::vector<aborted_txn> by_first_;
    size_t next_ = 0;
    std::unordered_set<int64_t> open_;  // producers inside an aborted transaction here
};

}  // namespace

int64_t partition_log::first_uncleanable_offset(const cleaning_options& o, int64_t now) const {
    int64_t first = segments_.back().base_offset();
    // Undecided data is not cleaned (Kafka bounds the cleaner by the first unstable offset too):
    // stop at the start of the segment holding the earliest open transaction.
    if (auto unstable = producers_.first_unstable_offset())
        first = std::min(first, segments_[segment_for(*unstable)].base_offset());
    if (o.min_compaction_lag_ms > 0) {
        for (size_t i = 0; i + 1 < segments_.size(); ++i) {
            auto largest = segments_[i].largest_timestamp();
            if (!largest || now - *largest < o.min_compaction_lag_ms) {
                first = std::min(first, segments_[i].base_offset());
                break;
            }
        }
    }
    return first;
}

double partition_log::dirty_ratio(const cleaning_options& o, int64_t now) const {
    if (closed_) return 0;
    int64_t end = first_uncleanable_offset(o, now);
    int64_t first_dirty = std::clamp(cleaner_offset_, log_start_offset_, end);
    int64_t clean = 0, dirty = 0;
    for (size_t i = 0; i + 1 < segments_.size(); ++i) {
        const auto& s = segments_[i];
        if (s.base_offset() >= end) break;
        if (i + 1 < segments_.size() && segments_[i + 1].base_offset() <= first_dirty)
            clean += s.size();
        else
            dirty += s.size();
    }
    return clean + dirty == 0 ? 0.0
                              : static_cast<double>(dirty) / static_cast<double>(clean + dirty);
}

std::error_code partition_log::start_cleaning_pass(const cleaning_options& o, int64_t now,
                                                   cleaning_result& r) {
    int64_t end = first_uncleanable_offset(o, now);
    if (cleaner_offset_ > next_offset_ || cleaner_offset_ < log_start_offset_)
        cleaner_offset_ = log_start_offset_;
    int64_t first_dirty = std::min(cleaner_offset_, end);
    // cleaner_offset_ normally sits on a segment boundary; if not, its segment counts as dirty.
    size_t dirty_idx = segment_for(first_dirty);
    int64_t clean_bytes = 0, dirty_bytes = 0;
    size_t end_idx = 0;  // first segment at or past `end`
    for (size_t i = 0; i + 1 < segments_.size() && segments_[i].base_offset() < end; ++i) {
        if (i < dirty_idx)
            clean_bytes += segments_[i].size();
        else
            dirty_bytes += segments_[i].size();
        end_idx = i + 1;
    }
    if (end_idx == 0) return {};  // nothing cleanable
    double ratio =
        clean_bytes + dirty_bytes == 0
            ? 0.0
            : static_cast<double>(dirty_bytes) / static_cast<double>(clean_bytes + dirty_bytes);
    bool forced = dirty_bytes > 0 && dirty_idx < end_idx &&
                  o.max_compaction_lag_ms < std::numeric_limits<int64_t>::max() &&
                  now - segments_[dirty_idx].first_append_ms() > o.max_compaction_lag_ms;
    bool horizon_due = min_delete_horizon_ >= 0 && min_delete_horizon_ <= now;
    bool due = (dirty_bytes > 0 && ratio >= o.min_cleanable_dirty_ratio) || forced || horizon_due;
    if (!due) return {};

    auto pass = std::make_unique<cleaner_pass>(o.key_map_bytes, o.key_map_load_factor);
    pass->end_offset = segments_[end_idx].base_offset();
    pass->next_base = segments_.front().base_offset();
    pass->delete_retention_ms = std::max<int64_t>(0, o.delete_retention_ms);
    std::vector<uint8_t> batch, scratch;
    int64_t map_full_at = -1;  // first offset whose key did not fit
    // Aborted records stay out of the map, as in Kafka's buildOffsetMap: an aborted write must not
    // make the cleaner drop the committed value it would have replaced.
    auto aborted_list = collect_aborted(first_dirty, pass->end_offset);
    if (!aborted_list) return aborted_list.error();
    aborted_batches aborted(std::move(*aborted_list));
    for (size_t i = dirty_idx; i < end_idx && map_full_at < 0; ++i) {
        const auto& seg = segments_[i];
        int64_t pos = 0;
        if (i == dirty_idx) {
            // A pass that stopped at a full map left first_dirty inside this segment.
            auto start = seg.find_position(first_dirty);
            if (!start) return start.error();
            pos = *start ? (*start)->position : seg.size();
        }
        while (pos < seg.size() && map_full_at < 0) {
            auto h = seg.read_header(pos);
            if (!h) return h.error();
            pos += h->total_size();
            batch.resize(static_cast<size_t>(h->total_size()));
            if (h->attributes & bl::control_bit) {
                if (h->producer_id < 0) continue;
                if (auto ec = seg.read_bytes(h->position, batch.size(), batch.data())) return ec;
                auto marker = protocol::parse_end_txn_marker(batch);
                aborted.marker(*h, marker && marker->result == protocol::txn_result::abort);
                continue;
            }
            if (aborted.aborted(*h)) continue;
            if (auto ec = seg.read_bytes(h->position, batch.size(), batch.data())) return ec;
            bool ok = protocol::for_each_record(
                batch,
                [&](const protocol::record& rec) {
                    // Records below first_dirty were mapped by the pass that ended there.
                    if (!rec.key || rec.offset < first_dirty) return true;
                    if (pass->offset_map.put(*rec.key, rec.offset)) return true;
                    map_full_at = rec.offset;
                    return false;
                },
                &scratch);
            if (!ok && map_full_at < 0) return errc::corrupt_segment;
        }
    }
    if (map_full_at >= 0) {
        // Kafka's buildOffsetMap does the same: clean as far as the map reaches, then go on.
        pass->end_offset = map_full_at;
        r.key_map_full = true;
    }
    storage_log().info(
        "{}: cleaning offsets [{}, {}) (dirty ratio {:.3f}{}{}), {} keys in the dirty part{}",
        dir_.string(), log_start_offset_, pass->end_offset, ratio, forced ? ", max lag" : "",
        horizon_due ? ", tombstones due" : "", pass->offset_map.size(),
        map_full_at >= 0 ? " (key map full: the next pass goes on from there)" : "");
    pass_ = std::move(pass);
    min_delete_horizon_ = -1;
    r.started_pass = true;
    return {};
}

result<cleaning_result> partition_log::clean(const cleaning_options& o, int64_t now) {
    if (closed_) return make_error_code(errc::log_closed);
    cleaning_result r;
    if (!pass_) {
        if (auto ec = start_cleaning_pass(o, now, r)) return ec;
        if (!pass_) return r;
    }
    r.pass_done = false;
    // The next group: adjacent closed segments from the first one at or past next_base.
    size_t first = 0;
    while (first < segments_.size() && segments_[first].base_offset() < pass_->next_base) ++first;
    if (first + 1 >= segments_.size() || segments_[first].base_offset() >= pass_->end_offset) {
        cleaner_offset_ = std::max(cleaner_offset_, pass_->end_offset);
        min_delete_horizon_ = pass_->min_horizon;
        pass_.reset();
        r.pass_done = true;
        return r;
    }
    const int64_t max_bytes = o.max_segment_bytes > 0 ? o.max_segment_bytes : config_.segment_bytes;
    size_t last = first;
    int64_t total = segments_[first].size();
    while (last + 2 < segments_.size() && segments_[last + 1].base_offset() < pass_->end_offset &&
           total + segments_[last + 1].size() <= max_bytes &&
           segments_[last + 2].base_offset() - 1 - segments_[first].base_offset() <=
               max_relative_offset) {
        ++last;
        total += segments_[last].size();
    }
    pass_->next_base = segments_[last + 1].base_offset();
    if (auto ec = clean_group(first, last, now, r)) {
        pass_.reset();  // the next call starts over
        return ec;
    }
    r.cleaned_group = true;
    return r;
}

std::error_code partition_log::clean_group(size_t first, size_t last, int64_t now,
                                           cleaning_result& r) {
    auto& pass = *pass_;
    const int64_t base = segments_[first].base_offset();
    std::vector<uint8_t> out, batch, scratch, records;
    std::vector<kept_record> kept;
    // The group is written to <base>.log.cleaned as it is produced, in chunks of ~1 MiB.
    const auto log_name = segment_file_name(base, log_suffix);
    const auto cleaned_path = dir_ / (log_name + std::string(cleaned_suffix));
    const auto swap_path = dir_ / (log_name + std::string(swap_suffix));
    auto cleaned = file::open(cleaned_path, O_RDWR | O_CREAT | O_TRUNC);
    if (!cleaned) return cleaned.error();
    int64_t written = 0;
    auto write_out = [&]() -> std::error_code {
        if (out.empty()) return {};
        if (auto ec = cleaned->write_at(out.data(), out.size(), written)) return ec;
        written += static_cast<int64_t>(out.size());
        out.clear();
        return {};
    };
    for (size_t i = first; i <= last; ++i) {
        const auto& seg = segments_[i];
        r.group.push_back(seg.base_offset());
        r.bytes_before += seg.size();
        for (int64_t pos = 0; pos < seg.size();) {
            if (out.size() >= (size_t{1} << 20)) {
                if (auto ec = write_out()) return ec;
            }
            auto h = seg.read_header(pos);
            if (!h) return h.error();
            pos += h->total_size();
            batch.resize(static_cast<size_t>(h->total_size()));
            if (auto ec = seg.read_bytes(h->position, batch.size(), batch.data())) return ec;
            auto full = protocol::parse_batch_header(batch);
            if (!full) return errc::corrupt_segment;
            if (full->is_control()) {
                out.insert(out.end(), batch.begin(), batch.end());
                continue;
            }
            const bool has_horizon = (full->attributes & delete_horizon_bit) != 0;
            const int64_t horizon = has_horizon ? full->base_timestamp : -1;
            kept.clear();
            int32_t seen = 0;
            bool kept_tombstone = false;
            bool ok = protocol::for_each_record(
                batch,
                [&](const protocol::record& rec) {
                    ++seen;
                    if (!rec.key) return true;  // compacted logs have no keyless records
                    if (pass.offset_map.get(*rec.key) > rec.offset) return true;
                    if (!rec.value) {
                        if (has_horizon && now >= horizon) return true;  // tombstone expired
                        kept_tombstone = true;
                    }
                    kept_record k;
                    k.offset = rec.offset;
                    k.timestamp = rec.timestamp;
                    k.key = as_string(*rec.key);
                    if (rec.value) k.value = as_string(*rec.value);
                    for (const auto& hd : rec.headers) {
                        std::optional<std::string> v;
                        if (hd.value) v = as_string(*hd.value);
                        k.headers.emplace_back(std::string(hd.key), std::move(v));
                    }
                    kept.push_back(std::move(k));
                    return true;
                },
                &scratch);
            if (!ok) return errc::corrupt_segment;
            r.records_removed += seen - static_cast<int32_t>(kept.size());

            const bool set_horizon = kept_tombstone && !has_horizon;
            int64_t horizon_out = has_horizon ? horizon : -1;
            if (set_horizon) horizon_out = now + pass.delete_retention_ms;
            if (kept_tombstone && horizon_out >= 0 &&
                (pass.min_horizon < 0 || horizon_out < pass.min_horizon))
                pass.min_horizon = horizon_out;

            if (static_cast<int32_t>(kept.size()) == seen && !set_horizon) {
                out.insert(out.end(), batch.begin(), batch.end());  // untouched
                continue;
            }
            if (kept.empty()) {
                if (full->producer_id >= 0) {
                    // Keep the producer's sequence state: an empty batch with the same offsets.
                    auto attrs = static_cast<int16_t>(full->attributes & ~bl::compression_mask &
                                                      ~delete_horizon_bit);
                    auto b = rewrite_batch(batch.data(), attrs, full->base_timestamp,
                                           full->max_timestamp, 0, {});
                    out.insert(out.end(), b.begin(), b.end());
                }
                continue;
            }
            int16_t attrs = full->attributes;
            int64_t base_ts = full->base_timestamp;
            if (horizon_out >= 0 && kept_tombstone) {
                attrs = static_cast<int16_t>(attrs | delete_horizon_bit);
                base_ts = horizon_out;
            } else {
                attrs = static_cast<int16_t>(attrs & ~delete_horizon_bit);
                if (has_horizon) {
                    base_ts = kept.front().timestamp;
                    for (const auto& k : kept) base_ts = std::min(base_ts, k.timestamp);
                }
            }
            int64_t max_ts = full->max_timestamp;
            if (!full->log_append_time()) {
                max_ts = -1;
                for (const auto& k : kept) max_ts = std::max(max_ts, k.timestamp);
            }
            records.clear();
            std::vector<uint8_t> body;
            for (const auto& k : kept) {
                body.clear();
                body.push_back(0);  // record attributes
                put_varint(body, k.timestamp - base_ts);
                put_varint(body, k.offset - full->base_offset);
                put_bytes(body, as_span(k.key));
                std::optional<std::span<const uint8_t>> value;
                if (k.value) value = as_span(*k.value);
                put_bytes(body, value);
                put_varint(body, static_cast<int64_t>(k.headers.size()));
                for (const auto& [hk, hv] : k.headers) {
                    put_bytes(body, as_span(hk));
                    std::optional<std::span<const uint8_t>> hval;
                    if (hv) hval = as_span(*hv);
                    put_bytes(body, hval);
                }
                put_varint(records, static_cast<int64_t>(body.size()));
                records.insert(records.end(), body.begin(), body.end());
            }
            auto section = protocol::compress(full->codec(), records);
            auto b = rewrite_batch(batch.data(), attrs, base_ts, max_ts,
                                   static_cast<int32_t>(kept.size()), section);
            out.insert(out.end(), b.begin(), b.end());
        }
    }
    if (auto ec = write_out()) return ec;
    r.bytes_after = written;
    if (auto ec = cleaned->datasync()) return ec;
    if (auto ec = cleaned->close()) return ec;

    // .cleaned, then .swap, then the old segments go and the swap becomes the segment.
    std::error_code ec;
    fs::rename(cleaned_path, swap_path, ec);
    if (ec) {
        storage_log().error("rename {}: {}", cleaned_path.string(), ec.message());
        return errc::io_error;
    }
    if (auto sync_ec = sync_directory(dir_)) return sync_ec;
    // The cleaned segment keeps every aborted transaction of the group (control batches all stay,
    // so none of them is stale): the first segment's .txnindex, which has the group's base
    // offset, takes the others' entries, made durable before their files go.
    auto& merged = segments_[first].txn_index();
    bool created = false;
    for (size_t i = first + 1; i <= last; ++i) {
        if (auto merge_ec = merged.merge_from(segments_[i].txn_index(), &created)) return merge_ec;
    }
    if (auto flush_ec = merged.flush()) return flush_ec;
    if (created) {
        if (auto sync_ec = sync_directory(dir_)) return sync_ec;
    }
    for (size_t i = first; i <= last; ++i) {
        if (auto rm_ec = segments_[i].remove(i == first)) return rm_ec;
    }
    segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(first),
                    segments_.begin() + static_cast<std::ptrdiff_t>(last) + 1);
    fs::rename(swap_path, dir_ / log_name, ec);
    if (ec) {
        storage_log().error("rename {}: {}", swap_path.string(), ec.message());
        return errc::io_error;
    }
    if (auto sync_ec = sync_directory(dir_)) return sync_ec;
    auto seg = segment::open(dir_, base, options(), now);
    if (!seg) return seg.error();
    auto dropped = seg->recover();  // rebuilds both indexes
    if (!dropped) return dropped.error();
    if (auto seal_ec = seg->seal()) return seal_ec;
    if (auto flush_ec = seg->flush()) return flush_ec;
    segments_.insert(segments_.begin() + static_cast<std::ptrdiff_t>(first), std::move(*seg));
    storage_log().info("{}: cleaned {} segment(s) from {}: {} -> {} bytes, {} records removed",
                       dir_.string(), r.group.size(), base, r.bytes_before, r.bytes_after,
                       r.records_removed);
    return {};
}

std::error_code recover_interrupted_swaps(const fs::path& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) return {};
    std::vector<fs::path> cleaned, swaps;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        auto name = it->path().filename().string();
        if (name.ends_with(cleaned_suffix)) cleaned.push_back(it->path());
        if (name.ends_with(swap_suffix)) swaps.push_back(it->path());
    }
    if (ec) {
        storage_log().error("list directory {}: {}", dir.string(), ec.message());
        return errc::io_error;
    }
    for (const auto& p : cleaned) {
        storage_log().info("{}: deleting unfinished cleaner output {}", dir.string(), p.string());
        fs::remove(p, ec);
    }
    for (const auto& p : swaps) {
        auto log_name = p.filename().string();
        log_name.resize(log_name.size() - swap_suffix.size());
        auto base = parse_segment_file_name(log_name, log_suffix);
        if (!base) continue;
        // The swap's offset range: walk its batch headers.
        auto f = file::open(p, O_RDONLY);
        if (!f) return f.error();
        auto size = f->size();
        if (!size) return size.error();
        int64_t end_offset = *base;
        uint8_t hdr[bl::header_size];
        for (int64_t pos = 0; pos + static_cast<int64_t>(bl::header_size) <= *size;) {
            auto got = f->read_at(hdr, sizeof hdr, pos);
            if (!got) return got.error();
            auto h = parse_batch_header(hdr, pos);
            if (!h || *got < sizeof hdr) break;
            end_offset = h->next_offset();
            pos += h->total_size();
        }
        (void)f->close();
        // Every segment whose base offset lies in the swap's range was being replaced.
        std::vector<int64_t> old;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            auto b = parse_segment_file_name(it->path().filename().string(), log_suffix);
            if (b && (*b == *base || (*b > *base && *b < end_offset))) old.push_back(*b);
        }
        // As clean_group does: the replaced segments' aborted transactions move into the
        // .txnindex at the swap's base offset before their files go.
        std::sort(old.begin(), old.end());
        bool created = false;
        auto merged =
            transaction_index::open(dir / segment_file_name(*base, txn_index_suffix), *base);
        if (!merged) return merged.error();
        for (int64_t b : old) {
            if (b == *base) continue;
            auto other = transaction_index::open(dir / segment_file_name(b, txn_index_suffix), b);
            if (!other) return other.error();
            if (auto merge_ec = merged->merge_from(*other, &created)) return merge_ec;
        }
        if (auto flush_ec = merged->flush()) return flush_ec;
        if (created) {
            if (auto sync_ec = sync_directory(dir)) return sync_ec;
        }
        (void)merged->close();
        for (int64_t b : old) {
            for (auto suffix : {log_suffix, index_suffix, time_index_suffix})
                fs::remove(dir / segment_file_name(b, suffix), ec);
            if (b != *base) fs::remove(dir / segment_file_name(b, txn_index_suffix), ec);
        }
        fs::remove(dir / segment_file_name(*base, index_suffix), ec);
        fs::remove(dir / segment_file_name(*base, time_index_suffix), ec);
        fs::rename(p, dir / log_name, ec);
        if (ec) {
            storage_log().error("rename {}: {}", p.string(), ec.message());
            return errc::io_error;
        }
        storage_log().warn(
            "{}: finished an interrupted cleaner swap of segment {} ({} old "
            "segment(s) replaced)",
            dir.string(), *base, old.size());
    }
    if (!cleaned.empty() || !swaps.empty()) return sync_directory(dir);
    return {};
}

}  // namespace runnel::storage
