// The .txnindex file: Kafka's 34-byte entry format, lazy creation, checks on open, truncation,
// merging and collectAbortedTxns.
#include "storage/transaction_index.h"

#include "test_batches.h"

#include <gtest/gtest.h>

#include <fstream>

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
using test::append_bytes;
using test::file_bytes;
using test::temp_dir;

class TransactionIndexTest : public ::testing::Test {
  protected:
    fs::path path() const { return dir_.path() / "00000000000000000100.txnindex"; }
    transaction_index open() {
        auto t = transaction_index::open(path(), 100);
        EXPECT_TRUE(t) << t.error().message();
        return t ? std::move(*t) : transaction_index{};
    }
    temp_dir dir_;
};

TEST_F(TransactionIndexTest, EntriesAreKafkasBytes) {
    aborted_txn e{0x0102030405060708, 0x1112131415161718, 0x2122232425262728, 0x3132333435363738};
    uint8_t buf[aborted_txn::size];
    e.encode(buf);
    const std::vector<uint8_t> want = {
        0x00, 0x00,                                      // version 0
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // producer id
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  // first offset
        0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,  // last offset
        0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38,  // last stable offset
    };
    EXPECT_EQ(std::vector<uint8_t>(buf, buf + sizeof buf), want);
    EXPECT_EQ(aborted_txn::decode(buf), e);
    buf[1] = 1;  // version 1: not ours to read
    EXPECT_FALSE(aborted_txn::decode(buf));
}

TEST_F(TransactionIndexTest, CreatedByTheFirstAppendAndReopened) {
    auto t = open();
    EXPECT_FALSE(fs::exists(path()));  // like Kafka: no file until an entry exists
    EXPECT_EQ(t.entries(), 0u);
    EXPECT_FALSE(t.last_offset());
    std::vector<file> dups;
    ASSERT_FALSE(t.duplicate(dups));
    EXPECT_TRUE(dups.empty());
    ASSERT_FALSE(t.flush());

    bool created = false;
    ASSERT_FALSE(t.append({7, 100, 105, 106}, &created));
    EXPECT_TRUE(created);
    created = false;
    ASSERT_FALSE(t.append({8, 101, 110, 111}, &created));
    EXPECT_FALSE(created);
    // Last offsets must increase.
    EXPECT_EQ(t.append({9, 102, 110, 111}), make_error_code(errc::invalid_index_entry));
    EXPECT_EQ(t.entries(), 2u);
    EXPECT_EQ(t.last_offset(), 110);
    ASSERT_FALSE(t.close());
    EXPECT_EQ(fs::file_size(path()), 68u);
    auto bytes = file_bytes(path());
    EXPECT_EQ(aborted_txn::decode(bytes.data()), (aborted_txn{7, 100, 105, 106}));
    EXPECT_EQ(aborted_txn::decode(bytes.data() + 34), (aborted_txn{8, 101, 110, 111}));

    auto again = open();
    EXPECT_EQ(again.entries(), 2u);
    EXPECT_EQ(again.last_offset(), 110);
    auto all = again.all();
    ASSERT_TRUE(all);
    EXPECT_EQ(*all, (std::vector<aborted_txn>{{7, 100, 105, 106}, {8, 101, 110, 111}}));
    ASSERT_FALSE(again.remove());
    EXPECT_FALSE(fs::exists(path()));
}

