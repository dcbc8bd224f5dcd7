// OffsetCommit and TxnOffsetCommit handlers: Kafka answers partitions of unknown topics, and
// unknown partitions, UNKNOWN_TOPIC_OR_PARTITION itself and sends only the rest to the group
// coordinator. The two requests share their topic/partition shape.
#pragma once

#include <utility>
#include <vector>

#include "protocol/errors.h"
#include "server/cluster/topic_registry.h"

namespace runnel::server {

// The existing partitions of a commit request, and where each one's answer goes.
template <class RequestTopic>
struct known_partitions {
    std::vector<RequestTopic> topics;  // to send to the coordinator
    // Per entry of `topics`, per partition: (topic, partition) index in the response.
    std::vector<std::vector<std::pair<size_t, size_t>>> places;
};

// Puts every requested partition into `answer` (unknown ones with UNKNOWN_TOPIC_OR_PARTITION) and
// moves the existing ones out of `topics`.
template <class RequestTopic, class ResponseTopic>
known_partitions<RequestTopic> split_known(const topics_snapshot& snap,
                                           std::vector<RequestTopic>& topics,
                                           std::vector<ResponseTopic>& answer) {
    known_partitions<RequestTopic> known;
    for (auto& t : topics) {
        auto& rt = answer.emplace_back();
        rt.name = t.name;
        auto topic = snap.find(t.name);
        RequestTopic kt;
        kt.name = t.name;
        std::vector<std::pair<size_t, size_t>> where;
        for (auto& p : t.partitions) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p.partition_index;
            if (!topic || p.partition_index < 0 || p.partition_index >= topic->partition_count()) {
                rp.error_code = protocol::to_wire(protocol::error_code::unknown_topic_or_partition);
                continue;
            }
            where.emplace_back(answer.size() - 1, rt.partitions.size() - 1);
            kt.partitions.push_back(std::move(p));
        }
        if (!kt.partitions.empty()) {
            known.topics.push_back(std::move(kt));
            known.places.push_back(std::move(where));
        }
    }
    return known;
}

// Copies the coordinator's per-partition errors into `answer`; `failed` (when not none) answers
// every partition sent instead, as does a reply that lacks the partition.
template <class RequestTopic, class ResponseTopic>
void merge_answers(const known_partitions<RequestTopic>& known, protocol::error_code failed,
                   const std::vector<ResponseTopic>& reply, std::vector<ResponseTopic>& answer) {
    for (size_t ti = 0; ti < known.places.size(); ++ti) {
        for (size_t pi = 0; pi < known.places[ti].size(); ++pi) {
            auto [t, p] = known.places[ti][pi];
            int16_t e = protocol::to_wire(failed);
            if (failed == protocol::error_code::none && ti < reply.size() &&
                pi < reply[ti].partitions.size()) {
                e = reply[ti].partitions[pi].error_code;
            }
            answer[t].partitions[p].error_code = e;
        }
    }
}

}  // namespace runnel::server
