#include "streams/state/caching_store.h"

#include <algorithm>
#include <vector>

namespace runnel::streams {

namespace {

// What an entry costs: its bytes and the map node around them.
int64_t cost(std::string_view key, const std::optional<std::string>& value) {
    return static_cast<int64_t>(key.size() + (value ? value->size() : 0) + 64);
}

}  // namespace

caching_store::~caching_store() { budget_.used -= bytes_; }

void caching_store::charge(int64_t bytes) const {
    bytes_ += bytes;
    budget_.used += bytes;
}

void caching_store::set(std::string_view key, std::optional<std::string> value, bool dirty) const {
    auto it = entries_.find(key);
    if (it == entries_.end()) {
        charge(cost(key, value));
        it = entries_.emplace(std::string(key), entry{std::move(value), false}).first;
    } else {
        charge(cost(key, value) - cost(key, it->second.value));
        it->second.value = std::move(value);
    }
    if (dirty && !it->second.dirty) {
        it->second.dirty = true;
        dirty_.push_back(it);
    }
    if (budget_.used > budget_.limit) shrink();
}

void caching_store::shrink() const {
    // What goes down now still reaches the changelog at the next flush: kept aside until then.
    for (auto& change : const_cast<caching_store*>(this)->flush()) {
        spilled_[change.first] = std::move(change.second);
    }
    int64_t freed = 0;
    for (const auto& [k, e] : entries_) freed += cost(k, e.value);
    entries_.clear();
    dirty_.clear();
    charge(-freed);
}

std::optional<std::string> caching_store::get(std::string_view key) const {
    auto it = entries_.find(key);
    if (it != entries_.end()) return it->second.value;
    auto value = under_.get(key);
    set(key, value, false);
    return value;
}

void caching_store::put(std::string_view key, std::string_view value) {
    set(key, std::string(value), true);
}

void caching_store::erase(std::string_view key) { set(key, std::nullopt, true); }

std::vector<std::pair<std::string, std::optional<std::string>>> caching_store::flush() {
    std::vector<std::pair<std::string, std::optional<std::string>>> changed;
    for (auto& [k, v] : spilled_) {
        if (!entries_.count(k) || !entries_.find(k)->second.dirty) changed.emplace_back(k, v);
    }
    spilled_.clear();
    std::sort(dirty_.begin(), dirty_.end(),
              [](const auto& a, const auto& b) { return a->first < b->first; });
    for (auto it : dirty_) {
        const auto& [k, e] = *it;
        if (e.value) {
            under_.put(k, *e.value);
        } else {
            under_.erase(k);
        }
        it->second.dirty = false;
        changed.emplace_back(k, e.value);
    }
    dirty_.clear();
    return changed;
}

void caching_store::scan(
    std::string_view from, std::string_view to,
    const std::function<bool(std::string_view, std::string_view)>& visit) const {
    // The store's range first (copied: the visitor may change the cache), then a merge in key
    // order in which the cache's entries replace the store's.
    std::vector<std::pair<std::string, std::string>> stored;
    under_.scan(from, to, [&](std::string_view k, std::string_view v) {
        stored.emplace_back(k, v);
        return true;
    });
    std::vector<std::pair<std::string, std::optional<std::string>>> cached;
    for (auto it = entries_.lower_bound(from);
         it != entries_.end() && (to.empty() || std::string_view(it->first) < to); ++it) {
        cached.emplace_back(it->first, it->second.value);
    }
    size_t i = 0, j = 0;
    while (i < stored.size() || j < cached.size()) {
        bool take_cached =
            j < cached.size() && (i == stored.size() || cached[j].first <= stored[i].first);
        if (take_cached) {
            if (i < stored.size() && stored[i].first == cached[j].first) ++i;  // replaced
            const auto& [k, v] = cached[j++];
            if (v && !visit(k, *v)) return;
        } else {
            const auto& [k, v] = stored[i++];
            if (!visit(k, v)) return;
        }
    }
}

}  // namespace runnel::streams