TEST_F(TransactionIndexTest, OpenCutsATornOrInvalidTail) {
    {
        auto t = open();
        for (int i = 0; i < 3; ++i) ASSERT_FALSE(t.append({i, 100, 100 + 10 * i, 200}));
    }
    append_bytes(path(), {0, 0, 1, 2, 3});  // half an entry
    auto t = open();
    EXPECT_EQ(t.entries(), 3u);
    EXPECT_EQ(fs::file_size(path()), 102u);
    // Appends continue right after the last whole entry.
    ASSERT_FALSE(t.append({3, 100, 130, 200}));
    ASSERT_FALSE(t.close());

    // An entry out of order, and everything after it, goes.
    uint8_t buf[aborted_txn::size];
    aborted_txn{4, 100, 125, 200}.encode(buf);
    append_bytes(path(), std::vector<uint8_t>(buf, buf + sizeof buf));
    aborted_txn{5, 100, 140, 200}.encode(buf);
    append_bytes(path(), std::vector<uint8_t>(buf, buf + sizeof buf));
    auto u = open();
    EXPECT_EQ(u.entries(), 4u);
    EXPECT_EQ(u.last_offset(), 130);
    ASSERT_FALSE(u.close());

    // A zero-filled tail is not a valid entry either (last offset 0 is below the base 100).
    append_bytes(path(), std::vector<uint8_t>(68, 0));
    auto v = open();
    EXPECT_EQ(v.entries(), 4u);
    EXPECT_EQ(fs::file_size(path()), 136u);
}

TEST_F(TransactionIndexTest, TruncateToDropsEntriesFromAnOffset) {
    auto t = open();
    for (int i = 0; i < 300; ++i) ASSERT_FALSE(t.append({i, 100 + i, 100 + 2 * i, 0}));
    ASSERT_FALSE(t.truncate_to(1000));  // past the end: nothing
    EXPECT_EQ(t.entries(), 300u);
    ASSERT_FALSE(t.truncate_to(401));  // entries with last offset >= 401 go: 150 of them stay
    EXPECT_EQ(t.entries(), 151u);
    EXPECT_EQ(t.last_offset(), 400);
    EXPECT_EQ(fs::file_size(path()), 151u * 34);
    ASSERT_FALSE(t.truncate_to(0));
    EXPECT_EQ(t.entries(), 0u);
    EXPECT_FALSE(t.last_offset());
    ASSERT_FALSE(t.append({1, 100, 100, 101}));  // usable again
}

TEST_F(TransactionIndexTest, CollectFollowsKafkasRules) {
    auto t = open();
    // producer, first, last (marker), last stable offset
    ASSERT_FALSE(t.append({1, 100, 110, 105}));  // another transaction still open from 105
    ASSERT_FALSE(t.append({2, 105, 120, 121}));
    ASSERT_FALSE(t.append({3, 122, 130, 131}));
    std::vector<aborted_txn> out;
    auto complete = t.collect(111, 121, out);
    ASSERT_TRUE(complete);
    EXPECT_TRUE(*complete);  // entry 2's LSO 121 reaches the upper bound
    EXPECT_EQ(out, (std::vector<aborted_txn>{{2, 105, 120, 121}}));

    out.clear();
    complete = t.collect(100, 106, out);  // overlaps 1 and 2
    ASSERT_TRUE(complete);
    EXPECT_TRUE(*complete);
    EXPECT_EQ(out.size(), 2u);

    out.clear();
    complete = t.collect(125, 200, out);  // no LSO reaches 200: the next segment may hold more
    ASSERT_TRUE(complete);
    EXPECT_FALSE(*complete);
    EXPECT_EQ(out, (std::vector<aborted_txn>{{3, 122, 130, 131}}));

    out.clear();
    complete = t.collect(131, 200, out);
    ASSERT_TRUE(complete);
    EXPECT_TRUE(out.empty());
}

TEST_F(TransactionIndexTest, MergeAddsOnlyLaterEntries) {
    auto t = open();
    ASSERT_FALSE(t.append({1, 100, 110, 111}));
    auto other = transaction_index::open(dir_.path() / "00000000000000000200.txnindex", 200);
    ASSERT_TRUE(other);
    ASSERT_FALSE(other->append({2, 150, 205, 206}));
    ASSERT_FALSE(other->append({3, 206, 210, 211}));
    ASSERT_FALSE(t.merge_from(*other));
    ASSERT_FALSE(t.merge_from(*other));  // a repeated merge (after a crash) adds nothing
    auto all = t.all();
    ASSERT_TRUE(all);
    EXPECT_EQ(*all, (std::vector<aborted_txn>{
                        {1, 100, 110, 111}, {2, 150, 205, 206}, {3, 206, 210, 211}}));
}

}  // namespace
}  // namespace runnel::storage
