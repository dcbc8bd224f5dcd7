#include "server/pipelines/committed_reader.h"

#include "server/cluster/partition_records.h"

namespace runnel::server::pipelines {

committed_records read_committed(const partition& p, int64_t offset, size_t max_bytes) {
    records_read read = read_records(p, offset, max_bytes, isolation::read_committed);
    committed_records out;
    out.next_offset = read.next_offset;
    out.error = read.error;
    out.records.reserve(read.records.size());
    for (auto& r : read.records) {
        streams::input_record in;
        in.key = std::move(r.key);
        in.value = std::move(r.value);
        in.timestamp = r.timestamp;
        // A null header value reads as empty (the streams library's headers are strings).
        for (auto& [k, v] : r.headers) in.headers.emplace_back(std::move(k), v.value_or(""));
        out.records.push_back(std::move(in));
    }
    return out;
}

}  // namespace runnel::server::pipelines
