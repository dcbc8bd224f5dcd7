#include "storage/partition_dir.h"

#include "storage/file.h"
#include "storage/log.h"

#include <fcntl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <tuple>

namespace runnel::storage {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view base64url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64url_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

bool ends_with_any(std::string_view name, std::initializer_list<std::string_view> suffixes) {
    return std::any_of(suffixes.begin(), suffixes.end(),
                       [&](std::string_view s) { return name.ends_with(s); });
}

// Directories Kafka renames partitions to while deleting or moving them; never live partitions.
bool is_transient_dir(std::string_view name) {
    return ends_with_any(name, {"-delete", "-future", "-stray"});
}

// "key: value" with one or more whitespace characters after the colon, as Kafka's reader expects.
std::optional<std::string_view> value_after(std::string_view line, std::string_view key) {
    if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ':')
        return std::nullopt;
    auto rest = line.substr(key.size() + 1);
    size_t ws = 0;
    while (ws < rest.size() && (rest[ws] == ' ' || rest[ws] == '\t')) ++ws;
    if (ws == 0 || ws == rest.size()) return std::nullopt;
    return rest.substr(ws);
}

}  // namespace

bool is_valid_topic_name(std::string_view topic) {
    if (topic.empty() || topic.size() > 249 || topic == "." || topic == "..") return false;
    return std::all_of(topic.begin(), topic.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
}

std::string partition_dir_name(std::string_view topic, int32_t partition) {
    return fmt::format("{}-{}", topic, partition);
}

std::optional<topic_partition_name> parse_partition_dir_name(std::string_view name) {
    auto dash = name.rfind('-');
    if (dash == std::string_view::npos) return std::nullopt;
    auto topic = name.substr(0, dash);
    auto digits = name.substr(dash + 1);
    if (!is_valid_topic_name(topic) || digits.empty() || (digits.size() > 1 && digits[0] == '0'))
        return std::nullopt;
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    int32_t partition = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), partition);
    if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
    return topic_partition_name{std::string(topic), partition};
}

std::string topic_id_to_string(const protocol::uuid& id) {
    std::string out;
    out.reserve(22);
    uint32_t acc = 0;
    int bits = 0;
    for (uint8_t b : id) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(base64url_alphabet[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0) out.push_back(base64url_alphabet[(acc << (6 - bits)) & 0x3f]);
    return out;
}

std::optional<protocol::uuid> topic_id_from_string(std::string_view s) {
    if (s.size() == 24 && s.ends_with("==")) s.remove_suffix(2);
    if (s.size() != 22) return std::nullopt;
    protocol::uuid id{};
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (char c : s) {
        int v = base64url_value(c);
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            id[n++] = static_cast<uint8_t>(acc >> bits);
        }
    }
    return id;
}

std::error_code write_partition_metadata(const fs::path& partition_dir,
                                         const protocol::uuid& topic_id, bool synced) {
    auto path = partition_dir / partition_metadata_file_name;
    auto content = "version: 0\ntopic_id: " + topic_id_to_string(topic_id);
    return synced ? write_file_atomically(path, content) : write_file_quickly(path, content);
}

result<protocol::uuid> read_partition_metadata(const fs::path& partition_dir) {
    auto path = partition_dir / partition_metadata_file_name;
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::make_error_code(std::errc::no_such_file_or_directory);
    auto f = file::open(path, O_RDONLY);
    if (!f) return f.error();
    std::string content(4096, '\0');  // the real file is ~40 bytes; larger is not ours
    auto got = f->read_at(content.data(), content.size(), 0);
    if (!got) return got.error();
    content.resize(*got);

    auto malformed = [&](std::string_view why) -> result<protocol::uuid> {
        storage_log().warn("{}: {}", path.string(), why);
        return make_error_code(errc::corrupt_metadata);
    };
    std::string_view text = content;
    auto nl = text.find('\n');
    if (nl == std::string_view::npos) return malformed("missing topic_id line");
    auto line1 = text.substr(0, nl);
    auto line2 = text.substr(nl + 1);
    line2 = line2.substr(0, line2.find('\n'));
    for (auto* line : {&line1, &line2}) {
        if (line->ends_with('\r')) line->remove_suffix(1);
    }

    auto version = value_after(line1, "version");
    int version_number = -1;
    if (!version) return malformed("malformed version line");
    auto [ptr, vec] =
        std::from_chars(version->data(), version->data() + version->size(), version_number);
    if (vec != std::errc() || ptr != version->data() + version->size() || version_number < 0)
        return malformed("malformed version line");
    // Kafka reads any version >= 0 the same way (downgrade compatibility); so do we.
    auto id_text = value_after(line2, "topic_id");
    if (!id_text) return malformed("malformed topic_id line");
    auto id = topic_id_from_string(*id_text);
    if (!id) return malformed("malformed topic id");
    if (*id == protocol::zero_uuid) return malformed("zero topic id");
    return *id;
}

result<fs::path> choose_log_dir(const std::vector<fs::path>& log_dirs) {
    const fs::path* best = nullptr;
    size_t best_count = 0;
    for (const auto& dir : log_dirs) {
        std::error_code ec;
        size_t count = 0;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            auto name = it->path().filename().string();
            std::error_code type_ec;
            if (it->is_directory(type_ec) && !is_transient_dir(name) &&
                parse_partition_dir_name(name)) {
                ++count;
            }
        }
        if (ec) {
            storage_log().warn("skipping log dir {}: {}", dir.string(), ec.message());
            continue;
        }
        if (!best || count < best_count) {
            best = &dir;
            best_count = count;
        }
    }
    if (!best) {
        storage_log().error("no usable log dir among {} configured", log_dirs.size());
        return make_error_code(errc::io_error);
    }
    return *best;
}

std::vector<partition_dir_info> scan_log_dirs(const std::vector<fs::path>& log_dirs) {
    std::vector<partition_dir_info> all;
    for (const auto& dir : log_dirs) {
        std::vector<partition_dir_info> found;
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            auto name = it->path().filename().string();
            std::error_code type_ec;
            if (!it->is_directory(type_ec) || is_transient_dir(name)) continue;
            auto parsed = parse_partition_dir_name(name);
            if (!parsed) {
                storage_log().debug("{}: not a partition directory, skipped", it->path().string());
                continue;
            }
            partition_dir_info info{std::move(parsed->topic), parsed->partition, it->path(), {}};
            if (auto id = read_partition_metadata(it->path())) info.topic_id = *id;
            found.push_back(std::move(info));
        }
        if (ec) {
            storage_log().warn("cannot scan log dir {}: {}", dir.string(), ec.message());
            continue;
        }
        std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
            return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
        });
        for (auto& f : found) all.push_back(std::move(f));
    }
    return all;
}

}  // namespace runnel::storage
