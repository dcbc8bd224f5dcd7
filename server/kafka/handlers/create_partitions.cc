// CreatePartitions (37): grows a topic to `count` partitions; validate_only checks only.
#include "protocol/messages/create_partitions.h"

#include <set>

#include "protocol/errors.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<std::optional<create_partitions_response>> handle(request_context& ctx,
                                                                  create_partitions_request req) {
    kafka_services& b = ctx.services;
    create_partitions_response resp;
    std::multiset<std::string> names;
    for (const auto& t : req.topics) names.insert(t.name);

    int64_t requested = 0;
    auto snap = b.topics().snapshot();
    for (const auto& t : req.topics) {
        if (auto existing = snap->find(t.name); existing && t.count > existing->partition_count())
            requested += t.count - existing->partition_count();
    }
    if (auto refused = partitions_per_request_problem(b.config(), requested)) {
        for (const auto& t : req.topics) {
            auto& r = resp.results.emplace_back();
            r.name = t.name;
            r.error_code = to_wire(error_code::policy_violation);
            r.error_message = *refused;
        }
        co_return resp;
    }
    for (auto& t : req.topics) {
        auto& r = resp.results.emplace_back();
        r.name = t.name;
        if (names.count(t.name) > 1) {
            r.error_code = to_wire(error_code::invalid_request);
            r.error_message = "Duplicate topic in request.";
            continue;
        }
        std::vector<std::vector<int32_t>> assignments;
        if (t.assignments) {
            for (auto& a : *t.assignments) assignments.push_back(a.broker_ids);
        }
        auto result = co_await b.admin().create_partitions(t.name, t.count, std::move(assignments),
                                                           req.validate_only);
        r.error_code = to_wire(result.error);
        r.error_message = result.message;
    }
    co_return resp;
}

}  // namespace

void register_create_partitions(dispatch& d) { d.add<api_types<37>>(handle); }

}  // namespace runnel::server
