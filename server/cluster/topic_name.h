// Kafka's topic name rules (Topic.validate): 1..249 characters from [a-zA-Z0-9._-], not "." or
// "..".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace runnel::server {

inline constexpr size_t max_topic_name_length = 249;

// nullopt when valid, otherwise the reason in Kafka's words.
std::optional<std::string> topic_name_problem(std::string_view name);

// Internal topics clients may not create or write to directly.
bool is_internal_topic(std::string_view name);

}  // namespace runnel::server
