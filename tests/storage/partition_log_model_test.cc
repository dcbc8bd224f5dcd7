// Randomized model test of partition_log: a seeded sequence of appends (rolling small segments),
// transactions (transactional batches of up to three producers at a time, commit and abort
// markers), flushes, DeleteRecords, retention, clean close + reopen, and crashes (the active
// segment cut at a random byte, a byte flipped in a batch the recovery point says is unflushed,
// index files lost), checked after every reopen against a plain vector of the batches that must be
// there, and against a fold of the transaction events: the last stable offset, every .txnindex
// entry, collect_aborted and read_committed reads.
//
// Transactions and the log start offset: a transaction reopened by a crash (its marker cut) that
// began below the log start is known to the log only if a snapshot covers it, as in Kafka. The
// model keeps out of that: open transactions are ended before DeleteRecords and retention,
// DeleteRecords never moves the log start into a transaction's range, and crashes do not tear the
// marker of a transaction that retention's log start lies inside. Should it happen anyway, the
// run checks only the invariants of the transaction state from then on.
//
// CI runs a fixed list of seeds. RUNNEL_MODEL_ITERATIONS=N adds N more seeds (from
// RUNNEL_MODEL_SEED, else random; each failure names its seed), RUNNEL_MODEL_OPS the ops per seed.
#include "storage/partition_log.h"

#include "protocol/end_txn_marker.h"
#include "protocol/record_batch.h"
#include "test_batches.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
namespace bl = protocol::batch_layout;
using test::make_batch;
using test::temp_dir;

struct model_batch {
    int64_t base = 0;
    int64_t last = 0;
    int64_t max_ts = 0;
    std::vector<uint8_t> bytes;  // as stored (base offset stamped)
};

// A transactional batch or a marker, as written.
struct txn_event {
    enum kind_t { data, commit, abort } kind = data;
    int64_t offset = 0;  // base offset
    int64_t pid = 0;
    int32_t last_seq = 0;  // data: the batch's last sequence
};

// What the events say: the open transactions and the aborted ones.
struct txn_fold {
    std::map<int64_t, int64_t> open;                  // pid -> first offset
    std::map<int64_t, int32_t> next_seq;              // pid -> next sequence (open ones)
    std::vector<aborted_txn> aborted;                 // in marker order
    std::vector<std::pair<int64_t, int64_t>> ranges;  // [first, marker] of ended transactions

    explicit txn_fold(const std::vector<txn_event>& events) {
        for (const auto& e : events) {
            if (e.kind == txn_event::data) {
                open.try_emplace(e.pid, e.offset);
                next_seq[e.pid] = e.last_seq + 1;
                continue;
            }
            auto it = open.find(e.pid);
            if (it == open.end()) continue;  // a marker with nothing open changes nothing
            const int64_t first = it->second;
            open.erase(it);
            next_seq.erase(e.pid);
            ranges.emplace_back(first, e.offset);
            if (e.kind == txn_event::commit) continue;
            int64_t lso = e.offset + 1;
            for (const auto& [pid, f] : open) lso = std::min(lso, f);
            aborted.push_back({e.pid, first, e.offset, lso});
        }
    }
};

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
}

class model_run {
  public:
    model_run(uint64_t seed, int ops) : rng_(seed), ops_(ops) {}

    void run() {
        config_.segment_bytes = pick(500, 3000);
        config_.index_interval_bytes = std::vector<int32_t>{1, 64, 300, 4096}[pick(0, 3)];
        config_.segment_index_bytes = std::vector<int32_t>{10 << 20, 10 << 20, 64, 120}[pick(0, 3)];
        config_.segment_ms = chance(0.3) ? 20'000 : -1;
        if (chance(0.3)) config_.flush_messages = pick(3, 20);
        SCOPED_TRACE(::testing::Message()
                     << "segment_bytes " << config_.segment_bytes << ", index_interval_bytes "
                     << config_.index_interval_bytes << ", segment_index_bytes "
                     << config_.segment_index_bytes);
        open({});
        if (::testing::Test::HasFatalFailure()) return;
        for (int op = 0; op < ops_; ++op) {
            SCOPED_TRACE(::testing::Message() << "op " << op);
            now_ += pick(0, 400);
            int what = pick(0, 99);
            if (what < 38) {
                append();
            } else if (what < 46) {
                txn_append();
            } else if (what < 50) {
                txn_end();
            } else if (what < 53) {
                ASSERT_FALSE(log_->flush());
                ASSERT_EQ(log_->recovery_point(), leo_);
            } else if (what < 56) {
                flush_job_step();
            } else if (what < 62) {
                rp_checkpoint_ = log_->recovery_point();  // the broker's periodic checkpoint
            } else if (what < 70) {
                delete_records();
            } else if (what < 78) {
                retention();
            } else if (what < 84) {
                close_and_reopen();
            } else if (what < 94) {
                crash_and_reopen();
            } else {
                verify();
            }
            if (::testing::Test::HasFatalFailure()) return;
        }
        verify();
        if (log_) {
            EXPECT_FALSE(log_->close());
        }
    }

