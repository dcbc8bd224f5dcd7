#include "server/core/peer_warnings.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/core/logger.h"
#include "server/core/shard.h"

namespace runnel::server {

peer_warnings& peer_warnings::local() {
    thread_local peer_warnings w;
    return w;
}

std::string_view peer_host(std::string_view peer) {
    if (peer.starts_with('[')) {
        auto close = peer.find(']');
        return close == std::string_view::npos ? peer : peer.substr(1, close - 1);
    }
    auto colon = peer.rfind(':');
    // A bare IPv6 address has several colons and no port.
    if (colon == std::string_view::npos || peer.find(':') != colon) return peer;
    return peer.substr(0, colon);
}

bool peer_warnings::admit(std::string_view peer, clock::time_point now) {
    if (now >= window_start_ + interval) {
        window_start_ = now;
        // Drops of the last interval stay counted until their summary is taken.
        for (auto it = peers_.begin(); it != peers_.end();) {
            if (it->second.dropped == 0) {
                it = peers_.erase(it);
            } else {
                it->second.logged = 0;
                ++it;
            }
        }
    }
    std::string host(peer_host(peer));
    auto it = peers_.find(host);
    if (it == peers_.end()) {
        if (peers_.size() >= max_tracked_peers) {
            ++dropped_;  // a flood from very many hosts: counted in total only
            return false;
        }
        it = peers_.emplace(std::move(host), peer_counts{}).first;
    }
    if (it->second.logged < burst) {
        ++it->second.logged;
        return true;
    }
    ++it->second.dropped;
    ++dropped_;
    return false;
}

std::optional<peer_warnings::summary> peer_warnings::take_summary() {
    if (dropped_ == 0) return std::nullopt;
    summary s;
    s.dropped = dropped_;
    for (auto& [host, counts] : peers_) {
        if (counts.dropped == 0) continue;
        ++s.peers;
        if (counts.dropped > s.busiest_dropped) {
            s.busiest_dropped = counts.dropped;
            s.busiest_peer = host;
        }
        counts.dropped = 0;
    }
    dropped_ = 0;
    return s;
}

namespace {

void log_summary(peer_warnings& w) {
    auto s = w.take_summary();
    if (!s) return;
    server_log().warn(
        "{} more warning(s) about bad requests from {} peer(s) were not logged in "
        "the last {} s (most from {}: {}); each peer gets {} lines per interval",
        s->dropped, s->peers,
        std::chrono::duration_cast<std::chrono::seconds>(peer_warnings::interval).count(),
        s->busiest_peer.empty() ? "untracked peers" : s->busiest_peer, s->busiest_dropped,
        peer_warnings::burst);
}

}  // namespace

void schedule_peer_warning_summary(peer_warnings& w) {
    if (w.summary_scheduled_) return;
    shard* here = shard_set::current();
    if (!here) return;  // not a shard thread: no timer to wait on (unit tests)
    w.summary_scheduled_ = true;
    auto when = w.interval_end();
    asio::co_spawn(
        here->executor(),
        [&w, when, here]() -> asio::awaitable<void> {
            asio::steady_timer timer(here->context());
            timer.expires_at(when);
            boost::system::error_code ec;
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            w.summary_scheduled_ = false;
            log_summary(w);
        },
        asio::detached);
}

}  // namespace runnel::server
