#include "streams/state/caching_store.h"

#include <algorithm>

namespace runnel::streams {

namespace {

// What an entry costs: its bytes and the hash node around them.
int64_t cost(std::string_view key, const std::optional<std::string>& value) {
    return static_cast<int64_t>(key.size() + (value ? value->size() : 0) + 80);
}

}  // namespace

caching_store::~caching_store() { budget_.used -= bytes_; }

void caching_store::charge(int64_t bytes) const {
    bytes_ += bytes;
    budget_.used += bytes;
}

void caching_store::set(std::string_view key, std::optional<std::string> value,
                        bool changed) const {
    // (A string key for the lookup: unordered_map has no heterogeneous find before C++20's
    // is_transparent hashing, which libstdc++ 12 lacks.)
    std::string k(key);
    auto it = entries_.find(k);
    if (it == entries_.end()) {
        charge(cost(key, value));
        it = entries_.emplace(std::move(k), entry{std::move(value)}).first;
    } else {
        charge(cost(key, value) - cost(key, it->second.value));
        it->second.value = std::move(value);
    }
    if (changed) {
        if (!it->second.unflushed) {
            it->second.unflushed = true;
            unflushed_.push_back(&*it);
        }
        if (!it->second.unlogged) {
            it->second.unlogged = true;
            unlogged_.push_back(&*it);
        }
    }
    if (budget_.used > budget_.limit) shrink();
}

void caching_store::write_down() const {
    for (node* n : unflushed_) {
        if (n->second.value) {
            under_.put(n->first, *n->second.value);
        } else {
            under_.erase(n->first);
        }
        n->second.unflushed = false;
    }
    unflushed_.clear();
}

void caching_store::shrink() const {
    write_down();
    for (node* n : unlogged_) spilled_[n->first] = n->second.value;
    unlogged_.clear();
    int64_t freed = 0;
    for (const auto& [k, e] : entries_) freed += cost(k, e.value);
    entries_.clear();
    charge(-freed);
}

std::optional<std::string> caching_store::get(std::string_view key) const {
    auto it = entries_.find(std::string(key));
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
    write_down();
    for (node* n : unlogged_) {
        spilled_[n->first] = n->second.value;  // the latest value wins
        n->second.unlogged = false;
    }
    unlogged_.clear();
    std::vector<std::pair<std::string, std::optional<std::string>>> changed(
        std::make_move_iterator(spilled_.begin()), std::make_move_iterator(spilled_.end()));
    spilled_.clear();
    return changed;
}

void caching_store::scan(
    std::string_view from, std::string_view to,
    const std::function<bool(std::string_view, std::string_view)>& visit) const {
    write_down();  // the store now holds what the cache does, in order
    under_.scan(from, to, visit);
}

}  // namespace runnel::streams
