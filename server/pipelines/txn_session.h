// A task's transactional producer inside the broker. Each commit is one Kafka transaction, made
// through the same coordinators a Java producer's sendOffsetsToTransaction uses: the partitions
// and the group's __consumer_offsets partition added to it, the records appended as
// transactional batches (producer id, epoch, sequences), the source offsets committed in it, and
// the commit markers written. init() bumps the epoch of the task's transactional id, which
// fences an older incarnation and aborts whatever it left open.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "protocol/errors.h"
#include "server/pipelines/pipeline_services.h"
#include "streams/records/stream_record.h"

namespace runnel::server::pipelines {

namespace asio = boost::asio;

using topic_partition_offsets = std::map<std::pair<std::string, int32_t>, int64_t>;

// The outcome of a step: none, or the error and what was being done.
struct txn_outcome {
    protocol::error_code error = protocol::error_code::none;
    std::string what;
    bool ok() const { return error == protocol::error_code::none; }
};

class txn_session {
  public:
    // `task_index`: the task's number in its stage, which places its records without a key.
    txn_session(pipeline_services& services, std::string transactional_id, std::string group_id,
                int32_t transaction_timeout_ms, int32_t task_index)
        : services_(services),
          transactional_id_(std::move(transactional_id)),
          group_id_(std::move(group_id)),
          timeout_ms_(transaction_timeout_ms),
          task_index_(task_index) {}

    asio::awaitable<txn_outcome> init();
    // One transaction: `records` (partition -1: by key, Kafka's default partitioner; without a
    // key, the task's index modulo the partitions, so tasks spread over a sink as their inputs
    // are spread and each keeps its input's order), then `offsets` committed for the group,
    // then the commit. On failure the transaction is left for the next init() to abort.
    // `metadata` goes with every offset (the task's progress, see stage_task::progress()).
    asio::awaitable<txn_outcome> commit(std::vector<streams::produced_record> records,
                                        const topic_partition_offsets& offsets,
                                        const std::string& metadata = "");
    // The group's committed offsets (stable: no transaction of ours is open after init()).
    asio::awaitable<std::pair<txn_outcome, topic_partition_offsets>> committed_offsets();
    // The metadata committed with a partition's offset, as committed_offsets() found it.
    std::string metadata_of(const std::pair<std::string, int32_t>& tp) const {
        auto it = committed_metadata_.find(tp);
        return it == committed_metadata_.end() ? std::string() : it->second;
    }

  private:
    asio::awaitable<txn_outcome> add_partitions(
        const std::vector<std::pair<std::string, int32_t>>& partitions);
    asio::awaitable<txn_outcome> append(const std::string& topic, int32_t partition,
                                        const std::vector<streams::produced_record*>& records);
    asio::awaitable<txn_outcome> commit_offsets(const topic_partition_offsets& offsets,
                                                const std::string& metadata);
    asio::awaitable<txn_outcome> end(bool commit);

    pipeline_services& services_;
    std::string transactional_id_;
    std::string group_id_;
    int32_t timeout_ms_;
    int32_t task_index_;
    int64_t producer_id_ = -1;
    int16_t epoch_ = -1;
    std::map<std::pair<std::string, int32_t>, int32_t> next_sequence_;
    std::map<std::pair<std::string, int32_t>, std::string> committed_metadata_;
};

}  // namespace runnel::server::pipelines
