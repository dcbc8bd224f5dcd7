#include "server/cluster/partition_records.h"

#include "protocol/record_batch.h"

namespace runnel::server {

namespace {

bool aborted(const std::vector<storage::aborted_txn>& list, const protocol::batch_header& h) {
    for (const auto& a : list) {
        if (a.producer_id == h.producer_id && a.first_offset <= h.base_offset &&
            h.base_offset <= a.last_offset) {
            return true;
        }
    }
    return false;
}

std::optional<std::string> text_of(const std::optional<std::span<const uint8_t>>& bytes) {
    if (!bytes) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

}  // namespace

int64_t readable_end(const partition& p, isolation iso) {
    return p.readable_end(iso == isolation::read_committed ? fetch_bound::last_stable
                                                           : fetch_bound::high_watermark);
}

records_read read_records(const partition& p, int64_t offset, size_t max_bytes, isolation iso,
                          size_t max_records) {
    records_read out;
    const auto& log = p.log();
    offset = std::max(offset, log.log_start_offset());
    out.next_offset = offset;
    const int64_t end = readable_end(p, iso);
    if (offset >= end || max_records == 0) return out;
    auto read = log.read(offset, max_bytes, true, storage::read_mode::copy, end);
    if (!read) {
        out.error = read.error();
        return out;
    }
    if (read->empty()) return out;
    std::vector<storage::aborted_txn> aborts;
    if (iso == isolation::read_committed) {
        auto found = log.collect_aborted(offset, read->next_offset);
        if (!found) {
            out.error = found.error();
            return out;
        }
        aborts = std::move(*found);
    }
    std::span<const uint8_t> bytes(read->bytes->data(), read->size);
    std::vector<uint8_t> scratch;
    bool full = false;
    while (!full && bytes.size() >= protocol::batch_layout::header_size) {
        auto h = protocol::parse_batch_header(bytes);
        if (!h || h->total_size() > static_cast<int64_t>(bytes.size())) break;
        auto batch = bytes.first(static_cast<size_t>(h->total_size()));
        bytes = bytes.subspan(batch.size());
        out.next_offset = h->last_offset() + 1;
        if (h->is_control()) continue;
        if (iso == isolation::read_committed && h->is_transactional() && aborted(aborts, *h))
            continue;
        protocol::for_each_record(
            batch,
            [&](const protocol::record& r) {
                if (r.offset < offset) return true;
                if (out.records.size() == max_records) {
                    // Stop inside the batch: the next read starts at this record.
                    out.next_offset = r.offset;
                    full = true;
                    return false;
                }
                stored_record s{r.offset, r.timestamp, text_of(r.key), text_of(r.value), {}};
                for (const auto& hd : r.headers) s.headers.emplace_back(hd.key, text_of(hd.value));
                out.records.push_back(std::move(s));
                return true;
            },
            &scratch);
    }
    if (!full && bytes.empty()) out.next_offset = std::max(out.next_offset, read->next_offset);
    return out;
}

}  // namespace runnel::server
