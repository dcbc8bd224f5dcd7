#include "server/core/host_limits.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace runnel::server {

namespace {

// A cgroup limit file holds a byte count, or "max" (v2) / a huge number (v1) for none.
int64_t read_cgroup_limit(const char* path) {
    std::ifstream in(path);
    std::string text;
    if (!(in >> text) || text == "max") return -1;
    try {
        long long v = std::stoll(text);
        return v > 0 ? v : -1;
    } catch (...) {
        return -1;
    }
}

}  // namespace

int64_t usable_memory_bytes() {
    int64_t physical = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
    int64_t usable = physical > 0 ? physical : int64_t{1} << 30;
    for (const char* path :
         {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
        int64_t limit = read_cgroup_limit(path);
        if (limit > 0 && limit < usable) usable = limit;
    }
    return usable;
}

descriptor_limits descriptor_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return {};
    return {static_cast<uint64_t>(rl.rlim_cur), static_cast<uint64_t>(rl.rlim_max)};
}

raised_descriptor_limit raise_descriptor_limit() {
    raised_descriptor_limit r;
    r.before = r.after = descriptor_limit();
    if (r.before.soft >= r.before.hard) return r;
    rlimit rl{};
    rl.rlim_cur = static_cast<rlim_t>(r.before.hard);
    rl.rlim_max = static_cast<rlim_t>(r.before.hard);
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) r.error = std::strerror(errno);
    r.after = descriptor_limit();
    return r;
}

}  // namespace runnel::server
