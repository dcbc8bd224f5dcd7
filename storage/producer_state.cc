#include "storage/producer_state.h"

#include "protocol/codec.h"
#include "protocol/crc32c.h"
#include "protocol/messages/producer_snapshot.h"
#include "protocol/record_batch_header.h"
#include "storage/file.h"
#include "storage/log.h"
#include "storage/segment.h"

#include <fcntl.h>

#include <algorithm>
#include <limits>

namespace runnel::storage {

namespace fs = std::filesystem;

namespace {

constexpr int16_t snapshot_version = 1;
// [int16 version][uint32 crc]: the CRC covers everything after it.
constexpr size_t snapshot_crc_end = 6;

// Sequence numbers wrap from INT32_MAX to 0 (KIP-98).
bool in_sequence(int32_t last_seq, int32_t next_seq) {
    return int64_t{next_seq} == int64_t{last_seq} + 1 ||
           (next_seq == 0 && last_seq == std::numeric_limits<int32_t>::max());
}

int32_t add_wrapping(int32_t seq, int32_t delta) {
    int64_t sum = int64_t{seq} + delta;
    if (sum > std::numeric_limits<int32_t>::max())
        sum -= int64_t{std::numeric_limits<int32_t>::max()} + 1;
    return static_cast<int32_t>(sum);
}

}  // namespace

producer_append producer_append::of(const batch_header& h) {
    producer_append a;
    a.producer_id = h.producer_id;
    a.epoch = h.producer_epoch;
    a.first_seq = h.base_sequence;
    a.last_seq = h.base_sequence < 0 ? -1 : add_wrapping(h.base_sequence, h.last_offset_delta);
    a.timestamp = h.max_timestamp;
    a.transactional = (h.attributes & protocol::batch_layout::transactional_bit) != 0;
    return a;
}

result<std::optional<producer_batch>> producer_state::check(const producer_append& a,
                                                            append_origin origin) const {
    using none = std::optional<producer_batch>;
    if (!a.idempotent()) return none();
    auto it = producers_.find(a.producer_id);
    if (origin == append_origin::coordinator) {
        // Kafka's COORDINATOR origin: no sequence to check, but a fenced (older) epoch is still
        // refused, so a zombie producer's TxnOffsetCommit cannot join the new transaction.
        if (it != producers_.end() && a.epoch < it->second.epoch)
            return make_error_code(errc::invalid_producer_epoch);
        return none();
    }
    if (it == producers_.end()) {
        // Kafka since KIP-360 accepts an unknown producer at any sequence; we keep the older,
        // stricter answer for a producer whose state expired mid-stream, which every client
        // handles by resetting its sequence (librdkafka and Java bump the epoch).
        if (a.first_seq != 0) return make_error_code(errc::unknown_producer_id);
        return none();
    }
    const producer_entry& e = it->second;
    if (a.epoch < e.epoch) return make_error_code(errc::invalid_producer_epoch);
    if (a.epoch > e.epoch) {
        // A bumped epoch restarts the sequence at 0.
        if (a.first_seq != 0 && e.epoch >= 0) return make_error_code(errc::out_of_order_sequence);
    } else {
        for (const auto& b : e.batches) {
            if (b.first_seq == a.first_seq && b.last_seq == a.last_seq) return none(b);  // a retry
        }
        if (e.batches.empty()) {
            // Only a marker of this epoch is known (it bumped the epoch): the epoch's sequences
            // start at 0, as Kafka checks against the entry's empty sequence state.
            if (e.epoch >= 0 && a.first_seq != 0)
                return make_error_code(errc::out_of_order_sequence);
        } else if (!in_sequence(e.batches.back().last_seq, a.first_seq)) {
            return make_error_code(errc::out_of_order_sequence);
        }
    }
    // Kafka's appendDataBatch: data outside the transaction while it is open is refused.
    if (e.current_txn_first_offset >= 0 && !a.transactional)
        return make_error_code(errc::invalid_txn_state);
    return none();
}

void producer_state::update(const producer_append& a, int64_t first_offset, int64_t last_offset) {
    if (!a.idempotent()) return;
    producer_entry& e = producers_[a.producer_id];
    if (a.epoch != e.epoch) {
        e.batches.clear();
        e.epoch = a.epoch;
    }
    if (a.first_seq >= 0) {
        e.batches.push_back({a.first_seq, a.last_seq, first_offset, last_offset, a.timestamp});
        while (e.batches.size() > kept_batches) e.batches.pop_front();
    }
    e.last_timestamp = std::max(e.last_timestamp, a.timestamp);
    if (a.transactional && e.current_txn_first_offset < 0) {
        e.current_txn_first_offset = first_offset;
        ongoing_[first_offset] = a.producer_id;
    }
}

std::error_code producer_state::check_marker(const marker_append& m) const {
    auto it = producers_.find(m.producer_id);
    if (it == producers_.end()) return {};
    const producer_entry& e = it->second;
    if (m.epoch < e.epoch) return errc::invalid_producer_epoch;
    if (m.coordinator_epoch < e.coordinator_epoch) return errc::transaction_coordinator_fenced;
    return {};
}

std::optional<completed_txn> producer_state::completion(const marker_append& m,
                                                        int64_t offset) const {
    auto it = producers_.find(m.producer_id);
    if (it == producers_.end() || it->second.current_txn_first_offset < 0) return std::nullopt;
    completed_txn c;
    c.producer_id = m.producer_id;
    c.first_offset = it->second.current_txn_first_offset;
    c.last_offset = offset;
    c.aborted = !m.commit;
    c.last_stable_offset = offset + 1;
    for (const auto& [first, pid] : ongoing_) {
        if (pid != m.producer_id) {
            c.last_stable_offset = first;
            break;
        }
    }
    return c;
}

void producer_state::apply_marker(const marker_append& m, int64_t offset) {
    producer_entry& e = producers_[m.producer_id];
    if (e.current_txn_first_offset >= 0) ongoing_.erase(e.current_txn_first_offset);
    e.current_txn_first_offset = -1;
    if (m.epoch != e.epoch) {
        e.batches.clear();
        e.epoch = m.epoch;
    }
    e.coordinator_epoch = m.coordinator_epoch;
    e.last_timestamp = m.timestamp;
}

std::optional<int64_t> producer_state::first_unstable_offset() const {
    if (ongoing_.empty()) return std::nullopt;
    return ongoing_.begin()->first;
}

size_t producer_state::expire(int64_t now_ms, int64_t expiration_ms) {
    return std::erase_if(producers_, [&](const auto& kv) {
        const producer_entry& e = kv.second;
        return e.current_txn_first_offset < 0 && now_ms - e.last_timestamp >= expiration_ms;
    });
}

void producer_state::drop_below(int64_t log_start_offset) {
    std::erase_if(producers_, [&](const auto& kv) {
        const producer_entry& e = kv.second;
        return e.current_txn_first_offset < 0 && !e.batches.empty() &&
               e.batches.back().last_offset < log_start_offset;
    });
}

const producer_entry* producer_state::find(int64_t producer_id) const {
    auto it = producers_.find(producer_id);
    return it == producers_.end() ? nullptr : &it->second;
}

std::vector<uint8_t> producer_state::serialize() const {
    protocol::msg::producer_snapshot snap;
    for (const auto& [id, e] : producers_) {
        auto& out = snap.producer_entries.emplace_back();
        out.producer_id = id;
        out.epoch = e.epoch;
        out.coordinator_epoch = e.coordinator_epoch;
        out.current_txn_first_offset = e.current_txn_first_offset;
        out.timestamp = e.last_timestamp;
        out.last_sequence = -1;
        out.last_offset = -1;
        out.offset_delta = 0;
        if (!e.batches.empty()) {
            const auto& b = e.batches.back();
            out.last_sequence = b.last_seq;
            out.last_offset = b.last_offset;
            out.offset_delta = static_cast<int32_t>(b.last_offset - b.first_offset);
        }
    }
    protocol::writer w;
    w.write_int16(snapshot_version);
    snap.encode(w, snapshot_version);
    auto bytes = w.flatten();
    uint32_t crc =
        protocol::crc32c(bytes.data() + snapshot_crc_end, bytes.size() - snapshot_crc_end);
    for (int i = 0; i < 4; ++i) bytes[2 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
    return bytes;
}

result<producer_state> producer_state::parse(const std::vector<uint8_t>& bytes) {
    if (bytes.size() < snapshot_crc_end + 4) return make_error_code(errc::corrupt_metadata);
    protocol::reader r(bytes.data(), bytes.size());
    if (r.read_int16() != snapshot_version) return make_error_code(errc::corrupt_metadata);
    protocol::msg::producer_snapshot snap;
    snap.decode(r, snapshot_version);
    if (!r.ok() || r.remaining() != 0) return make_error_code(errc::corrupt_metadata);
    if (snap.crc !=
        protocol::crc32c(bytes.data() + snapshot_crc_end, bytes.size() - snapshot_crc_end))
        return make_error_code(errc::corrupt_metadata);
    producer_state s;
    for (const auto& in : snap.producer_entries) {
        producer_entry& e = s.producers_[in.producer_id];
        e.epoch = in.epoch;
        e.coordinator_epoch = in.coordinator_epoch;
        e.current_txn_first_offset = in.current_txn_first_offset;
        if (e.current_txn_first_offset >= 0)
            s.ongoing_[e.current_txn_first_offset] = in.producer_id;
        e.last_timestamp = in.timestamp;
        if (in.last_offset >= 0) {
            int32_t first_seq = in.last_sequence < 0
                                    ? -1
                                    : static_cast<int32_t>(std::max<int64_t>(
                                          0, int64_t{in.last_sequence} - in.offset_delta));
            e.batches.push_back({first_seq, in.last_sequence, in.last_offset - in.offset_delta,
                                 in.last_offset, in.timestamp});
        }
    }
    return s;
}

std::vector<int64_t> list_producer_snapshots(const fs::path& dir) {
    std::vector<int64_t> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (auto o = parse_segment_file_name(entry.path().filename().string(), snapshot_suffix))
            out.push_back(*o);
    }
    std::sort(out.begin(), out.end());
    return out;
}

result<producer_state> read_producer_snapshot(const fs::path& dir, int64_t offset) {
    auto path = dir / segment_file_name(offset, snapshot_suffix);
    auto f = file::open(path, O_RDONLY);
    if (!f) return f.error();
    auto size = f->size();
    if (!size) return size.error();
    std::vector<uint8_t> bytes(static_cast<size_t>(*size));
    auto got = f->read_at(bytes.data(), bytes.size(), 0);
    if (!got) return got.error();
    if (*got != bytes.size()) return make_error_code(errc::corrupt_metadata);
    auto s = producer_state::parse(bytes);
    if (!s) storage_log().warn("{}: corrupt producer snapshot, ignored", path.string());
    return s;
}

void delete_producer_snapshots(const fs::path& dir, int64_t offset, bool below) {
    auto all = list_producer_snapshots(dir);
    // Below: keep the newest snapshot under `offset`, the one a reload would start from.
    int64_t keep = -1;
    if (below) {
        for (int64_t o : all) {
            if (o <= offset) keep = o;
        }
    }
    for (int64_t o : all) {
        bool drop = below ? (o < offset && o != keep) : o > offset;
        if (!drop) continue;
        std::error_code ec;
        fs::remove(dir / segment_file_name(o, snapshot_suffix), ec);
    }
}

}  // namespace runnel::storage