  private:
    int64_t pick(int64_t lo, int64_t hi) {
        return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
    }
    bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
    fs::path dir() const { return dir_.path() / "model-0"; }
    fs::path file(int64_t base, std::string_view suffix) const {
        return dir() / segment_file_name(base, suffix);
    }

    void open(open_options options) {
        pending_.reset();  // a job of the previous instance
        auto l = partition_log::open(dir(), config_, options);
        ASSERT_TRUE(l) << l.error().message();
        log_ = std::move(*l);
        log_->set_clock([this] { return now_; });
        rp_checkpoint_ = log_->recovery_point();
        // Transactions a crash reopened (their markers cut) go on; those it cut off entirely
        // are gone, and their producer ids are not used again. (Once the run is not exact the
        // log may not know one the events say is open: that one is dropped.)
        txn_fold fold(events_);
        for (const auto& [pid, first] : fold.open) {
            if (first < lso_) txn_exact_ = false;
        }
        for (const auto& [first, pid] : log_->producers().ongoing_transactions()) {
            if (!fold.open.contains(pid)) txn_exact_ = false;  // from a snapshot of cut data
        }
        open_pids_ = fold.next_seq;
        std::erase_if(open_pids_, [&](const auto& kv) {
            const producer_entry* e = log_->producers().find(kv.first);
            return e == nullptr || e->current_txn_first_offset < 0;
        });
        verify();
    }

    // One transactional batch: from a new producer (each transaction gets its own id, so
    // sequences never depend on what a crash left of an older transaction) or an open one.
    void txn_append() {
        int64_t pid;
        if (open_pids_.empty() || (open_pids_.size() < 3 && chance(0.4))) {
            pid = next_pid_++;
            open_pids_[pid] = 0;
        } else {
            pid =
                std::next(open_pids_.begin(), pick(0, static_cast<int64_t>(open_pids_.size()) - 1))
                    ->first;
        }
        protocol::batch_options o;
        o.producer_id = pid;
        o.producer_epoch = 0;
        o.base_sequence = open_pids_[pid];
        o.transactional = true;
        std::vector<protocol::record_input> rs(static_cast<size_t>(pick(1, 4)));
        for (auto& r : rs) {
            r.timestamp = now_ - pick(0, 3000);
            r.value = std::string(static_cast<size_t>(pick(0, 150)), 't');
        }
        auto b = protocol::build_batch(o, rs);
        auto info = log_->append(b, std::nullopt);
        ASSERT_TRUE(info) << info.error().message();
        ASSERT_EQ(info->base_offset, leo_);
        const auto n = static_cast<int32_t>(rs.size());
        events_.push_back({txn_event::data, leo_, pid, o.base_sequence + n - 1});
        open_pids_[pid] += n;
        add_batch(b);
    }

    // Ends an open transaction (or, sometimes, writes a marker for a producer with none, which
    // Kafka writes too and which changes nothing).
    void txn_end(std::optional<int64_t> which = std::nullopt) {
        int64_t pid;
        if (which) {
            pid = *which;
        } else if (open_pids_.empty() || chance(0.05)) {
            pid = next_pid_++;
        } else {
            pid =
                std::next(open_pids_.begin(), pick(0, static_cast<int64_t>(open_pids_.size()) - 1))
                    ->first;
        }
        const bool commit = chance(0.5);
        const auto result = commit ? protocol::txn_result::commit : protocol::txn_result::abort;
        auto info = log_->append_marker(pid, 0, result, 0, now_);
        ASSERT_TRUE(info) << info.error().message();
        ASSERT_EQ(info->base_offset, leo_);
        auto b = protocol::build_end_txn_marker_batch({pid, 0, now_, 0}, {result, 0});
        bl::store_i64(b.data() + bl::base_offset, leo_);
        events_.push_back({commit ? txn_event::commit : txn_event::abort, leo_, pid, 0});
        open_pids_.erase(pid);
        add_batch(b);
    }

