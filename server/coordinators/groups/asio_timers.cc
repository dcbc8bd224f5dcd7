#include "server/coordinators/groups/asio_timers.h"

#include <chrono>

#include "storage/wall_clock.h"

namespace runnel::server::groups {

int64_t asio_group_timers::now_ms() { return storage::wall_clock_ms(); }

void asio_group_timers::schedule(const std::string& key, int64_t delay_ms,
                                 std::function<void()> fn) {
    cancel(key);
    auto e = std::make_unique<entry>(ctx_);
    const uint64_t id = e->id = ++next_id_;
    e->timer.expires_after(std::chrono::milliseconds(std::max<int64_t>(delay_ms, 0)));
    // A cancelled wait completes with an error and touches nothing: this object may be gone.
    e->timer.async_wait([this, key, id, fn = std::move(fn)](boost::system::error_code ec) {
        if (ec) return;
        auto it = timers_.find(key);
        if (it == timers_.end() || it->second->id != id) return;
        timers_.erase(it);
        fn();
    });
    timers_[key] = std::move(e);
}

void asio_group_timers::cancel(const std::string& key) {
    auto it = timers_.find(key);
    if (it == timers_.end()) return;
    it->second->timer.cancel();
    timers_.erase(it);
}

void asio_group_timers::cancel_all() {
    for (auto& [key, e] : timers_) e->timer.cancel();
    timers_.clear();
}

}  // namespace runnel::server::groups
