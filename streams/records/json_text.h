// The JSON texts a pipeline writes for every record it hands between stages: a group's key
// (`["#tag"]`) and an internal record's key and value (`[null,"#tag"]`). Plain ASCII strings,
// by far the common case, are written and read without building JSON values; anything else
// goes through nlohmann::json, with the same text as result.
#pragma once

#include "streams/records/stream_record.h"

#include <string>
#include <string_view>

namespace runnel::streams {

// `[v]` as compact JSON.
std::string group_key_text(const json& v);
// `[key,value]` as compact JSON.
std::string pair_text(const json& key, const json& value);
// Reads `[key,value]`; false when `text` is not such an array.
bool parse_pair(std::string_view text, json& key, json& value);

}  // namespace runnel::streams
