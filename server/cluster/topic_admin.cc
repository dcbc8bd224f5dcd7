#include "server/cluster/topic_admin.h"

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <filesystem>
#include <latch>
#include <set>

#include "server/cluster/admin_lock.h"
#include "server/cluster/cluster_context.h"
#include "server/cluster/cluster_topic_admin.h"
#include "server/cluster/partition.h"
#include "server/cluster/topic_name.h"
#include "server/cluster/topic_store.h"
#include "server/core/cross_shard.h"
#include "server/core/logger.h"
#include "storage/file.h"
#include "storage/partition_dir.h"

namespace runnel::server {

namespace fs = std::filesystem;
using protocol::error_code;

namespace {

// Flushes nudge the recovery-point checkpoint (log_maintenance::note_flushed).
std::unique_ptr<partition> open_partition(
    cluster_context& b, const topic_metadata& t, int32_t index, const topic_config& config,
    storage::result<std::unique_ptr<storage::partition_log>> log) {
    return std::make_unique<partition>(t.name, t.id, index, std::move(*log), config, b.io_pool(),
                                       [&m = b.maintenance()] { m.note_flushed(); });
}

}  // namespace

std::vector<partition_step> steps_for(const topic_metadata& t, int32_t from, int32_t to) {
    std::vector<partition_step> steps;
    for (int32_t p = from; p < to; ++p) {
        const auto& placement = t.partitions[static_cast<size_t>(p)];
        if (placement.hosted) steps.push_back({static_cast<size_t>(p), placement.owner, {}});
    }
    return steps;
}

namespace {}  // namespace

std::optional<std::string> partitions_per_request_problem(const broker_config& c,
                                                          int64_t requested) {
    if (requested <= c.max_partitions_per_request) return std::nullopt;
    return fmt::format(
        "Excessively large number of partitions per request: {} requested, limit {} "
        "(runnel.max.partitions.per.request).",
        requested, c.max_partitions_per_request);
}

topic_admin::topic_admin(cluster_context& b)
    : cluster_(b), partition_limit_(b.config().partition_limit()) {
    lock_ = std::make_unique<asio::experimental::channel<void(boost::system::error_code)>>(
        b.metadata_shard().executor(), 1);
}

topic_config topic_admin::config_of(const topic_metadata& t) const {
    return topic_config(t.config_overrides, *cluster_.live_config());
}

void topic_admin::load() {
    const auto& cfg = cluster_.config();
    std::vector<fs::path> dirs(cfg.log_dirs.begin(), cfg.log_dirs.end());
    load_dynamic_configs();
    topic_store store(dirs.front());
    auto stored = store.load();
    auto found = storage::scan_log_dirs(dirs);

    // topic name -> partition -> (dir, id) found on disk
    std::map<std::string, std::map<int32_t, storage::partition_dir_info>> on_disk;
    for (auto& d : found) on_disk[d.topic][d.partition] = d;

    auto snap = std::make_shared<topics_snapshot>();
    bool adopted = false;
    std::set<std::string> known;
    std::vector<std::shared_ptr<topic_metadata>> topics;
    for (auto& st : stored) {
        auto t = std::make_shared<topic_metadata>();
        t->name = st.name;
        t->id = st.id;
        t->config_overrides = st.configs;
        t->internal = is_internal_topic(st.name);
        t->partitions.resize(static_cast<size_t>(st.partitions));
        known.insert(st.name);
        topics.push_back(t);
    }
    // Partition directories with no entry in the table (a log dir copied from elsewhere, or a
    // table lost): adopt them as topics with default configs. In a ZooKeeper cluster they are
    // the cluster's topics' partitions, opened when ZooKeeper says this broker leads them.
    const bool in_cluster = !cfg.zookeeper_connect.empty();
    for (auto& [name, parts] : on_disk) {
        if (known.count(name) || in_cluster) continue;
        auto t = std::make_shared<topic_metadata>();
        t->name = name;
        t->id = parts.begin()->second.topic_id.value_or(random_uuid());
        t->internal = is_internal_topic(name);
        t->partitions.resize(static_cast<size_t>(parts.rbegin()->first + 1));
        server_log().warn("adopting topic '{}' ({} partitions) found on disk but not in {}", name,
                          t->partitions.size(), topic_store::file_name);
        topics.push_back(t);
        adopted = true;
    }
    auto dir_counts = count_partitions_per_dir();
    for (auto& d : found) dir_counts[d.path.parent_path().string()]++;
    for (auto& t : topics) {
        auto& parts = on_disk[t->name];
        for (int32_t p = 0; p < t->partition_count(); ++p) {
            auto it = parts.find(p);
            if (it != parts.end() && it->second.topic_id && *it->second.topic_id != t->id) {
                server_log().warn("ignoring {}: its topic id belongs to an earlier topic '{}'",
                                  it->second.path.string(), t->name);
                parts.erase(it);
                it = parts.end();
            }
            auto& placement = t->partitions[static_cast<size_t>(p)];
            if (it != parts.end()) {
                placement.log_dir = it->second.path.parent_path().string();
                placement.owner = next_owner_++ % static_cast<shard_id>(cluster_.shards().size());
            } else {
                placement = place_next_partition(dir_counts);
            }
        }
        snap = snap->with(t);
    }

    // Open every partition on its owner shard, shards in parallel.
    run_on_every_shard(cluster_.shards(), [&](shard_id me) {
        for (auto& t : topics) {
            auto config = config_of(*t);
            auto lc = log_config_of(config);
            for (int32_t p = 0; p < t->partition_count(); ++p) {
                const auto& placement = t->partitions[static_cast<size_t>(p)];
                if (placement.owner != me) continue;
                fs::path dir =
                    fs::path(placement.log_dir) / storage::partition_dir_name(t->name, p);
                std::error_code ec;
                fs::create_directories(dir, ec);
                if (ec)
                    throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
                if (!storage::read_partition_metadata(dir)) {
                    if (auto werr = storage::write_partition_metadata(dir, t->id)) {
                        throw std::runtime_error("cannot write partition.metadata in " +
                                                 dir.string() + ": " + werr.message());
                    }
                }
                auto log = storage::partition_log::open(
                    dir, lc,
                    cluster_.maintenance().open_options_for(placement.log_dir, t->name, p));
                if (!log) {
                    throw std::runtime_error("cannot open the log in " + dir.string() + ": " +
                                             log.error().message());
                }
                cluster_.partitions_on(me).add(
                    open_partition(cluster_, *t, p, config, std::move(log)));
            }
        }
    });
    cluster_.topics().publish(snap);
    if (adopted || stored.size() != topics.size()) {
        if (auto ec = persist()) {
            throw std::runtime_error(std::string("cannot write the topic table: ") + ec.message());
        }
    }
    size_t partitions = 0;
    for (auto& t : topics) partitions += t->partitions.size();
    server_log().info("loaded {} topics with {} partitions", topics.size(), partitions);
}

bool topic_admin::close_all() {
    std::atomic<bool> clean{true};
    run_on_every_shard(cluster_.shards(), [&](shard_id me) {
        cluster_.partitions_on(me).for_each([&](partition& p) {
            if (auto ec = p.close(storage::partition_log::close_sync::by_caller)) {
                server_log().error("closing {}-{}: {}", p.topic(), p.index(), ec.message());
                clean = false;
            }
        });
    });
    return clean;
}

std::map<std::string, size_t> topic_admin::count_partitions_per_dir() const {
    std::map<std::string, size_t> counts;
    for (const auto& d : cluster_.config().log_dirs) counts[d] = 0;
    for (const auto& [name, t] : cluster_.topics().snapshot()->by_name) {
        for (const auto& p : t->partitions) {
            if (p.hosted) counts[p.log_dir]++;
        }
    }
    return counts;
}

partition_placement topic_admin::place_next_partition(std::map<std::string, size_t>& dir_counts) {
    // New partitions go to the log dir holding the fewest, as Kafka does.
    partition_placement p;
    size_t best = SIZE_MAX;
    for (const auto& d : cluster_.config().log_dirs) {
        size_t n = dir_counts[d];
        if (n < best) {
            best = n;
            p.log_dir = d;
        }
    }
    dir_counts[p.log_dir]++;
    p.owner = next_owner_++ % static_cast<shard_id>(cluster_.shards().size());
    return p;
}

std::optional<admin_result> topic_admin::check_partition_limit(const std::string& topic,
                                                               int64_t adding) {
    const int64_t hosted = cluster_.topics().snapshot()->partition_count;
    if (hosted + adding <= partition_limit_) return std::nullopt;
    auto message = fmt::format(
        "Adding {} partitions to '{}' would bring this broker to {} partitions, past its limit of "
        "{} (runnel.max.partitions).",
        adding, topic, hosted + adding, partition_limit_);
    // One line per refusal could be a flood (a client retrying auto-creation): the first, then
    // at most one a minute with the count in between.
    ++limit_refusals_;
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_limit_warning_) {
        server_log().warn("{} ({} such refusal(s) since the last line)", message, limit_refusals_);
        limit_refusals_ = 0;
        next_limit_warning_ = now + std::chrono::minutes(1);
    }
    return admin_result::fail(error_code::policy_violation, std::move(message));
}

