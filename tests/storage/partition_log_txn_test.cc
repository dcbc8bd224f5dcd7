// Transactions in a partition log: open transactions and the last stable offset, markers (bytes,
// fencing), .txnindex entries, read_committed reads, collect_aborted across segments, and all of
// it after close/reopen and crashes; retention and the cleaner with .txnindex files.
#include "partition_log_fixture.h"

#include "protocol/end_txn_marker.h"
#include "protocol/record_batch.h"
#include "storage/log_cleaner.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
namespace bl = protocol::batch_layout;
using protocol::txn_result;

class PartitionLogTxnTest : public test::PartitionLogFixture {
  protected:
    void SetUp() override { open_log(); }

    // One batch of `records` records from producer `pid` (epoch, sequence as given).
    result<append_info> send(int64_t pid, bool transactional, int32_t records = 2,
                             int16_t epoch = 0, std::optional<std::string> key = std::nullopt) {
        int32_t& seq = next_seq_[pid];
        protocol::batch_options o;
        o.producer_id = pid;
        o.producer_epoch = epoch;
        o.base_sequence = pid >= 0 ? seq : -1;
        o.transactional = transactional;
        std::vector<protocol::record_input> rs(static_cast<size_t>(records));
        for (auto& r : rs) {
            r.timestamp = now_;
            r.key = key;
            r.value = fmt::format("v{}", pid);
        }
        auto b = protocol::build_batch(o, rs);
        auto info = log_->append(b, std::nullopt);
        if (info && pid >= 0) seq += records;
        return info;
    }
    // A plain (non-idempotent) batch.
    int64_t plain(int32_t records = 1) {
        auto info = send(-1, false, records);
        EXPECT_TRUE(info) << info.error().message();
        return info ? info->base_offset : -1;
    }
    int64_t txn(int64_t pid, int32_t records = 2) {
        auto info = send(pid, true, records);
        EXPECT_TRUE(info) << info.error().message();
        return info ? info->base_offset : -1;
    }
    result<append_info> marker(int64_t pid, txn_result r, int32_t coordinator_epoch = 0,
                               int16_t epoch = 0) {
        return log_->append_marker(pid, epoch, r, coordinator_epoch, now_);
    }
    int64_t end(int64_t pid, txn_result r) {
        auto info = marker(pid, r);
        EXPECT_TRUE(info) << info.error().message();
        return info ? info->base_offset : -1;
    }
    // Entries of every .txnindex file in the directory, by segment base offset.
    std::map<int64_t, std::vector<aborted_txn>> index_files() {
        std::map<int64_t, std::vector<aborted_txn>> out;
        for (const auto& e : fs::directory_iterator(path())) {
            auto base = parse_segment_file_name(e.path().filename().string(), txn_index_suffix);
            if (!base) continue;
            auto t = transaction_index::open(e.path(), *base);
            EXPECT_TRUE(t);
            auto all = t->all();
            EXPECT_TRUE(all);
            out[*base] = *all;
        }
        return out;
    }
    std::vector<aborted_txn> all_entries() {
        std::vector<aborted_txn> out;
        for (auto& [base, entries] : index_files())
            out.insert(out.end(), entries.begin(), entries.end());
        return out;
    }
    std::vector<aborted_txn> aborted(int64_t from, int64_t upper) {
        auto a = log_->collect_aborted(from, upper);
        EXPECT_TRUE(a) << a.error().message();
        return a ? *a : std::vector<aborted_txn>{};
    }

    std::map<int64_t, int32_t> next_seq_;
};

