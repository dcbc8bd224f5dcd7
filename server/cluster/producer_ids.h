// Producer ids for InitProducerId: unique for the life of the cluster, never reused after a
// restart. Ids are reserved in blocks (Kafka's controller hands out blocks of 1000 too): the end of
// the current block is written durably to <first log dir>/runnel-producer-ids before any id of it
// is handed out, so after a crash the next start begins past every id ever given.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
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
    // An error means the block could not be written (the id must not be used).
    std::error_code next(int64_t& id);

  private:
    std::filesystem::path file_;
    std::mutex mutex_;  // taken once per InitProducerId, never on the produce path
    int64_t next_ = 0;
    int64_t reserved_end_ = 0;  // ids below this are reserved on disk
};

}  // namespace runnel::server
