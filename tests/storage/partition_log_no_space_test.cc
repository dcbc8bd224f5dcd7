// partition_log when the disk has no room: a failed append or segment roll answers no_space,
// takes no offsets, leaves no half-made files, keeps the active segment usable, and the log goes
// on once space returns. RLIMIT_FSIZE (file_size_limit.h) stands in for a full disk.
#include "file_size_limit.h"
#include "partition_log_fixture.h"

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
using test::file_size_limit;
using test::make_batch;
using test::split_batches;

class PartitionLogNoSpaceTest : public test::PartitionLogFixture {
  protected:
    void SetUp() override {
        config_.segment_bytes = 2048;
        config_.index_interval_bytes = 100;  // index entries get written too
        open_log();
        for (int i = 0; i < 6; ++i) stored_.push_back(append(1, 1000 + i, 200));
        ASSERT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{0}));
        ASSERT_LT(log_->size_bytes(), 2048 - 300);
    }

    std::vector<uint8_t> stored_bytes() const {
        std::vector<uint8_t> v;
        for (const auto& b : stored_) v.insert(v.end(), b.begin(), b.end());
        return v;
    }
    std::vector<std::vector<uint8_t>> stored_;
};

TEST_F(PartitionLogNoSpaceTest, FailedAppendAfterARollTakesNoOffsets) {
    auto big = make_batch(3, 2000, 200);  // does not fit the active segment: a roll is due
    {
        // The roll itself needs no room (index files start empty; they are written when the
        // segment is sealed or flushed), the batch does.
        file_size_limit limit(400);
        auto r = log_->append(big, std::nullopt);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), make_error_code(errc::no_space));
        EXPECT_EQ(log_->segment_base_offsets(), (std::vector<int64_t>{0, 6}));
        EXPECT_EQ(log_->log_end_offset(), 6);
        EXPECT_EQ(fs::file_size(file(6, log_suffix)), 0u) << "half a batch was left behind";
        EXPECT_EQ(read_all(), stored_bytes());

        // The new active segment takes what fits, at the next offset.
        stored_.push_back(append(1, 1500, 200));
        EXPECT_EQ(log_->log_end_offset(), 7);
        EXPECT_EQ(read_all(), stored_bytes());

        // Still no room: the same answer.
        auto again = log_->append(big, std::nullopt);
        ASSERT_FALSE(again);
        EXPECT_EQ(again.error(), make_error_code(errc::no_space));
    }

    // Space is back: the batch lands at the next offset.
    auto r = log_->append(big, std::nullopt);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->base_offset, 7);
    stored_.push_back(big);
    EXPECT_EQ(read_all(), stored_bytes());
    // Offset lookups through the old segment's indexes still work.
    for (int64_t o = 0; o < 10; ++o) {
        auto one = log_->read(o, 1, true);
        ASSERT_TRUE(one);
        EXPECT_LE(split_batches(*one->bytes).at(0).base_offset, o);
    }

    // A full scan after reopening finds exactly the same log.
    close_log();
    open_log(open_options{.recovery_point = 0});
    EXPECT_EQ(log_->log_end_offset(), 10);
    EXPECT_EQ(read_all(), stored_bytes());
}

TEST_F(PartitionLogNoSpaceTest, FailedAppendTakesNoOffsetsAndLeavesTheFileAsItWas) {
    const int64_t before = log_->size_bytes();
    auto b = make_batch(2, 3000, 100);  // fits the active segment: no roll
    {
        file_size_limit limit(before + 50);  // part of the batch would land
        auto r = log_->append(b, std::nullopt);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), make_error_code(errc::no_space));
    }
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(file(0, log_suffix))), before);
    EXPECT_EQ(log_->size_bytes(), before);
    EXPECT_EQ(log_->log_end_offset(), 6);
    EXPECT_EQ(read_all(), stored_bytes());

    auto r = log_->append(b, std::nullopt);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->base_offset, 6);
    stored_.push_back(b);
    close_log();
    open_log(open_options{.recovery_point = 0});
    EXPECT_EQ(read_all(), stored_bytes());
}

}  // namespace
}  // namespace runnel::storage