    void end_all_txns() {
        while (!open_pids_.empty()) {
            txn_end(open_pids_.begin()->first);
            if (::testing::Test::HasFatalFailure()) return;
        }
    }

    // Adds a batch as stored (base offset stamped) to the model.
    void add_batch(const std::vector<uint8_t>& b) {
        model_batch m;
        m.base = bl::load_i64(b.data());
        m.last = m.base + bl::load_i32(b.data() + bl::last_offset_delta);
        m.max_ts = bl::load_i64(b.data() + bl::max_timestamp);
        m.bytes = b;
        ASSERT_EQ(m.base, leo_);
        leo_ = m.last + 1;
        batches_.push_back(std::move(m));
        ASSERT_EQ(log_->log_end_offset(), leo_);
    }

    void append() {
        std::vector<uint8_t> buf;
        int n = static_cast<int>(pick(1, 3));
        for (int i = 0; i < n; ++i) {
            auto b = make_batch(static_cast<int32_t>(pick(1, 5)), now_ - pick(0, 3000),
                                static_cast<size_t>(pick(0, 200)), 1,
                                static_cast<uint8_t>(pick(0, 255)));
            buf.insert(buf.end(), b.begin(), b.end());
        }
        auto info = log_->append(buf, std::nullopt);
        ASSERT_TRUE(info) << info.error().message();
        ASSERT_EQ(info->base_offset, leo_);
        for (size_t pos = 0; pos < buf.size();) {
            const uint8_t* p = buf.data() + pos;
            size_t size =
                bl::log_overhead + static_cast<size_t>(bl::load_i32(p + bl::batch_length));
            model_batch m;
            m.base = bl::load_i64(p);
            m.last = m.base + bl::load_i32(p + bl::last_offset_delta);
            m.max_ts = bl::load_i64(p + bl::max_timestamp);
            m.bytes.assign(p, p + size);
            ASSERT_EQ(m.base, leo_);
            leo_ = m.last + 1;
            batches_.push_back(std::move(m));
            pos += size;
        }
        ASSERT_EQ(info->last_offset, leo_ - 1);
        ASSERT_EQ(log_->log_end_offset(), leo_);
    }

    // The broker's group commit: prepare a job, let appends, rolls and retention happen, then
    // run it and hand the outcome back. The recovery point reaches the job's target, never more.
    void flush_job_step() {
        if (!pending_) {
            auto job = log_->prepare_flush();
            ASSERT_TRUE(job) << job.error().message();
            if (!*job) {
                ASSERT_EQ(log_->recovery_point(), leo_);
                return;
            }
            ASSERT_EQ((*job)->target, leo_);
            pending_ = std::move(**job);
            return;
        }
        int64_t before = log_->recovery_point();
        ASSERT_FALSE(pending_->run());
        log_->flush_done(*pending_, {});
        ASSERT_EQ(log_->recovery_point(), std::max(before, pending_->target));
        pending_.reset();
    }

    // Drops the model batches of segments that were deleted (everything below `first_base`).
    void drop_below(int64_t first_base) {
        std::erase_if(batches_, [&](const model_batch& b) { return b.base < first_base; });
    }

