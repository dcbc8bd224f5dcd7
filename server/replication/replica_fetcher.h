// A follower's fetcher: on one shard, for one leader broker, it copies the data of every
// partition that shard owns and that broker leads into the local replicas (Kafka's
// ReplicaFetcherThread, one per shard and leader instead of num.replica.fetchers threads).
// Each round is one Fetch (replica_id = this broker, LastFetchedEpoch per partition) that
// waits up to replica.fetch.wait.max.ms at the leader; what comes back is appended as it is,
// the leader's high watermark taken, and a diverging epoch answered by truncation (KIP-595).
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "protocol/messages/fetch.h"
#include "server/cluster/cluster_context.h"
#include "server/cluster/partition.h"
#include "server/replication/broker_link.h"

namespace runnel::server {

class replica_fetcher : public std::enable_shared_from_this<replica_fetcher> {
  public:
    replica_fetcher(cluster_context& cluster, shard_id home, int32_t leader);

    // Runs on the home shard when the fetcher ends (no partition left to follow from the
    // leader, or stop()).
    void set_on_exit(std::function<void()> f) { on_exit_ = std::move(f); }
    int32_t leader() const { return leader_; }
    // On the home shard.
    void start();
    void stop();
    // The partitions to follow changed: fetch the new ones without waiting out a pause or the
    // long poll in flight (which is cut short: the connection is opened again).
    void wake();

  private:
    struct followed {
        partition_key key;
        std::string topic;
    };
    asio::awaitable<void> run();
    // The partitions of the home shard that follow leader_ and are not backing off.
    std::vector<followed> partitions_to_fetch(std::chrono::steady_clock::time_point now) const;
    asio::awaitable<bool> ensure_connected();
    // Applies one partition's answer; false when it failed (the partition backs off).
    bool apply(const followed& f,
               const protocol::msg::fetch_response::fetchable_topic_response::partition_data& d);
    asio::awaitable<void> pause(std::chrono::milliseconds d);
    // Whether `p` (nullptr: closed) is a follower of leader_.
    bool follows_leader(const partition* p) const;
    // One warning about the leader per 10 s at most (an unreachable leader fails every round).
    bool warning_due();

    cluster_context& cluster_;
    shard_id home_;
    int32_t leader_;
    std::function<void()> on_exit_;
    broker_link link_;
    asio::steady_timer pause_timer_;
    bool stopped_ = false;
    // The partitions of the fetch in flight (empty when none is), and whether it was cut short
    // by wake() for new partitions (then no pause follows).
    std::vector<partition_key> in_flight_;
    bool cut_short_ = false;
    // Partitions whose last fetch failed: when they may be fetched again, and the pause after
    // the next failure. The first pause is short and each one doubles, up to
    // replica.fetch.backoff.ms (Kafka pauses that long at once): the usual failure is a leader
    // that has not taken its role yet when its followers first ask, a matter of milliseconds.
    struct backoff {
        std::chrono::steady_clock::time_point until;
        std::chrono::milliseconds next;
    };
    std::map<std::pair<protocol::uuid, int32_t>, backoff> delayed_;
    std::chrono::steady_clock::time_point last_warning_{};
};

}  // namespace runnel::server
