// The one place where internal errors become Kafka error codes.
#pragma once

#include <system_error>

#include "protocol/errors.h"

namespace runnel::server {

protocol::error_code map_to_kafka_error(const std::error_code& ec);

}  // namespace runnel::server
