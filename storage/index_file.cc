#include "storage/index_file.h"

namespace runnel::storage {

std::error_code index_write::run() const {
    // Deleted since (retention, a compaction swap): nothing is left to make durable.
    std::error_code missing;
    if (!std::filesystem::exists(path, missing)) return {};
    auto f = file::open(path, O_RDWR);
    if (!f) return f.error();
    if (!bytes.empty()) {
        if (auto ec = f->write_at(bytes.data(), bytes.size(), position)) return ec;
    }
    return f->datasync();
}

}  // namespace runnel::storage
