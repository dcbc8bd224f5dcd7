// Registering this broker under /brokers/ids/<id>, as Kafka's ZooKeeper mode does.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>

#include "server/zookeeper/kafka_znodes.h"
#include "server/zookeeper/zk_client.h"

namespace runnel::server {

// Creates the ephemeral /brokers/ids/<id> for the current session. A node left by an earlier
// session lives on until the ensemble expires that session: when that session was this
// broker's previous run (`previous_session`, kept in its log dir, which only one process can
// hold) the node is removed and made again at once, so a broker restarted after a crash comes
// straight back; Kafka fails the start. Any other holder is waited for up to `stale_wait`.
// Throws std::runtime_error when another live broker holds the id.
boost::asio::awaitable<void> register_broker(zookeeper::zk_client& zk,
                                             const zookeeper::broker_registration& self,
                                             int64_t previous_session,
                                             std::chrono::milliseconds stale_wait);

// "0x..." as ZooKeeper prints session ids.
std::string session_text(int64_t session);

}  // namespace runnel::server
