#include "server/pipelines/committed_reader.h"

#include "protocol/record_batch.h"

namespace runnel::server::pipelines {

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

}  // namespace

committed_records read_committed(const partition& p, int64_t offset, size_t max_bytes) {
    committed_records out;
    const auto& log = p.log();
    offset = std::max(offset, log.log_start_offset());
    out.next_offset = offset;
    const int64_t stable = log.last_stable_offset();
    if (offset >= stable) return out;
    auto read = log.read(offset, max_bytes, true, storage::read_mode::copy, stable);
    if (!read) {
        out.error = read.error();
        return out;
    }
    if (read->empty()) return out;
    auto aborts = log.collect_aborted(offset, read->next_offset);
    if (!aborts) {
        out.error = aborts.error();
        return out;
    }
    std::span<const uint8_t> bytes(read->bytes->data(), read->size);
    std::vector<uint8_t> scratch;
    while (bytes.size() >= protocol::batch_layout::header_size) {
        auto h = protocol::parse_batch_header(bytes);
        if (!h || h->total_size() > static_cast<int64_t>(bytes.size())) break;
        auto batch = bytes.first(static_cast<size_t>(h->total_size()));
        bytes = bytes.subspan(batch.size());
        if (h->is_control() || (h->is_transactional() && aborted(*aborts, *h))) continue;
        protocol::for_each_record(
            batch,
            [&](const protocol::record& r) {
                if (r.offset < offset) return true;
                streams::input_record in;
                if (r.key)
                    in.key.emplace(reinterpret_cast<const char*>(r.key->data()), r.key->size());
                if (r.value) {
                    in.value.emplace(reinterpret_cast<const char*>(r.value->data()),
                                     r.value->size());
                }
                in.timestamp = r.timestamp;
                for (const auto& hd : r.headers) {
                    std::string v;
                    if (hd.value)
                        v.assign(reinterpret_cast<const char*>(hd.value->data()), hd.value->size());
                    in.headers.emplace_back(std::string(hd.key), std::move(v));
                }
                out.records.push_back(std::move(in));
                return true;
            },
            &scratch);
    }
    out.next_offset = read->next_offset;
    return out;
}

}  // namespace runnel::server::pipelines