std::error_code topic_admin::persist() const { return persist(*cluster_.topics().snapshot()); }

std::error_code topic_admin::persist(const topics_snapshot& topics) const {
    std::vector<stored_topic> out;
    for (const auto& [name, t] : topics.by_name) {
        if (t->in_cluster) continue;  // kept in ZooKeeper
        out.push_back({t->name, t->id, t->partition_count(), t->config_overrides});
    }
    return topic_store(cluster_.config().log_dirs.front()).save(out);
}

std::optional<admin_result> topic_admin::check_assignments(
    const std::vector<std::vector<int32_t>>& assignments, int16_t replication_factor) const {
    for (size_t i = 0; i < assignments.size(); ++i) {
        const auto& replicas = assignments[i];
        if (replicas.empty()) {
            return admin_result::fail(
                error_code::invalid_replica_assignment,
                "Partition " + std::to_string(i) + " has an empty replica assignment.");
        }
        for (int32_t b : replicas) {
            if (b != cluster_.node_id()) {
                return admin_result::fail(error_code::invalid_replica_assignment,
                                          "Broker " + std::to_string(b) +
                                              " in the replica assignment is not registered.");
            }
        }
        if (replicas.size() > 1) {
            return admin_result::fail(error_code::invalid_replica_assignment,
                                      "Duplicate brokers are not allowed in a replica assignment.");
        }
    }
    (void)replication_factor;
    return std::nullopt;
}