TEST_F(PartitionLogTxnTest, LastStableOffsetFollowsInterleavedTransactions) {
    EXPECT_EQ(log_->last_stable_offset(), 0);
    plain(2);  // 0-1
    EXPECT_EQ(log_->last_stable_offset(), 2);
    const int64_t t1 = txn(1);  // 2-3: producer 1 opens a transaction
    EXPECT_EQ(t1, 2);
    EXPECT_EQ(log_->last_stable_offset(), 2);
    const int64_t t2 = txn(2);  // 4-5: producer 2 too
    plain();                    // 6
    txn(1);                     // 7-8: more of producer 1's
    EXPECT_EQ(log_->last_stable_offset(), 2);
    EXPECT_EQ(log_->producers().find(1)->current_txn_first_offset, t1);
    EXPECT_EQ(log_->producers().find(2)->current_txn_first_offset, t2);
    EXPECT_EQ(log_->producers().ongoing_transactions(),
              (std::map<int64_t, int64_t>{{t1, 1}, {t2, 2}}));

    const int64_t c1 = end(1, txn_result::commit);  // 9
    EXPECT_EQ(c1, 9);
    EXPECT_EQ(log_->last_stable_offset(), t2);  // producer 2's transaction holds it
    EXPECT_EQ(log_->producers().find(1)->current_txn_first_offset, -1);
    EXPECT_TRUE(all_entries().empty());  // commits are not indexed

    const int64_t t1b = txn(1);                    // 10-11: producer 1's next transaction
    const int64_t a2 = end(2, txn_result::abort);  // 12
    // The abort's entry: its LSO is producer 1's open transaction.
    EXPECT_EQ(all_entries(), (std::vector<aborted_txn>{{2, t2, a2, t1b}}));
    EXPECT_EQ(log_->last_stable_offset(), t1b);
    const int64_t a1 = end(1, txn_result::abort);  // 13
    EXPECT_EQ(log_->last_stable_offset(), log_->log_end_offset());
    EXPECT_EQ(all_entries(), (std::vector<aborted_txn>{{2, t2, a2, t1b}, {1, t1b, a1, a1 + 1}}));
    EXPECT_EQ(aborted(0, log_->log_end_offset()), all_entries());
}

TEST_F(PartitionLogTxnTest, MarkerIsKafkasControlBatch) {
    txn(5);
    now_ = 1'700'000'000'777;
    auto info = log_->append_marker(5, 0, txn_result::abort, 3, now_);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->base_offset, 2);
    EXPECT_EQ(info->last_offset, 2);
    EXPECT_EQ(info->record_count, 1);
    auto r = log_->read(2, 1000, true);
    ASSERT_TRUE(r);
    auto bytes = *r->bytes;
    ASSERT_EQ(bytes.size(), 78u);
    EXPECT_TRUE(test::crc_ok(bytes.data()));
    auto h = protocol::parse_batch_header(bytes);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->base_offset, 2);
    EXPECT_TRUE(h->is_control());
    EXPECT_TRUE(h->is_transactional());
    EXPECT_EQ(h->producer_id, 5);
    EXPECT_EQ(h->producer_epoch, 0);
    EXPECT_EQ(h->base_sequence, -1);
    EXPECT_EQ(h->max_timestamp, 1'700'000'000'777);
    auto m = protocol::parse_end_txn_marker(bytes);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->result, txn_result::abort);
    EXPECT_EQ(m->coordinator_epoch, 3);
    int n = 0;
    protocol::for_each_record(
        bytes,
        [&](const protocol::record& rec) {
            ++n;
            EXPECT_EQ(rec.offset, 2);
            EXPECT_EQ(std::vector<uint8_t>(rec.key->begin(), rec.key->end()),
                      (std::vector<uint8_t>{0, 0, 0, 0}));
            EXPECT_EQ(std::vector<uint8_t>(rec.value->begin(), rec.value->end()),
                      (std::vector<uint8_t>{0, 0, 0, 0, 0, 3}));
            return true;
        },
        nullptr);
    EXPECT_EQ(n, 1);
}

