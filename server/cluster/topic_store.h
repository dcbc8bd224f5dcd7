// Persists the topic table (names, topic IDs, partition counts, topic configs) in
// <first log dir>/runnel-topics.json, replaced atomically (write, fsync, rename) on each change.
// Partition data and partition.metadata stay in Kafka's layout beside it.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "protocol/codec.h"

namespace runnel::server {

struct stored_topic {
    std::string name;
    protocol::uuid id{};
    int32_t partitions = 0;
    std::map<std::string, std::string> configs;
};

class topic_store {
  public:
    explicit topic_store(std::filesystem::path dir) : path_(std::move(dir) / file_name) {}

    static constexpr const char* file_name = "runnel-topics.json";

    // Reads the stored topics; an absent file is an empty table. Throws std::runtime_error on a
    // file that exists but cannot be parsed (start-up stops rather than forgetting topics).
    std::vector<stored_topic> load() const;
    std::error_code save(const std::vector<stored_topic>& topics) const;

  private:
    std::filesystem::path path_;
};

}  // namespace runnel::server
