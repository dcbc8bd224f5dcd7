// ListTransactions (66, KIP-664; v1 adds DurationFilter, KIP-994): the transactional ids of every
// coordinator on this node, filtered by state, producer id and how long the transaction has run.
#include "protocol/messages/list_transactions.h"

#include <chrono>

#include "protocol/errors.h"
#include "server/coordinators/transactions/transaction_coordinator_set.h"
#include "server/core/cross_shard.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"
#include "storage/wall_clock.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;
using listed = list_transactions_response::transaction_state_entry;
using transactions::txn_status;

namespace {

struct shard_listing {
    bool loading = false;
    std::vector<listed> entries;
};

asio::awaitable<std::optional<list_transactions_response>> handle(request_context& ctx,
                                                                  list_transactions_request req) {
    list_transactions_response resp;
    std::set<txn_status> states;
    for (const auto& name : req.state_filters) {
        bool known = false;
        for (int8_t v = 0; v <= static_cast<int8_t>(txn_status::prepare_epoch_fence); ++v) {
            if (name == transactions::status_name(static_cast<txn_status>(v))) {
                states.insert(static_cast<txn_status>(v));
                known = true;
            }
        }
        if (!known) resp.unknown_state_filters.push_back(name);
    }
    // Kafka: a filter made only of unknown states matches nothing.
    if (!req.state_filters.empty() && states.empty()) co_return resp;
    const std::set<int64_t> producers(req.producer_id_filters.begin(),
                                      req.producer_id_filters.end());
    const int64_t now = storage::wall_clock_ms();
    kafka_services& b = ctx.services;
    for (shard_id s = 0; s < b.shards().size(); ++s) {
        auto list = [&b, s, &states, &producers, &req, now]() -> asio::awaitable<shard_listing> {
            shard_listing out;
            out.loading = b.transactions().loading(s);
            b.transactions().on(s).for_each([&](const transactions::transaction_metadata& m) {
                if (m.status == txn_status::dead) return;
                if (!producers.empty() && !producers.count(m.producer_id)) return;
                if (!states.empty() && !states.count(m.status)) return;
                if (req.duration_filter >= 0 && now - m.start_ms <= req.duration_filter) return;
                out.entries.push_back(
                    {m.transactional_id, m.producer_id, transactions::status_name(m.status), {}});
            });
            co_return out;
        };
        auto part = co_await on_shard(b.shards().at(s), list);
        if (part.loading) resp.error_code = to_wire(error_code::coordinator_load_in_progress);
        for (auto& e : part.entries) resp.transaction_states.push_back(std::move(e));
    }
    co_return resp;
}

}  // namespace

void register_list_transactions(dispatch& d) { d.add<api_types<66>>(handle); }

}  // namespace runnel::server