TEST_F(PartitionLogTxnTest, MarkersAreFencedByProducerAndCoordinatorEpochs) {
    ASSERT_TRUE(send(7, true, 1, 2));  // epoch 2
    ASSERT_TRUE(marker(7, txn_result::commit, 5, 2));
    EXPECT_EQ(log_->producers().find(7)->coordinator_epoch, 5);
    const int64_t leo = log_->log_end_offset();
    // An older producer epoch, or an older coordinator epoch: refused, nothing written.
    EXPECT_EQ(marker(7, txn_result::abort, 5, 1).error(),
              make_error_code(errc::invalid_producer_epoch));
    EXPECT_EQ(marker(7, txn_result::abort, 4, 2).error(),
              make_error_code(errc::transaction_coordinator_fenced));
    EXPECT_EQ(log_->log_end_offset(), leo);
    // The same or a newer coordinator epoch is fine, even with no open transaction (Kafka writes
    // it anyway); a newer producer epoch is adopted and restarts its sequences.
    ASSERT_TRUE(marker(7, txn_result::abort, 5, 2));
    ASSERT_TRUE(marker(7, txn_result::abort, 6, 3));
    EXPECT_EQ(log_->log_end_offset(), leo + 2);
    EXPECT_EQ(log_->producers().find(7)->epoch, 3);
    EXPECT_EQ(log_->producers().find(7)->coordinator_epoch, 6);
    EXPECT_TRUE(all_entries().empty());  // no open transaction: nothing to index
    EXPECT_EQ(log_->last_stable_offset(), log_->log_end_offset());
    next_seq_[7] = 5;
    EXPECT_EQ(send(7, true, 1, 3).error(), make_error_code(errc::out_of_order_sequence));
    next_seq_[7] = 0;
    ASSERT_TRUE(send(7, true, 1, 3));
    // A producer the partition never saw gets its marker too.
    ASSERT_TRUE(marker(99, txn_result::commit, 0, 0));
    EXPECT_EQ(log_->producers().find(99)->coordinator_epoch, 0);
    // Markers need a producer.
    EXPECT_EQ(log_->append_marker(-1, 0, txn_result::abort, 0, now_).error(),
              make_error_code(errc::invalid_batch));
}

TEST_F(PartitionLogTxnTest, TransactionalAndPlainBatchesOfOneProducer) {
    ASSERT_TRUE(send(3, false));  // idempotent, not transactional
    // Kafka's rule: a transactional batch after a plain one opens a transaction...
    ASSERT_TRUE(send(3, true));
    EXPECT_EQ(log_->last_stable_offset(), 2);
    // ...and while it is open, plain data from the producer is refused.
    auto refused = send(3, false);
    EXPECT_EQ(refused.error(), make_error_code(errc::invalid_txn_state));
    // A retry of the transactional batch is still answered as a duplicate.
    next_seq_[3] -= 2;
    auto dup = send(3, true);
    ASSERT_TRUE(dup);
    EXPECT_TRUE(dup->duplicate);
    EXPECT_EQ(dup->base_offset, 2);
    ASSERT_TRUE(marker(3, txn_result::commit));
    ASSERT_TRUE(send(3, false));
    // Control batches only come through append_marker.
    auto b = protocol::build_end_txn_marker_batch({3, 0, now_, 0}, {txn_result::abort, 0});
    EXPECT_EQ(log_->append(b, std::nullopt).error(), make_error_code(errc::invalid_batch));
}

TEST_F(PartitionLogTxnTest, ReadCommittedStopsAtTheLastStableOffset) {
    plain(3);                  // 0-2
    const int64_t t = txn(1);  // 3-4
    plain(2);                  // 5-6
    ASSERT_EQ(log_->last_stable_offset(), 3);
    auto r = log_->read(0, 1 << 20, true, read_mode::copy, log_->last_stable_offset());
    ASSERT_TRUE(r);
    auto batches = test::split_batches(*r->bytes);
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(batches[0].last_offset, 2);
    EXPECT_EQ(r->next_offset, 3);
    // At or past the LSO: nothing, even with min_one_batch.
    r = log_->read(t, 1 << 20, true, read_mode::copy, log_->last_stable_offset());
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty());
    r = log_->read(5, 1 << 20, true, read_mode::zero_copy, log_->last_stable_offset());
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty());
    // Zero copy stops at the same place.
    r = log_->read(0, 1 << 20, true, read_mode::zero_copy, log_->last_stable_offset());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->next_offset, 3);
    ASSERT_TRUE(marker(1, txn_result::commit));
    r = log_->read(0, 1 << 20, true, read_mode::copy, log_->last_stable_offset());
    ASSERT_TRUE(r);
    EXPECT_EQ(test::split_batches(*r->bytes).size(), 4u);  // everything, the marker included
}