    void delete_records() {
        if (chance(0.1)) {
            auto bad = chance(0.5) ? leo_ + pick(1, 5) : -pick(1, 5);
            auto r = log_->delete_records_before(bad);
            ASSERT_FALSE(r);
            ASSERT_EQ(r.error(), make_error_code(errc::offset_out_of_range));
            return;
        }
        end_all_txns();
        if (::testing::Test::HasFatalFailure()) return;
        int64_t target = pick(std::max<int64_t>(0, lso_ - 3), leo_);
        // Never into a transaction's range: down to its first offset.
        txn_fold fold(events_);
        for (bool moved = true; moved;) {
            moved = false;
            for (const auto& [first, marker] : fold.ranges) {
                if (first < target && target <= marker) {
                    target = first;
                    moved = true;
                }
            }
        }
        auto before = log_->segment_base_offsets();
        auto r = log_->delete_records_before(target);
        ASSERT_TRUE(r) << r.error().message();
        lso_ = std::max(lso_, target);
        ASSERT_EQ(*r, lso_);
        size_t n = 0;
        while (n + 1 < before.size() && before[n + 1] <= lso_) ++n;
        auto after = log_->segment_base_offsets();
        ASSERT_EQ(after, std::vector<int64_t>(before.begin() + static_cast<std::ptrdiff_t>(n),
                                              before.end()));
        drop_below(after.front());
    }

    struct segment_facts {
        int64_t size = 0;
        int64_t largest_ts = no_timestamp;
    };
    std::vector<segment_facts> facts(const std::vector<int64_t>& bases) const {
        std::vector<segment_facts> f(bases.size());
        for (const auto& b : batches_) {
            size_t i = static_cast<size_t>(std::upper_bound(bases.begin(), bases.end(), b.base) -
                                           bases.begin() - 1);
            f[i].size += static_cast<int64_t>(b.bytes.size());
            f[i].largest_ts = std::max(f[i].largest_ts, b.max_ts);
        }
        return f;
    }

    void retention() {
        end_all_txns();
        if (::testing::Test::HasFatalFailure()) return;
        auto bases = log_->segment_base_offsets();
        auto f = facts(bases);
        int64_t total = 0;
        for (const auto& s : f) total += s.size;
        int64_t retention_ms = chance(0.3) ? -1 : pick(0, 4000);
        int64_t retention_bytes = chance(0.3) ? -1 : pick(0, total + 100);

        // Kafka's three rules, in order, each stopping at the first segment it keeps. The size
        // and time rules may take the active segment too, unless it is empty.
        auto may_consider = [&](size_t k) {
            return k + 1 < bases.size() || (k + 1 == bases.size() && f[k].size > 0);
        };
        size_t n = 0;
        while (n + 1 < bases.size() && bases[n + 1] <= lso_) ++n;
        if (retention_bytes >= 0) {
            int64_t remaining = 0;
            for (size_t i = n; i < f.size(); ++i) remaining += f[i].size;
            int64_t excess = remaining - retention_bytes;
            while (may_consider(n) && excess >= f[n].size) excess -= f[n++].size;
        }
        if (retention_ms >= 0) {
            while (may_consider(n) && now_ - f[n].largest_ts > retention_ms) ++n;
        }
        std::vector<int64_t> want(bases.begin(), bases.begin() + static_cast<std::ptrdiff_t>(n));
        int64_t want_bytes = 0;
        for (size_t i = 0; i < n; ++i) want_bytes += f[i].size;

        auto r = log_->delete_old_segments(now_, retention_ms, retention_bytes);
        ASSERT_TRUE(r) << r.error().message();
        ASSERT_EQ(r->deleted_segments, want)
            << "retention_ms " << retention_ms << " retention_bytes " << retention_bytes;
        ASSERT_EQ(r->deleted_bytes, want_bytes);
        // With every segment gone the log goes on from an empty segment at its end.
        const int64_t first_kept = n < bases.size() ? bases[n] : leo_;
        if (n > 0) lso_ = std::max(lso_, first_kept);
        ASSERT_EQ(r->log_start_offset, lso_);
        drop_below(first_kept);
        ASSERT_EQ(log_->log_start_offset(), lso_);
        ASSERT_EQ(log_->segment_base_offsets().front(), first_kept);
        ASSERT_EQ(log_->log_end_offset(), leo_);
    }

    void close_and_reopen() {
        ASSERT_FALSE(log_->close());
        ASSERT_EQ(log_->recovery_point(), leo_);  // the accessors still work after close
        ASSERT_EQ(log_->log_start_offset(), lso_);
        open_options o{log_->recovery_point(), log_->log_start_offset(), true};
        // Sometimes the broker died after closing the logs but before writing the marker.
        if (chance(0.3)) o.clean_shutdown = false;
        log_.reset();
        open(o);
    }

