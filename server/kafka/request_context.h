// What a handler knows about the request it serves.
#pragma once

#include <chrono>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include "server/core/request_metrics.h"

namespace runnel::server {

class kafka_services;
class shard;

struct request_context {
    kafka_services& services;  // the broker's parts a handler reaches
    shard& home;               // the shard serving this connection
    int16_t api_key = 0;
    int16_t api_version = 0;
    int32_t correlation_id = 0;
    std::optional<std::string> client_id;
    std::string peer;      // "ip:port" for log lines
    std::string listener;  // listener name the connection arrived on (Metadata answers with it)
    // Set by a handler when the connection must close after this request (an acks=0 produce
    // that failed: the producer gets no answer, so closing is the only way to tell it).
    bool close_connection = false;
    // Which shards owned the partitions a Produce or Fetch worked on: one shard's id, or
    // `no_work_shard` / `several_work_shards`. A connection whose requests keep going to one
    // other shard moves there (connection.h).
    int64_t work_shard = no_work_shard;
    static constexpr int64_t no_work_shard = -1;
    static constexpr int64_t several_work_shards = -2;
    // When the request's frame was read (request latency, request_metrics).
    std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
    // The error codes of the answer (request_metrics), filled by dispatch.
    error_tally errors{};
};

// Records in ctx.work_shard which shard owns every item, or that several do.
template <class Item>
void note_work_shard(request_context& ctx, std::span<const Item> items) {
    if (items.empty()) return;
    ctx.work_shard = items.front().owner;
    for (const auto& it : items) {
        if (it.owner != items.front().owner) {
            ctx.work_shard = request_context::several_work_shards;
            return;
        }
    }
}

}  // namespace runnel::server