TEST_F(PartitionLogTxnTest, ReadCommittedStopsAcrossSegments) {
    config_.segment_bytes = 200;
    close_log();
    open_log();
    for (int i = 0; i < 6; ++i) plain(1);
    const int64_t t = txn(4, 1);
    for (int i = 0; i < 6; ++i) plain(1);
    ASSERT_GT(log_->segment_count(), 3u);
    auto r = log_->read(0, 1 << 20, true, read_mode::copy, log_->last_stable_offset());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->next_offset, t);
    EXPECT_EQ(test::split_batches(*r->bytes).size(), static_cast<size_t>(t));
    r = log_->read(0, 1 << 20, true, read_mode::zero_copy, log_->last_stable_offset());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->next_offset, t);
}

TEST_F(PartitionLogTxnTest, CollectAbortedAcrossSegmentsMatchesBruteForce) {
    config_.segment_bytes = 400;
    close_log();
    open_log();
    std::mt19937_64 rng(42);
    auto pick = [&](int64_t lo, int64_t hi) {
        return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    };
    // Up to three producers at a time, each transaction a fresh producer id, long-lived ones
    // spanning segments; plain batches in between.
    std::map<int64_t, int64_t> open;  // pid -> first offset
    int64_t next_pid = 100;
    std::vector<aborted_txn> want;
    for (int op = 0; op < 400; ++op) {
        int what = static_cast<int>(pick(0, 9));
        if (what < 3) {
            plain(static_cast<int32_t>(pick(1, 3)));
        } else if (what < 6 || open.empty()) {
            if (open.size() < 3 && (open.empty() || pick(0, 1))) {
                open[next_pid] = txn(next_pid, static_cast<int32_t>(pick(1, 3)));
                ++next_pid;
            } else {
                auto it = std::next(open.begin(), pick(0, static_cast<int64_t>(open.size()) - 1));
                txn(it->first, 1);
            }
        } else {
            auto it = std::next(open.begin(), pick(0, static_cast<int64_t>(open.size()) - 1));
            bool abort = pick(0, 1);
            int64_t at = end(it->first, abort ? txn_result::abort : txn_result::commit);
            const int64_t pid = it->first, first = it->second;
            open.erase(it);
            int64_t lso = at + 1;
            for (auto& [p, f] : open) lso = std::min(lso, f);
            if (abort) want.push_back({pid, first, at, lso});
        }
        int64_t lso = log_->log_end_offset();
        for (auto& [p, f] : open) lso = std::min(lso, f);
        ASSERT_EQ(log_->last_stable_offset(), lso) << "op " << op;
    }
    ASSERT_GT(log_->segment_count(), 10u);
    ASSERT_GT(want.size(), 10u);
    EXPECT_EQ(all_entries(), want);
    auto check = [&](const char* when) {
        const int64_t leo = log_->log_end_offset();
        for (int k = 0; k < 300; ++k) {
            int64_t from = pick(0, leo - 1);
            int64_t upper = pick(from, leo);
            std::vector<aborted_txn> brute;
            for (const auto& e : want) {
                if (e.last_offset >= from && e.first_offset < upper) brute.push_back(e);
            }
            ASSERT_EQ(aborted(from, upper), brute) << when << ": [" << from << ", " << upper << ")";
        }
    };
    check("live");
    const int64_t leo = log_->log_end_offset();
    close_log();
    open_log({leo, 0, true});
    check("after a clean reopen");
    EXPECT_EQ(all_entries(), want);
    // A crash with every segment recovered: the .txnindex files are rebuilt by the replay (the
    // files are deleted first to show it), with the same entries and LSOs.
    log_.reset();
    for (const auto& e : fs::directory_iterator(path())) {
        if (e.path().extension() == txn_index_suffix) fs::remove(e.path());
    }
    open_log({0, 0, false});
    EXPECT_EQ(all_entries(), want);
    check("after recovering every segment");
}

