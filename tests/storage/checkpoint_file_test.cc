#include "storage/checkpoint_file.h"
#include "storage/clean_shutdown.h"

#include "file_size_limit.h"
#include "test_batches.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

namespace runnel::storage {
namespace {

namespace fs = std::filesystem;
using test::temp_dir;

std::string file_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text(const fs::path& p, const std::string& s) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << s;
}

TEST(Checkpoint, WritesKafkaFormat) {
    temp_dir d;
    checkpoint_file f(d.path() / recovery_point_checkpoint_file_name);
    checkpoint_map m{{{"orders", 1}, 99}, {{"orders", 0}, 1234}, {{"__consumer_offsets", 7}, 0}};
    ASSERT_FALSE(f.write(m));
    EXPECT_EQ(file_text(f.path()), "0\n3\n__consumer_offsets 7 0\norders 0 1234\norders 1 99\n");
    EXPECT_FALSE(fs::exists(d.path() / "recovery-point-offset-checkpoint.tmp"));
    auto back = f.read();
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, m);

    ASSERT_FALSE(f.write({}));  // replaced, not appended
    EXPECT_EQ(file_text(f.path()), "0\n0\n");
    back = f.read();
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->empty());
}

TEST(Checkpoint, FileNamesAreKafkas) {
    EXPECT_EQ(recovery_point_checkpoint_file_name, "recovery-point-offset-checkpoint");
    EXPECT_EQ(log_start_offset_checkpoint_file_name, "log-start-offset-checkpoint");
    EXPECT_EQ(clean_shutdown_file_name, ".kafka_cleanshutdown");
}

TEST(Checkpoint, MissingOrEmptyFileIsEmpty) {
    temp_dir d;
    checkpoint_file f(d.path() / log_start_offset_checkpoint_file_name);
    auto m = f.read();
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->empty());
    write_text(f.path(), "");
    m = f.read();
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->empty());
    write_text(f.path(), "0\n");  // Kafka's reader stops after a lone version line
    m = f.read();
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->empty());
}

TEST(Checkpoint, ParsesLikeKafka) {
    // Any whitespace between fields, \r\n endings, no final newline, repeated partitions.
    auto m = parse_checkpoint("0\r\n3\r\nt  0\t5\r\nt 1 -1 \nt 0 7");
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, (checkpoint_map{{{"t", 0}, 7}, {{"t", 1}, -1}}));
    auto big = parse_checkpoint("0\n1\nmy.topic-x 2147483647 9223372036854775807\n");
    ASSERT_TRUE(big);
    EXPECT_EQ(big->at({"my.topic-x", 2147483647}), INT64_MAX);

    for (const char* bad : {
             "1\n0\n",                  // unknown version
             "x\n0\n",                  // version not a number
             "0\nx\n",                  // count not a number
             "0\n2\nt 0 1\n",           // fewer entries than the count
             "0\n0\nt 0 1\n",           // more entries than the count
             "0\n1\nt 0\n",             // two fields
             "0\n1\nt 0 1 2\n",         // four fields
             "0\n1\n t 0 1\n",          // leading whitespace makes an empty first field
             "0\n1\nt x 1\n",           // partition not a number
             "0\n1\nt 0 1.5\n",         // offset not an integer
             "0\n1\nt 2147483648 1\n",  // partition overflows an int
             "0\n1\n\n",                // empty line
         }) {
        EXPECT_EQ(parse_checkpoint(bad).error(), make_error_code(errc::corrupt_metadata)) << bad;
    }
}

TEST(Checkpoint, CorruptFileIsAnError) {
    temp_dir d;
    checkpoint_file f(d.path() / recovery_point_checkpoint_file_name);
    write_text(f.path(), "0\n2\norders 0 5\n");
    EXPECT_EQ(f.read().error(), make_error_code(errc::corrupt_metadata));
}

TEST(Checkpoint, FailedWriteKeepsTheOldFileAndLeavesNoTempFile) {
    temp_dir d;
    checkpoint_file f(d.path() / recovery_point_checkpoint_file_name);
    checkpoint_map old{{{"orders", 0}, 5}};
    ASSERT_FALSE(f.write(old));
    checkpoint_map big;
    for (int32_t p = 0; p < 200; ++p) big[{"orders", p}] = 1'000'000 + p;
    {
        test::file_size_limit limit(256);  // no room for the new content (a full disk)
        EXPECT_EQ(f.write(big), make_error_code(errc::no_space));
    }
    auto back = f.read();
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, old);
    EXPECT_FALSE(fs::exists(d.path() / "recovery-point-offset-checkpoint.tmp"));
    ASSERT_FALSE(f.write(big));  // and it works again once there is room
    EXPECT_EQ(*f.read(), big);
}

TEST(CleanShutdown, MarkerThatCannotBeWrittenLeavesNothing) {
    temp_dir d;
    {
        test::file_size_limit limit(8);
        EXPECT_EQ(write_clean_shutdown_marker(d.path()), make_error_code(errc::no_space));
    }
    EXPECT_TRUE(fs::is_empty(d.path()));
    auto taken = take_clean_shutdown_marker(d.path());
    ASSERT_TRUE(taken);
    EXPECT_FALSE(*taken);
}

TEST(CleanShutdown, MarkerIsWrittenAndTakenOnce) {
    temp_dir d;
    auto taken = take_clean_shutdown_marker(d.path());
    ASSERT_TRUE(taken);
    EXPECT_FALSE(*taken);
    ASSERT_FALSE(write_clean_shutdown_marker(d.path()));
    EXPECT_EQ(file_text(d.path() / ".kafka_cleanshutdown"), R"({"version":0,"brokerEpoch":-1})");
    ASSERT_FALSE(write_clean_shutdown_marker(d.path(), 42));
    EXPECT_EQ(file_text(d.path() / ".kafka_cleanshutdown"), R"({"version":0,"brokerEpoch":42})");
    taken = take_clean_shutdown_marker(d.path());
    ASSERT_TRUE(taken);
    EXPECT_TRUE(*taken);
    EXPECT_FALSE(fs::exists(d.path() / ".kafka_cleanshutdown"));
    taken = take_clean_shutdown_marker(d.path());
    ASSERT_TRUE(taken);
    EXPECT_FALSE(*taken);
}

}  // namespace
}  // namespace runnel::storage
