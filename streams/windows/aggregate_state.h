// The running result of one group (in one window): a count and one accumulator per aggregate
// function, mergeable (session windows merge) and stored compactly (a few bytes for a count).
#pragma once

#include "streams/records/stream_record.h"
#include "streams/spec/pipeline_spec.h"

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::streams {

class aggregate_state {
  public:
    explicit aggregate_state(const aggregate_step& spec);

    // Adds one record. Functions over a field take numbers only (sum, min, max, avg) and skip
    // records whose field is missing or not a number, as SQL skips NULL; count_distinct counts
    // distinct values of any type.
    void add(const stream_record& r);
    void merge(const aggregate_state& other);

    // {"count": n, "sum": ..., ...}: one field per function, named by its output.
    json results() const;
    int64_t count() const { return count_; }

    std::string encode() const;
    // nullopt when `bytes` is not an encoding of this aggregate (a changed pipeline file).
    static std::optional<aggregate_state> decode(const aggregate_step& spec,
                                                 std::string_view bytes);

  private:
    struct accumulator {
        double sum = 0;
        int64_t values = 0;  // numbers seen (avg's divisor)
        double min = 0, max = 0;
        std::set<std::string> distinct;
    };
    const aggregate_step* spec_;
    int64_t count_ = 0;
    std::vector<accumulator> accumulators_;  // one per spec_->functions entry
};

}  // namespace runnel::streams