TEST_F(PartitionLogTxnTest, OpenTransactionsSurviveCloseAndCrash) {
    config_.segment_bytes = 300;
    close_log();
    open_log();
    plain(2);
    const int64_t t1 = txn(1);
    for (int i = 0; i < 5; ++i) plain(2);
    const int64_t t2 = txn(2);
    for (int i = 0; i < 5; ++i) plain(2);
    const int64_t a1 = end(1, txn_result::abort);
    ASSERT_GT(log_->segment_count(), 2u);
    ASSERT_EQ(log_->last_stable_offset(), t2);
    const auto entries = all_entries();
    ASSERT_EQ(entries, (std::vector<aborted_txn>{{1, t1, a1, t2}}));

    // Clean close: the snapshot carries the open transaction.
    int64_t leo = log_->log_end_offset();
    close_log();
    open_log({leo, 0, true});
    EXPECT_EQ(log_->last_stable_offset(), t2);
    EXPECT_EQ(log_->producers().find(2)->current_txn_first_offset, t2);
    EXPECT_EQ(all_entries(), entries);

    // Crash with a torn snapshot and only the last segment recovered: replay from an older
    // snapshot (or the log start) finds the same state.
    log_.reset();
    test::tear_newest_snapshot(path());
    open_log();
    EXPECT_EQ(log_->last_stable_offset(), t2);
    EXPECT_EQ(all_entries(), entries);
    // Producer 2 still gets INVALID_TXN_STATE for plain data and may abort.
    next_seq_[2] = 2;
    EXPECT_EQ(send(2, false).error(), make_error_code(errc::invalid_txn_state));
    const int64_t a2 = end(2, txn_result::abort);
    EXPECT_EQ(log_->last_stable_offset(), log_->log_end_offset());
    EXPECT_EQ(aborted(0, log_->log_end_offset()),
              (std::vector<aborted_txn>{{1, t1, a1, t2}, {2, t2, a2, a2 + 1}}));
}

TEST_F(PartitionLogTxnTest, TornAbortMarkerIsUndoneOnRecovery) {
    plain(2);
    const int64_t t = txn(1);
    plain(1);
    const int64_t a = end(1, txn_result::abort);
    ASSERT_EQ(all_entries().size(), 1u);
    const int64_t size = static_cast<int64_t>(fs::file_size(file(0, log_suffix)));
    log_.reset();  // crash; the marker's last bytes never reached the disk
    fs::resize_file(file(0, log_suffix), static_cast<uintmax_t>(size - 5));
    open_log({0, 0, false});
    EXPECT_EQ(log_->log_end_offset(), a);
    // The transaction is open again and its index entry is gone with the marker.
    EXPECT_EQ(log_->last_stable_offset(), t);
    EXPECT_TRUE(all_entries().empty());
    EXPECT_EQ(fs::file_size(file(0, txn_index_suffix)), 0u);
    EXPECT_TRUE(aborted(0, a).empty());
    // The coordinator's retried marker lands at the same offset, indexed again.
    EXPECT_EQ(end(1, txn_result::abort), a);
    EXPECT_EQ(all_entries(), (std::vector<aborted_txn>{{1, t, a, a + 1}}));
}

TEST_F(PartitionLogTxnTest, IndexEntriesOfTrustedSegmentsAreKept) {
    config_.segment_bytes = 250;
    close_log();
    open_log();
    const int64_t t = txn(1);
    plain(4);
    const int64_t a = end(1, txn_result::abort);
    for (int i = 0; i < 8; ++i) plain(3);
    ASSERT_GT(log_->segment_count(), 2u);
    ASSERT_FALSE(log_->flush());
    const int64_t rp = log_->recovery_point();
    for (int i = 0; i < 3; ++i) plain(3);
    log_.reset();  // crash: segments below the recovery point are trusted
    open_log({rp, 0, false});
    EXPECT_EQ(aborted(0, log_->log_end_offset()), (std::vector<aborted_txn>{{1, t, a, a + 1}}));
    // A trusted segment's missing .txnindex reads as empty, as in Kafka.
    auto files = index_files();
    ASSERT_EQ(files.size(), 1u);
    const int64_t base = files.begin()->first;
    ASSERT_LT(base, rp);
    const int64_t leo = log_->log_end_offset();
    close_log();
    fs::remove(file(base, txn_index_suffix));
    open_log({leo, 0, true});
    EXPECT_TRUE(aborted(0, log_->log_end_offset()).empty());
}