    // Byte position of every model batch in its segment file.
    std::vector<int64_t> positions(const std::vector<int64_t>& bases) const {
        std::vector<int64_t> pos(batches_.size());
        int64_t at = 0;
        size_t seg = 0;
        for (size_t i = 0; i < batches_.size(); ++i) {
            while (seg + 1 < bases.size() && batches_[i].base >= bases[seg + 1]) {
                ++seg;
                at = 0;
            }
            pos[i] = at;
            at += static_cast<int64_t>(batches_[i].bytes.size());
        }
        return pos;
    }

    static void flip_byte(const fs::path& p, int64_t at) {
        std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(at);
        char c = 0;
        f.get(c);
        f.seekp(at);
        f.put(static_cast<char>(c ^ 0x5a));
    }

    void crash_and_reopen() {
        auto bases = log_->segment_base_offsets();
        auto pos = positions(bases);
        auto segment_of = [&](size_t i) {
            return static_cast<size_t>(
                std::upper_bound(bases.begin(), bases.end(), batches_[i].base) - bases.begin() - 1);
        };
        int64_t rp = rp_checkpoint_;
        ASSERT_LE(rp, log_->recovery_point());  // a checkpoint is never ahead of the log
        log_.reset();                           // no close(): nothing sealed, trimmed or flushed

        size_t cut = batches_.size();  // first model batch that must not survive
        // Markers of transactions the log start lies inside are not torn (see the top).
        int64_t keep_below = 0;
        for (const auto& [first, marker] : txn_fold(events_).ranges) {
            if (first < lso_ && marker >= lso_) keep_below = std::max(keep_below, marker + 1);
        }
        // A torn active segment: cut at a random byte.
        if (chance(0.7)) {
            int64_t active_size = 0;
            int64_t kept_size = 0;
            for (size_t i = 0; i < batches_.size(); ++i) {
                if (segment_of(i) != bases.size() - 1) continue;
                active_size += static_cast<int64_t>(batches_[i].bytes.size());
                if (batches_[i].base < keep_below) kept_size = active_size;
            }
            int64_t at = chance(0.3) ? active_size : pick(kept_size, active_size);
            fs::resize_file(file(bases.back(), log_suffix), static_cast<uintmax_t>(at));
            for (size_t i = 0; i < batches_.size(); ++i) {
                if (segment_of(i) == bases.size() - 1 &&
                    pos[i] + static_cast<int64_t>(batches_[i].bytes.size()) > at) {
                    cut = std::min(cut, i);
                    break;
                }
            }
        }
        // A flipped byte in a batch at or after the recovery point, somewhere the recovery checks
        // see (not the base offset or the partition leader epoch). Batches below it were flushed
        // and are trusted, in the recovery point's segment too.
        size_t first_unflushed = static_cast<size_t>(std::max<std::ptrdiff_t>(
            0, std::upper_bound(bases.begin(), bases.end(), rp) - bases.begin() - 1));
        std::vector<size_t> candidates;
        for (size_t i = 0; i < batches_.size(); ++i) {
            if (segment_of(i) >= first_unflushed && batches_[i].last >= rp && i < cut &&
                batches_[i].base >= keep_below)
                candidates.push_back(i);
        }
        if (!candidates.empty() && chance(0.5)) {
            size_t i = candidates[static_cast<size_t>(pick(0, candidates.size() - 1))];
            int64_t size = static_cast<int64_t>(batches_[i].bytes.size());
            int64_t at;
            do {
                at = pick(bl::batch_length, size - 1);
            } while (at >= static_cast<int64_t>(bl::partition_leader_epoch) &&
                     at < static_cast<int64_t>(bl::magic));
            flip_byte(file(bases[segment_of(i)], log_suffix), pos[i] + at);
            cut = std::min(cut, i);
        }
        // Lost or zero-padded index files anywhere: rebuilt or tolerated, never trusted wrongly.
        if (chance(0.3)) {
            auto b = bases[static_cast<size_t>(pick(0, bases.size() - 1))];
            fs::remove(file(b, chance(0.5) ? index_suffix : time_index_suffix));
        }
        if (chance(0.3)) {
            auto p = file(bases[static_cast<size_t>(pick(0, bases.size() - 1))], index_suffix);
            if (fs::exists(p)) fs::resize_file(p, fs::file_size(p) / 8 * 8 + 8 * pick(1, 20));
        }

        if (cut < batches_.size()) {
            leo_ = batches_[cut].base;
            batches_.erase(batches_.begin() + static_cast<std::ptrdiff_t>(cut), batches_.end());
        }
        std::erase_if(events_, [&](const txn_event& e) { return e.offset >= leo_; });
        if (leo_ < lso_) {  // the whole log ends below its log start offset: restarts empty
            batches_.clear();
            events_.clear();
            leo_ = lso_;
        }
        open({rp, lso_, false});
    }

