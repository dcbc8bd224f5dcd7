#include "server/replication/replica_fetcher.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "protocol/messages/api_table.h"
#include "protocol/messages/fetch.h"
#include "protocol/record_batch_header.h"
#include "server/cluster/error_mapping.h"
#include "server/core/logger.h"

namespace runnel::server {

namespace {

using fetch_api = protocol::msg::api_types<1>;
// Fetch v13: topic ids, LastFetchedEpoch and DivergingEpoch (the leader is a Runnel or a Kafka
// 3.x broker in the same cluster).
constexpr int16_t fetch_version = 13;
// The first pause of a partition whose fetch failed (doubling up to replica.fetch.backoff.ms).
constexpr int64_t first_backoff_ms = 20;

}  // namespace

replica_fetcher::replica_fetcher(cluster_context& cluster, shard_id home, int32_t leader)
    : cluster_(cluster),
      home_(home),
      leader_(leader),
      link_(cluster.shards().at(home), "runnel-replica-fetcher-" +
                                           std::to_string(cluster.node_id()) + "-" +
                                           std::to_string(home)),
      pause_timer_(cluster.shards().at(home).context()) {}

void replica_fetcher::start() {
    asio::co_spawn(
        cluster_.shards().at(home_).executor(),
        [self = shared_from_this()]() { return self->run(); }, asio::detached);
}

void replica_fetcher::stop() {
    stopped_ = true;
    link_.close();
    pause_timer_.cancel();
}

void replica_fetcher::wake() {
    pause_timer_.cancel();
    if (in_flight_.empty()) return;
    for (const auto& f : partitions_to_fetch(std::chrono::steady_clock::now())) {
        if (std::find(in_flight_.begin(), in_flight_.end(), f.key) == in_flight_.end()) {
            // A new partition would wait out the leader's long poll (up to
            // replica.fetch.wait.max.ms): a new connection is cheaper than that wait after a
            // leadership change.
            cut_short_ = true;
            link_.close();
            return;
        }
    }
}

std::vector<replica_fetcher::followed> replica_fetcher::partitions_to_fetch(
    std::chrono::steady_clock::time_point now) const {
    std::vector<followed> out;
    cluster_.partitions_on(home_).for_each([&](partition& p) {
        if (!follows_leader(&p)) return;
        auto it = delayed_.find({p.topic_id(), p.index()});
        if (it != delayed_.end() && it->second.until > now) return;
        out.push_back({{p.topic_id(), p.index()}, p.topic()});
    });
    return out;
}

bool replica_fetcher::follows_leader(const partition* p) const {
    return p && p->role() && !p->role()->leads() && p->role()->leader == leader_;
}

bool replica_fetcher::warning_due() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_warning_ <= std::chrono::seconds(10)) return false;
    last_warning_ = now;
    return true;
}

