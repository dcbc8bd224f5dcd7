// Metadata (3): brokers, cluster id, controller, and topics with their partitions. Creates
// requested topics that don't exist when auto.create.topics.enable and the request allow it.
#include "protocol/messages/metadata.h"

#include "protocol/errors.h"
#include "server/cluster/topic_name.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

constexpr int32_t operations_not_requested = INT32_MIN;
// Without an authorizer every topic operation is allowed: READ(3), WRITE(4), CREATE(5),
// DELETE(6), ALTER(7), DESCRIBE(8), DESCRIBE_CONFIGS(10), ALTER_CONFIGS(11).
constexpr int32_t all_topic_operations =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);

metadata_response::metadata_response_topic describe(const topic_metadata& t, int32_t node,
                                                    const members_snapshot& members,
                                                    bool with_operations) {
    auto live = [&](int32_t id) { return members.find(id) != nullptr; };
    metadata_response::metadata_response_topic out;
    out.name = t.name;
    out.topic_id = t.id;
    out.is_internal = t.internal;
    for (int32_t p = 0; p < t.partition_count(); ++p) {
        const auto& placement = t.partitions[static_cast<size_t>(p)];
        metadata_response::metadata_response_topic::metadata_response_partition mp;
        mp.partition_index = p;
        mp.leader_epoch = placement.leader_epoch;
        if (placement.replicas.empty()) {
            mp.leader_id = node;
            mp.replica_nodes = {node};
            mp.isr_nodes = {node};
        } else {
            // A cluster's partition, as ZooKeeper has it; a replica on a broker that is not
            // registered is offline. No leader: LEADER_NOT_AVAILABLE (the client retries).
            mp.leader_id = placement.leader;
            mp.replica_nodes = placement.replicas;
            mp.isr_nodes = placement.isr;
            for (int32_t r : placement.replicas) {
                if (!live(r)) mp.offline_replicas.push_back(r);
            }
            if (placement.leader < 0 || !live(placement.leader)) {
                mp.error_code = to_wire(error_code::leader_not_available);
            }
        }
        out.partitions.push_back(std::move(mp));
    }
    out.topic_authorized_operations =
        with_operations ? all_topic_operations : operations_not_requested;
    return out;
}

metadata_response::metadata_response_topic topic_error(error_code e,
                                                       std::optional<std::string> name,
                                                       protocol::uuid id = {}) {
    metadata_response::metadata_response_topic out;
    out.error_code = to_wire(e);
    out.name = std::move(name);
    out.topic_id = id;
    return out;
}

asio::awaitable<std::optional<metadata_response>> handle(request_context& ctx,
                                                         metadata_request req) {
    kafka_services& b = ctx.services;
    const int32_t node = b.node_id();
    metadata_response resp;
    for (auto& broker : b.brokers_on(ctx.listener))
        resp.brokers.push_back({broker.id, broker.host, broker.port, broker.rack, {}});
    resp.cluster_id = b.cluster_id();
    resp.controller_id = b.controller_id();
    auto members = b.cluster().members().snapshot();
    resp.cluster_authorized_operations = operations_not_requested;
    const bool with_ops = req.include_topic_authorized_operations;

    auto snap = b.topics().snapshot();
    // v0: an empty list means every topic; v1+: null means every topic.
    const bool all_topics = !req.topics || (ctx.api_version == 0 && req.topics->empty());
    if (all_topics) {
        for (const auto& [name, t] : snap->by_name)
            resp.topics.push_back(describe(*t, node, *members, with_ops));
        co_return resp;
    }
    const bool may_create = b.config().auto_create_topics_enable && req.allow_auto_topic_creation;
    for (const auto& rt : *req.topics) {
        if (!rt.name) {
            // v10+: lookup by topic id.
            if (auto t = snap->find(rt.topic_id)) {
                resp.topics.push_back(describe(*t, node, *members, with_ops));
            } else {
                resp.topics.push_back(
                    topic_error(error_code::unknown_topic_id, std::nullopt, rt.topic_id));
            }
            continue;
        }
        const std::string& name = *rt.name;
        if (auto t = snap->find(name)) {
            resp.topics.push_back(describe(*t, node, *members, with_ops));
            continue;
        }
        if (topic_name_problem(name)) {
            resp.topics.push_back(topic_error(error_code::invalid_topic_exception, name));
            continue;
        }
        if (!may_create || is_internal_topic(name)) {
            resp.topics.push_back(topic_error(error_code::unknown_topic_or_partition, name));
            continue;
        }
        new_topic spec;
        spec.name = name;
        auto created = co_await b.admin().create_topic(std::move(spec), false);
        if (created.error == error_code::none) {
            resp.topics.push_back(describe(*created.topic, node, *members, with_ops));
        } else if (created.error == error_code::topic_already_exists) {
            // Someone else created it meanwhile.
            if (auto t = b.topics().snapshot()->find(name)) {
                resp.topics.push_back(describe(*t, node, *members, with_ops));
            } else {
                resp.topics.push_back(topic_error(error_code::leader_not_available, name));
            }
        } else {
            // Kafka reports a failed auto-creation as a retriable error on the topic, except
            // for what retrying cannot fix: a replication factor above the broker count, and a
            // refusal by policy (here the broker's partition limit).
            const bool permanent = created.error == error_code::invalid_replication_factor ||
                                   created.error == error_code::policy_violation;
            resp.topics.push_back(
                topic_error(permanent ? created.error : error_code::leader_not_available, name));
        }
    }
    co_return resp;
}

}  // namespace

void register_metadata(dispatch& d) { d.add<api_types<3>>(handle); }

}  // namespace runnel::server
