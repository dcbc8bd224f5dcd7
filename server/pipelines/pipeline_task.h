// One task of a running pipeline: one stage over one partition of its input, on the shard that
// owns that partition. Its loop: open the stage's state store (RocksDB) and replay its changelog
// partition from where the store's last clean close left it (from the start otherwise), start
// from the group's committed offset, then read committed records, run them through the
// stage_task and, every commit interval, write what came out, the state changes and the new
// offset in one transaction. Any failure (a fenced epoch, a deleted topic, a full disk, a store
// that throws) restarts it from its last commit, which repeats exactly what the failed
// transaction would have done, after a pause that doubles from 1 s to 30 s while the failures go
// on. A task failing for longer than its timeout (Kafka Streams' task.timeout.ms, KIP-572) gives
// up and reports it, and its pipeline is stopped alone.
// Stopped, it commits what it has, flushes its store and records the changelog offset the store
// now matches, so the next start replays only what comes after.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "server/pipelines/pipeline_services.h"
#include "streams/plan/pipeline_plan.h"
#include "streams/spec/pipeline_spec.h"
#include "streams/state/rocksdb_store.h"

namespace runnel::server::pipelines {

namespace asio = boost::asio;

// A pipeline as loaded, shared read-only by its tasks.
struct loaded_pipeline {
    streams::pipeline_spec spec;
    streams::pipeline_plan plan;
    std::string text;  // the file's content, to see changes
};

struct task_place {
    size_t stage = 0;
    int32_t index = 0;  // the task's number within its stage
    std::string input_topic;
    int32_t input_partition = 0;
    int32_t upstream_tasks = 0;         // writers of the input (stages after the first)
    int32_t downstream_partitions = 0;  // of the next stage's topic
};

class pipeline_task;

// What every task of a host shares: where stateful tasks keep their RocksDB stores and the
// memory all of them share, how long a task may keep failing, and whom it tells when it gives up.
struct task_settings {
    std::filesystem::path state_dir;
    streams::state_memory* memory = nullptr;
    std::chrono::milliseconds timeout{300'000};
    // Called on the task's shard once it has given up, with its last failure.
    std::function<void(const pipeline_task&, const std::string&)> gave_up;
};

// Counters any shard may read (status, metrics).
struct task_status {
    std::atomic<uint64_t> records_in{0}, records_out{0}, late{0}, dead_lettered{0}, unrouted{0},
        duplicates{0}, commits{0}, restarts{0};
    std::atomic<uint64_t> commit_us{0};    // time spent in commits (their transactions)
    std::atomic<uint64_t> state_bytes{0};  // the state store's estimate, as of the last commit
    std::atomic<int64_t> position{-1}, watermark{INT64_MIN};
    std::atomic<bool> running{false};
};

class pipeline_task {
  public:
    pipeline_task(pipeline_services& services, std::shared_ptr<const loaded_pipeline> pipeline,
                  task_place place, const task_settings& settings);

    // Runs on the input partition's owner shard until stop() (then returns).
    asio::awaitable<void> run();
    void stop() { stopping_ = true; }  // any thread
    const task_status& status() const { return status_; }
    const task_place& place() const { return place_; }
    const std::shared_ptr<const loaded_pipeline>& pipeline() const { return pipeline_; }
    std::string name() const;  // "pipeline/stage/index", for logs

  private:
    // One life of the task, until a failure (returned) or stop (empty).
    asio::awaitable<std::string> run_once();

    pipeline_services& services_;
    std::shared_ptr<const loaded_pipeline> pipeline_;
    task_place place_;
    const task_settings& settings_;  // the host's, which outlives its tasks
    std::atomic<bool> stopping_{false};
    task_status status_;
};

// The transactional id and group of a pipeline's tasks.
std::string transactional_id_of(const std::string& pipeline, const task_place& p);
std::string group_of(const std::string& pipeline);

}  // namespace runnel::server::pipelines
