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
    next_ = reserved_end_ = end;
}

std::error_code producer_ids::next(int64_t& id) {
    std::lock_guard lock(mutex_);
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

}  // namespace runnel::server
