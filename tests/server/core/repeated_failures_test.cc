// repeated_failures: a periodic task's failure is logged once per streak.
#include "server/core/repeated_failures.h"

#include "storage/errors.h"

#include <gtest/gtest.h>

namespace runnel::server {
namespace {

TEST(RepeatedFailures, LogsTheFirstFailureOfAStreakAndTheRecovery) {
    repeated_failures f;
    const auto full = make_error_code(storage::errc::no_space);
    const auto io = make_error_code(storage::errc::io_error);
    EXPECT_FALSE(f.succeeded("cp"));  // never failed: nothing to report
    EXPECT_TRUE(f.failed("cp", full));
    EXPECT_FALSE(f.failed("cp", full));  // same failure again: quiet
    EXPECT_FALSE(f.failed("cp", full));
    EXPECT_TRUE(f.failed("other", full));  // subjects are separate
    EXPECT_TRUE(f.failed("cp", io));       // a different failure is news
    EXPECT_FALSE(f.failed("cp", io));
    EXPECT_TRUE(f.is_failing("cp"));
    EXPECT_TRUE(f.succeeded("cp"));  // works again: said once
    EXPECT_FALSE(f.succeeded("cp"));
    EXPECT_FALSE(f.is_failing("cp"));
    EXPECT_TRUE(f.failed("cp", full));  // a new streak is logged again
}

}  // namespace
}  // namespace runnel::server
