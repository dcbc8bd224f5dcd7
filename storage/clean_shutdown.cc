#include "storage/clean_shutdown.h"

#include "storage/file.h"
#include "storage/log.h"

#include <fmt/format.h>

namespace runnel::storage {

namespace fs = std::filesystem;

std::error_code write_clean_shutdown_marker(const fs::path& log_dir, int64_t broker_epoch) {
    return write_file_atomically(log_dir / clean_shutdown_file_name,
                                 fmt::format("{{\"version\":0,\"brokerEpoch\":{}}}", broker_epoch));
}

result<bool> take_clean_shutdown_marker(const fs::path& log_dir) {
    auto path = log_dir / clean_shutdown_file_name;
    std::error_code ec;
    bool existed = fs::remove(path, ec);
    if (ec) {
        storage_log().error("remove {}: {}", path.string(), ec.message());
        return result<bool>(boost::system::in_place_error, make_error_code(errc::io_error));
    }
    if (existed) {
        if (auto sync_ec = sync_directory(log_dir))
            return result<bool>(boost::system::in_place_error, sync_ec);
    }
    return existed;
}

}  // namespace runnel::storage