std::optional<admin_result> topic_admin::resolve_counts(new_topic& spec) const {
    const auto& cfg = cluster_.config();
    if (!spec.assignments.empty()) {
        if (spec.partitions != -1 || spec.replication_factor != -1) {
            return admin_result::fail(
                error_code::invalid_request,
                "Both numPartitions or replicationFactor and replicasAssignments were set. "
                "Both cannot be used at the same time.");
        }
        spec.partitions = static_cast<int32_t>(spec.assignments.size());
        spec.replication_factor = static_cast<int16_t>(spec.assignments.front().size());
    }
    if (spec.partitions == -1) spec.partitions = cfg.num_partitions;
    if (spec.replication_factor == -1) {
        spec.replication_factor = static_cast<int16_t>(cfg.default_replication_factor);
    }
    if (spec.partitions <= 0) {
        return admin_result::fail(error_code::invalid_partitions,
                                  "Number of partitions was set to an invalid non-positive "
                                  "value.");
    }
    if (spec.replication_factor <= 0) {
        return admin_result::fail(error_code::invalid_replication_factor,
                                  "Replication factor must be larger than 0, or -1 to use the "
                                  "default value.");
    }
    return std::nullopt;
}

asio::awaitable<admin_result> topic_admin::create_topic(new_topic spec, bool validate_only) {
    if (cluster_topics_ != nullptr && !spec.local) {
        auto task = [this, spec = std::move(spec), validate_only]() mutable {
            return create_in_cluster(std::move(spec), validate_only);
        };
        co_return co_await on_shard(cluster_.metadata_shard(), task);
    }
    auto task = [this, spec = std::move(spec), validate_only]() mutable {
        return create_on_controller(std::move(spec), validate_only);
    };
    co_return co_await on_shard(cluster_.metadata_shard(), task);
}

