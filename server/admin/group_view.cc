#include "server/admin/group_view.h"

#include <map>
#include <set>

#include "server/coordinators/groups/coordinator_set.h"
#include "server/coordinators/groups/group_coordinator.h"
#include "server/coordinators/groups/offsets_topic.h"
#include "server/core/cross_shard.h"
#include "server/core/pause.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server::admin {

asio::awaitable<coordinator_state> coordinator_ready(kafka_services& kafka,
                                                     const std::string& group_id, bool create) {
    // No offsets topic: no group can exist (and looking must not create it).
    if (!kafka.topics().snapshot()->find(groups::offsets_topic_name)) {
        if (!create) co_return coordinator_state::absent;
        if (co_await kafka.groups().ensure_topic() != protocol::error_code::none) {
            co_return coordinator_state::loading;
        }
    }
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto where = kafka.groups().locate(group_id);
        if (where.error == protocol::error_code::none) {
            auto activate = [&kafka, where]() -> asio::awaitable<bool> {
                co_return kafka.groups().activate(where.owner, where.partition) ==
                    protocol::error_code::none;
            };
            if (co_await on_shard(kafka.shards().at(where.owner), activate)) {
                co_return coordinator_state::ready;
            }
        }
        co_await pause(std::chrono::milliseconds(100));
    }
    co_return coordinator_state::loading;
}

asio::awaitable<std::vector<group_listing>> list_all_groups(kafka_services& kafka) {
    std::vector<group_listing> out;
    for (shard_id id = 0; id < kafka.shards().size(); ++id) {
        auto list = [&kafka, id]() -> asio::awaitable<std::vector<group_listing>> {
            std::vector<group_listing> found;
            const std::set<std::string> any;
            for (const auto& g : kafka.groups().on(id).list_groups(any, any)) {
                found.push_back({g.group_id, g.group_state, g.protocol_type, g.group_type});
            }
            co_return found;
        };
        std::vector<group_listing> found = co_await on_shard(kafka.shards().at(id), list);
        out.insert(out.end(), found.begin(), found.end());
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.group_id < b.group_id; });
    co_return out;
}

asio::awaitable<std::optional<group_detail>> describe_one_group(kafka_services& kafka,
                                                                std::string group_id) {
    if (co_await coordinator_ready(kafka, group_id) != coordinator_state::ready) {
        co_return std::nullopt;
    }
    auto where = kafka.groups().locate(group_id);
    if (where.error != protocol::error_code::none) co_return std::nullopt;
    auto read = [&kafka, where, group_id]() -> asio::awaitable<std::optional<group_detail>> {
        auto& c = kafka.groups().on(where.owner);
        group_detail d;
        d.group_id = group_id;
        if (c.find_consumer_group(where.partition, group_id)) {
            auto g = c.consumer_describe(where.partition, group_id);
            d.state = g.group_state;
            d.protocol_type = "consumer";
            d.type = "consumer";
            for (const auto& m : g.members) {
                d.members.push_back({m.member_id, m.instance_id, m.client_id, m.client_host});
            }
        } else {
            auto g = c.describe_group(where.partition, group_id);
            d.state = g.group_state;
            d.protocol_type = g.protocol_type;
            d.type = "classic";
            for (const auto& m : g.members) {
                d.members.push_back({m.member_id, m.group_instance_id, m.client_id, m.client_host});
            }
        }
        if (const auto* offsets = c.offsets_of(where.partition, group_id)) {
            for (const auto& [topic, partitions] : *offsets) {
                for (const auto& [index, entry] : partitions) {
                    d.offsets.push_back({topic, index, entry.offset, -1});
                }
            }
        }
        if (d.members.empty() && d.offsets.empty() && (d.state == "Dead" || d.state.empty())) {
            co_return std::nullopt;
        }
        co_return d;
    };
    std::optional<group_detail> found = co_await on_shard(kafka.shards().at(where.owner), read);
    if (found) co_await fill_log_ends(kafka, found->offsets);
    co_return found;
}

asio::awaitable<std::vector<group_committed_offset>> all_committed_offsets(kafka_services& kafka) {
    std::vector<group_committed_offset> out;
    for (shard_id id = 0; id < kafka.shards().size(); ++id) {
        auto read = [&kafka, id]() -> asio::awaitable<std::vector<group_committed_offset>> {
            std::vector<group_committed_offset> found;
            auto& c = kafka.groups().on(id);
            const std::set<std::string> any;
            for (const auto& g : c.list_groups(any, any)) {
                auto where = kafka.groups().locate(g.group_id);
                if (where.error != protocol::error_code::none || where.owner != id) continue;
                const auto* offsets = c.offsets_of(where.partition, g.group_id);
                if (!offsets) continue;
                for (const auto& [topic, partitions] : *offsets) {
                    for (const auto& [index, entry] : partitions) {
                        found.push_back({g.group_id, topic, index, entry.offset});
                    }
                }
            }
            co_return found;
        };
        std::vector<group_committed_offset> found = co_await on_shard(kafka.shards().at(id), read);
        out.insert(out.end(), found.begin(), found.end());
    }
    co_return out;
}

asio::awaitable<void> fill_log_ends(kafka_services& kafka,
                                    std::vector<group_partition_offset>& offsets) {
    auto topics = kafka.topics().snapshot();
    std::map<shard_id, std::vector<size_t>> by_owner;
    for (size_t i = 0; i < offsets.size(); ++i) {
        auto t = topics->find(offsets[i].topic);
        if (!t || offsets[i].partition < 0 || offsets[i].partition >= t->partition_count())
            continue;
        by_owner[t->partitions[offsets[i].partition].owner].push_back(i);
    }
    for (auto& [owner, indexes] : by_owner) {
        std::vector<std::pair<protocol::uuid, int32_t>> wanted;
        for (size_t i : indexes) {
            wanted.emplace_back(topics->find(offsets[i].topic)->id, offsets[i].partition);
        }
        auto read = [&kafka, owner = owner, wanted]() -> asio::awaitable<std::vector<int64_t>> {
            std::vector<int64_t> ends;
            for (const auto& [id, index] : wanted) {
                const partition* p = kafka.partitions_on(owner).find(id, index);
                ends.push_back(p ? p->log().log_end_offset() : -1);
            }
            co_return ends;
        };
        std::vector<int64_t> ends = co_await on_shard(kafka.shards().at(owner), read);
        for (size_t k = 0; k < indexes.size(); ++k) offsets[indexes[k]].log_end_offset = ends[k];
    }
}

}  // namespace runnel::server::admin
