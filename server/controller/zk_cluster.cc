#include "server/controller/zk_cluster.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "protocol/messages/api_table.h"
#include "protocol/messages/controlled_shutdown.h"
#include "server/controller/broker_registration.h"
#include "server/core/cross_shard.h"
#include "server/core/logger.h"
#include "server/replication/broker_link.h"
#include "storage/file.h"

namespace runnel::server {

namespace asio = boost::asio;
using namespace zookeeper;

zk_cluster::zk_cluster(cluster_context& cluster)
    : cluster_(cluster),
      session_file_(std::filesystem::path(cluster.config().log_dirs.front()) /
                    "runnel-zookeeper-session") {
    const auto& c = cluster.config();
    zk_ = std::make_unique<zk_client>(cluster.metadata_shard().executor(), c.zookeeper_connect,
                                      std::chrono::milliseconds(c.zookeeper_session_timeout_ms));
}

zk_cluster::~zk_cluster() = default;

asio::awaitable<int32_t> zk_cluster::generate_broker_id(int32_t reserved_max) {
    // Kafka's: every write of /brokers/seqid bumps its version, and the new version above the
    // reserved ids is the broker's id (1001 first), unique for the life of the ensemble.
    node_data r = co_await zk_->set_and_stat("/brokers/seqid", "", -1);
    if (!r.code.ok()) {
        throw std::runtime_error("cannot generate a broker id (/brokers/seqid): " + r.code.text());
    }
    co_return reserved_max + r.version;
}

asio::awaitable<std::string> zk_cluster::join(std::string candidate) {
    const auto& c = cluster_.config();
    co_await zk_->connect(std::chrono::milliseconds(c.zookeeper_connection_timeout_ms));
    // From now on the topics clients create are the cluster's.
    topic_admin_ = std::make_unique<zk_topic_admin>(*zk_, cluster_);
    cluster_.admin().set_cluster_topics(topic_admin_.get());
    for (const auto& p : paths::persistent()) {
        zk_code made = co_await zk_->create(p, "", node_mode::persistent);
        if (!made.ok() && !made.node_exists()) {
            throw std::runtime_error("cannot create " + p + " in ZooKeeper: " + made.text());
        }
    }
    for (;;) {
        node_data stored = co_await zk_->get(std::string(paths::cluster_id));
        if (stored.code.ok()) co_return parse_cluster_id(stored.data);
        if (!stored.code.no_node()) {
            throw std::runtime_error("cannot read the cluster id from ZooKeeper: " +
                                     stored.code.text());
        }
        co_await zk_->create("/cluster", "", node_mode::persistent);
        zk_code made = co_await zk_->create(std::string(paths::cluster_id),
                                            cluster_id_json(candidate), node_mode::persistent);
        if (made.ok()) {
            server_log().info("stored cluster id {} in ZooKeeper", candidate);
            co_return candidate;
        }
        // Another broker stored one first: read it.
        if (!made.node_exists()) {
            throw std::runtime_error("cannot store the cluster id in ZooKeeper: " + made.text());
        }
    }
}

int64_t zk_cluster::previous_session() const {
    std::ifstream in(session_file_);
    std::string text;
    if (!(in >> text)) return 0;
    try {
        return static_cast<int64_t>(std::stoull(text, nullptr, 16));
    } catch (const std::exception&) {
        return 0;
    }
}

void zk_cluster::remember_session() {
    char text[24];
    std::snprintf(text, sizeof text, "%llx\n", static_cast<unsigned long long>(zk_->session_id()));
    if (auto ec = storage::write_file_atomically(session_file_, text)) {
        server_log().warn(
            "cannot write {}: {} (a restart after a crash will wait for the old "
            "ZooKeeper session to expire)",
            session_file_.string(), ec.message());
    }
}

asio::awaitable<void> zk_cluster::register_self() {
    const auto& c = cluster_.config();
    co_await register_broker(
        *zk_, self_, previous_session_,
        std::chrono::milliseconds(c.zookeeper_session_timeout_ms) + std::chrono::seconds(2));
    remember_session();
}

asio::awaitable<void> zk_cluster::start(broker_registration self) {
    self_ = std::move(self);
    previous_session_ = previous_session();
    co_await register_self();
    brokers_ = std::make_unique<broker_watch>(*zk_, [this](const auto& live) {
        live_ = live;
        publish();
        if (active_) active_->brokers_changed(live_ids());
    });
    election_ = std::make_unique<controller_election>(*zk_, self_.id, previous_session_,
                                                      [this](const auto&) {
                                                          publish();
                                                          follow_election();
                                                      });
    cluster_.set_controller(this);
    producer_ids_ = std::make_unique<producer_id_blocks>(*zk_, cluster_);
    producer_ids_->start();
    // Replication first: the roles topic_sync hands the partitions start the fetchers.
    fetchers_ = std::make_unique<replica_fetchers>(cluster_);
    fetchers_->start();
    isr_writer_ = std::make_unique<zk_isr_writer>(*zk_, cluster_);
    isr_tracker_ = std::make_unique<isr_tracker>(cluster_, *isr_writer_);
    isr_tracker_->start();
    topics_ = std::make_shared<topic_sync>(*zk_, cluster_);
    zk_->on_session_event([this](session_event e) { on_session(e); });
    started_ = true;
    asio::co_spawn(zk_->executor(), brokers_->run(), log_failure("watching /brokers/ids"));
    asio::co_spawn(zk_->executor(), election_->run(), log_failure("the controller election"));
    asio::co_spawn(zk_->executor(), topics_->run(), log_failure("following the cluster's topics"));
}

void zk_cluster::on_session(session_event e) {
    if (stopped_ || !started_ || e != session_event::new_session) return;
    // The ensemble expired the session: this broker's registration and any controller node it
    // held are gone. Register again, then look at the brokers and the controller again.
    asio::co_spawn(zk_->executor(), renew(), log_failure("renewing the ZooKeeper registration"));
}

asio::awaitable<void> zk_cluster::renew() {
    election_->session_lost();
    publish();
    co_await register_self();
    brokers_->session_renewed();
    topics_->session_renewed();
    election_->wake();
}

std::set<int32_t> zk_cluster::live_ids() const {
    std::set<int32_t> ids;
    for (const auto& b : live_) ids.insert(b.id);
    return ids;
}

void zk_cluster::follow_election() {
    if (active_ && (active_->resigned() || !election_->is_controller() ||
                    active_->epoch() != election_->state().epoch)) {
        active_->resign();
        active_.reset();
    }
    if (stopped_ || active_ || !election_->is_controller()) return;
    const auto& config = cluster_.config();
    controller_settings settings;
    settings.delete_topics = config.delete_topic_enable;
    settings.unclean = config.unclean_leader_election_enable;
    settings.auto_rebalance = config.auto_leader_rebalance_enable;
    settings.rebalance_interval =
        std::chrono::seconds(config.leader_imbalance_check_interval_seconds);
    settings.imbalance_percentage = config.leader_imbalance_per_broker_percentage;
    active_ = std::make_shared<active_controller>(*zk_, self_.id, election_->state(), live_ids(),
                                                  settings);
    asio::co_spawn(zk_->executor(), active_->run(), log_failure("the controller"));
}

void zk_cluster::publish() {
    auto next = std::make_shared<members_snapshot>();
    bool self_seen = false;
    for (const auto& b : live_) {
        cluster_member m;
        m.id = b.id;
        m.rack = b.rack;
        for (const auto& e : b.endpoints) m.endpoints.push_back({e.listener, e.host, e.port});
        self_seen |= b.id == self_.id;
        next->brokers.push_back(std::move(m));
    }
    if (!self_seen) {
        // Before the watch first sees this broker's registration (or while it is renewed), it
        // still answers for itself.
        cluster_member me;
        me.id = self_.id;
        me.rack = self_.rack;
        for (const auto& e : self_.endpoints) me.endpoints.push_back({e.listener, e.host, e.port});
        auto at = std::find_if(next->brokers.begin(), next->brokers.end(),
                               [&](const cluster_member& m) { return m.id > me.id; });
        next->brokers.insert(at, std::move(me));
    }
    if (election_) {
        next->controller_id = election_->state().controller_id;
        next->controller_epoch = election_->state().epoch;
    }
    cluster_.members().publish(std::move(next));
}

void zk_cluster::stop() {
    if (stopped_) return;
    stopped_ = true;
    if (brokers_) brokers_->stop();
    if (election_) election_->stop();
    if (active_) active_->resign();
    if (topics_) topics_->stop();
    // Closing the session removes its ephemeral nodes now, not a session timeout later, so the
    // others see this broker leave (and elect a new controller) at once.
    zk_->close();
    if (started_) server_log().info("left the ZooKeeper cluster");
}

template <class R, class F>
asio::awaitable<R> zk_cluster::with_term(F& call) {
    auto task = [this, &call]() -> asio::awaitable<R> {
        auto term = active_;  // kept alive while the call runs
        if (!term || term->resigned()) {
            R refused;
            refused.error = protocol::error_code::not_controller;
            co_return refused;
        }
        co_return co_await call(*term);
    };
    co_return co_await on_shard(cluster_.metadata_shard(), task);
}

asio::awaitable<controlled_shutdown_result> zk_cluster::controlled_shutdown(int32_t broker) {
    auto call = [broker](active_controller& term) { return term.controlled_shutdown(broker); };
    co_return co_await with_term<controlled_shutdown_result>(call);
}

asio::awaitable<elect_leaders_result> zk_cluster::elect_leaders(
    bool unclean, std::optional<std::vector<std::pair<std::string, int32_t>>> partitions) {
    auto call = [unclean, &partitions](active_controller& term) {
        return term.elect_leaders(unclean, std::move(partitions));
    };
    co_return co_await with_term<elect_leaders_result>(call);
}

asio::awaitable<alter_reassignments_result> zk_cluster::alter_reassignments(
    std::vector<reassignment_request> partitions, bool allow_replication_factor_change) {
    auto call = [&partitions, allow_replication_factor_change](active_controller& term) {
        return term.alter_reassignments(std::move(partitions), allow_replication_factor_change);
    };
    co_return co_await with_term<alter_reassignments_result>(call);
}

asio::awaitable<list_reassignments_result> zk_cluster::list_reassignments(
    std::optional<std::vector<std::pair<std::string, int32_t>>> partitions) {
    auto call =
        [&partitions](active_controller& term) -> asio::awaitable<list_reassignments_result> {
        co_return term.list_reassignments(partitions);
    };
    co_return co_await with_term<list_reassignments_result>(call);
}

asio::awaitable<controlled_shutdown_result> zk_cluster::ask_controller() {
    const auto members = cluster_.members().snapshot();
    const int32_t controller = members->controller_id;
    if (controller == self_.id) co_return co_await controlled_shutdown(self_.id);
    const cluster_member* at = members->find(controller);
    const member_endpoint* ep =
        at ? at->broker_endpoint(cluster_.config().inter_broker_listener_name) : nullptr;
    if (!ep) co_return controlled_shutdown_result{protocol::error_code::not_controller, {}};
    broker_link link(cluster_.metadata_shard(),
                     "runnel-controlled-shutdown-" + std::to_string(self_.id));
    const auto timeout = std::chrono::milliseconds(cluster_.config().replica_socket_timeout_ms);
    if (auto ec = co_await link.connect(ep->host, ep->port, timeout)) {
        server_log().warn("controlled shutdown: cannot reach controller {} at {}:{}: {}",
                          controller, ep->host, ep->port, ec.message());
        co_return controlled_shutdown_result{protocol::error_code::network_exception, {}};
    }
    protocol::msg::controlled_shutdown_request req;
    req.broker_id = self_.id;
    req.broker_epoch = -1;
    auto resp = co_await link.call<protocol::msg::api_types<7>>(req, 3, timeout);
    if (!resp) {
        server_log().warn("controlled shutdown: controller {} did not answer: {}", controller,
                          resp.error().message());
        co_return controlled_shutdown_result{protocol::error_code::network_exception, {}};
    }
    controlled_shutdown_result out;
    out.error = static_cast<protocol::error_code>(resp->error_code);
    for (const auto& r : resp->remaining_partitions)
        out.remaining.emplace_back(r.topic_name, r.partition_index);
    co_return out;
}

asio::awaitable<bool> zk_cluster::hand_over_leadership() {
    const auto& config = cluster_.config();
    if (!started_ || stopped_ || !config.controlled_shutdown_enable) co_return false;
    const auto began = std::chrono::steady_clock::now();
    asio::steady_timer pause(zk_->executor());
    bool moved = false;
    for (int32_t attempt = 0; attempt <= config.controlled_shutdown_max_retries; ++attempt) {
        if (attempt > 0) {
            pause.expires_after(
                std::chrono::milliseconds(config.controlled_shutdown_retry_backoff_ms));
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        auto r = co_await ask_controller();
        if (r.error == protocol::error_code::none && r.remaining.empty()) {
            moved = true;
            break;
        }
        if (r.error == protocol::error_code::none) {
            std::string names;
            for (const auto& [t, p] : r.remaining) {
                if (!names.empty()) names += ", ";
                names += t + "-" + std::to_string(p);
            }
            server_log().warn(
                "controlled shutdown: no other in-sync replica can lead {} (attempt {} of {})",
                names, attempt + 1, config.controlled_shutdown_max_retries + 1);
            // Those stay unavailable until this broker is back; nothing more to wait for.
            if (attempt == config.controlled_shutdown_max_retries) break;
        } else {
            server_log().warn("controlled shutdown: {} (attempt {} of {})",
                              protocol::error_name(r.error), attempt + 1,
                              config.controlled_shutdown_max_retries + 1);
        }
    }
    // The new states come back through ZooKeeper (topic_sync): wait, briefly, until this broker
    // no longer leads a partition that another replica could, so that its last clients are sent
    // to the new leaders rather than acknowledged here.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (moved && std::chrono::steady_clock::now() < deadline) {
        bool leading = false;
        for (const auto& [name, t] : cluster_.topics().snapshot()->by_name) {
            if (!t->in_cluster) continue;
            for (const auto& p : t->partitions)
                leading = leading || (p.leading && p.isr.size() > 1);
        }
        if (!leading) break;
        pause.expires_after(std::chrono::milliseconds(20));
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - began)
                        .count();
    if (moved) server_log().info("controlled shutdown: leadership moved in {} ms", ms);
    co_return moved;
}

void zk_cluster::stop_replication_on(shard_id s) {
    if (fetchers_) fetchers_->stop_on(s);
    if (isr_tracker_) isr_tracker_->stop_on(s);
}

}  // namespace runnel::server
