// The steps that look at one record at a time: filter, split, flat_map, map, parse, rekey and
// route. Each turns one record into none, one or several.
#pragma once

#include "streams/records/stream_record.h"
#include "streams/spec/pipeline_spec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace runnel::streams {

// What a step produces besides the records that go on to the next step.
struct side_outputs {
    std::vector<output_record> routed;  // route: records bound for their rule's topic
    struct dead_letter {
        stream_record record;  // as it reached the step that could not take it
        std::string reason;
    };
    std::vector<dead_letter> dead;
    uint64_t unrouted = 0;  // records route matched to no rule and no otherwise
};

bool is_stateless(const step& s);

// Runs the stateless step `s` on `r`, appending what continues to `out`.
void run_stateless(const step& s, stream_record r, std::vector<stream_record>& out,
                   side_outputs& side);

}  // namespace runnel::streams
