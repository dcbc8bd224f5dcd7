// A disk that is "full" from this process's point of view, without mounting anything: while a
// file_size_limit lives, RLIMIT_FSIZE stops every file at `bytes` (writes past it are cut short,
// then fail with EFBIG; growing a file past it with ftruncate fails with EFBIG) and SIGXFSZ is
// ignored so the process survives. Restores both on destruction.
#pragma once

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>

#include <cstdint>

namespace runnel::storage::test {

class file_size_limit {
  public:
    explicit file_size_limit(int64_t bytes) {
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        sigaction(SIGXFSZ, &ignore, &old_action_);
        getrlimit(RLIMIT_FSIZE, &saved_);
        rlimit small = saved_;
        small.rlim_cur = static_cast<rlim_t>(bytes);
        EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
    }
    ~file_size_limit() {
        setrlimit(RLIMIT_FSIZE, &saved_);
        sigaction(SIGXFSZ, &old_action_, nullptr);
    }
    file_size_limit(const file_size_limit&) = delete;
    file_size_limit& operator=(const file_size_limit&) = delete;

  private:
    rlimit saved_{};
    struct sigaction old_action_ {};
};

}  // namespace runnel::storage::test
