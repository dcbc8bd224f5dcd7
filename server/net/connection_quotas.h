// Kafka's connection limits (ConnectionQuotas): max.connections for the whole broker, and
// max.connections.per.ip with max.connections.per.ip.overrides for each client address. As in
// Kafka, a listener at the broker-wide limit stops accepting until a connection closes (clients
// wait in the kernel's backlog), and a connection over its address's limit is closed at once.
// Shared by every shard; used only when a connection is accepted or closed, never per request.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace runnel::server {

// Made with std::make_shared: each slot keeps it alive, since connections can outlive the
// listeners that accepted them (at shutdown).
class connection_quotas : public std::enable_shared_from_this<connection_quotas> {
  public:
    // `overrides`: max.connections.per.ip.overrides, "address:count" pairs separated by commas
    // (Kafka also takes host names there; Runnel takes literal addresses). Throws
    // std::invalid_argument when it does not parse.
    connection_quotas(int32_t max_connections, int32_t max_per_ip, const std::string& overrides);

    // A counted connection: released when it is destroyed (it moves with its connection).
    class slot {
      public:
        slot() = default;
        slot(std::shared_ptr<connection_quotas> quotas, std::string address)
            : quotas_(std::move(quotas)), address_(std::move(address)) {}
        slot(slot&& other) noexcept = default;
        slot& operator=(slot&& other) noexcept {
            if (this != &other) {
                release();
                quotas_ = std::move(other.quotas_);
                address_ = std::move(other.address_);
            }
            return *this;
        }
        ~slot() { release(); }

      private:
        void release();
        std::shared_ptr<connection_quotas> quotas_;
        std::string address_;
    };

    // The broker-wide limit is reached: accepting waits.
    bool full() const { return total_.load(std::memory_order_relaxed) >= max_connections_; }
    // Counts a new connection from `address`; nullopt when the address is at its limit.
    std::optional<slot> admit(const std::string& address);
    // The limit of `address`.
    int32_t limit_of(const std::string& address) const;

  private:
    friend class slot;
    void release(const std::string& address);

    const int32_t max_connections_;
    const int32_t max_per_ip_;
    std::map<std::string, int32_t> overrides_;
    std::atomic<int32_t> total_{0};
    std::mutex mutex_;
    std::map<std::string, int32_t> by_address_;
};

}  // namespace runnel::server