asio::awaitable<admin_result> topic_admin::create_in_cluster(new_topic spec, bool validate_only) {
    // A cluster's topic: created in ZooKeeper, then served by the brokers it names.
    if (auto problem = topic_name_problem(spec.name)) {
        co_return admin_result::fail(error_code::invalid_topic_exception, *problem);
    }
    if (cluster_.topics().snapshot()->find(spec.name)) {
        co_return admin_result::fail(error_code::topic_already_exists,
                                     "Topic '" + spec.name + "' already exists.");
    }
    if (auto bad = resolve_counts(spec)) co_return *bad;
    if (auto problem = topic_config::validate_all(spec.configs, *cluster_.live_config())) {
        co_return admin_result::fail(error_code::invalid_config, *problem);
    }
    // The cluster's partitions count against each broker's limit, hosted here or not: a bound
    // that holds whatever the placement.
    if (auto refused = check_partition_limit(spec.name, spec.partitions)) co_return *refused;
    co_return co_await cluster_topics_->create(std::move(spec), validate_only);
}

asio::awaitable<admin_result> topic_admin::delete_topic(std::string name) {
    if (cluster_topics_ != nullptr) {
        auto t = cluster_.topics().snapshot()->find(name);
        if (t && t->in_cluster) {
            if (!cluster_.config().delete_topic_enable) {
                co_return admin_result::fail(error_code::topic_deletion_disabled,
                                             "Topic deletion is disabled.");
            }
            co_return co_await cluster_topics_->remove(std::move(name));
        }
    }
    auto task = [this, name = std::move(name)]() { return delete_on_controller(name); };
    co_return co_await on_shard(cluster_.metadata_shard(), task);
}

asio::awaitable<admin_result> topic_admin::create_partitions(
    std::string name, int32_t count, std::vector<std::vector<int32_t>> assignments,
    bool validate_only) {
    auto task = [this, name = std::move(name), count, assignments = std::move(assignments),
                 validate_only]() mutable {
        return add_partitions_on_controller(std::move(name), count, std::move(assignments),
                                            validate_only);
    };
    co_return co_await on_shard(cluster_.metadata_shard(), task);
}

asio::awaitable<admin_result> topic_admin::alter_configs(std::string name,
                                                         std::vector<config_change> changes,
                                                         bool replace_all, bool validate_only) {
    auto task = [this, name = std::move(name), changes = std::move(changes), replace_all,
                 validate_only]() mutable {
        return alter_configs_on_controller(std::move(name), std::move(changes), replace_all,
                                           validate_only);
    };
    co_return co_await on_shard(cluster_.metadata_shard(), task);
}

std::optional<admin_result> topic_admin::check_growth(
    int32_t current, int32_t count, const std::vector<std::vector<int32_t>>& assignments) const {
    // Kafka's words (AdminZkClient / ZkAdminManager).
    if (count < current) {
        return admin_result::fail(error_code::invalid_partitions,
                                  "Topic currently has " + std::to_string(current) +
                                      " partitions, which is higher than the requested " +
                                      std::to_string(count) + ".");
    }
    if (count == current) {
        return admin_result::fail(error_code::invalid_partitions,
                                  "Topic already has " + std::to_string(current) + " partitions.");
    }
    if (!assignments.empty() && static_cast<int32_t>(assignments.size()) != count - current) {
        return admin_result::fail(
            error_code::invalid_replica_assignment,
            "Increasing the number of partitions by " + std::to_string(count - current) + " but " +
                std::to_string(assignments.size()) + " assignments provided.");
    }
    return std::nullopt;
}

