#include "server/cluster/producer_ids.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "server/core/logger.h"
#include "storage/file.h"

namespace runnel::server {

void producer_ids::load() {
    std::ifstream in(file_);
    if (!in) return;  // a new cluster
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    int64_t end = -1;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), end);
    if (ec != std::errc() || p != text.data() + text.size() || end < 0) {
        throw std::runtime_error(file_.string() +
                                 " is malformed (expected the end of the last "
                                 "reserved producer id block, a number)");
    }
    next_ = reserved_end_ = local_end_ = end;
}

std::error_code producer_ids::next(int64_t& id) {
    std::function<void()> ask;
    bool got = false;
    {
        std::lock_guard lock(mutex_);
        if (ask_) {
            if (next_ >= reserved_end_ && spare_) {
                next_ = spare_->first;
                reserved_end_ = spare_->second;
                spare_.reset();
            }
            const bool short_of_ids =
                next_ >= reserved_end_ || (!spare_ && reserved_end_ - next_ < block_size / 2);
            if (short_of_ids && !asked_ && !spare_) {
                asked_ = true;
                ask = ask_;
            }
            if (next_ < reserved_end_) {
                id = next_++;
                got = true;
            }
        } else {
            if (next_ >= reserved_end_) {
                int64_t end = next_ + block_size;
                if (auto ec = storage::write_file_atomically(file_, std::to_string(end) + "\n")) {
                    server_log().error("cannot reserve producer ids in {}: {}", file_.string(),
                                       ec.message());
                    return ec;
                }
                reserved_end_ = end;
            }
            id = next_++;
            return {};
        }
    }
    if (ask) ask();  // outside the lock: it may supply the block at once
    if (!got) return std::make_error_code(std::errc::resource_unavailable_try_again);
    return {};
}

void producer_ids::use_cluster_blocks(std::function<void()> ask) {
    std::function<void()> first;
    {
        std::lock_guard lock(mutex_);
        ask_ = std::move(ask);
        next_ = reserved_end_ = 0;  // nothing at hand until the first block comes
        asked_ = true;
        first = ask_;
    }
    first();
}

void producer_ids::supply_block(int64_t first, int64_t end) {
    std::lock_guard lock(mutex_);
    asked_ = false;
    if (next_ >= reserved_end_) {
        next_ = first;
        reserved_end_ = end;
    } else {
        spare_ = std::make_pair(first, end);
    }
}

}  // namespace runnel::server