    void verify() {
        ASSERT_EQ(log_->log_start_offset(), lso_);
        ASSERT_EQ(log_->log_end_offset(), leo_);
        ASSERT_LE(log_->recovery_point(), leo_);

        auto bases = log_->segment_base_offsets();
        ASSERT_FALSE(bases.empty());
        ASSERT_LE(bases.front(), lso_);
        for (size_t i = 0; i < bases.size(); ++i) {
            if (i > 0) {
                ASSERT_LT(bases[i - 1], bases[i]);
            }
            bool at_batch = std::any_of(batches_.begin(), batches_.end(),
                                        [&](const model_batch& b) { return b.base == bases[i]; });
            ASSERT_TRUE(at_batch || bases[i] == leo_) << "segment " << bases[i];
        }
        int64_t total = 0;
        std::vector<uint8_t> want;
        for (const auto& b : batches_) {
            total += static_cast<int64_t>(b.bytes.size());
            if (b.last >= lso_) want.insert(want.end(), b.bytes.begin(), b.bytes.end());
        }
        ASSERT_EQ(log_->size_bytes(), total);

        auto all = log_->read(lso_, size_t{1} << 30, true);
        ASSERT_TRUE(all) << all.error().message();
        ASSERT_EQ(*all->bytes, want);
        if (lso_ > 0) {
            ASSERT_EQ(log_->read(lso_ - 1, 100, true).error(),
                      make_error_code(errc::offset_out_of_range));
        }
        ASSERT_EQ(log_->read(leo_ + 1, 100, true).error(),
                  make_error_code(errc::offset_out_of_range));

        for (int k = 0; k < 5 && lso_ < leo_; ++k) {
            int64_t o = pick(lso_, leo_ - 1);
            auto r = log_->read(o, 1, true);
            ASSERT_TRUE(r) << r.error().message();
            auto it = std::find_if(batches_.begin(), batches_.end(),
                                   [&](const model_batch& b) { return b.last >= o; });
            ASSERT_NE(it, batches_.end());
            ASSERT_EQ(*r->bytes, it->bytes) << "offset " << o;
        }
        verify_transactions();
        if (::testing::Test::HasFatalFailure()) return;
        for (int k = 0; k < 5; ++k) {
            int64_t ts = now_ - pick(-100, 3500);
            auto found = log_->find_batch_by_timestamp(ts);
            ASSERT_TRUE(found) << found.error().message();
            auto it = std::find_if(batches_.begin(), batches_.end(), [&](const model_batch& b) {
                return b.last >= lso_ && b.max_ts >= ts;
            });
            if (it == batches_.end()) {
                ASSERT_FALSE(*found) << "timestamp " << ts;
            } else {
                ASSERT_TRUE(*found) << "timestamp " << ts;
                ASSERT_EQ((*found)->base_offset, it->base) << "timestamp " << ts;
            }
        }
    }

