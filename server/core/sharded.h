// One T per shard, each touched only on its own shard (Seastar's sharded<T>, Dragonfly's
// EngineShard::tlocal()): the ownership that parallel vectors indexed by a shard id left to a
// comment, checked in debug builds.
#pragma once

#include <cassert>
#include <functional>
#include <memory>
#include <vector>

#include "server/core/shard.h"

namespace runnel::server {

template <class T>
class sharded {
  public:
    // make(shard id) builds each shard's T.
    template <class Make>
    sharded(size_t shards, Make make) {
        items_.reserve(shards);
        for (shard_id i = 0; i < shards; ++i) items_.push_back(make(i));
    }

    size_t size() const { return items_.size(); }

    // The calling shard's T.
    T& local() {
        shard* here = shard_set::current();
        assert(here && "sharded<T>::local() called outside a shard thread");
        return *items_[here->id()];
    }
    // Shard `id`'s T: from code running on shard `id`, or from outside every shard (start-up,
    // shutdown, tests). Touching another running shard's T is a bug.
    T& on(shard_id id) {
        assert(!shard_set::current() || shard_set::current()->id() == id);
        return *items_[id];
    }
    const T& on(shard_id id) const {
        assert(!shard_set::current() || shard_set::current()->id() == id);
        return *items_[id];
    }

  private:
    std::vector<std::unique_ptr<T>> items_;
};

}  // namespace runnel::server
