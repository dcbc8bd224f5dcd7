// What the broker's record validation costs on this machine, without sockets or disk:
// protocol::validate_batches over --batches copies of the load generator's batch (--records
// records of --record-bytes each) against the CRC-32C of the same bytes, which is all the produce
// floor checks. Prints a JSON line with both in CPU seconds per GB and the per-record
// difference in ns; the best of --repeats rounds of --rounds passes each.
#include <chrono>
#include <cstdio>
#include <vector>

#include "bench/load_batch.h"
#include "bench/options.h"
#include "protocol/crc32c.h"
#include "protocol/record_batch.h"

using namespace runnel;

namespace {

template <class F>
double best_seconds(int64_t repeats, F&& round) {
    double best = 1e30;
    for (int64_t i = 0; i < repeats; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        round();
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    bench::options opt(argc, argv, {"records", "record-bytes", "batches", "rounds", "repeats"});
    const auto records = static_cast<int>(opt.integer("records", 640));
    const auto batch =
        bench::build_load_batch(records, static_cast<int>(opt.integer("record-bytes", 100)));
    std::vector<uint8_t> bytes;
    for (int64_t i = 0; i < opt.integer("batches", 16); ++i)
        bytes.insert(bytes.end(), batch.bytes.begin(), batch.bytes.end());
    const int64_t rounds = opt.integer("rounds", 300), repeats = opt.integer("repeats", 7);
    int64_t checked = 0;
    uint64_t crc_sum = 0;  // printed, so the CRC loop is not optimised away
    const double validate = best_seconds(repeats, [&] {
        for (int64_t r = 0; r < rounds; ++r) {
            auto v = protocol::validate_batches(bytes, 1 << 30);
            if (v.error != protocol::error_code::none) std::abort();
            checked += v.record_count;
        }
    });
    const double crc_only = best_seconds(repeats, [&] {
        for (int64_t r = 0; r < rounds; ++r)
            crc_sum += protocol::crc32c(bytes.data(), bytes.size());
    });
    const double gb = double(bytes.size()) * double(rounds) / 1e9;
    const double records_per_round_set =
        double(bytes.size() / batch.bytes.size()) * records * rounds;
    std::printf(
        "{\"validate_s_per_gb\": %.4f, \"crc_s_per_gb\": %.4f, "
        "\"records_ns_each\": %.2f, \"checked\": %lld, \"crc_sum\": %llu}\n",
        validate / gb, crc_only / gb, (validate - crc_only) / records_per_round_set * 1e9,
        static_cast<long long>(checked), static_cast<unsigned long long>(crc_sum));
}
