// What the host lets this process use: memory (physical or the cgroup's limit) and file
// descriptors. Sizing decisions (how many partitions, how many segment files kept open) start
// from here.
#pragma once

#include <cstdint>
#include <string>

namespace runnel::server {

// Bytes of memory this process may use: the machine's physical memory, or its cgroup's
// memory.max (v2) / memory.limit_in_bytes (v1) when that is lower.
int64_t usable_memory_bytes();

struct descriptor_limits {
    uint64_t soft = 0;
    uint64_t hard = 0;
};

// RLIMIT_NOFILE now.
descriptor_limits descriptor_limit();

// Raises the soft RLIMIT_NOFILE to the hard one (as systemd and Kafka's start scripts advise:
// descriptors are what a broker runs out of first). Returns the limits before and after, and a
// message when raising failed.
struct raised_descriptor_limit {
    descriptor_limits before;
    descriptor_limits after;
    std::string error;
};
raised_descriptor_limit raise_descriptor_limit();

}  // namespace runnel::server
