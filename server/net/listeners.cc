#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <chrono>

#include "server/core/host_limits.h"
#include "server/core/logger.h"
#include "server/core/peer_warnings.h"
#include "server/kafka/kafka_services.h"
#include "server/net/client_socket.h"
#include "server/net/connection.h"
#include "server/net/idle_connections.h"
#include "server/net/listeners.h"

namespace runnel::server {

namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// One descriptor held open so that, with none left, a waiting connection can still be accepted
// and closed (the client sees its connection closed, not a hang until its timeout).
class spare_descriptor {
  public:
    spare_descriptor() { reopen(); }
    ~spare_descriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    spare_descriptor(const spare_descriptor&) = delete;
    spare_descriptor& operator=(const spare_descriptor&) = delete;

    // Accepts the connections waiting on `listen_fd` one at a time through the spare slot and
    // closes each at once, until none is left; returns how many. Draining the whole backlog
    // answers every waiting client now rather than one per pause.
    uint64_t refuse_waiting(int listen_fd) {
        uint64_t refused = 0;
        for (;;) {
            if (fd_ < 0) reopen();
            if (fd_ < 0) return refused;  // another thread took the slot: retried next time
            ::close(fd_);
            fd_ = -1;
            int conn = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (conn >= 0) ::close(conn);
            reopen();
            if (conn < 0) return refused;  // EAGAIN: the backlog is empty
            ++refused;
        }
    }

  private:
    void reopen() { fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC); }
    int fd_ = -1;
};

bool out_of_resources(const boost::system::error_code& ec) {
    const int e = ec.value();
    return ec.category() == boost::system::system_category() &&
           (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM);
}

// A connection that went away before it was accepted: nothing wrong on our side.
bool peer_gone(const boost::system::error_code& ec) {
    const int e = ec.value();
    return ec.category() == boost::system::system_category() &&
           (e == ECONNABORTED || e == EPROTO || e == EAGAIN || e == EINTR);
}

// A run of failed accepts: logged when it starts and when it ends, with a growing pause
// between tries (10 ms doubling to 1 s) in between.
class failure_streak {
  public:
    explicit failure_streak(const std::string& listener) : listener_(listener) {}

    // Records a failed accept and returns how long to wait before the next one.
    clock::duration failed(const boost::system::error_code& ec, uint64_t refused) {
        refused_ += refused;
        if (failures_++ == 0) {
            started_ = clock::now();
            delay_ = 10ms;
            // (Counting the open descriptors would need one: only the limit is told.)
            server_log().warn(
                "accept on {} failed: {} (open file limit {}); new connections "
                "are refused and retried with a growing pause until this clears, "
                "the open ones keep being served",
                listener_, ec.message(), descriptor_limit().soft);
        } else {
            delay_ = std::min<clock::duration>(delay_ * 2, 1s);
        }
        return delay_;
    }

    // An accept worked: logs the end of a streak, if one was running.
    void succeeded() {
        if (failures_ == 0) return;
        const auto lasted =
            std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started_);
        server_log().info(
            "accept on {} works again after {} failed tries over {} ms ({} "
            "connection(s) refused)",
            listener_, failures_, lasted.count(), refused_);
        failures_ = 0;
        refused_ = 0;
    }

  private:
    const std::string& listener_;
    uint64_t failures_ = 0;
    uint64_t refused_ = 0;
    clock::time_point started_{};
    clock::duration delay_ = 10ms;
};

}  // namespace

