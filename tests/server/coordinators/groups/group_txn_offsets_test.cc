// Transactional offset commits (TxnOffsetCommit): pending offsets per producer until the marker,
// commit / abort, the newer record winning over a plain commit, RequireStable, fencing, the
// request checks, DeleteGroups / OffsetDelete / expiry with open transactions, and a restart
// replaying transactional batches and markers into the same state. Markers are written as the
// transaction coordinator writes them: append_marker on the log, then complete_transaction.
#include <gtest/gtest.h>

#include "group_test_util.h"
#include "protocol/end_txn_marker.h"

namespace runnel::server::groups::test {
namespace {

using protocol::to_wire;
using protocol::txn_result;

int16_t w(error_code e) { return to_wire(e); }

using offsets_list = std::vector<std::tuple<std::string, int32_t, int64_t>>;

msg::txn_offset_commit_request txn_request(int64_t pid, int16_t epoch, const std::string& group,
                                           const offsets_list& offs) {
    msg::txn_offset_commit_request req;
    req.transactional_id = "txn-" + std::to_string(pid);
    req.group_id = group;
    req.producer_id = pid;
    req.producer_epoch = epoch;
    for (const auto& [topic, p, o] : offs) {
        if (req.topics.empty() || req.topics.back().name != topic) {
            req.topics.emplace_back().name = topic;
        }
        req.topics.back().partitions.push_back({p, o, -1, std::string("txn"), {}});
    }
    return req;
}

msg::txn_offset_commit_response txn_commit(harness& h, int64_t pid, const std::string& group,
                                           const offsets_list& offs, int16_t epoch = 0) {
    return h.coordinator->txn_commit_offsets(partition0, txn_request(pid, epoch, group, offs));
}

// Every partition's error, in request order.
std::vector<int16_t> errors(const msg::txn_offset_commit_response& r) {
    std::vector<int16_t> out;
    for (const auto& t : r.topics) {
        for (const auto& p : t.partitions) out.push_back(p.error_code);
    }
    return out;
}

// The transaction coordinator's part: the marker into the log, then the group coordinator told.
void end_txn(harness& h, int64_t pid, bool commit, int16_t epoch = 0) {
    auto m = h.log->append_marker(pid, epoch, commit ? txn_result::commit : txn_result::abort, 0,
                                  h.timers.now);
    ASSERT_TRUE(m) << m.error().message();
    h.coordinator->complete_transaction(partition0, pid, commit);
}

struct fetched {
    int64_t offset = -1;
    int16_t error = 0;
    bool operator==(const fetched&) const = default;
};

void PrintTo(const fetched& f, std::ostream* os) {
    *os << "{" << f.offset << ", " << f.error << "}";
}

fetched fetch(harness& h, const std::string& group, const std::string& topic, int32_t p,
              bool require_stable) {
    fetch_topics ask = std::vector<
        msg::offset_fetch_request::offset_fetch_request_group::offset_fetch_request_topics>{
        {topic, {p}, {}}};
    auto r = h.coordinator->fetch_offsets(partition0, group, ask, require_stable);
    const auto& rp = r.topics.at(0).partitions.at(0);
    return {rp.committed_offset, rp.error_code};
}

const offset_entry* pending(harness& h, int64_t pid, const std::string& group,
                            const std::string& topic, int32_t p) {
    return h.coordinator->pending_offset(partition0, pid, group, topic, p);
}

TEST(group_txn_offsets, pending_until_commit_marker) {
    harness h;
    EXPECT_EQ(errors(txn_commit(h, 5, "g", {{"t", 0, 10}, {"t", 1, 20}})),
              (std::vector<int16_t>{0, 0}));
    // Written in one transactional batch of producer 5: the log's transaction is open.
    EXPECT_EQ(h.log->producers().find(5)->current_txn_first_offset, 0);
    EXPECT_LT(h.log->last_stable_offset(), h.log->log_end_offset());
    // Pending: not committed, and unstable for a RequireStable fetch only.
    EXPECT_EQ(h.committed("g", "t", 0), -1);
    ASSERT_NE(pending(h, 5, "g", "t", 0), nullptr);
    EXPECT_EQ(pending(h, 5, "g", "t", 0)->offset, 10);
    EXPECT_EQ(pending(h, 5, "g", "t", 0)->metadata, "txn");
    EXPECT_EQ(fetch(h, "g", "t", 0, false), (fetched{-1, 0}));
    EXPECT_EQ(fetch(h, "g", "t", 0, true), (fetched{-1, w(error_code::unstable_offset_commit)}));
    EXPECT_EQ(fetch(h, "g", "t", 2, true), (fetched{-1, 0}));  // not in the transaction
    // Kafka creates the simple group for a transactional commit too.
    ASSERT_NE(h.group("g"), nullptr);
    EXPECT_TRUE(h.group("g")->is_simple());

    end_txn(h, 5, true);
    EXPECT_EQ(h.committed("g", "t", 0), 10);
    EXPECT_EQ(h.committed("g", "t", 1), 20);
    EXPECT_EQ(pending(h, 5, "g", "t", 0), nullptr);
    EXPECT_EQ(fetch(h, "g", "t", 1, true), (fetched{20, 0}));
    EXPECT_EQ(h.log->last_stable_offset(), h.log->log_end_offset());
    // A second marker (a retry) finds nothing pending.
    end_txn(h, 5, true);
    EXPECT_EQ(h.committed("g", "t", 0), 10);
}

TEST(group_txn_offsets, abort_marker_drops_pending_offsets) {
    harness h;
    h.commit("g", "", -1, {{"t", 0, 5}});
    EXPECT_EQ(errors(txn_commit(h, 5, "g", {{"t", 0, 10}})), (std::vector<int16_t>{0}));
    EXPECT_EQ(fetch(h, "g", "t", 0, false), (fetched{5, 0}));
    end_txn(h, 5, false);
    EXPECT_EQ(h.committed("g", "t", 0), 5);
    EXPECT_EQ(pending(h, 5, "g", "t", 0), nullptr);
    EXPECT_EQ(fetch(h, "g", "t", 0, true), (fetched{5, 0}));
}

TEST(group_txn_offsets, newer_record_wins_at_commit) {
    harness h;
    // A plain commit written after the transactional one stays when the transaction commits.
    txn_commit(h, 5, "g", {{"t", 0, 10}, {"t", 1, 10}});
    h.commit("g", "", -1, {{"t", 0, 7}});
    end_txn(h, 5, true);
    EXPECT_EQ(h.committed("g", "t", 0), 7);
    EXPECT_EQ(h.committed("g", "t", 1), 10);
    // A plain commit written before it is replaced.
    h.commit("g", "", -1, {{"t", 2, 3}});
    txn_commit(h, 6, "g", {{"t", 2, 30}});
    end_txn(h, 6, true);
    EXPECT_EQ(h.committed("g", "t", 2), 30);
    // Two transactions of the same partition: the one written later wins, whatever commits first.
    txn_commit(h, 7, "g", {{"t", 3, 70}});
    txn_commit(h, 8, "g", {{"t", 3, 80}});
    end_txn(h, 8, true);
    end_txn(h, 7, true);
    EXPECT_EQ(h.committed("g", "t", 3), 80);
}

TEST(group_txn_offsets, require_stable_over_all_committed_partitions) {
    harness h;
    h.commit("g", "", -1, {{"t", 0, 1}, {"t", 1, 2}});
    txn_commit(h, 5, "g", {{"t", 1, 20}, {"u", 0, 9}});
    auto stable = h.coordinator->fetch_offsets(partition0, "g", std::nullopt, true);
    // Committed partitions only (Kafka's list); the one the transaction holds is unstable.
    ASSERT_EQ(stable.topics.size(), 1u);
    ASSERT_EQ(stable.topics[0].partitions.size(), 2u);
    EXPECT_EQ(stable.topics[0].partitions[0].committed_offset, 1);
    EXPECT_EQ(stable.topics[0].partitions[0].error_code, 0);
    EXPECT_EQ(stable.topics[0].partitions[1].committed_offset, -1);
    EXPECT_EQ(stable.topics[0].partitions[1].error_code, w(error_code::unstable_offset_commit));
    auto plain = h.coordinator->fetch_offsets(partition0, "g", std::nullopt, false);
    EXPECT_EQ(plain.topics[0].partitions[1].committed_offset, 2);
    EXPECT_EQ(plain.topics[0].partitions[1].error_code, 0);
}

TEST(group_txn_offsets, fenced_epoch_and_missing_producer) {
    harness h;
    txn_commit(h, 5, "g", {{"t", 0, 1}}, 3);
    end_txn(h, 5, false, 4);  // the producer was re-initialised with epoch 4
    EXPECT_EQ(errors(txn_commit(h, 5, "g", {{"t", 0, 2}}, 3)),
              (std::vector<int16_t>{w(error_code::invalid_producer_epoch)}));
    EXPECT_EQ(pending(h, 5, "g", "t", 0), nullptr);
    EXPECT_EQ(errors(txn_commit(h, 5, "g", {{"t", 0, 3}}, 4)), (std::vector<int16_t>{0}));
    EXPECT_EQ(pending(h, 5, "g", "t", 0)->offset, 3);
    // No producer id: nothing to tie the offsets to a transaction.
    EXPECT_EQ(errors(txn_commit(h, -1, "g", {{"t", 0, 4}})),
              (std::vector<int16_t>{w(error_code::invalid_producer_id_mapping)}));
}

TEST(group_txn_offsets, request_checks) {
    harness h;
    const std::string id = one_member_group(h, "g");
    auto req = txn_request(5, 0, "g", {{"t", 0, 1}});
    auto error = [&](const msg::txn_offset_commit_request& r) {
        return errors(h.coordinator->txn_commit_offsets(partition0, r)).at(0);
    };
    // v0-2 requests carry no member: accepted even though the group has members (Kafka).
    EXPECT_EQ(error(req), 0);
    req.member_id = id;
    req.generation_id_or_member_epoch = 1;
    EXPECT_EQ(error(req), 0);
    req.generation_id_or_member_epoch = 2;
    EXPECT_EQ(error(req), w(error_code::illegal_generation));
    req.member_id = "who";
    req.generation_id_or_member_epoch = 1;
    EXPECT_EQ(error(req), w(error_code::unknown_member_id));
    // An unknown group with a generation is ILLEGAL_GENERATION at every version.
    req.group_id = "nope";
    EXPECT_EQ(error(req), w(error_code::illegal_generation));
    // Unlike OffsetCommit, the group's rebalance does not block a transactional commit.
    auto j2 = h.join_new("g", range_protocol());
    auto j1 = h.join("g", id, range_protocol());
    ASSERT_TRUE(j1->done());
    ASSERT_EQ(h.group("g")->state(), group_state::completing_rebalance);
    req.group_id = "g";
    req.member_id = id;
    req.generation_id_or_member_epoch = 2;
    EXPECT_EQ(error(req), 0);

    auto big = txn_request(6, 0, "g", {{"t", 0, 1}, {"t", 1, 2}});
    big.topics[0].partitions[0].committed_metadata = std::string(4097, 'x');
    EXPECT_EQ(errors(h.coordinator->txn_commit_offsets(partition0, big)),
              (std::vector<int16_t>{w(error_code::offset_metadata_too_large), 0}));
    EXPECT_EQ(pending(h, 6, "g", "t", 0), nullptr);
    EXPECT_EQ(pending(h, 6, "g", "t", 1)->offset, 2);

    h.coordinator->begin_load(1);
    EXPECT_EQ(errors(h.coordinator->txn_commit_offsets(1, req)),
              (std::vector<int16_t>{w(error_code::coordinator_load_in_progress)}));
    h.fail_appends = true;
    EXPECT_EQ(errors(txn_commit(h, 7, "g", {{"t", 0, 1}})),
              (std::vector<int16_t>{w(error_code::not_coordinator)}));
    EXPECT_EQ(pending(h, 7, "g", "t", 0), nullptr);
    (void)j2;
}

TEST(group_txn_offsets, complete_transaction_without_pending_offsets_is_a_no_op) {
    harness h;
    h.commit("g", "", -1, {{"t", 0, 5}});
    h.coordinator->complete_transaction(partition0, 42, true);
    h.coordinator->complete_transaction(7, 42, true);  // a partition not served here
    txn_commit(h, 5, "g", {{"t", 0, 10}});
    h.coordinator->complete_transaction(partition0, 6, true);  // another producer
    EXPECT_EQ(h.committed("g", "t", 0), 5);
    EXPECT_EQ(pending(h, 5, "g", "t", 0)->offset, 10);
}

TEST(group_txn_offsets, delete_group_covers_pending_offsets) {
    harness h;
    h.commit("g", "", -1, {{"t", 0, 1}});
    txn_commit(h, 5, "g", {{"t", 0, 10}, {"t", 1, 20}});
    EXPECT_EQ(h.coordinator->delete_group(partition0, "g"), error_code::none);
    EXPECT_EQ(pending(h, 5, "g", "t", 0), nullptr);
    EXPECT_EQ(pending(h, 5, "g", "t", 1), nullptr);
    // One tombstone per partition, committed or pending, then the group's.
    std::vector<int32_t> tombstoned;
    for (const auto& r : h.records()) {
        if (auto* oc = std::get_if<offset_commit_record>(&r); oc && !oc->value)
            tombstoned.push_back(oc->key.partition);
    }
    EXPECT_EQ(tombstoned, (std::vector<int32_t>{0, 1}));
    end_txn(h, 5, true);
    EXPECT_EQ(h.coordinator->offsets_of(partition0, "g"), nullptr);
}

TEST(group_txn_offsets, offset_delete_covers_pending_offsets) {
    harness h;
    txn_commit(h, 5, "g", {{"t", 0, 10}});
    msg::offset_delete_request req;
    req.group_id = "g";
    req.topics.push_back({"t", {{0, {}}}, {}});
    EXPECT_EQ(h.coordinator->delete_offsets(partition0, req).error_code, 0);
    EXPECT_EQ(pending(h, 5, "g", "t", 0), nullptr);
    end_txn(h, 5, true);
    EXPECT_EQ(h.committed("g", "t", 0), -1);
}

TEST(group_txn_offsets, expiry_waits_for_open_transactions) {
    auto config = harness::defaults();
    config.offsets_retention_ms = 60'000;
    config.retention_check_interval_ms = 10'000;
    harness h(config);
    h.commit("g", "", -1, {{"t", 0, 1}});
    txn_commit(h, 5, "g", {{"t", 0, 10}});
    txn_commit(h, 6, "only-pending", {{"t", 0, 3}});
    h.timers.advance(120'000);
    // The committed offset the transaction will replace stays, and so do both groups.
    EXPECT_EQ(h.committed("g", "t", 0), 1);
    EXPECT_NE(h.group("g"), nullptr);
    EXPECT_NE(h.group("only-pending"), nullptr);
    end_txn(h, 5, true);
    end_txn(h, 6, true);
    EXPECT_EQ(h.committed("g", "t", 0), 10);
    EXPECT_EQ(h.committed("only-pending", "t", 0), 3);
    h.timers.advance(70'000);  // now they expire as any simple group's offsets
    EXPECT_EQ(h.committed("g", "t", 0), -1);
    EXPECT_EQ(h.group("only-pending"), nullptr);
}

TEST(group_txn_offsets, restart_replays_transactions_as_they_went_live) {
    harness h;
    h.commit("g", "", -1, {{"t", 0, 1}});
    txn_commit(h, 1, "g", {{"t", 0, 10}, {"t", 1, 11}});  // committed
    txn_commit(h, 2, "g", {{"t", 2, 20}});                // aborted
    txn_commit(h, 3, "g", {{"t", 3, 30}});                // left open
    txn_commit(h, 4, "g", {{"t", 4, 40}});                // committed after a newer plain commit
    h.commit("g", "", -1, {{"t", 4, 4}});
    txn_commit(h, 5, "h", {{"t", 0, 50}});  // committed after its group's deletion
    end_txn(h, 1, true);
    end_txn(h, 2, false);
    end_txn(h, 4, true);
    ASSERT_EQ(h.coordinator->delete_group(partition0, "h"), error_code::none);
    end_txn(h, 5, true);
    const offsets_by_topic live = *h.coordinator->offsets_of(partition0, "g");
    const offset_entry open = *pending(h, 3, "g", "t", 3);
    EXPECT_EQ(live.at("t").at(4).offset, 4);

    h.restart();
    EXPECT_EQ(*h.coordinator->offsets_of(partition0, "g"), live);  // record offsets included
    EXPECT_EQ(h.committed("g", "t", 0), 10);
    EXPECT_EQ(h.committed("g", "t", 2), -1);
    ASSERT_NE(pending(h, 3, "g", "t", 3), nullptr);
    EXPECT_EQ(*pending(h, 3, "g", "t", 3), open);
    for (int64_t pid : {1, 2, 4, 5}) EXPECT_EQ(pending(h, pid, "g", "t", 0), nullptr);
    EXPECT_EQ(h.coordinator->offsets_of(partition0, "h"), nullptr);
    EXPECT_EQ(fetch(h, "g", "t", 3, true), (fetched{-1, w(error_code::unstable_offset_commit)}));
    // The transaction coordinator finishes the open transaction after the restart.
    end_txn(h, 3, true);
    EXPECT_EQ(h.committed("g", "t", 3), 30);
    EXPECT_EQ(fetch(h, "g", "t", 3, true), (fetched{30, 0}));
    h.restart();
    EXPECT_EQ(h.committed("g", "t", 3), 30);
}

TEST(group_txn_offsets, marker_written_while_loading_is_read_by_the_loader) {
    harness h;
    txn_commit(h, 3, "g", {{"t", 0, 30}});
    h.coordinator->begin_load(partition0);
    auto m = h.log->append_marker(3, 0, txn_result::commit, 0, h.timers.now);
    ASSERT_TRUE(m);
    h.coordinator->complete_transaction(partition0, 3, true);  // ignored: still loading
    auto ec = replay_partition(*h.coordinator, partition0, *h.log);
    ASSERT_FALSE(ec) << ec.message();
    h.coordinator->finish_load(partition0);
    EXPECT_EQ(h.committed("g", "t", 0), 30);
    EXPECT_EQ(pending(h, 3, "g", "t", 0), nullptr);
}

TEST(pending_offsets, tombstones_and_open_transactions) {
    pending_offsets p;
    offset_entry e;
    e.offset = 1;
    p.put(1, "g", "t", 0, e);
    p.put(2, "g", "t", 0, e);
    p.put(2, "g", "t", 1, e);
    EXPECT_TRUE(p.has("g", "t", 0));
    EXPECT_EQ(p.partitions_of("g"),
              (std::set<std::pair<std::string, int32_t>>{{"t", 0}, {"t", 1}}));
    p.erase("g", "t", 0);
    EXPECT_FALSE(p.has("g", "t", 0));
    EXPECT_TRUE(p.has("g", "t", 1));
    p.erase("g", "t", 1);
    // The transactions stay open for the group until their markers.
    EXPECT_TRUE(p.has_open_transaction("g"));
    EXPECT_TRUE(p.take(1).at("g").empty());
    EXPECT_TRUE(p.has_open_transaction("g"));
    p.take(2);
    EXPECT_FALSE(p.has_open_transaction("g"));
    EXPECT_TRUE(p.empty());
    EXPECT_TRUE(p.take(3).empty());
}

}  // namespace
}  // namespace runnel::server::groups::test
