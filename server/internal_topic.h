// An internal topic the broker creates on first use (__consumer_offsets when the first group
// coordinator is looked for, __transaction_state for the first transactional id), as Kafka does.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "protocol/errors.h"
#include "server/topic_admin.h"
#include "server/topic_registry.h"

namespace runnel::server {

class broker;

class internal_topic {
  public:
    // `spec` is the topic as created; `replication_key` / `configured_replication` are the
    // configuration a user may have set above 1, which one node cannot honour (warned about once).
    internal_topic(broker& b, new_topic spec, std::string replication_key,
                   int16_t configured_replication);

    // Any shard: the topic, or null after starting its creation in the background (the caller
    // answers COORDINATOR_LOAD_IN_PROGRESS and the client retries).
    std::shared_ptr<const topic_metadata> find_or_start_creating();
    // Any shard: creates the topic unless it exists; none or COORDINATOR_NOT_AVAILABLE.
    boost::asio::awaitable<protocol::error_code> ensure();

  private:
    boost::asio::awaitable<void> create_in_background();

    broker& broker_;
    new_topic spec_;
    std::string replication_key_;
    int16_t configured_replication_;
    std::atomic<bool> creating_{false};
    std::atomic<bool> warned_replication_{false};
};

}  // namespace runnel::server