TEST_F(PartitionLogTxnTest, RecoveryFromTheLogStartKeepsEntriesOfTransactionsBeganBefore) {
    // No usable snapshot and a log start inside the transaction: the replay cannot see where
    // the transaction began, so the rebuilt index keeps the entry it had for that marker.
    plain(2);
    const int64_t t = txn(1);
    plain(3);
    const int64_t a = end(1, txn_result::abort);
    plain(2);
    // The log start passes the transaction's only batch (t, t + 1).
    ASSERT_TRUE(log_->delete_records_before(t + 2));
    log_.reset();
    for (int64_t o : list_producer_snapshots(path()))
        fs::remove(path() / segment_file_name(o, snapshot_suffix));
    open_log({0, t + 2, false});
    EXPECT_EQ(aborted(t + 2, log_->log_end_offset()), (std::vector<aborted_txn>{{1, t, a, a + 1}}));
}

TEST_F(PartitionLogTxnTest, RebuiltEntriesKeepTheLsoTheyWereWrittenWith) {
    const int64_t t1 = txn(1, 1);  // 0: producer 1's transaction, open across the next abort
    plain(1);                      // 1
    const int64_t t2 = txn(2, 1);  // 2
    const int64_t a2 = end(2, txn_result::abort);  // 3: its LSO is producer 1's first offset
    end(1, txn_result::commit);                    // 4
    const std::vector<aborted_txn> want{{2, t2, a2, t1}};
    ASSERT_EQ(all_entries(), want);
    // The log start inside producer 1's transaction, no snapshot: the replay starts after t1
    // and cannot know that transaction was open at the abort; the entry keeps what it said.
    ASSERT_TRUE(log_->delete_records_before(1));
    log_.reset();
    for (int64_t o : list_producer_snapshots(path()))
        fs::remove(path() / segment_file_name(o, snapshot_suffix));
    open_log({0, 1, false});
    EXPECT_EQ(all_entries(), want);
    EXPECT_EQ(aborted(1, log_->log_end_offset()), want);
}

TEST_F(PartitionLogTxnTest, MarkerRollsAndIndexesIntoTheNewSegment) {
    config_.segment_bytes = 150;
    close_log();
    open_log();
    const int64_t t = txn(1, 3);
    ASSERT_EQ(log_->segment_count(), 1u);
    auto info = marker(1, txn_result::abort);
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->rolled);
    ASSERT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{0, info->base_offset}));
    EXPECT_FALSE(fs::exists(file(0, txn_index_suffix)));
    EXPECT_EQ(index_files()[info->base_offset],
              (std::vector<aborted_txn>{{1, t, info->base_offset, info->base_offset + 1}}));
    // A fetch from the first segment finds the entry in the second.
    EXPECT_EQ(aborted(0, 1).size(), 1u);
}

TEST_F(PartitionLogTxnTest, FlushJobsCoverTheTxnIndexAndItsDirectoryEntry) {
    ASSERT_FALSE(log_->flush());
    txn(1);
    end(1, txn_result::abort);
    auto job = log_->prepare_flush();
    ASSERT_TRUE(job);
    ASSERT_TRUE(*job);
    EXPECT_EQ((*job)->files.size(), 2u);  // .log and .txnindex (indexes are index_writes)
    EXPECT_TRUE((*job)->dir);             // the new .txnindex's directory entry
    ASSERT_FALSE((*job)->run());
    log_->flush_done(**job, {});
}

