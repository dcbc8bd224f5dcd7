// The lock that serialises administration (topics, their configs, dynamic broker configs) on the
// metadata shard: a one-slot channel used as an async mutex, and its guard.
#pragma once

#include <boost/asio/experimental/channel.hpp>
#include <boost/system/error_code.hpp>

#include "server/core/shard.h"

namespace runnel::server {

using admin_lock = asio::experimental::channel<void(boost::system::error_code)>;

// Releases the admin lock when an operation ends, or earlier by release().
struct admin_guard {
    admin_lock* lock;
    void release() {
        if (lock != nullptr) lock->try_receive([](boost::system::error_code) {});
        lock = nullptr;
    }
    ~admin_guard() { release(); }
};

}  // namespace runnel::server
