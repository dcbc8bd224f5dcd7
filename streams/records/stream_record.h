// One record as it moves through a pipeline: its key and value decoded (text and bytes as JSON
// strings, parsed JSON and CSV as JSON values), its event time and its headers.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace runnel::streams {

using json = nlohmann::json;
using header_list = std::vector<std::pair<std::string, std::string>>;

struct stream_record {
    json key;               // null when the record has none
    json value;             // null for a tombstone
    int64_t timestamp = 0;  // event time, milliseconds since the epoch
    header_list headers;
};

// A record bound for a topic: what a step hands to the sink side. `topic` is empty for the
// pipeline's own sink (or the next stage's internal topic).
struct output_record {
    std::string topic;
    stream_record record;
};

// A record as a task hands it to the broker: bytes, bound for a topic and, when the task chose
// one, a partition (-1: the sink's partitioner decides by key, as Kafka's default one does).
struct produced_record {
    std::string topic;
    int32_t partition = -1;
    std::optional<std::string> key;
    std::optional<std::string> value;
    int64_t timestamp = 0;
    header_list headers;
};

// JSON text of `v` that never throws: bytes that are not UTF-8 become U+FFFD.
std::string to_text(const json& v);

}  // namespace runnel::streams
