// Kafka's clean shutdown marker: a ".kafka_cleanshutdown" file in a log dir, written once every log
// in it was flushed and closed and the checkpoints were written. A start that finds it trusts every
// segment (no recovery scan); it is removed as soon as it is read, so a crash while loading or
// running counts as unclean next time.
#pragma once

#include "storage/errors.h"

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <system_error>

namespace runnel::storage {

inline constexpr std::string_view clean_shutdown_file_name = ".kafka_cleanshutdown";

// Writes the marker with Kafka's content ({"version":0,"brokerEpoch":N}; Runnel has no broker
// epoch and writes -1 unless told otherwise), durably (temp file, fdatasync, rename, dir fsync).
std::error_code write_clean_shutdown_marker(const std::filesystem::path& log_dir,
                                            int64_t broker_epoch = -1);
// Whether the marker is there; removes it (and fsyncs the directory) if it was. Only the
// presence counts, as in Kafka: the content is not read.
result<bool> take_clean_shutdown_marker(const std::filesystem::path& log_dir);

}  // namespace runnel::storage