TEST_F(PartitionLogTxnTest, RetentionDeletesTxnIndexFilesWithTheirSegments) {
    config_.segment_bytes = 200;
    close_log();
    open_log();
    for (int i = 0; i < 6; ++i) {
        txn(i + 1, 1);
        end(i + 1, txn_result::abort);
        plain(2);
    }
    auto bases = log_->segment_base_offsets();
    ASSERT_GT(bases.size(), 3u);
    auto before = index_files();
    ASSERT_GT(before.size(), 2u);
    auto r = log_->delete_old_segments(now_, -1, log_->size_bytes() / 2);
    ASSERT_TRUE(r);
    ASSERT_FALSE(r->deleted_segments.empty());
    auto after = index_files();
    for (int64_t b : r->deleted_segments) {
        EXPECT_FALSE(fs::exists(file(b, txn_index_suffix))) << b;
        EXPECT_FALSE(after.contains(b));
    }
    for (auto& [b, entries] : after) EXPECT_EQ(entries, before[b]);
    // Entries of the remaining segments still answer.
    EXPECT_FALSE(aborted(log_->log_start_offset(), log_->log_end_offset()).empty());
}

TEST_F(PartitionLogTxnTest, RetentionPastAnOpenTransactionKeepsTheLsoAtTheLogStart) {
    config_.segment_bytes = 200;
    close_log();
    open_log();
    txn(1, 1);
    for (int i = 0; i < 10; ++i) plain(2);
    ASSERT_GT(log_->segment_count(), 2u);
    auto r = log_->delete_old_segments(now_, -1, log_->size_bytes() / 2);
    ASSERT_TRUE(r);
    ASSERT_GT(log_->log_start_offset(), 0);
    // Kafka's rule: the LSO does not fall below the log start offset.
    EXPECT_EQ(log_->last_stable_offset(), log_->log_start_offset());
    EXPECT_LT(log_->last_stable_offset(), log_->log_end_offset());
    end(1, txn_result::commit);
    EXPECT_EQ(log_->last_stable_offset(), log_->log_end_offset());
}

// (offset, key) of every data record in the log.
std::vector<std::pair<int64_t, std::string>> keyed_records(const std::vector<uint8_t>& bytes) {
    std::vector<std::pair<int64_t, std::string>> out;
    for (size_t pos = 0; pos + bl::header_size <= bytes.size();) {
        auto h = protocol::parse_batch_header(std::span(bytes).subspan(pos));
        auto size = static_cast<size_t>(h->total_size());
        if (!h->is_control()) {
            protocol::for_each_record(
                std::span(bytes).subspan(pos, size),
                [&](const protocol::record& r) {
                    out.emplace_back(r.offset, std::string(r.key->begin(), r.key->end()));
                    return true;
                },
                nullptr);
        }
        pos += size;
    }
    return out;
}

class PartitionLogTxnCleanerTest : public PartitionLogTxnTest {
  protected:
    void SetUp() override {
        config_.segment_ms = 100;  // a time step rolls the next append into a new segment
        open_log();
        opts_.min_cleanable_dirty_ratio = 0;
    }
    void roll() { now_ += 1000; }
    int64_t put(const std::string& key, int64_t pid = -1) {
        auto info = send(pid, pid >= 0, 1, 0, key);
        EXPECT_TRUE(info) << info.error().message();
        return info ? info->base_offset : -1;
    }
    void clean_all() {
        for (int i = 0; i < 100; ++i) {
            auto r = log_->clean(opts_, now_);
            ASSERT_TRUE(r) << r.error().message();
            if (r->pass_done) return;
        }
        FAIL() << "the pass never ended";
    }
    cleaning_options opts_;
};