asio::awaitable<admin_result> topic_admin::create_on_controller(new_topic spec,
                                                                bool validate_only) {
    co_await lock_->async_send(boost::system::error_code{}, asio::use_awaitable);
    admin_guard guard{lock_.get()};
    if (auto problem = topic_name_problem(spec.name)) {
        co_return admin_result::fail(error_code::invalid_topic_exception, *problem);
    }
    if (cluster_.topics().snapshot()->find(spec.name)) {
        co_return admin_result::fail(error_code::topic_already_exists,
                                     "Topic '" + spec.name + "' already exists.");
    }
    if (!spec.assignments.empty() && spec.partitions == -1 && spec.replication_factor == -1) {
        if (auto bad = check_assignments(spec.assignments, 1)) co_return *bad;
    }
    if (auto bad = resolve_counts(spec)) co_return *bad;
    if (spec.replication_factor > 1) {
        co_return admin_result::fail(
            error_code::invalid_replication_factor,
            "Unable to replicate the partition " + std::to_string(spec.replication_factor) +
                " time(s): The target replication factor of " +
                std::to_string(spec.replication_factor) +
                " cannot be reached because only 1 broker(s) are registered.");
    }
    if (auto problem = topic_config::validate_all(spec.configs, *cluster_.live_config())) {
        co_return admin_result::fail(error_code::invalid_config, *problem);
    }
    if (auto refused = check_partition_limit(spec.name, spec.partitions)) co_return *refused;

    auto t = std::make_shared<topic_metadata>();
    t->name = spec.name;
    t->id = random_uuid();
    t->config_overrides = spec.configs;
    t->internal = is_internal_topic(spec.name);
    admin_result result;
    result.replication_factor = spec.replication_factor;
    if (validate_only) {
        t->partitions.resize(static_cast<size_t>(spec.partitions));
        result.topic = t;
        co_return result;
    }
    auto counts = count_partitions_per_dir();
    for (int32_t p = 0; p < spec.partitions; ++p)
        t->partitions.push_back(place_next_partition(counts));
    if (auto ec = co_await open_new_partitions(t, 0, spec.partitions)) {
        co_await close_partitions(t, 0, true);
        co_return admin_result::fail(
            error_code::kafka_storage_error,
            "Cannot create the partitions of '" + spec.name + "': " + ec.message());
    }
    cluster_.topics().publish(cluster_.topics().snapshot()->with(t));
    if (auto ec = persist()) {
        server_log().error("cannot write the topic table after creating '{}': {}", spec.name,
                           ec.message());
    }
    server_log().info("created topic '{}' with {} partitions (id {})", t->name,
                      t->partitions.size(), storage::topic_id_to_string(t->id));
    result.topic = t;
    co_return result;
}

asio::awaitable<admin_result> topic_admin::delete_on_controller(std::string name) {
    co_await lock_->async_send(boost::system::error_code{}, asio::use_awaitable);
    admin_guard guard{lock_.get()};
    if (!cluster_.config().delete_topic_enable) {
        co_return admin_result::fail(error_code::topic_deletion_disabled,
                                     "Topic deletion is disabled.");
    }
    auto t = cluster_.topics().snapshot()->find(name);
    if (!t) {
        co_return admin_result::fail(error_code::unknown_topic_or_partition,
                                     "This server does not host this topic-partition.");
    }
    if (t->in_cluster) {
        co_return admin_result::fail(error_code::policy_violation,
                                     "Topic '" + name +
                                         "' is registered in ZooKeeper; deleting a cluster's topic "
                                         "through a broker is not supported yet.");
    }
    // Unpublish first so no new request finds the topic, then drop its partitions.
    cluster_.topics().publish(cluster_.topics().snapshot()->without(name));
    if (auto ec = persist()) {
        server_log().error("cannot write the topic table after deleting '{}': {}", name,
                           ec.message());
    }
    co_await close_partitions(t, 0, true);
    server_log().info("deleted topic '{}'", name);
    admin_result r;
    r.topic = t;
    co_return r;
}

asio::awaitable<admin_result> topic_admin::alter_configs_on_controller(
    std::string name, std::vector<config_change> changes, bool replace_all, bool validate_only) {
    co_await lock_->async_send(boost::system::error_code{}, asio::use_awaitable);
    admin_guard guard{lock_.get()};
    auto old = cluster_.topics().snapshot()->find(name);
    if (!old) {
        co_return admin_result::fail(error_code::unknown_topic_or_partition,
                                     "The topic '" + name + "' does not exist.");
    }
    if (old->in_cluster && cluster_topics_ != nullptr) {
        // ZooKeeper's copy is changed (it is the one every broker follows), not this broker's.
        guard.release();
        co_return co_await cluster_topics_->alter_configs(name, std::move(changes), replace_all,
                                                          validate_only);
    }
    auto applied = apply_topic_config_changes(old->config_overrides, changes, replace_all,
                                              *cluster_.live_config());
    if (auto* e = std::get_if<config_change_error>(&applied)) {
        co_return admin_result::fail(e->code, e->message);
    }
    auto t = std::make_shared<topic_metadata>(*old);
    t->config_overrides = std::move(std::get<0>(applied));
    admin_result r;
    r.topic = t;
    if (validate_only || t->config_overrides == old->config_overrides) co_return r;

    // Stored first: a change the client saw succeed must survive a restart.
    auto next = cluster_.topics().snapshot()->with(t);
    if (auto ec = persist(*next)) {
        co_return admin_result::fail(
            error_code::kafka_storage_error,
            "Cannot store the new configs of '" + name + "': " + ec.message());
    }
    cluster_.topics().publish(next);
    co_await reconfigure_partitions(t);
    co_return r;
}

