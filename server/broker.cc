#include "server/broker.h"

#include <fcntl.h>
#include <sys/file.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <sstream>

#include "server/cluster/topic_store.h"
#include "server/config/properties.h"
#include "server/coordinators/groups/coordinator_set.h"
#include "server/coordinators/transactions/transaction_coordinator_set.h"
#include "server/core/cross_shard.h"
#include "server/core/logger.h"
#include "storage/file.h"
#include "storage/open_file_cache.h"
#include "storage/partition_dir.h"

namespace runnel::server {

namespace fs = std::filesystem;

namespace {

// A Kafka meta.properties file's entries (properties syntax); empty when there is none yet.
std::map<std::string, std::string> read_meta_properties(const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return {};
    return to_map(load_properties_file(p.string()));
}

}  // namespace

broker::broker(broker_config config)
    : config_(std::move(config)),
      idle_(config_.shard_count(), config_.connections_max_idle_ms),
      shards_(config_.shard_count()),
      io_pool_(std::make_unique<asio::thread_pool>(static_cast<size_t>(config_.num_io_threads))),
      cluster_(config_, shards_, *io_pool_) {
    groups_ = std::make_unique<groups::coordinator_set>(cluster_);
    transactions_ = std::make_unique<transactions::transaction_coordinator_set>(cluster_, *groups_);
    kafka_ = std::make_unique<kafka_services>(cluster_, *groups_, *transactions_);
    // Pipeline state stores: runnel.pipelines.state.dir, or pipeline-state/ in the first log dir
    // (not a partition directory's name, so the log loader passes it by).
    pipelines::host_settings pipelines;
    pipelines.dir = config_.pipelines_dir;
    pipelines.scan_interval_ms = config_.pipelines_scan_interval_ms;
    pipelines.state_dir = config_.pipelines_state_dir;
    if (pipelines.state_dir.empty() && !config_.log_dirs.empty()) {
        pipelines.state_dir = std::filesystem::path(config_.log_dirs.front()) / "pipeline-state";
    }
    pipelines.state_memory_bytes = config_.pipelines_state_memory_bytes;
    pipelines.task_timeout_ms = config_.pipelines_task_timeout_ms;
    pipelines_ = std::make_unique<pipelines::pipeline_host>(
        pipelines::pipeline_services{cluster_, *groups_, *transactions_}, std::move(pipelines));
    listeners_ = std::make_unique<listeners>(config_, shards_, *kafka_, idle_);
    admin_services_ = std::make_unique<admin::admin_services>(
        admin::admin_services{*kafka_, *pipelines_, [this] { return ready_.load(); }});
    admin_routes_ = std::make_unique<admin::router>(admin::all_routes(*admin_services_));
    admin_server_ = std::make_unique<admin::admin_server>(shards_, *admin_routes_);
}

broker::~broker() { stop(); }

void broker::lock_log_dirs() {
    // Kafka's .lock: one process per log dir. Two brokers writing the same segments would
    // corrupt them, and a cluster broker takes over ZooKeeper nodes its previous run left behind
    // (zk_cluster), which is only right if that run is gone.
    for (const auto& d : config_.log_dirs) {
        std::error_code ec;
        fs::create_directories(d, ec);
        if (ec) throw std::runtime_error("cannot create log dir " + d + ": " + ec.message());
        auto lock = storage::file::open(fs::path(d) / ".lock", O_RDWR | O_CREAT);
        if (!lock) {
            throw std::runtime_error("cannot open " + (fs::path(d) / ".lock").string() + ": " +
                                     lock.error().message());
        }
        if (::flock(lock->fd(), LOCK_EX | LOCK_NB) != 0) {
            throw std::runtime_error("failed to acquire the lock on .lock in " + d +
                                     ": another broker process is using this directory");
        }
        log_dir_locks_.push_back(std::move(*lock));
    }
}

std::string broker::stored_cluster_id() {
    // Each log dir carries Kafka's meta.properties naming the cluster and node; all must agree.
    std::string cluster = config_.cluster_id.value_or("");
    for (const auto& d : config_.log_dirs) {
        auto meta = read_meta_properties(fs::path(d) / "meta.properties");
        if (auto it = meta.find("cluster.id"); it != meta.end()) {
            if (!cluster.empty() && cluster != it->second) {
                throw std::runtime_error("log dir " + d + " belongs to cluster " + it->second +
                                         ", not " + cluster);
            }
            cluster = it->second;
        }
        if (auto it = meta.find("node.id"); it != meta.end()) {
            if (!config_.node_id_configured && !config_.zookeeper_connect.empty()) {
                // A cluster's broker without a configured id keeps the one it had (Kafka reads
                // broker.id from meta.properties likewise).
                try {
                    config_.node_id = std::stoi(it->second);
                    config_.node_id_configured = true;
                    server_log().info("broker id {} from {}/meta.properties", config_.node_id, d);
                } catch (const std::exception&) {
                    throw std::runtime_error("log dir " + d + ": meta.properties has node.id " +
                                             it->second + ", not a number");
                }
            }
            if (it->second != std::to_string(config_.node_id)) {
                throw std::runtime_error("log dir " + d + " belongs to node " + it->second +
                                         ", but node.id is " + std::to_string(config_.node_id));
            }
        }
    }
    return cluster;
}

std::string broker::join_zookeeper(const std::string& stored) {
    zk_ = std::make_unique<zk_cluster>(cluster_);
    const std::string candidate =
        stored.empty() ? storage::topic_id_to_string(random_uuid()) : stored;
    // The shards do not run yet: the joining runs on this thread.
    asio::io_context here;
    auto joined = asio::co_spawn(here, zk_->join(candidate), asio::use_future);
    here.run();
    std::string cluster = joined.get();
    if (!config_.node_id_configured) {
        if (!config_.broker_id_generation_enable) {
            throw std::runtime_error(
                "no broker id: neither node.id nor broker.id is set, no log dir's "
                "meta.properties holds one, and broker.id.generation.enable is false");
        }
        here.restart();
        auto generated = asio::co_spawn(
            here, zk_->generate_broker_id(config_.reserved_broker_max_id), asio::use_future);
        here.run();
        config_.node_id = generated.get();
        config_.node_id_configured = true;
        server_log().info("generated broker id {} (reserved.broker.max.id {})", config_.node_id,
                          config_.reserved_broker_max_id);
    }
    if (!stored.empty() && cluster != stored) {
        // Kafka's InconsistentClusterIdException.
        throw std::runtime_error("the cluster id in ZooKeeper (" + cluster +
                                 ") does not match the stored cluster id " + stored +
                                 " (cluster.id, meta.properties): this broker is trying to join "
                                 "the wrong cluster; check zookeeper.connect");
    }
    return cluster;
}

void broker::register_in_zookeeper() {
    zookeeper::broker_registration self;
    self.id = config_.node_id;
    for (const auto& e : kafka_->endpoints())
        self.endpoints.push_back({e.listener, e.host, e.port});
    for (const auto& l : config_.advertised_listeners)
        self.protocols[l.name] = std::string(to_string(l.protocol));
    if (!config_.broker_rack.empty()) self.rack = config_.broker_rack;
    self.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    asio::co_spawn(shards_.at(0).executor(), zk_->start(std::move(self)), asio::use_future).get();
}

void broker::prepare_log_dirs(const std::string& cluster) {
    for (const auto& d : config_.log_dirs) {
        auto handle = storage::file::open(d, O_RDONLY | O_DIRECTORY);
        if (!handle) {
            throw std::runtime_error("cannot open log dir " + d + ": " + handle.error().message());
        }
        log_dir_handles_.push_back(std::move(*handle));
    }
    for (const auto& d : config_.log_dirs) {
        auto path = fs::path(d) / "meta.properties";
        if (fs::exists(path)) continue;
        std::ostringstream text;
        text << "#\n# Written by Runnel\nversion=1\ncluster.id=" << cluster
             << "\nnode.id=" << config_.node_id
             << "\ndirectory.id=" << storage::topic_id_to_string(random_uuid()) << "\n";
        if (auto werr = storage::write_file_atomically(path, text.str())) {
            throw std::runtime_error("cannot write " + path.string() + ": " + werr.message());
        }
    }
}

void broker::start() {
    if (started_) return;
    started_ = true;
    lock_log_dirs();
    std::string cluster = stored_cluster_id();
    if (!config_.zookeeper_connect.empty()) cluster = join_zookeeper(cluster);
    if (cluster.empty()) cluster = storage::topic_id_to_string(random_uuid());
    prepare_log_dirs(cluster);
    kafka_->set_cluster_id(cluster);
    cluster_.load_producer_ids();
    cluster_.maintenance().read_startup_state();
    // Each shard keeps its share of the segment files open (storage/open_file_cache.h).
    const int64_t open_files = config_.open_log_files_limit();
    storage::open_file_cache::set_default_capacity(static_cast<size_t>(
        std::max<int64_t>(1, open_files / static_cast<int64_t>(shards_.size()))));
    server_log().info(
        "limits: {} partitions (runnel.max.partitions), {} segment files open at "
        "once (runnel.log.open.files.max)",
        cluster_.admin().partition_limit(), open_files);
    shards_.start(config_.shard_poll_us);
    shards_started_ = true;
    if (idle_.enabled()) {
        for (shard_id i = 0; i < shards_.size(); ++i)
            asio::co_spawn(shards_.at(i).executor(), idle_.reap(i), asio::detached);
    }
    cluster_.admin().load();
    groups_->start();  // loads the __consumer_offsets partitions each shard owns
    // Loads __transaction_state, then finishes transactions a crash left half-way (their markers
    // may go to __consumer_offsets partitions, whose groups are loading by now).
    transactions_->start();
    cluster_.maintenance().start();
    // Listeners are bound on shard 0's context from this thread before any accept runs there.
    std::promise<void> bound;
    asio::post(shards_.at(0).executor(), [&] {
        try {
            listeners_->bind_all();
            bound.set_value();
        } catch (...) {
            bound.set_exception(std::current_exception());
        }
    });
    bound.get_future().get();
    if (zk_) register_in_zookeeper();
    pipelines_->start();
    start_admin_api();
    ready_ = true;
    std::string dirs;
    for (const auto& d : config_.log_dirs) dirs += (dirs.empty() ? "" : ",") + d;
    server_log().info("Runnel node {} started: cluster {}, {} shard(s), log dirs {}",
                      config_.node_id, kafka_->cluster_id(), shards_.size(), dirs);
}

void broker::start_admin_api() {
    std::vector<admin::admin_listener> wanted;
    try {
        wanted = admin::parse_admin_listeners(config_.admin_listeners);
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(std::string("runnel.admin.listeners: ") + e.what());
    }
    if (wanted.empty()) return;
    std::promise<std::vector<std::string>> bound;
    asio::post(shards_.at(0).executor(), [&] {
        try {
            bound.set_value(admin_server_->bind(wanted));
        } catch (...) {
            bound.set_exception(std::current_exception());
        }
    });
    try {
        admin_addresses_ = bound.get_future().get();
    } catch (const std::runtime_error& e) {
        // Left at its default, the key must not stop a broker whose port is taken (a second
        // broker on the machine, say): it runs without the admin API. Set, it is required.
        if (config_.explicit_value("runnel.admin.listeners")) throw;
        asio::post(shards_.at(0).executor(), [this] { admin_server_->close(); });
        server_log().warn("{}; running without the admin API (set runnel.admin.listeners)",
                          e.what());
    }
}

void broker::stop() {
    if (!started_ || stopped_) return;
    stopped_ = true;
    ready_ = false;
    if (!shards_started_) {
        // Start-up failed before the shards ran (a log dir locked or of another cluster,
        // ZooKeeper unreachable): nothing was opened that needs them to close.
        if (zk_) zk_->stop();
        return;
    }
    server_log().info("shutting down");
    if (zk_) {
        // Kafka's controlled shutdown: replication stops here first (so that no leader takes
        // this broker back into an ISR), then the controller moves the leadership of this
        // broker's partitions while its listeners still tell clients where they went.
        run_on_every_shard(shards_, [this](shard_id s) { zk_->stop_replication_on(s); });
        asio::co_spawn(shards_.at(0).executor(), zk_->hand_over_leadership(), asio::use_future)
            .get();
    }
    std::promise<void> closed;
    asio::post(shards_.at(0).executor(), [&] {
        listeners_->close_all();
        admin_server_->close();
        closed.set_value();
    });
    closed.get_future().get();
    if (zk_) {
        // Leaves the cluster first: the others stop sending this broker work.
        std::promise<void> left;
        asio::post(shards_.at(0).executor(), [&] {
            zk_->stop();
            left.set_value();
        });
        left.get_future().get();
    }
    pipelines_->stop();  // before the coordinators its tasks commit through
    transactions_->stop();
    groups_->stop();
    cluster_.maintenance().stop();
    const bool logs_closed = cluster_.admin().close_all();
    // The logs were written out without a sync each: one syncfs per log dir makes all of it
    // durable (100,000 partitions with new data took 73 s of fsyncs one by one). The handles
    // were opened at start, so a write-back error at any time since fails the syncfs.
    bool durable = true;
    for (const auto& dir : log_dir_handles_) {
        if (auto ec = storage::sync_file_system(dir)) {
            server_log().error("syncing the file system of {} failed: {}", dir.path().string(),
                               ec.message());
            durable = false;
        }
    }
    const bool clean = logs_closed && durable;
    cluster_.maintenance().finish(clean, durable);
    // Flushes still running post their outcome to the shards, so they finish first.
    io_pool_->join();
    shards_.stop();
    shards_.join();
    if (clean) {
        server_log().info("shut down cleanly");
    } else {
        server_log().warn(
            "shut down; some logs could not be closed cleanly (see above), so the "
            "next start recovers them");
    }
}

}  // namespace runnel::server
