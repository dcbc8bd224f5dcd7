#include "server/core/cross_shard.h"

#include <boost/asio/post.hpp>
#include <latch>

namespace runnel::server {

void run_on_every_shard(shard_set& shards, const std::function<void(shard_id)>& f) {
    std::latch done(static_cast<std::ptrdiff_t>(shards.size()));
    std::vector<std::exception_ptr> errors(shards.size());
    for (shard_id i = 0; i < shards.size(); ++i) {
        asio::post(shards.at(i).executor(), [&, i] {
            try {
                f(i);
            } catch (...) {
                errors[i] = std::current_exception();
            }
            done.count_down();
        });
    }
    done.wait();
    for (auto& e : errors) {
        if (e) std::rethrow_exception(e);
    }
}

}  // namespace runnel::server
