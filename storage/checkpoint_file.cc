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

result<std::vector<checkpoint_entry>> parse_checkpoint_entries(std::string_view text,
                                                               size_t fields) {
    auto malformed = [](std::string_view what,
                        std::string_view line) -> result<std::vector<checkpoint_entry>> {
        storage_log().warn("malformed checkpoint: {}: '{}'", what, line);
        return make_error_code(errc::corrupt_metadata);
    };
    auto lines = split_lines(text);
    std::vector<checkpoint_entry> out;
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
        checkpoint_entry parts;
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
        if (parts.size() != fields || parts[0].empty()) return malformed("bad entry", line);
        out.push_back(std::move(parts));
    }
    if (static_cast<int64_t>(lines.size() - 2) != *expected)
        return malformed("entry count does not match", lines[1]);
    return out;
}

std::optional<int64_t> parse_checkpoint_integer(std::string_view field) {
    return parse_integer<int64_t>(field);
}

result<checkpoint_map> parse_checkpoint(std::string_view text) {
    auto entries = parse_checkpoint_entries(text, 3);
    if (!entries) return entries.error();
    checkpoint_map out;
    for (const auto& e : *entries) {
        auto partition = parse_integer<int32_t>(e[1]);
        auto offset = parse_integer<int64_t>(e[2]);
        if (!partition || !offset) {
            storage_log().warn("malformed checkpoint: bad entry: '{} {} {}'", e[0], e[1], e[2]);
            return make_error_code(errc::corrupt_metadata);
        }
        out[topic_partition_name{std::string(e[0]), *partition}] = *offset;
    }
    return out;
}

result<std::string> read_checkpoint_text(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return std::string{};
    auto f = file::open(path, O_RDONLY);
    if (!f) return f.error();
    auto size = f->size();
    if (!size) return size.error();
    if (*size > max_checkpoint_bytes) {
        storage_log().warn("{}: {} bytes is too large for a checkpoint", path.string(), *size);
        return make_error_code(errc::corrupt_metadata);
    }
    std::string text(static_cast<size_t>(*size), '\0');
    auto got = f->read_at(text.data(), text.size(), 0);
    if (!got) return got.error();
    text.resize(*got);
    return text;
}

result<checkpoint_map> checkpoint_file::read() const {
    auto text = read_checkpoint_text(path_);
    if (!text) return text.error();
    auto parsed = parse_checkpoint(*text);
    if (!parsed) storage_log().warn("{}: cannot use this checkpoint file", path_.string());
    return parsed;
}

std::error_code checkpoint_file::write(const checkpoint_map& offsets) const {
    return write_file_atomically(path_, format_checkpoint(offsets));
}

}  // namespace runnel::storage
