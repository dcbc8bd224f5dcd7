#include "storage/checkpoint_file.h"

#include "storage/file.h"
#include "storage/log.h"

#include <fcntl.h>
#include <fmt/format.h>

#include <charconv>
#include <optional>
#include <vector>

namespace runnel::storage {

namespace {

constexpr int checkpoint_version = 0;
constexpr int64_t max_checkpoint_bytes = int64_t{1} << 30;

// Lines as Java's BufferedReader.readLine splits them: ended by \n, \r or \r\n; a last line
// without an ending counts, an ending at the very end adds no empty line.
std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find_first_of("\r\n", start);
        if (end == std::string_view::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, end - start));
        start = end + (text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n' ? 2 : 1);
    }
    return lines;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Integer.parseInt / Long.parseLong: an optional sign, then decimal digits, nothing else.
template <class T>
std::optional<T> parse_integer(std::string_view s) {
    if (!s.empty() && s[0] == '+') {
        s.remove_prefix(1);
        if (s.empty() || s[0] == '-' || s[0] == '+') return std::nullopt;
    }
    if (s.empty()) return std::nullopt;
    T v{};
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

std::string format_checkpoint(const checkpoint_map& offsets) {
    std::string out = fmt::format("{}\n{}\n", checkpoint_version, offsets.size());
    for (const auto& [tp, offset] : offsets)
        out += fmt::format("{} {} {}\n", tp.topic, tp.partition, offset);
    return out;
}

result<checkpoint_map> parse_checkpoint(std::string_view text) {
    auto malformed = [](std::string_view what, std::string_view line) -> result<checkpoint_map> {
        storage_log().warn("malformed checkpoint: {}: '{}'", what, line);
        return make_error_code(errc::corrupt_metadata);
    };
    auto lines = split_lines(text);
    checkpoint_map out;
    if (lines.empty()) return out;
    auto version = parse_integer<int32_t>(lines[0]);
    if (!version) return malformed("bad version line", lines[0]);
    if (*version != checkpoint_version) return malformed("unsupported version", lines[0]);
    if (lines.size() < 2) return out;
    auto expected = parse_integer<int32_t>(lines[1]);
    if (!expected) return malformed("bad entry count line", lines[1]);
    for (size_t i = 2; i < lines.size(); ++i) {
        // Split at runs of whitespace like Java's split("\\s+"): a leading run gives an empty
        // first field (so the line is malformed), trailing runs are ignored.
        std::vector<std::string_view> parts;
        std::string_view line = lines[i];
        size_t pos = 0;
        while (true) {
            size_t end = pos;
            while (end < line.size() && !is_space(line[end])) ++end;
            parts.push_back(line.substr(pos, end - pos));
            while (end < line.size() && is_space(line[end])) ++end;
            if (end >= line.size()) break;
            pos = end;
        }
        auto partition = parts.size() == 3 ? parse_integer<int32_t>(parts[1]) : std::nullopt;
        auto offset = parts.size() == 3 ? parse_integer<int64_t>(parts[2]) : std::nullopt;
        if (!partition || !offset || parts[0].empty()) return malformed("bad entry", line);
        out[topic_partition_name{std::string(parts[0]), *partition}] = *offset;
    }
    if (static_cast<int64_t>(lines.size() - 2) != *expected)
        return malformed("entry count does not match", lines[1]);
    return out;
}

result<checkpoint_map> checkpoint_file::read() const {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec)) return checkpoint_map{};
    auto f = file::open(path_, O_RDONLY);
    if (!f) return f.error();
    auto size = f->size();
    if (!size) return size.error();
    if (*size > max_checkpoint_bytes) {
        storage_log().warn("{}: {} bytes is too large for a checkpoint", path_.string(), *size);
        return make_error_code(errc::corrupt_metadata);
    }
    std::string text(static_cast<size_t>(*size), '\0');
    auto got = f->read_at(text.data(), text.size(), 0);
    if (!got) return got.error();
    text.resize(*got);
    auto parsed = parse_checkpoint(text);
    if (!parsed) storage_log().warn("{}: cannot use this checkpoint file", path_.string());
    return parsed;
}

std::error_code checkpoint_file::write(const checkpoint_map& offsets) const {
    return write_file_atomically(path_, format_checkpoint(offsets));
}

}  // namespace runnel::storage