asio::awaitable<void> topic_admin::reconfigure_partitions(std::shared_ptr<const topic_metadata> t) {
    auto config = std::make_shared<topic_config>(config_of(*t));
    auto apply = [this, t, config](shard_id owner, std::vector<partition_step> mine)
        -> asio::awaitable<std::vector<partition_step>> {
        for (auto& step : mine) {
            if (partition* p =
                    cluster_.partitions_on(owner).find(t->id, static_cast<int32_t>(step.slot))) {
                p->reconfigure(*config);
            }
        }
        co_return mine;
    };
    co_await run_on_owners(cluster_.shards(), cluster_.metadata_shard(),
                           steps_for(*t, 0, t->partition_count()), apply);
    std::string summary;
    for (const auto& [key, value] : t->config_overrides) {
        summary += (summary.empty() ? "" : ", ") + key + "=" + value;
    }
    server_log().info("topic '{}' configs now: {}", t->name,
                      summary.empty() ? "(defaults)" : summary);
}

asio::awaitable<admin_result> topic_admin::add_partitions_on_controller(
    std::string name, int32_t count, std::vector<std::vector<int32_t>> assignments,
    bool validate_only) {
    co_await lock_->async_send(boost::system::error_code{}, asio::use_awaitable);
    admin_guard guard{lock_.get()};
    auto old = cluster_.topics().snapshot()->find(name);
    if (!old) {
        co_return admin_result::fail(error_code::unknown_topic_or_partition,
                                     "The topic '" + name + "' does not exist.");
    }
    const int32_t current = old->partition_count();
    if (auto bad = check_growth(current, count, assignments)) co_return *bad;
    if (!old->in_cluster && !assignments.empty()) {
        if (auto bad = check_assignments(assignments, 1)) co_return *bad;
    }
    if (auto refused = check_partition_limit(name, count - current)) co_return *refused;
    if (old->in_cluster && cluster_topics_ != nullptr) {
        // Written to the topic's znode; the controller and topic_sync take it from there
        // (they take the admin lock, so it is let go first).
        guard.release();
        co_return co_await cluster_topics_->add_partitions(old, count, std::move(assignments),
                                                           validate_only);
    }
    auto t = std::make_shared<topic_metadata>(*old);
    if (validate_only) {
        t->partitions.resize(static_cast<size_t>(count));
        admin_result r;
        r.topic = t;
        co_return r;
    }
    auto counts = count_partitions_per_dir();
    for (int32_t p = current; p < count; ++p) t->partitions.push_back(place_next_partition(counts));
    if (auto ec = co_await open_new_partitions(t, current, count)) {
        co_await close_partitions(t, current, true);
        co_return admin_result::fail(
            error_code::kafka_storage_error,
            "Cannot create the new partitions of '" + name + "': " + ec.message());
    }
    cluster_.topics().publish(cluster_.topics().snapshot()->with(t));
    if (auto ec = persist()) {
        server_log().error("cannot write the topic table after growing '{}': {}", name,
                           ec.message());
    }
    server_log().info("topic '{}' now has {} partitions", name, count);
    admin_result r;
    r.topic = t;
    co_return r;
}

asio::awaitable<std::error_code> topic_admin::open_new_partitions(
    std::shared_ptr<const topic_metadata> t, int32_t from, int32_t to) {
    auto done = co_await open_partitions(t, steps_for(*t, from, to), false);
    for (const auto& step : done) {
        if (step.error) co_return step.error;
    }
    co_return std::error_code{};
}

