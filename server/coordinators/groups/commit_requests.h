// What OffsetCommit and TxnOffsetCommit share in the coordinator: their requests and responses
// have the same topic/partition shape (name, partition_index, committed_offset,
// committed_leader_epoch, committed_metadata; error_code in the answer).
#pragma once

#include <string>
#include <vector>

#include "protocol/errors.h"
#include "server/coordinators/groups/group_records.h"

namespace runnel::server::groups {

// The answer to a commit request: every partition of the request, no error yet.
template <class Response, class Request>
Response answer_each_partition(const Request& req) {
    Response resp;
    for (const auto& t : req.topics) {
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        for (const auto& p : t.partitions) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p.partition_index;
        }
    }
    return resp;
}

// Gives every partition of the answer error `e`; with only_unanswered, those without an error.
template <class Response>
void answer_all(Response& resp, protocol::error_code e, bool only_unanswered = false) {
    for (auto& t : resp.topics) {
        for (auto& p : t.partitions) {
            if (!only_unanswered || p.error_code == 0) p.error_code = protocol::to_wire(e);
        }
    }
}

// The offset commit records a request asks for, one per partition; a partition whose metadata is
// longer than offset.metadata.max.bytes is answered OFFSET_METADATA_TOO_LARGE instead.
// stamp(offset_entry&, const request partition&) sets the commit and expiry times.
template <class Request, class Response, class Stamp>
std::vector<group_record> commit_records(const Request& req, Response& resp,
                                         int32_t metadata_max_bytes, Stamp stamp) {
    std::vector<group_record> records;
    for (size_t ti = 0; ti < req.topics.size(); ++ti) {
        const auto& t = req.topics[ti];
        for (size_t pi = 0; pi < t.partitions.size(); ++pi) {
            const auto& p = t.partitions[pi];
            if (p.committed_metadata &&
                p.committed_metadata->size() > static_cast<size_t>(metadata_max_bytes)) {
                resp.topics[ti].partitions[pi].error_code =
                    protocol::to_wire(protocol::error_code::offset_metadata_too_large);
                continue;
            }
            offset_entry e;
            e.offset = p.committed_offset;
            e.leader_epoch = p.committed_leader_epoch;
            e.metadata = p.committed_metadata.value_or("");
            stamp(e, p);
            records.push_back(offset_commit(req.group_id, t.name, p.partition_index, e));
        }
    }
    return records;
}

}  // namespace runnel::server::groups