TEST_F(PartitionLogTxnCleanerTest, AbortedRecordsDoNotSupersedeAndEntriesMoveToTheCleanedSegment) {
    put("k");  // 0: committed value of k
    roll();
    const int64_t t5 = put("k", 5);                // 1: k in a transaction that aborts
    const int64_t a5 = end(5, txn_result::abort);  // 2
    roll();
    const int64_t t6 = put("j", 6);                // 3
    const int64_t a6 = end(6, txn_result::abort);  // 4
    roll();
    put("z");  // active
    ASSERT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{0, 1, 3, 5}));
    const std::vector<aborted_txn> entries{{5, t5, a5, a5 + 1}, {6, t6, a6, a6 + 1}};
    ASSERT_EQ(all_entries(), entries);

    clean_all();
    ASSERT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{0, 5}));
    // k's committed value stays: the aborted write at 1 was not in the key map.
    auto recs = keyed_records(read_all());
    EXPECT_NE(std::find(recs.begin(), recs.end(), std::pair<int64_t, std::string>(0, "k")),
              recs.end());
    // The group's entries now live in the cleaned segment's .txnindex.
    auto files = index_files();
    EXPECT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0], entries);
    EXPECT_FALSE(fs::exists(file(1, txn_index_suffix)));
    EXPECT_FALSE(fs::exists(file(3, txn_index_suffix)));
    EXPECT_EQ(aborted(0, log_->log_end_offset()), entries);
    // And after a crash that recovers everything.
    log_.reset();
    open_log({0, 0, false});
    EXPECT_EQ(aborted(0, log_->log_end_offset()), entries);
}

TEST_F(PartitionLogTxnCleanerTest, OpenTransactionsAreNotCleaned) {
    put("k");  // 0
    put("k");  // 1
    roll();
    put("k", 7);  // 2: an open transaction
    roll();
    put("k");  // 3
    roll();
    put("z");  // active
    ASSERT_EQ(log_->last_stable_offset(), 2);
    clean_all();
    // Only the segment below the open transaction was cleaned.
    auto recs = keyed_records(read_all());
    std::vector<int64_t> k;
    for (auto& [o, key] : recs) {
        if (key == "k") k.push_back(o);
    }
    EXPECT_EQ(k, (std::vector<int64_t>{1, 2, 3}));
}

TEST_F(PartitionLogTxnCleanerTest, InterruptedSwapMergesTheTxnIndexes) {
    put("a");
    roll();
    const int64_t t1 = put("b", 1);
    const int64_t a1 = end(1, txn_result::abort);
    roll();
    const int64_t t2 = put("c", 2);
    const int64_t a2 = end(2, txn_result::abort);
    roll();
    put("z");
    ASSERT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{0, 1, 3, 5}));
    const std::vector<aborted_txn> entries{{1, t1, a1, a1 + 1}, {2, t2, a2, a2 + 1}};
    close_log();
    // Clean a copy to get the .swap file a crash would leave.
    ASSERT_EQ(leave_swap_file(opts_), (std::vector<int64_t>{0, 5}));
    // Crashed while deleting the old segments: segment 0 already gone.
    fs::remove(file(0, log_suffix));
    open_log();
    EXPECT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{0, 5}));
    EXPECT_EQ(index_files(), (std::map<int64_t, std::vector<aborted_txn>>{{0, entries}}));
    EXPECT_EQ(aborted(0, log_->log_end_offset()), entries);
}

TEST_F(PartitionLogTxnCleanerTest, LeftoverEntriesOfASwapThatNeverHappenedAreDropped) {
    put("a");
    roll();
    const int64_t t1 = put("b", 1);
    const int64_t a1 = end(1, txn_result::abort);
    roll();
    put("z");
    const int64_t leo = log_->log_end_offset();
    close_log();
    // Segment 0's .txnindex holding segment 1's entry (a merge whose swap was then undone).
    {
        auto t = transaction_index::open(file(0, txn_index_suffix), 0);
        ASSERT_TRUE(t);
        ASSERT_FALSE(t->append({1, t1, a1, a1 + 1}));
    }
    open_log({leo, 0, true});
    EXPECT_EQ(index_files()[0], std::vector<aborted_txn>{});
    // Each marker is reported once.
    EXPECT_EQ(aborted(0, log_->log_end_offset()), (std::vector<aborted_txn>{{1, t1, a1, a1 + 1}}));
}

}  // namespace
}  // namespace runnel::storage
