#include "server/net/connection_quotas.h"

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <stdexcept>

namespace runnel::server {

namespace {

std::string trim(std::string_view s) {
    const size_t b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return {};
    return std::string(s.substr(b, s.find_last_not_of(" \t") - b + 1));
}

}  // namespace

connection_quotas::connection_quotas(int32_t max_connections, int32_t max_per_ip,
                                     const std::string& overrides)
    : max_connections_(max_connections), max_per_ip_(max_per_ip) {
    std::string_view rest = overrides;
    while (!rest.empty()) {
        const size_t comma = rest.find(',');
        const std::string entry = trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        if (entry.empty()) continue;
        // The count follows the last ':' (IPv6 addresses have colons of their own).
        const size_t colon = entry.rfind(':');
        int32_t count = -1;
        const std::string address = colon == std::string::npos ? "" : trim(entry.substr(0, colon));
        const std::string number = colon == std::string::npos ? "" : trim(entry.substr(colon + 1));
        auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
        boost::system::error_code bad;
        const auto parsed = boost::asio::ip::make_address(address, bad);
        if (address.empty() || ec != std::errc() || end != number.data() + number.size() ||
            count < 0 || bad) {
            throw std::invalid_argument("max.connections.per.ip.overrides: '" + entry +
                                        "' is not address:count (a literal IP address and a "
                                        "count of 0 or more)");
        }
        overrides_[parsed.to_string()] = count;
    }
}

int32_t connection_quotas::limit_of(const std::string& address) const {
    auto it = overrides_.find(address);
    return it == overrides_.end() ? max_per_ip_ : it->second;
}

std::optional<connection_quotas::slot> connection_quotas::admit(const std::string& address) {
    std::lock_guard lock(mutex_);
    int32_t& n = by_address_[address];
    if (n >= limit_of(address)) {
        if (n == 0) by_address_.erase(address);
        return std::nullopt;
    }
    ++n;
    total_.fetch_add(1, std::memory_order_relaxed);
    return slot(shared_from_this(), address);
}

void connection_quotas::release(const std::string& address) {
    std::lock_guard lock(mutex_);
    auto it = by_address_.find(address);
    if (it != by_address_.end() && --it->second <= 0) by_address_.erase(it);
    total_.fetch_sub(1, std::memory_order_relaxed);
}

void connection_quotas::slot::release() {
    if (auto q = std::move(quotas_)) q->release(address_);
}

}  // namespace runnel::server
