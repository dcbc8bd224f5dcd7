// The one place where internal errors become Kafka error codes.
#pragma once

#include <system_error>

#include "protocol/errors.h"

namespace runnel::server {

protocol::error_code map_to_kafka_error(const std::error_code& ec);

// Why a write could not be acknowledged under acks=all in a replicated partition
// (partition::acknowledged), besides a failed flush.
enum class replication_errc {
    not_leader = 1,                    // leadership moved while it waited
    timed_out,                         // the in-sync replicas did not catch up in time
    not_enough_replicas_after_append,  // the ISR shrank below min.insync.replicas meanwhile
};
const std::error_category& replication_category();
inline std::error_code make_error_code(replication_errc e) {
    return {static_cast<int>(e), replication_category()};
}

}  // namespace runnel::server

template <>
struct std::is_error_code_enum<runnel::server::replication_errc> : std::true_type {};