asio::awaitable<void> replica_fetcher::pause(std::chrono::milliseconds d) {
    pause_timer_.expires_after(d);
    co_await pause_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<bool> replica_fetcher::ensure_connected() {
    if (link_.connected()) co_return true;
    const auto& config = cluster_.config();
    const auto members = cluster_.members().snapshot();
    const cluster_member* leader = members->find(leader_);
    const member_endpoint* at =
        leader ? leader->broker_endpoint(config.inter_broker_listener_name) : nullptr;
    if (!at) co_return false;  // not registered (down), or without that listener
    auto ec = co_await link_.connect(at->host, at->port,
                                     std::chrono::milliseconds(config.replica_socket_timeout_ms));
    if (ec) {
        if (warning_due()) {
            server_log().warn("replica fetcher: cannot reach leader {} at {}:{}: {}", leader_,
                              at->host, at->port, ec.message());
        }
        co_return false;
    }
    server_log().info("replica fetcher (shard {}): fetching from leader {} at {}", home_, leader_,
                      link_.peer());
    co_return true;
}

asio::awaitable<void> replica_fetcher::run() {
    const auto& config = cluster_.config();
    const auto backoff_limit = std::chrono::milliseconds(config.replica_fetch_backoff_ms);
    const auto timeout = std::chrono::milliseconds(config.replica_socket_timeout_ms) +
                         std::chrono::milliseconds(config.replica_fetch_wait_max_ms);
    while (!stopped_) {
        const auto now = std::chrono::steady_clock::now();
        auto parts = partitions_to_fetch(now);
        if (parts.empty()) {
            // Nothing to fetch now: done, unless some partitions only back off.
            auto earliest = std::chrono::steady_clock::time_point::max();
            for (auto it = delayed_.begin(); it != delayed_.end();) {
                partition* p =
                    cluster_.partitions_on(home_).find(it->first.first, it->first.second);
                if (!follows_leader(p)) {
                    it = delayed_.erase(it);
                } else {
                    earliest = std::min(earliest, it->second.until);
                    ++it;
                }
            }
            if (delayed_.empty()) break;
            co_await pause(std::chrono::duration_cast<std::chrono::milliseconds>(
                std::clamp<std::chrono::steady_clock::duration>(
                    earliest - now, std::chrono::milliseconds(1), backoff_limit)));
            continue;
        }
        if (!co_await ensure_connected()) {
            co_await pause(backoff_limit);
            continue;
        }
        protocol::msg::fetch_request req;
        req.replica_id = cluster_.node_id();
        req.max_wait_ms = config.replica_fetch_wait_max_ms;
        // A partition backing off must not wait out a whole long poll on top of its pause.
        for (const auto& [key, b] : delayed_) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(b.until - now);
            req.max_wait_ms =
                std::clamp<int32_t>(static_cast<int32_t>(left.count()), 0, req.max_wait_ms);
        }
        req.min_bytes = config.replica_fetch_min_bytes;
        req.max_bytes = config.replica_fetch_response_max_bytes;
        req.isolation_level = 0;
        req.session_id = 0;
        req.session_epoch = -1;  // a full fetch, no session (KIP-227)
        std::vector<followed> asked;
        for (const auto& f : parts) {
            partition* p = cluster_.partitions_on(home_).find(f.key.topic_id, f.key.index);
            if (!p) continue;
            if (req.topics.empty() || req.topics.back().topic_id != f.key.topic_id) {
                auto& t = req.topics.emplace_back();
                t.topic = f.topic;
                t.topic_id = f.key.topic_id;
            }
            auto& fp = req.topics.back().partitions.emplace_back();
            fp.partition = f.key.index;
            fp.current_leader_epoch = p->role()->leader_epoch;
            fp.fetch_offset = p->log().log_end_offset();
            const auto latest = p->log().epochs().latest();
            fp.last_fetched_epoch = latest ? latest->epoch : -1;
            fp.log_start_offset = p->log().log_start_offset();
            fp.partition_max_bytes = config.replica_fetch_max_bytes;
            asked.push_back(f);
        }
        in_flight_.clear();
        for (const auto& f : asked) in_flight_.push_back(f.key);
        auto resp = co_await link_.call<fetch_api>(req, fetch_version, timeout);
        in_flight_.clear();
        if (stopped_) break;
        if (cut_short_) {
            cut_short_ = false;
            continue;  // a round with the new partitions, at once
        }
        if (!resp) {
            if (warning_due()) {
                server_log().warn("replica fetcher: fetch from leader {} failed: {}", leader_,
                                  resp.error().message());
            }
            co_await pause(backoff_limit);
            continue;
        }
        if (resp->error_code != 0) {
            server_log().warn(
                "replica fetcher: leader {} refused the fetch: {}", leader_,
                protocol::error_name(static_cast<protocol::error_code>(resp->error_code)));
            co_await pause(backoff_limit);
            continue;
        }
        for (const auto& t : resp->responses) {
            for (const auto& d : t.partitions) {
                // Matched by topic id and index rather than by position.
                auto it = std::find_if(asked.begin(), asked.end(), [&](const followed& f) {
                    return f.key.topic_id == t.topic_id && f.key.index == d.partition_index;
                });
                if (it == asked.end()) continue;
                if (!apply(*it, d)) {
                    auto slot =
                        delayed_
                            .try_emplace({it->key.topic_id, it->key.index},
                                         backoff{{}, std::chrono::milliseconds(first_backoff_ms)})
                            .first;
                    const auto wait = std::min(slot->second.next, backoff_limit);
                    slot->second.until = std::chrono::steady_clock::now() + wait;
                    slot->second.next = wait * 2;
                } else {
                    delayed_.erase({it->key.topic_id, it->key.index});
                }
            }
        }
    }
    link_.close();
    if (on_exit_) {
        auto done = std::move(on_exit_);
        done();
    }
}

