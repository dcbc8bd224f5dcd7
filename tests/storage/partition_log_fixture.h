// A partition_log in a temp dir with a fake clock, for the recovery and retention tests.
#pragma once

#include "storage/partition_log.h"

#include "test_batches.h"

#include <gtest/gtest.h>

#include <fstream>

namespace runnel::storage::test {

class PartitionLogFixture : public ::testing::Test {
  protected:
    void open_log(open_options options = {}) {
        auto l = partition_log::open(path(), config_, options);
        ASSERT_TRUE(l) << l.error().message();
        log_ = std::move(*l);
        log_->set_clock([this] { return now_; });
    }
    void close_log() {
        ASSERT_FALSE(log_->close());
        log_.reset();
    }
    std::filesystem::path path() const { return dir_.path() / "orders-3"; }
    std::filesystem::path file(int64_t base, std::string_view suffix) const {
        return path() / segment_file_name(base, suffix);
    }

    // Appends one batch; returns its stored bytes.
    std::vector<uint8_t> append(int32_t records, int64_t ts, size_t value_size = 30) {
        auto b = make_batch(records, ts, value_size);
        auto info = log_->append(b, std::nullopt);
        EXPECT_TRUE(info) << info.error().message();
        return b;
    }

    // Appends one batch of `records`; returns what append reported.
    append_info log_append(int32_t records) {
        auto b = make_batch(records, now_, 30);
        auto info = log_->append(b, std::nullopt);
        EXPECT_TRUE(info) << info.error().message();
        return info ? *info : append_info{};
    }

    std::vector<uint8_t> read_all() {
        auto r = log_->read(log_->log_start_offset(), 1 << 30, true);
        EXPECT_TRUE(r) << r.error().message();
        return r ? *r->bytes : std::vector<uint8_t>{};
    }

    // Leaves what a crash during a cleaner swap leaves: cleans a copy of the closed log until the
    // pass ends, then copies the cleaned first segment back as <first base>.log.swap. Returns the
    // copy's segment base offsets after cleaning (empty after a failure, which is reported).
    std::vector<int64_t> leave_swap_file(const cleaning_options& options) {
        const auto copy = dir_.path() / "copy";
        std::filesystem::copy(path(), copy, std::filesystem::copy_options::recursive);
        std::vector<int64_t> bases;
        {
            auto l = partition_log::open(copy, config_, {});
            if (!l) {
                ADD_FAILURE() << "open the copy: " << l.error().message();
                return {};
            }
            (*l)->set_clock([this] { return now_; });
            for (;;) {
                auto r = (*l)->clean(options, now_);
                if (!r) {
                    ADD_FAILURE() << "clean the copy: " << r.error().message();
                    return {};
                }
                if (r->pass_done) break;
            }
            bases = (*l)->segment_base_offsets();
            EXPECT_FALSE((*l)->close());
        }
        const auto first = segment_file_name(bases.front(), log_suffix);
        std::filesystem::copy_file(copy / first, path() / (first + ".swap"));
        return bases;
    }

    // XORs one byte of a file.
    static void flip_byte(const std::filesystem::path& p, int64_t at) {
        std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(at);
        char c = 0;
        f.get(c);
        f.seekp(at);
        f.put(static_cast<char>(c ^ 0x5a));
    }

    temp_dir dir_;
    log_config config_{};
    std::unique_ptr<partition_log> log_;
    int64_t now_ = 1'700'000'000'000;
};

}  // namespace runnel::storage::test
