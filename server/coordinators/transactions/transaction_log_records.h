// The records of __transaction_state, in Kafka's format so Kafka's tools can read our log:
//   key   = [int16 version 0][TransactionLogKey]
//   value = [int16 version][TransactionLogValue], or null for a tombstone (an expired id).
// Written as Kafka writes them without transactions V2: value version 0. Versions 0 and 1 are read.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "server/coordinators/transactions/transaction_metadata.h"

namespace runnel::server::transactions {

std::vector<uint8_t> encode_key(const std::string& transactional_id);
// nullopt for a tombstone.
std::optional<std::vector<uint8_t>> encode_value(const transaction_metadata& m);

struct decoded_record {
    std::string transactional_id;
    std::optional<transaction_metadata> metadata;  // nullopt: tombstone
};
// nullopt when the key or value is malformed or of an unknown version.
std::optional<decoded_record> decode_record(std::span<const uint8_t> key,
                                            std::optional<std::span<const uint8_t>> value);

}  // namespace runnel::server::transactions
