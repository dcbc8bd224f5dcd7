// Producer ids for InitProducerId: unique for the life of the cluster, never reused after a
// restart. Ids are reserved in blocks (Kafka's controller hands out blocks of 1000 too). A single
// node writes the end of the current block durably to <first log dir>/runnel-producer-ids
// before any id of it is handed out, so after a crash the next start begins past every id ever
// given. In a ZooKeeper cluster the blocks come from /latest_producer_id_block, shared by every
// broker as in Kafka's ZooKeeper mode (the controller layer fetches them: use_cluster_blocks).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <system_error>

namespace runnel::server {

class producer_ids {
  public:
    static constexpr int64_t block_size = 1000;

    explicit producer_ids(std::filesystem::path file) : file_(std::move(file)) {}

    // Reads the reserved end (0 when the file is absent). Throws std::runtime_error on a
    // malformed file, so a broken file never leads to reused ids.
    void load();
    // The next id, reserving a new block first when the current one is used up. Any thread.
    // An error means the block could not be written (the id must not be used); in a cluster,
    // std::errc::resource_unavailable_try_again while the next block is on its way.
    std::error_code next(int64_t& id);

    // A ZooKeeper cluster: blocks are supplied by supply_block, which `ask` is called to bring
    // (on any thread; at once, and again when the current block is half used). The local
    // file's reserved end still bounds them from below (ids handed out as a single node).
    void use_cluster_blocks(std::function<void()> ask);
    // The block [first, end) for this broker (any thread).
    void supply_block(int64_t first, int64_t end);
    // The lowest id a cluster block may start at (the local file's reserved end).
    int64_t local_reserved_end() const { return local_end_; }

  private:
    std::filesystem::path file_;
    std::mutex mutex_;  // taken once per InitProducerId, never on the produce path
    int64_t next_ = 0;
    int64_t reserved_end_ = 0;   // ids below this are reserved on disk (or given by the cluster)
    int64_t local_end_ = 0;      // what the local file reserved when it was loaded
    std::function<void()> ask_;  // set: blocks come from the cluster
    bool asked_ = false;         // a block is on its way
    std::optional<std::pair<int64_t, int64_t>> spare_;  // the next block, once it came
};

}  // namespace runnel::server