    // Entries of each .txnindex file on disk, by segment base offset (read raw: the log has them
    // open).
    std::map<int64_t, std::vector<aborted_txn>> index_files() const {
        std::map<int64_t, std::vector<aborted_txn>> out;
        for (const auto& e : fs::directory_iterator(dir())) {
            auto base = parse_segment_file_name(e.path().filename().string(), txn_index_suffix);
            if (!base) continue;
            std::ifstream in(e.path(), std::ios::binary);
            std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                       std::istreambuf_iterator<char>());
            auto& entries = out[*base];
            for (size_t at = 0; at + aborted_txn::size <= bytes.size(); at += aborted_txn::size) {
                auto t = aborted_txn::decode(bytes.data() + at);
                EXPECT_TRUE(t);
                if (t) entries.push_back(*t);
            }
            if (entries.empty()) out.erase(*base);
        }
        return out;
    }

    void verify_transactions() {
        const int64_t lso = log_->last_stable_offset();
        ASSERT_GE(lso, lso_);
        ASSERT_LE(lso, leo_);
        // read_committed: whole batches below the LSO.
        {
            auto r = log_->read(lso_, size_t{1} << 30, true, read_mode::copy, lso);
            ASSERT_TRUE(r) << r.error().message();
            std::vector<uint8_t> want;
            for (const auto& b : batches_) {
                if (b.last >= lso_ && b.last < lso)
                    want.insert(want.end(), b.bytes.begin(), b.bytes.end());
            }
            ASSERT_EQ(*r->bytes, want) << "read_committed below " << lso;
        }
        if (!txn_exact_) return;

        txn_fold fold(events_);
        int64_t want_lso = leo_;
        for (const auto& [pid, first] : fold.open)
            want_lso = std::min(want_lso, std::max(first, lso_));
        ASSERT_EQ(lso, want_lso);
        std::map<int64_t, int64_t> want_open;
        for (const auto& [pid, first] : fold.open) want_open[first] = pid;
        ASSERT_EQ(log_->producers().ongoing_transactions(), want_open);

        // Every entry whose marker is still in a segment, in that segment's .txnindex.
        auto bases = log_->segment_base_offsets();
        std::map<int64_t, std::vector<aborted_txn>> want;
        for (const auto& e : fold.aborted) {
            if (e.last_offset < bases.front()) continue;  // deleted with its segment
            auto seg = *(std::upper_bound(bases.begin(), bases.end(), e.last_offset) - 1);
            want[seg].push_back(e);
        }
        ASSERT_EQ(index_files(), want);

        for (int k = 0; k < 5 && lso_ < leo_; ++k) {
            int64_t from = pick(lso_, leo_ - 1);
            int64_t upper = pick(from + 1, leo_);
            std::vector<aborted_txn> brute;
            for (const auto& e : fold.aborted) {
                if (e.last_offset >= from && e.first_offset < upper) brute.push_back(e);
            }
            auto got = log_->collect_aborted(from, upper);
            ASSERT_TRUE(got) << got.error().message();
            ASSERT_EQ(*got, brute) << "collect_aborted(" << from << ", " << upper << ")";
        }
    }

    std::mt19937_64 rng_;
    int ops_;
    temp_dir dir_;
    log_config config_{};
    std::unique_ptr<partition_log> log_;
    std::vector<model_batch> batches_;  // every batch still in a segment file, in order
    int64_t lso_ = 0;
    int64_t leo_ = 0;
    int64_t rp_checkpoint_ = 0;
    std::optional<flush_job> pending_;  // prepared by flush_job_step, not run yet
    std::vector<txn_event> events_;     // transactional batches and markers (not cut by a crash)
    std::map<int64_t, int32_t> open_pids_;  // open transactions: pid -> next sequence
    int64_t next_pid_ = 1000;
    bool txn_exact_ = true;  // false once the log may know less of a transaction (see top)
    int64_t now_ = 1'700'000'000'000;
};

TEST(PartitionLogModel, FixedSeeds) {
    int ops = env_int("RUNNEL_MODEL_OPS", 250);
    for (uint64_t seed : {1, 2, 3, 4, 5, 6, 7, 8}) {
        SCOPED_TRACE(::testing::Message() << "seed " << seed);
        model_run(seed, ops).run();
        if (HasFatalFailure()) return;
    }
}

TEST(PartitionLogModel, MoreSeedsFromEnvironment) {
    int iterations = env_int("RUNNEL_MODEL_ITERATIONS", 0);
    if (iterations <= 0) GTEST_SKIP() << "set RUNNEL_MODEL_ITERATIONS=N to run N more seeds";
    int ops = env_int("RUNNEL_MODEL_OPS", 250);
    const char* from = std::getenv("RUNNEL_MODEL_SEED");
    uint64_t first = from && *from ? std::strtoull(from, nullptr, 10) : std::random_device{}();
    for (int i = 0; i < iterations; ++i) {
        uint64_t seed = first + static_cast<uint64_t>(i);
        SCOPED_TRACE(::testing::Message() << "seed " << seed);
        model_run(seed, ops).run();
        if (HasFatalFailure()) return;
    }
}

}  // namespace
}  // namespace runnel::storage
