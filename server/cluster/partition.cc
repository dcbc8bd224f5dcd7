#include "server/cluster/partition.h"

#include <boost/asio/post.hpp>

namespace runnel::server {

storage::log_config log_config_of(const topic_config& c) {
    storage::log_config lc;
    lc.segment_bytes = c.segment_bytes();
    lc.segment_ms = c.segment_ms();
    lc.index_interval_bytes = c.index_interval_bytes();
    lc.segment_index_bytes = c.segment_index_bytes();
    lc.flush_messages = c.flush_messages();
    lc.flush_ms = c.flush_ms() == INT64_MAX ? -1 : c.flush_ms();
    return lc;
}

void fetch_wakeup::wake(const std::shared_ptr<fetch_wakeup>& w) {
    asio::post(w->home.executor(), [w] {
        w->fired = true;
        w->timer.cancel();
    });
}

int64_t partition::readable_end(fetch_bound bound) const {
    switch (bound) {
        case fetch_bound::high_watermark:
            return high_watermark();
        case fetch_bound::last_stable:
            return last_stable_offset();
        case fetch_bound::log_end:
            return log_->log_end_offset();
    }
    return log_->log_end_offset();
}

void partition::watch(const std::shared_ptr<fetch_wakeup>& w, int64_t fetch_offset,
                      fetch_bound bound) {
    if (readable_end(bound) > fetch_offset) {
        fetch_wakeup::wake(w);
        return;
    }
    // Drop entries of fetches that already finished before adding one more.
    std::erase_if(waiters_, [](const auto& weak) { return weak.expired(); });
    waiters_.push_back(w);
}

void partition::data_arrived() {
    if (waiters_.empty()) return;
    auto waiting = std::move(waiters_);
    waiters_.clear();
    for (auto& weak : waiting) {
        if (auto w = weak.lock()) fetch_wakeup::wake(w);
    }
}

}  // namespace runnel::server
