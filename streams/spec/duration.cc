#include "streams/spec/duration.h"

#include <charconv>
#include <cstdint>
#include <limits>

namespace runnel::streams {

std::optional<millis> parse_duration(std::string_view text) {
    int64_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc{} || end == text.data() || number < 0) return std::nullopt;
    std::string_view unit(end, text.data() + text.size() - end);
    int64_t scale = 0;
    if (unit.empty() || unit == "ms") {
        scale = 1;
    } else if (unit == "s") {
        scale = 1000;
    } else if (unit == "m") {
        scale = 60'000;
    } else if (unit == "h") {
        scale = 3'600'000;
    } else if (unit == "d") {
        scale = 86'400'000;
    } else {
        return std::nullopt;
    }
    if (number > std::numeric_limits<int64_t>::max() / scale) return std::nullopt;
    return millis(number * scale);
}

}  // namespace runnel::streams
