// DescribeProducers (61, KIP-664): the idempotent and transactional producers a partition's log
// keeps state for, read on the partition's owner shard. Admin tools use it to find the producer
// behind a hanging transaction (kafka-transactions.sh find-hanging / describe-producers).
#include "protocol/messages/describe_producers.h"

#include "protocol/errors.h"
#include "server/cluster/partition_work.h"
#include "server/cluster/topic_name.h"
#include "server/core/cross_shard.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

#include <algorithm>

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

using producer_description =
    describe_producers_response::topic_response::partition_response::producer_state;

struct producer_listing : partition_work {
    error_code error = error_code::none;
    std::vector<producer_description> producers;
};

void list_one(kafka_services& b, shard_id owner, producer_listing& l) {
    partition* p = b.partitions_on(owner).find(l.topic_id, l.index);
    if (!p) {
        l.error = error_code::unknown_topic_or_partition;
        return;
    }
    // Every producer the log has state for, as Kafka's activeProducers: expired ones are gone
    // already, and one whose only state is its last marker is listed with LastSequence -1.
    p->log().producers().for_each([&l](int64_t id, const storage::producer_entry& e) {
        auto& out = l.producers.emplace_back();
        out.producer_id = id;
        out.producer_epoch = e.epoch;
        out.last_sequence = e.last_seq();
        out.last_timestamp = e.last_timestamp;
        out.coordinator_epoch = e.coordinator_epoch;
        out.current_txn_start_offset = e.current_txn_first_offset;
    });
    // The state is a hash map; an answer ordered by id reads the same every time.
    std::sort(l.producers.begin(), l.producers.end(),
              [](const auto& x, const auto& y) { return x.producer_id < y.producer_id; });
}

asio::awaitable<std::optional<describe_producers_response>> handle(request_context& ctx,
                                                                   describe_producers_request req) {
    kafka_services& b = ctx.services;
    describe_producers_response resp;
    auto snap = b.topics().snapshot();
    std::vector<producer_listing> work;
    for (size_t ti = 0; ti < req.topics.size(); ++ti) {
        auto& rt = req.topics[ti];
        auto& tr = resp.topics.emplace_back();
        tr.name = rt.name;
        // As Kafka: an invalid name fails every partition of the topic with the reason.
        auto name_problem = topic_name_problem(rt.name);
        auto topic = snap->find(rt.name);
        for (int32_t index : rt.partition_indexes) {
            auto& pr = tr.partitions.emplace_back();
            pr.partition_index = index;
            if (name_problem) {
                pr.error_code = to_wire(error_code::invalid_topic_exception);
                pr.error_message = *name_problem;
                continue;
            }
            producer_listing l;
            if (!locate_partition(topic.get(), index, make_slot(ti, tr.partitions.size() - 1), l)) {
                pr.error_code = to_wire(error_code::unknown_topic_or_partition);
                continue;
            }
            work.push_back(std::move(l));
        }
    }
    auto list_all = [&b](shard_id owner, std::vector<producer_listing> items)
        -> asio::awaitable<std::vector<producer_listing>> {
        for (auto& l : items) list_one(b, owner, l);
        co_return items;
    };
    auto done = co_await run_on_owners(b.shards(), ctx.home, std::move(work), list_all);
    for (auto& l : done) {
        auto& pr = resp.topics[slot_topic(l.slot)].partitions[slot_partition(l.slot)];
        pr.error_code = to_wire(l.error);
        pr.active_producers = std::move(l.producers);
    }
    co_return resp;
}

}  // namespace

void register_describe_producers(dispatch& d) { d.add<api_types<61>>(handle); }

}  // namespace runnel::server
