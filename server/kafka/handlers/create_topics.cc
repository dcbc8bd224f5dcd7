// CreateTopics (19): topics with partition counts, replication factor 1 (one node), explicit
// assignments and topic configs; validate_only checks without creating.
#include "protocol/messages/create_topics.h"

#include <set>

#include "protocol/errors.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

using topic_result = create_topics_response::creatable_topic_result;

void fail(topic_result& r, error_code e, std::string message) {
    r.error_code = to_wire(e);
    r.error_message = std::move(message);
    r.configs.emplace();  // v5+: Kafka answers a refused topic with no configs, not null
}

asio::awaitable<std::optional<create_topics_response>> handle(request_context& ctx,
                                                              create_topics_request req) {
    kafka_services& b = ctx.services;
    create_topics_response resp;
    std::multiset<std::string> names;
    for (const auto& t : req.topics) names.insert(t.name);

    // Counted as Kafka's controller counts them: assignments, else the count, else the default.
    int64_t requested = 0;
    for (const auto& t : req.topics) {
        if (!t.assignments.empty()) {
            requested += static_cast<int64_t>(t.assignments.size());
        } else if (t.num_partitions == -1) {
            requested += b.config().num_partitions;
        } else if (t.num_partitions > 0) {
            requested += t.num_partitions;
        }
    }
    if (auto refused = partitions_per_request_problem(b.config(), requested)) {
        for (const auto& t : req.topics) {
            auto& r = resp.topics.emplace_back();
            r.name = t.name;
            fail(r, error_code::policy_violation, *refused);
        }
        co_return resp;
    }

    for (auto& t : req.topics) {
        auto& r = resp.topics.emplace_back();
        r.name = t.name;
        if (names.count(t.name) > 1) {
            fail(r, error_code::invalid_request,
                 "Create topics request contains multiple entries for the topic " + t.name);
            continue;
        }
        new_topic spec;
        spec.name = t.name;
        spec.partitions = t.num_partitions;
        spec.replication_factor = t.replication_factor;
        bool bad_config = false;
        for (const auto& c : t.configs) {
            if (!c.value) {
                fail(r, error_code::invalid_config,
                     "Null value not supported for topic configs: " + c.name);
                bad_config = true;
                break;
            }
            spec.configs[c.name] = *c.value;
        }
        if (bad_config) continue;
        for (const auto& a : t.assignments) {
            if (a.partition_index != static_cast<int32_t>(spec.assignments.size())) {
                fail(r, error_code::invalid_replica_assignment,
                     "Partitions in the replica assignment must be consecutive from 0.");
                bad_config = true;
                break;
            }
            spec.assignments.push_back(a.broker_ids);
        }
        if (bad_config) continue;

        auto created = co_await b.admin().create_topic(std::move(spec), req.validate_only);
        if (created.error != error_code::none) {
            fail(r, created.error, created.message.value_or(""));
            continue;
        }
        const auto& topic = *created.topic;
        r.topic_id = req.validate_only ? protocol::uuid{} : topic.id;
        r.num_partitions = topic.partition_count();
        r.replication_factor = created.replication_factor;
        // v5+ (KIP-525): the created topic's configs, so clients need no DescribeConfigs.
        auto& configs = r.configs.emplace();
        for (const auto& e : b.admin().config_of(topic).describe(*b.live_config())) {
            create_topics_response::creatable_topic_result::creatable_topic_configs c;
            c.name = e.name;
            c.value = e.value;
            c.read_only = e.read_only;
            c.config_source = static_cast<int8_t>(e.source);
            c.is_sensitive = e.sensitive;
            configs.push_back(std::move(c));
        }
    }
    co_return resp;
}

}  // namespace

void register_create_topics(dispatch& d) { d.add<api_types<19>>(handle); }

}  // namespace runnel::server
