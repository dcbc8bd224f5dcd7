// ListGroups (16): every group on every shard's coordinator (v4 filters by state, v5 by type;
// all groups here are "classic").
#include "protocol/messages/list_groups.h"

#include <set>

#include "protocol/errors.h"
#include "server/cluster/partition_work.h"
#include "server/coordinators/groups/coordinator_set.h"
#include "server/core/cross_shard.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

struct shard_listing {
    shard_id owner = 0;
    size_t slot = 0;
    std::vector<list_groups_response::listed_group> groups;
    bool loading = false;
};

std::set<std::string> lower_trimmed(const std::vector<std::string>& in) {
    std::set<std::string> out;
    for (auto s : in) {
        for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto b = s.find_first_not_of(" \t\r\n");
        const auto e = s.find_last_not_of(" \t\r\n");
        out.insert(b == std::string::npos ? std::string() : s.substr(b, e - b + 1));
    }
    return out;
}

asio::awaitable<std::optional<list_groups_response>> handle(request_context& ctx,
                                                            list_groups_request req) {
    kafka_services& b = ctx.services;
    const auto states = lower_trimmed(req.states_filter);
    const auto types = lower_trimmed(req.types_filter);
    std::vector<shard_listing> work;
    for (shard_id s = 0; s < b.shards().size(); ++s) work.push_back({s, s, {}, false});
    auto list = [&b, states, types](shard_id owner, std::vector<shard_listing> items)
        -> asio::awaitable<std::vector<shard_listing>> {
        auto& c = b.groups().on(owner);
        for (auto& it : items) {
            it.groups = c.list_groups(states, types);
            it.loading = c.any_loading();
        }
        co_return items;
    };
    auto done = co_await run_on_owners(b.shards(), ctx.home, std::move(work), list);
    list_groups_response resp;
    for (auto& l : done) {
        // As in Kafka, a partition still loading fails the whole listing.
        if (l.loading) {
            resp.error_code = to_wire(error_code::coordinator_load_in_progress);
            resp.groups.clear();
            co_return resp;
        }
        for (auto& g : l.groups) resp.groups.push_back(std::move(g));
    }
    co_return resp;
}

}  // namespace

void register_list_groups(dispatch& d) { d.add<api_types<16>>(handle); }

}  // namespace runnel::server