asio::awaitable<void> listeners::accept_loop(std::shared_ptr<asio::ip::tcp::acceptor> acceptor,
                                             std::string listener) {
    spare_descriptor spare;
    failure_streak streak(listener);
    asio::steady_timer pause(acceptor->get_executor());
    // spare.refuse_waiting() calls accept4(2) itself, which must never block the shard.
    boost::system::error_code nb;
    acceptor->non_blocking(true, nb);
    for (;;) {
        // max.connections: at the limit nothing is accepted (clients wait in the backlog) until
        // a connection closes, as Kafka's acceptor waits.
        while (quotas_->full() && acceptor->is_open()) {
            pause.expires_after(std::chrono::milliseconds(20));
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        // Connections are spread over the shards round-robin; one whose requests all go to
        // another shard's partitions moves there (connection.h).
        shard& target = shards_.at(next_shard_ % shards_.size());
        auto [ec, socket] =
            co_await acceptor->async_accept(target.context(), asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
        if (ec && peer_gone(ec)) {
            server_log().debug("accept on {}: {}", listener, ec.message());
            continue;
        }
        if (ec) {
            const uint64_t refused =
                out_of_resources(ec) ? spare.refuse_waiting(acceptor->native_handle()) : 0;
            pause.expires_after(streak.failed(ec, refused));
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        streak.succeeded();
        boost::system::error_code peer_ec;
        const auto remote = socket.remote_endpoint(peer_ec);
        if (peer_ec) continue;  // gone already
        // An IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d.
        const auto address =
            remote.address().is_v6() && remote.address().to_v6().is_v4_mapped()
                ? asio::ip::make_address_v4(asio::ip::v4_mapped, remote.address().to_v6())
                      .to_string()
                : remote.address().to_string();
        auto slot = quotas_->admit(address);
        if (!slot) {
            // Kafka closes it at once (TooManyConnectionsException), logged at info.
            log_about_peer(server_log(), spdlog::level::info, address,
                           "closing a new connection from {} on {}: it has {} open already "
                           "(max.connections.per.ip)",
                           address, listener, quotas_->limit_of(address));
            socket.close(peer_ec);
            continue;
        }
        ++next_shard_;
        configure_client_socket(socket.native_handle(), config_);
        auto conn = std::make_shared<connection>(kafka_, idle_, target, std::move(socket), listener,
                                                 std::move(*slot));
        asio::co_spawn(target.executor(), connection::run(std::move(conn)),
                       log_failure("connection ended by an unexpected error"));
    }
}

void listeners::bind_all() {
    for (const auto& l : config_.listeners) {
        if (l.protocol != security_protocol::plaintext) {
            throw std::runtime_error("listener " + to_string(l) +
                                     ": only PLAINTEXT listeners are supported so far");
        }
        boost::system::error_code ec;
        asio::ip::address addr = l.host.empty() ? asio::ip::address(asio::ip::address_v6::any())
                                                : asio::ip::make_address(l.host, ec);
        if (ec) {
            // A host name: resolve it.
            asio::ip::tcp::resolver resolver(shards_.at(0).context());
            auto results = resolver.resolve(l.host, std::to_string(l.port), ec);
            if (ec || results.empty()) {
                throw std::runtime_error("listener " + to_string(l) + ": cannot resolve host '" +
                                         l.host + "'");
            }
            addr = results.begin()->endpoint().address();
        }
        auto acceptor = std::make_shared<asio::ip::tcp::acceptor>(shards_.at(0).context());
        asio::ip::tcp::endpoint ep(addr, l.port);
        acceptor->open(ep.protocol(), ec);
        if (!ec && addr.is_v6() && l.host.empty())
            acceptor->set_option(asio::ip::v6_only(false), ec);
        if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) configure_listening_socket(acceptor->native_handle(), config_);
        if (!ec) acceptor->bind(ep, ec);
        if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            throw std::runtime_error("cannot listen on " + to_string(l) + ": " + ec.message());
        }
        uint16_t bound_port = acceptor->local_endpoint().port();
        acceptors_.push_back(acceptor);
        advertised_endpoint adv{l.name, l.host, bound_port};
        for (const auto& a : config_.advertised_listeners) {
            if (a.name == l.name) {
                adv.host = a.host;
                adv.port = a.port == 0 || a.port == l.port ? bound_port : a.port;
            }
        }
        if (adv.host.empty()) adv.host = local_canonical_host_name();
        kafka_.add_endpoint(adv);
        server_log().info(
            "listening on {} ({}), advertised as {}:{}", to_string(l),
            acceptor->local_endpoint().address().to_string() + ":" + std::to_string(bound_port),
            adv.host, adv.port);
        asio::co_spawn(shards_.at(0).executor(), accept_loop(acceptor, l.name), asio::detached);
    }
}

void listeners::close_all() {
    for (auto& a : acceptors_) {
        boost::system::error_code ec;
        a->close(ec);
    }
}

}  // namespace runnel::server
