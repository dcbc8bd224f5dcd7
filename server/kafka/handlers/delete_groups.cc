// DeleteGroups (42): deletes empty groups and their committed offsets (tombstones in
// __consumer_offsets). GROUP_ID_NOT_FOUND for unknown groups, NON_EMPTY_GROUP while members exist.
#include "protocol/messages/delete_groups.h"

#include <set>

#include "protocol/errors.h"
#include "server/coordinators/groups/group_call.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

asio::awaitable<std::optional<delete_groups_response>> handle(request_context& ctx,
                                                              delete_groups_request req) {
    kafka_services& b = ctx.services;
    delete_groups_response resp;
    std::set<std::string> seen;
    for (const auto& id : req.groups_names) {
        if (!seen.insert(id).second) continue;  // each group once, as Kafka does
        auto remove = [id](groups::group_coordinator& c,
                           int32_t partition) -> asio::awaitable<error_code> {
            co_return c.delete_group(partition, id);
        };
        auto r = co_await groups::call_coordinator<error_code>(b.groups(), id, remove);
        resp.results.push_back({id, to_wire(r.error != error_code::none ? r.error : r.value), {}});
    }
    co_return resp;
}

}  // namespace

void register_delete_groups(dispatch& d) { d.add<api_types<42>>(handle); }

}  // namespace runnel::server
