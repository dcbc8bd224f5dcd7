#include "server/replication/replica_fetchers.h"

#include <set>

namespace runnel::server {

replica_fetchers::replica_fetchers(cluster_context& cluster)
    : cluster_(cluster),
      fetchers_(cluster.shards().size(),
                [](shard_id) { return std::make_unique<fetchers_by_leader>(); }),
      stopped_(cluster.shards().size(), [](shard_id) { return std::make_unique<bool>(false); }) {}

void replica_fetchers::start() {
    cluster_.add_roles_listener([this](shard_id s) { reconcile(s); });
}

void replica_fetchers::reconcile(shard_id s) {
    if (stopped_.on(s)) return;
    std::set<int32_t> leaders;
    cluster_.partitions_on(s).for_each([&](partition& p) {
        const auto& role = p.role();
        if (role && !role->leads() && role->leader >= 0) leaders.insert(role->leader);
    });
    auto& mine = fetchers_.on(s);
    for (int32_t leader : leaders) {
        if (auto it = mine.find(leader); it != mine.end()) {
            it->second->wake();
            continue;
        }
        // The fetcher removes itself when it ends (unless another has taken its place).
        auto f = std::make_shared<replica_fetcher>(cluster_, s, leader);
        std::weak_ptr<replica_fetcher> weak = f;
        f->set_on_exit([this, s, leader, weak] {
            auto& m = fetchers_.on(s);
            auto it = m.find(leader);
            if (it != m.end() && it->second == weak.lock()) m.erase(it);
        });
        mine.emplace(leader, f);
        f->start();
    }
}

void replica_fetchers::stop_on(shard_id s) {
    stopped_.on(s) = true;
    auto fetchers = std::move(fetchers_.on(s));
    fetchers_.on(s).clear();
    for (auto& [leader, f] : fetchers) f->stop();
}

}  // namespace runnel::server
