// The pipelines a broker runs: the files of runnel.pipelines.dir, read at start and again when
// one is added, changed or removed. Starting a pipeline creates the topics it needs (its
// sources and sinks if missing, its internal stage and changelog topics) and one task per
// partition of each stage's input, on the shard that owns the partition. A file that does not
// load is reported (file:line:column and what was expected) and not started; the others keep
// running, and so does the previous version of a changed file that no longer loads.
//
// submit() and remove() are the run-time entry point (the admin HTTP API's): they write or
// delete the pipeline's file in the directory, so a pipeline made at run time survives a
// restart like the others.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/pipelines/pipeline_services.h"
#include "server/pipelines/pipeline_task.h"

namespace runnel::server::pipelines {

struct pipeline_status {
    std::string name;
    std::string file;
    std::string state;  // "running" or "failed: <why>"
    size_t tasks = 0;
    uint64_t records_in = 0, records_out = 0, late = 0, dead_lettered = 0, commits = 0,
             restarts = 0;
    uint64_t commit_us = 0;    // time its tasks spent committing
    uint64_t state_bytes = 0;  // its tasks' state stores together (estimates)
    // The lowest event-time watermark of its tasks (ms), nullopt before every task has one.
    std::optional<int64_t> watermark;
};

// The runnel.pipelines.* broker keys.
struct host_settings {
    std::string dir;  // the pipeline files; empty: none
    int32_t scan_interval_ms = 2000;
    std::filesystem::path state_dir;        // where stateful tasks keep their stores
    int64_t state_memory_bytes = 64 << 20;  // what all of them may use together
    int64_t task_timeout_ms = 300'000;      // how long a task may keep failing
};

class pipeline_host {
  public:
    pipeline_host(pipeline_services services, host_settings settings);
    ~pipeline_host();

    // Broker start-up, shards running and coordinators started: begins watching the directory
    // (on the metadata shard). Nothing when the directory key is empty.
    void start();
    // Broker shutdown, shards still running: stops every task and waits for them (each leaves
    // its open transaction to be aborted on its next start).
    void stop();

    // Any thread. Checks `yaml` and writes it as <dir>/<name>.yaml; returns the error, or "".
    std::string submit(const std::string& yaml);
    // Removes the file of pipeline `name`; returns the error, or "".
    std::string remove(const std::string& name);
    // Stops a running pipeline without removing its file (its state and offsets stay); resume()
    // starts it again from there. A paused pipeline runs again after a broker restart. Return
    // the error, or "".
    std::string pause(const std::string& name);
    std::string resume(const std::string& name);
    std::vector<pipeline_status> status() const;
    // The pipeline running (or paused) under `name`, or null.
    std::shared_ptr<const loaded_pipeline> find(const std::string& name) const;

  private:
    struct running {
        std::shared_ptr<const loaded_pipeline> pipeline;
        std::string file;
        std::vector<std::shared_ptr<pipeline_task>> tasks;
    };

    asio::awaitable<void> watch_loop();
    asio::awaitable<void> scan();
    // Creates what `p` needs and starts its tasks; returns the error, or "".
    asio::awaitable<std::string> start_pipeline(std::shared_ptr<const loaded_pipeline> p,
                                                const std::string& file);
    // Whether tasks of an earlier version of `name` are still finishing (then it waits).
    bool still_retiring(const std::string& name);
    // Asks its tasks to stop; returns them (they finish on their own shards).
    std::vector<std::shared_ptr<pipeline_task>> stop_pipeline(const std::string& name);
    std::vector<std::shared_ptr<pipeline_task>> stop_locked(
        const std::string& name);  // mutex_ held
    // A task gave up: its pipeline stops until its file changes (task_settings::gave_up).
    void task_gave_up(const pipeline_task& task, const std::string& failure);

    pipeline_services services_;
    std::string dir_;
    int32_t scan_interval_ms_;
    std::unique_ptr<streams::state_memory> state_memory_;
    task_settings task_settings_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> watching_{false};

    // Guards everything below it (the scan, stop, status and the admin API's calls).
    mutable std::mutex mutex_;
    std::map<std::string, running> running_;  // by pipeline name
    // Stopped tasks still finishing, by pipeline name.
    std::map<std::string, std::vector<std::shared_ptr<pipeline_task>>> retiring_;
    std::map<std::string, std::string> failed_;  // file -> why, for status
    std::map<std::string, std::string> seen_;    // file -> content last acted on
    // Paused pipelines by name: not started by a scan until resumed or their file changes.
    std::map<std::string, running> paused_;
};

}  // namespace runnel::server::pipelines
