#include "server/pipelines/pipeline_task.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <optional>

#include "server/cluster/cluster_context.h"
#include "server/core/cross_shard.h"
#include "server/core/pause.h"
#include "server/pipelines/committed_reader.h"
#include "server/pipelines/txn_session.h"
#include "streams/log.h"
#include "streams/runtime/stage_task.h"
#include "streams/state/state_store.h"

namespace runnel::server::pipelines {

namespace {

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

constexpr size_t read_bytes = 1 << 20;
// Records held before a commit is due anyway: bounds memory between commits.
constexpr size_t max_pending_records = 50'000;
constexpr int32_t transaction_timeout_ms = 60'000;

// Reads committed records of `topic`-`index` from `offset` on the partition's owner shard.
asio::awaitable<committed_records> read_on_owner(cluster_context& cluster, std::string topic,
                                                 int32_t index, int64_t offset) {
    auto t = cluster.topics().snapshot()->find(topic);
    if (!t || index >= t->partition_count()) {
        committed_records none;
        none.error = std::make_error_code(std::errc::no_such_file_or_directory);
        co_return none;
    }
    const shard_id owner = t->partitions[index].owner;
    const protocol::uuid id = t->id;
    auto read = [&cluster, owner, id, index, offset]() -> asio::awaitable<committed_records> {
        partition* p = cluster.partitions_on(owner).find(id, index);
        if (!p) {
            committed_records none;
            none.error = std::make_error_code(std::errc::no_such_file_or_directory);
            co_return none;
        }
        co_return read_committed(*p, offset, read_bytes);
    };
    committed_records records = co_await on_shard(cluster.shards().at(owner), read);
    co_return records;
}

// The log end offset of `topic`-`index` (-1 if it is gone), read on its owner shard.
asio::awaitable<int64_t> changelog_end(cluster_context& cluster, std::string topic, int32_t index) {
    auto t = cluster.topics().snapshot()->find(topic);
    if (!t || index >= t->partition_count()) co_return -1;
    const shard_id owner = t->partitions[index].owner;
    const protocol::uuid id = t->id;
    auto end = [&cluster, owner, id, index]() -> asio::awaitable<int64_t> {
        partition* p = cluster.partitions_on(owner).find(id, index);
        co_return p ? p->log().log_end_offset() : -1;
    };
    const int64_t offset = co_await on_shard(cluster.shards().at(owner), end);
    co_return offset;
}

}  // namespace

std::string transactional_id_of(const std::string& pipeline, const task_place& p) {
    return "runnel-pipeline-" + pipeline + "-stage" + std::to_string(p.stage) + "-" +
           std::to_string(p.index);
}

std::string group_of(const std::string& pipeline) { return "runnel-pipeline-" + pipeline; }

pipeline_task::pipeline_task(pipeline_services& services,
                             std::shared_ptr<const loaded_pipeline> pipeline, task_place place,
                             const task_settings& settings)
    : services_(services),
      pipeline_(std::move(pipeline)),
      place_(std::move(place)),
      settings_(settings) {}

std::string pipeline_task::name() const {
    return pipeline_->spec.name + "/stage" + std::to_string(place_.stage) + "/" +
           std::to_string(place_.index);
}

asio::awaitable<void> pipeline_task::run() {
    using clock = std::chrono::steady_clock;
    constexpr auto first_pause = std::chrono::milliseconds(1000);
    constexpr auto longest_pause = std::chrono::milliseconds(30'000);
    status_.running = true;
    std::optional<clock::time_point> failing_since;
    auto pause_for = first_pause;
    while (!stopping_) {
        const auto life_started = clock::now();
        const uint64_t commits_before = status_.commits;
        std::string failure;
        try {
            failure = co_await run_once();
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (stopping_ || failure.empty()) break;
        const auto now = clock::now();
        // A life that committed, or lasted longer than the timeout, ends a streak of failures:
        // what fails now is new (a coordinator moved an hour later), not the same one again.
        if (status_.commits != commits_before || now - life_started >= settings_.timeout) {
            failing_since.reset();
            pause_for = first_pause;
        }
        if (!failing_since) failing_since = now;
        ++status_.restarts;
        const auto failing_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(now - *failing_since);
        if (failing_ms >= settings_.timeout) {
            streams::streams_log().error("pipeline task {} ({}-{}) gives up, failing for {} ms: {}",
                                         name(), place_.input_topic, place_.input_partition,
                                         failing_ms.count(), failure);
            if (settings_.gave_up) settings_.gave_up(*this, failure);
            break;
        }
        streams::streams_log().warn(
            "pipeline task {} ({}-{}): {}; restarting from its last commit in {} ms", name(),
            place_.input_topic, place_.input_partition, failure, pause_for.count());
        for (auto waited = std::chrono::milliseconds(0); waited < pause_for && !stopping_;
             waited += std::chrono::milliseconds(100)) {
            co_await pause(std::chrono::milliseconds(100));
        }
        pause_for = std::min(pause_for * 2, longest_pause);
    }
    status_.running = false;
}

asio::awaitable<std::string> pipeline_task::run_once() {
    const auto& spec = pipeline_->spec;
    const auto& stage = pipeline_->plan.stages.at(place_.stage);
    cluster_context& cluster = services_.cluster;
    txn_session session(services_, transactional_id_of(spec.name, place_), group_of(spec.name),
                        transaction_timeout_ms, place_.index);
    // (Outcomes in named variables: g++ 12 destroys a co_await result bound in an if's
    // initializer or a structured binding twice when it holds a string.)
    txn_outcome initialized = co_await session.init();
    if (!initialized.ok()) {
        co_return initialized.what + ": " + std::string(protocol::error_name(initialized.error));
    }

    // State: the local store, then the changelog from where the store's last clean close left it.
    streams::memory_store no_state;  // stateless stages write none
    std::unique_ptr<streams::rocksdb_store> durable;
    const bool stateful = !stage.reads_sources;
    const std::string changelog = streams::changelog_topic(spec.name, place_.stage);
    if (stateful) {
        std::optional<int64_t> checkpoint;
        std::string error;
        durable = streams::rocksdb_store::open(
            settings_.state_dir / spec.name /
                ("stage" + std::to_string(place_.stage) + "-" + std::to_string(place_.index)),
            *settings_.memory, checkpoint, error);
        if (!durable) co_return error;
        int64_t offset = checkpoint.value_or(0);
        const int64_t from = offset;
        size_t restored = 0;
        std::vector<streams::rocksdb_store::replayed> replayed;
        while (!stopping_) {
            auto chunk = co_await read_on_owner(cluster, changelog, place_.index, offset);
            if (chunk.error) co_return "restoring from " + changelog + ": " + chunk.error.message();
            // Done when a read moves no further (a chunk of only markers or aborted batches
            // still moves on).
            if (chunk.records.empty() && chunk.next_offset <= offset) break;
            replayed.clear();
            for (const auto& r : chunk.records) {
                if (!r.key) continue;
                replayed.push_back(
                    {*r.key, r.value ? std::optional<std::string_view>(*r.value) : std::nullopt});
            }
            durable->replay(replayed);
            restored += replayed.size();
            offset = chunk.next_offset;
        }
        // Stopped part-way: the store is not closed as matching the changelog (no
        // checkpoint), so the next start rebuilds it whole.
        if (stopping_) co_return std::string();
        if (!durable->finish_replay(error)) co_return error;
        streams::streams_log().info(
            "pipeline task {}: state store open with {} changelog record(s) replayed from {}-{} "
            "offset {}{}",
            name(), restored, changelog, place_.index, from,
            checkpoint ? "" : " (no clean close before: rebuilt from the changelog)");
    }
    // The record cache in front of the store: the store sees each changed key once a commit.
    std::unique_ptr<streams::caching_store> cache;
    if (durable) {
        cache =
            std::make_unique<streams::caching_store>(*durable, settings_.memory->record_caches());
    }
    streams::state_store& store = cache ? static_cast<streams::state_store&>(*cache) : no_state;

    std::pair<txn_outcome, topic_partition_offsets> fetch = co_await session.committed_offsets();
    const txn_outcome& fetched = fetch.first;
    topic_partition_offsets& committed = fetch.second;
    if (!fetched.ok()) {
        co_return fetched.what + ": " + std::string(protocol::error_name(fetched.error));
    }
    const std::pair<std::string, int32_t> input{place_.input_topic, place_.input_partition};
    int64_t position = committed.count(input) ? committed[input] : 0;
    int64_t committed_position = position;

    streams::stage_task task(spec, stage, place_.index, place_.upstream_tasks,
                             place_.downstream_partitions, store);
    // Event-time progress as of the last commit: in the store (its changelog) for stateful
    // stages, with the committed offset for source stages.
    constexpr std::string_view progress_key = "!progress";  // sorts before every state key
    std::string saved_progress;
    if (cache) {
        if (auto saved = store.get(progress_key)) {
            task.restore_progress(*saved);
            saved_progress = *saved;
        }
    } else {
        task.restore_progress(session.metadata_of(input));
    }
    std::vector<streams::produced_record> pending;
    auto last_commit = std::chrono::steady_clock::now();
    shard& home = *shard_set::current();

    auto publish = [&] {
        const auto& c = task.counters();
        status_.records_in = c.records_in;
        status_.records_out = c.records_out;
        status_.late = c.late;
        status_.dead_lettered = c.dead_lettered;
        status_.unrouted = c.unrouted;
        status_.duplicates = c.duplicates;
        status_.position = committed_position;
        status_.watermark = task.watermark();
        status_.state_bytes = store.approximate_bytes();
    };

    // Writes what the task has as one transaction: its output, state changes and input offset.
    auto commit = [&]() -> asio::awaitable<std::string> {
        task.punctuate(wall_ms(), pending);
        const std::string progress = task.progress();
        if (cache && progress != saved_progress) {
            store.put(progress_key, progress);
            saved_progress = progress;
        }
        // The state's changes go down to the store and out to the changelog.
        auto changes = cache ? cache->flush()
                             : std::vector<std::pair<std::string, std::optional<std::string>>>();
        for (auto& [key, value] : changes) {
            streams::produced_record c;
            c.topic = changelog;
            c.partition = place_.index;
            c.key = std::move(key);
            c.value = std::move(value);
            c.timestamp = wall_ms();
            pending.push_back(std::move(c));
        }
        if (!pending.empty() || position != committed_position) {
            topic_partition_offsets offsets{{input, position}};
            // (Named: g++ 12 destroys a temporary made inside a co_await's arguments twice.)
            const std::string metadata = cache ? std::string() : progress;
            const auto commit_started = std::chrono::steady_clock::now();
            txn_outcome o = co_await session.commit(std::move(pending), offsets, metadata);
            status_.commit_us +=
                static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::steady_clock::now() - commit_started)
                                          .count());
            pending.clear();
            if (!o.ok()) co_return o.what + ": " + std::string(protocol::error_name(o.error));
            committed_position = position;
            ++status_.commits;
        }
        last_commit = std::chrono::steady_clock::now();
        publish();
        co_return std::string();
    };

    while (!stopping_) {
        auto t = cluster.topics().snapshot()->find(place_.input_topic);
        partition* p = t && place_.input_partition < t->partition_count()
                           ? cluster.partitions_on(home.id()).find(t->id, place_.input_partition)
                           : nullptr;
        if (!p)
            co_return "input partition " + place_.input_topic + "-" +
                std::to_string(place_.input_partition) + " is not on this shard";
        const int64_t before = position;
        auto chunk = read_committed(*p, position, read_bytes);
        if (chunk.error) co_return "reading " + place_.input_topic + ": " + chunk.error.message();
        const int64_t now = wall_ms();
        for (const auto& r : chunk.records) task.process(r, now, pending);
        position = chunk.next_offset;

        const auto interval = std::chrono::milliseconds(spec.commit_interval);
        // Results go out as soon as the input is drained (at most one commit a millisecond),
        // so latency does not wait for the interval when the task keeps up; under load the
        // interval batches them.
        const auto since = std::chrono::steady_clock::now() - last_commit;
        const bool drained = chunk.next_offset >= p->last_stable_offset();
        if (since >= interval || pending.size() >= max_pending_records ||
            (drained && !pending.empty() && since >= std::chrono::milliseconds(1))) {
            std::string failed = co_await commit();
            if (!failed.empty()) co_return failed;
        }
        if (chunk.next_offset == before) {
            // Nothing to read: sleep until data comes or the next commit is due.
            auto w = std::make_shared<fetch_wakeup>(home);
            const auto due = last_commit + interval - std::chrono::steady_clock::now();
            w->timer.expires_after(std::max<std::chrono::steady_clock::duration>(
                std::min<std::chrono::steady_clock::duration>(due, interval),
                std::chrono::milliseconds(1)));
            p->watch(w, position, fetch_bound::last_stable);
            if (!w->fired) co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }
    // Stopped: a last commit, then the store is closed as matching the changelog's end.
    std::string failed = co_await commit();
    if (!failed.empty()) co_return failed;
    if (durable) {
        const int64_t end = co_await changelog_end(cluster, changelog, place_.index);
        std::string error;
        if (end < 0 || !durable->close(end, error)) {
            streams::streams_log().warn(
                "pipeline task {}: state store not closed cleanly ({}); "
                "the next start rebuilds it from the changelog",
                name(), error);
        }
    }
    co_return std::string();
}

}  // namespace runnel::server::pipelines
