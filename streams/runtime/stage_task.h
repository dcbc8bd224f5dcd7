// One task: one stage of a pipeline over one partition of the stage's input. It takes the
// partition's records in offset order and hands back what to write (sink, route and side topics,
// the next stage's internal topic, watermark markers); the server reads, writes and commits
// around it (runtime/broker_access.h). Deterministic: the same input in the same order gives
// the same output, so a restart from committed state and offsets repeats exactly what was lost.
#pragma once

#include "streams/operators/deduper.h"
#include "streams/operators/stateless_steps.h"
#include "streams/plan/pipeline_plan.h"
#include "streams/records/stream_record.h"
#include "streams/state/state_store.h"
#include "streams/windows/top_by_window.h"
#include "streams/windows/watermark.h"
#include "streams/windows/windowed_aggregation.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace runnel::streams {

// A record of the task's input partition, as stored.
struct input_record {
    std::optional<std::string> key;
    std::optional<std::string> value;
    int64_t timestamp = 0;
    header_list headers;
};

struct task_counters {
    uint64_t records_in = 0;
    uint64_t records_out = 0;  // to the sink, route topics or the next stage
    uint64_t late = 0;         // sent to the late topic, or dropped when it says drop
    uint64_t dead_lettered = 0;
    uint64_t unrouted = 0;    // route matched no rule and has no otherwise
    uint64_t duplicates = 0;  // dropped by dedupe
};

// The header of a watermark marker in an internal topic: "<task>:<watermark>:<idle 0|1>".
inline constexpr const char* watermark_header = "runnel-watermark";
// Headers of a dead-lettered record.
inline constexpr const char* error_header = "runnel-error";
inline constexpr const char* pipeline_header = "runnel-pipeline";

class stage_task {
  public:
    // `upstream_tasks`: how many tasks write the input (the previous stage's partition count;
    // ignored for source stages). `downstream_partitions`: partitions of the next stage's topic.
    stage_task(const pipeline_spec& spec, const stage_plan& stage, int32_t task_index,
               int32_t upstream_tasks, int32_t downstream_partitions, state_store& store);

    // One input record; `wall_ms` is the wall clock (for idleness only).
    void process(const input_record& in, int64_t wall_ms, std::vector<produced_record>& out);
    // Called every commit interval and before a commit: watermark markers downstream, windows
    // and dedupe entries the watermark has passed.
    void punctuate(int64_t wall_ms, std::vector<produced_record>& out);

    int64_t watermark() const;
    const task_counters& counters() const { return counters_; }

    // The task's event-time progress (the largest event time of its partition, or its upstream
    // tasks' watermarks), saved with every commit and given back at start, so that a task
    // repeating what a lost transaction did judges lateness and closes windows as it did.
    std::string progress() const;
    void restore_progress(std::string_view saved);

  private:
    void run_steps(std::vector<stream_record> records, size_t from_step,
                   std::vector<produced_record>& out);
    void stateful_step(stream_record r, std::vector<stream_record>& next);
    void close_windows(std::vector<produced_record>& out);
    void emit(stream_record r, std::vector<produced_record>& out);
    void emit_to(const std::string& topic, const stream_record& r,
                 std::vector<produced_record>& out);
    void dead_letter(const stream_record& r, const std::string& reason,
                     std::vector<produced_record>& out);
    void dead_letter_bytes(const input_record& in, const std::string& reason,
                           std::vector<produced_record>& out);

    const pipeline_spec& spec_;
    const stage_plan& stage_;
    int32_t task_index_;
    int32_t downstream_partitions_;
    partition_watermark source_watermark_;
    upstream_watermarks upstream_;
    std::unique_ptr<windowed_aggregation> aggregation_;
    std::unique_ptr<top_by_window> top_;
    std::unique_ptr<deduper> dedupe_;
    int64_t last_input_wall_ = -1;
    int64_t started_wall_ = -1;
    int64_t last_marker_watermark_ = no_watermark;
    bool last_marker_idle_ = false;
    bool marker_sent_ = false;
    task_counters counters_;
};

}  // namespace runnel::streams