bool replica_fetcher::apply(
    const followed& f,
    const protocol::msg::fetch_response::fetchable_topic_response::partition_data& d) {
    partition* p = cluster_.partitions_on(home_).find(f.key.topic_id, f.key.index);
    // Closed, or no longer following this leader, while the fetch was out.
    if (!follows_leader(p)) return true;
    const auto error = static_cast<protocol::error_code>(d.error_code);
    const std::string name = f.topic + "-" + std::to_string(f.key.index);
    if (error != protocol::error_code::none) {
        // NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH: the leader's view or ours is
        // behind; the partition state in ZooKeeper settles it. OFFSET_OUT_OF_RANGE: see below.
        server_log().debug("replica fetcher: {} from leader {}: {}", name, leader_,
                           protocol::error_name(error));
        if (error == protocol::error_code::offset_out_of_range) {
            server_log().warn(
                "replica fetcher: leader {} has no offset {} of {} (an unclean leader election "
                "or a log start past it); retrying",
                leader_, p->log().log_end_offset(), name);
        }
        return false;
    }
    if (d.diverging_epoch.epoch >= 0 || d.diverging_epoch.end_offset >= 0) {
        // Our log went past the leader's for an epoch (we led it, or followed an old leader):
        // cut it back to where both agree (KIP-101/279's rule: the smaller of the leader's and
        // our end of that epoch).
        int64_t target = std::min(d.diverging_epoch.end_offset, p->log().log_end_offset());
        const auto ours = p->log().end_offset_for(d.diverging_epoch.epoch);
        if (ours.epoch == d.diverging_epoch.epoch && ours.end_offset >= 0)
            target = std::min(target, ours.end_offset);
        if (target < 0) target = 0;
        auto cut = p->truncate_to(target);
        if (!cut) {
            server_log().error("replica fetcher: cannot truncate {} to {}: {}", name, target,
                               cut.error().message());
            return false;
        }
        server_log().info(
            "replica fetcher: {} diverged from leader {} (epoch {} ends at {} there): "
            "truncated to {}",
            name, leader_, d.diverging_epoch.epoch, d.diverging_epoch.end_offset, target);
        return true;
    }
    if (!d.records.is_null() && d.records.size() > 0) {
        std::vector<uint8_t> bytes;
        std::span<const uint8_t> batches;
        if (d.records.chunks().size() == 1 && !d.records.chunks().front().is_file()) {
            batches = d.records.chunks().front().bytes;
        } else {
            bytes = d.records.flatten();
            batches = bytes;
        }
        // A fetch ends with whole batches, but a partial one at the end is not an error (the
        // leader may cut the response): append only whole batches.
        size_t whole = 0;
        while (batches.size() - whole >= protocol::batch_layout::log_overhead) {
            const auto* q = batches.data() + whole;
            const auto len = static_cast<size_t>(
                protocol::batch_layout::load_i32(q + protocol::batch_layout::batch_length));
            if (batches.size() - whole < protocol::batch_layout::log_overhead + len) break;
            whole += protocol::batch_layout::log_overhead + len;
        }
        if (whole > 0) {
            auto r = p->append_replicated(batches.first(whole));
            if (!r.ok()) {
                server_log().error(
                    "replica fetcher: cannot append to {} what leader {} sent: {}", name, leader_,
                    r.message ? *r.message : std::string(protocol::error_name(r.error)));
                return false;
            }
        }
    }
    p->leader_high_watermark(d.high_watermark);
    return true;
}

}  // namespace runnel::server
