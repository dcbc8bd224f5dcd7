#include "storage/leader_epoch_cache.h"

#include "storage/checkpoint_file.h"
#include "storage/file.h"
#include "storage/log.h"

#include <fmt/format.h>

#include <algorithm>

namespace runnel::storage {

void leader_epoch_cache::load() {
    entries_.clear();
    auto text = read_checkpoint_text(path_);
    auto parsed = text ? parse_checkpoint_entries(*text, 2)
                       : result<std::vector<checkpoint_entry>>(text.error());
    if (!parsed) {
        storage_log().warn("{}: cannot use this leader epoch checkpoint: {}", path_.string(),
                           parsed.error().message());
        return;
    }
    for (const auto& fields : *parsed) {
        auto epoch = parse_checkpoint_integer(fields[0]);
        auto start = parse_checkpoint_integer(fields[1]);
        const bool ascending =
            entries_.empty() || (epoch && start && *epoch > entries_.back().epoch &&
                                 *start >= entries_.back().start_offset);
        if (!epoch || !start || *epoch < 0 || *epoch > INT32_MAX || *start < 0 || !ascending) {
            storage_log().warn("{}: bad entry '{} {}'; starting from an empty cache",
                               path_.string(), fields[0], fields[1]);
            entries_.clear();
            return;
        }
        entries_.push_back({static_cast<int32_t>(*epoch), *start});
    }
}

std::error_code leader_epoch_cache::assign(int32_t epoch, int64_t start_offset) {
    if (!entries_.empty() && entries_.back().epoch >= epoch) return {};
    std::erase_if(entries_, [&](const epoch_entry& e) {
        return e.epoch >= epoch || e.start_offset >= start_offset;
    });
    entries_.push_back({epoch, start_offset});
    return write();
}

epoch_end leader_epoch_cache::end_offset_for(int32_t epoch, int64_t log_end_offset) const {
    if (epoch < 0 || entries_.empty()) return {};
    if (epoch == entries_.back().epoch) return {epoch, log_end_offset};
    auto higher = std::upper_bound(entries_.begin(), entries_.end(), epoch,
                                   [](int32_t e, const epoch_entry& x) { return e < x.epoch; });
    if (higher == entries_.end()) return {};
    if (higher == entries_.begin()) return {epoch, higher->start_offset};
    return {std::prev(higher)->epoch, higher->start_offset};
}

std::error_code leader_epoch_cache::truncate_from_end(int64_t end_offset) {
    const size_t before = entries_.size();
    std::erase_if(entries_, [&](const epoch_entry& e) { return e.start_offset >= end_offset; });
    return entries_.size() == before ? std::error_code{} : write();
}

std::error_code leader_epoch_cache::truncate_from_start(int64_t start_offset) {
    auto first_kept =
        std::upper_bound(entries_.begin(), entries_.end(), start_offset,
                         [](int64_t o, const epoch_entry& x) { return o < x.start_offset; });
    if (first_kept == entries_.begin()) return {};
    auto floor = std::prev(first_kept);
    if (floor == entries_.begin() && floor->start_offset == start_offset) return {};
    epoch_entry moved{floor->epoch, start_offset};
    entries_.erase(entries_.begin(), first_kept);
    entries_.insert(entries_.begin(), moved);
    return write();
}

std::error_code leader_epoch_cache::write() const {
    std::string text = fmt::format("0\n{}\n", entries_.size());
    for (const auto& e : entries_) text += fmt::format("{} {}\n", e.epoch, e.start_offset);
    if (auto ec = write_file_atomically(path_, text)) {
        storage_log().error("{}: cannot write the leader epoch checkpoint: {}", path_.string(),
                            ec.message());
        return ec;
    }
    return {};
}

}  // namespace runnel::storage