asio::awaitable<std::vector<partition_step>> topic_admin::open_partitions(
    std::shared_ptr<const topic_metadata> t, std::vector<partition_step> steps,
    bool reuse_existing) {
    auto config = std::make_shared<topic_config>(config_of(*t));
    // Each owner shard opens its share, the shards in parallel; a shard yields between
    // partitions so that its connections keep being served while 10,000 are made.
    auto open = [this, t, config, reuse_existing](shard_id owner, std::vector<partition_step> mine)
        -> asio::awaitable<std::vector<partition_step>> {
        auto executor = co_await asio::this_coro::executor;
        for (auto& step : mine) {
            const auto p = static_cast<int32_t>(step.slot);
            const auto& placement = t->partitions[step.slot];
            fs::path dir = fs::path(placement.log_dir) / storage::partition_dir_name(t->name, p);
            // A cluster's partition coming back to this broker keeps its log when the
            // directory is this topic's (same id); anything else left by an earlier topic of
            // the same name is not ours to reuse.
            auto held = storage::read_partition_metadata(dir);
            const bool reuse = reuse_existing && held && *held == t->id;
            if (!reuse) {
                fs::remove_all(dir, step.error);
                fs::create_directories(dir, step.error);
                // partition.metadata is not synced: the topic table, written after, is what
                // load trusts, and it writes the file again when a crash lost or tore it.
                if (!step.error) step.error = storage::write_partition_metadata(dir, t->id, false);
            }
            if (!step.error) {
                auto log =
                    reuse ? storage::partition_log::open(dir, log_config_of(*config),
                                                         cluster_.maintenance().open_options_for(
                                                             placement.log_dir, t->name, p))
                          : storage::partition_log::open(dir, log_config_of(*config));
                if (log) {
                    auto part = open_partition(cluster_, *t, p, *config, std::move(log));
                    // A log kept from before a restart resumes its high watermark.
                    if (reuse) {
                        if (auto hw = cluster_.maintenance().high_watermark_for(placement.log_dir,
                                                                                t->name, p))
                            part->restore_high_watermark(*hw);
                    }
                    cluster_.partitions_on(owner).add(std::move(part));
                } else {
                    step.error = log.error();
                }
            }
            co_await asio::post(executor, asio::use_awaitable);
        }
        co_return mine;
    };
    auto done = co_await run_on_owners(cluster_.shards(), cluster_.metadata_shard(),
                                       std::move(steps), open);
    // Directories whose entries changed (partition directories made or removed) are synced once
    // per log dir at the end rather than once per partition.
    std::set<std::string> dirs;
    for (const auto& step : done) dirs.insert(t->partitions[step.slot].log_dir);
    for (const auto& d : dirs) (void)storage::sync_directory(d);
    co_return done;
}

asio::awaitable<void> topic_admin::close_partitions(std::shared_ptr<const topic_metadata> t,
                                                    int32_t from, bool remove) {
    co_await close_steps(t, steps_for(*t, from, t->partition_count()), remove);
}

asio::awaitable<void> topic_admin::close_steps(std::shared_ptr<const topic_metadata> t,
                                               std::vector<partition_step> steps, bool remove) {
    auto close = [this, t, remove](shard_id owner, std::vector<partition_step> mine)
        -> asio::awaitable<std::vector<partition_step>> {
        auto executor = co_await asio::this_coro::executor;
        for (auto& step : mine) {
            const auto p = static_cast<int32_t>(step.slot);
            if (auto part = cluster_.partitions_on(owner).remove(t->id, p)) {
                part->data_arrived();  // waiting fetches re-check and find it gone
                part->close();
            }
            if (remove) {
                const auto& placement = t->partitions[step.slot];
                storage::partition_log::remove(
                    fs::path(placement.log_dir) / storage::partition_dir_name(t->name, p), false);
            }
            co_await asio::post(executor, asio::use_awaitable);
        }
        co_return mine;
    };
    auto done = co_await run_on_owners(cluster_.shards(), cluster_.metadata_shard(),
                                       std::move(steps), close);
    if (!remove) co_return;
    std::set<std::string> dirs;
    for (const auto& step : done) dirs.insert(t->partitions[step.slot].log_dir);
    for (const auto& d : dirs) (void)storage::sync_directory(d);
}

}  // namespace runnel::server
