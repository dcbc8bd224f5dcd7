// Durations as pipeline files write them: "250ms", "30s", "5m", "2h", "1d", or a bare number of
// milliseconds.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace runnel::streams {

using millis = std::chrono::milliseconds;

// The duration `text` names, or nullopt when it is not one (negative, unknown unit, overflow).
std::optional<millis> parse_duration(std::string_view text);

}  // namespace runnel::streams
