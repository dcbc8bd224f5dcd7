// The broker's topic table. Shard 0 owns it and is the only writer; every shard reads immutable
// snapshots, replaced as a whole on each change.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/codec.h"
#include "server/core/shard.h"

namespace runnel::server {

struct partition_placement {
    shard_id owner = 0;   // the shard that owns this partition's log
    std::string log_dir;  // the log.dirs entry holding <topic>-<partition>/
    // KIP-320's leader epoch. A single node leads every partition from its creation in epoch 0
    // and never hands leadership over; in a ZooKeeper cluster it is the partition state's.
    int32_t leader_epoch = 0;

    // In a ZooKeeper cluster, the partition as ZooKeeper has it (empty replicas on a single node,
    // which leads all it has): its replicas in assignment order, its ISR and leader (-1: none).
    std::vector<int32_t> replicas;
    std::vector<int32_t> isr;
    int32_t leader = -1;
    // The partition state znode's controller epoch and version (-1: no state yet).
    int32_t controller_epoch = 0;
    int32_t state_version = -1;
    // Whether this broker has the partition's log open (as its leader or a follower); owner
    // and log_dir mean something only then. Always true on a single node.
    bool hosted = true;
    // Whether this broker leads it, hosted: clients are served only by the leader (a follower
    // holds the log to replicate it). Always true on a single node.
    bool leading = true;
};

struct topic_metadata {
    std::string name;
    protocol::uuid id{};
    std::vector<partition_placement> partitions;          // index = partition number
    std::map<std::string, std::string> config_overrides;  // topic-level configs set by users
    bool internal = false;
    // Registered in ZooKeeper (a cluster's topic): kept there, not in this broker's topic table.
    bool in_cluster = false;

    int32_t partition_count() const { return static_cast<int32_t>(partitions.size()); }
};

struct topics_snapshot {
    std::map<std::string, std::shared_ptr<const topic_metadata>, std::less<>> by_name;
    std::map<protocol::uuid, std::shared_ptr<const topic_metadata>> by_id;
    // Partitions of every topic together (runnel.max.partitions bounds it).
    int64_t partition_count = 0;
    // Moves whenever a topic name comes or goes, so that what was computed from the set of
    // names (regex subscriptions) can be kept until then.
    uint64_t names_version = 0;

    std::shared_ptr<const topic_metadata> find(std::string_view name) const {
        auto it = by_name.find(name);
        return it == by_name.end() ? nullptr : it->second;
    }
    std::shared_ptr<const topic_metadata> find(const protocol::uuid& id) const {
        auto it = by_id.find(id);
        return it == by_id.end() ? nullptr : it->second;
    }
    // A copy with `t` added or replaced (by name).
    std::shared_ptr<topics_snapshot> with(std::shared_ptr<const topic_metadata> t) const;
    std::shared_ptr<topics_snapshot> without(std::string_view name) const;
};

class topic_registry {
  public:
    topic_registry() : current_(std::make_shared<const topics_snapshot>()) {}

    std::shared_ptr<const topics_snapshot> snapshot() const { return current_.load(); }
    // Shard 0 only.
    void publish(std::shared_ptr<const topics_snapshot> next) { current_.store(std::move(next)); }

  private:
    std::atomic<std::shared_ptr<const topics_snapshot>> current_;
};

// A new random (version 4) topic ID, never zero and never one whose text starts with '-'.
protocol::uuid random_uuid();

}  // namespace runnel::server
