// DescribeClientQuotas (48, KIP-546): the quotas set for users, client ids and IPs matching a
// filter. Runnel enforces no client quotas yet (they come with the security work, and with them
// AlterClientQuotas), so a valid filter matches nothing; a malformed one is refused with
// INVALID_REQUEST as Kafka's broker refuses it, so `kafka-configs --describe --entity-type
// users|clients|ips` prints an empty result or Kafka's error.
#include "protocol/messages/describe_client_quotas.h"

#include <set>

#include "protocol/errors.h"
#include "server/kafka/dispatch.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

constexpr int8_t match_exact = 0;
constexpr int8_t match_default = 1;
constexpr int8_t match_any = 2;

// Why a filter is malformed, or nothing.
std::optional<std::string> filter_problem(const describe_client_quotas_request& req) {
    std::set<std::string> seen;
    for (const auto& c : req.components) {
        if (c.entity_type != "user" && c.entity_type != "client-id" && c.entity_type != "ip") {
            return "Invalid entity type " + c.entity_type + " in the filter.";
        }
        if (!seen.insert(c.entity_type).second) {
            return "Entity type " + c.entity_type + " cannot appear more than once in the filter.";
        }
        if (c.match_type != match_exact && c.match_type != match_default &&
            c.match_type != match_any) {
            return "Unknown match type " + std::to_string(c.match_type) + ".";
        }
        if (c.match_type == match_exact && !c.match) {
            return "An exact match on " + c.entity_type + " needs a name to match.";
        }
    }
    // An IP quota stands alone (KIP-612): it cannot be narrowed by user or client id.
    if (seen.contains("ip") && seen.size() > 1) {
        return "Invalid entity filter component combination: an ip filter cannot be combined with "
               "user or client-id filters.";
    }
    return std::nullopt;
}

asio::awaitable<std::optional<describe_client_quotas_response>> handle(
    request_context&, describe_client_quotas_request req) {
    describe_client_quotas_response resp;
    if (auto problem = filter_problem(req)) {
        resp.error_code = to_wire(error_code::invalid_request);
        resp.error_message = std::move(*problem);
        resp.entries = std::nullopt;  // Kafka answers a refused filter with no entry list
        co_return resp;
    }
    resp.entries.emplace();
    co_return resp;
}

}  // namespace

void register_describe_client_quotas(dispatch& d) { d.add<api_types<48>>(handle); }

}  // namespace runnel::server
