#include "streams/state/state_store.h"

#include <cstdint>

namespace runnel::streams {

std::optional<std::string> memory_store::get(std::string_view key) const {
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
}

void memory_store::put(std::string_view key, std::string_view value) {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        entries_.emplace(std::string(key), std::string(value));
        bytes_ += key.size() + value.size();
    } else {
        bytes_ += value.size();
        bytes_ -= it->second.size();
        it->second.assign(value);
    }
}

void memory_store::erase(std::string_view key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    bytes_ -= it->first.size() + it->second.size();
    entries_.erase(it);
}

void memory_store::scan(
    std::string_view from, std::string_view to,
    const std::function<bool(std::string_view, std::string_view)>& visit) const {
    for (auto it = entries_.lower_bound(from); it != entries_.end(); ++it) {
        if (!to.empty() && std::string_view(it->first) >= to) break;
        if (!visit(it->first, it->second)) break;
    }
}

void recording_store::put(std::string_view key, std::string_view value) {
    under_.put(key, value);
    changes_[std::string(key)] = std::string(value);
}

void recording_store::erase(std::string_view key) {
    under_.erase(key);
    changes_[std::string(key)] = std::nullopt;
}

std::vector<std::pair<std::string, std::optional<std::string>>> recording_store::take_changes() {
    std::vector<std::pair<std::string, std::optional<std::string>>> out;
    out.reserve(changes_.size());
    for (auto& [k, v] : changes_) out.emplace_back(k, std::move(v));
    changes_.clear();
    return out;
}

void append_ordered_i64(std::string& out, int64_t v) {
    uint64_t u = static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(u >> shift));
}

int64_t read_ordered_i64(std::string_view in) {
    uint64_t u = 0;
    for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<uint8_t>(in[i]);
    return static_cast<int64_t>(u ^ (uint64_t{1} << 63));
}

}  // namespace runnel::streams
