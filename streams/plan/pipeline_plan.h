// A pipeline cut into stages at every step that keeps state by key. Records reach a stateful
// step through an internal topic partitioned by that step's key (as Kafka Streams repartitions),
// so one task per partition holds every record of its keys; "top" gathers all of a window's
// results in a topic of one partition.
//
//   source topics --stage 0--> <pipeline>-stage1 --stage 1--> <pipeline>-stage2 --> ... sink
#pragma once

#include "streams/spec/pipeline_spec.h"

#include <optional>
#include <string>
#include <vector>

namespace runnel::streams {

struct stage_plan {
    size_t index = 0;
    bool reads_sources = false;  // else it reads `input_topic`, written by the stage before
    std::string input_topic;     // internal topic (stages after the first)
    size_t first_step = 0;       // the stage runs spec.steps[first_step, end_step)
    size_t end_step = 0;

    // Where the stage's results go: the next stage's internal topic, keyed by `next_key`
    // (nullopt for top's input: keyed by window, one partition), or the pipeline's sink /
    // route topics when this is the last stage.
    std::optional<std::string> next_topic;
    std::optional<field_ref> next_key;
    bool next_is_single_partition = false;
    // The window whose lateness this stage judges before handing records on (the next stage
    // aggregates in it).
    std::optional<window_spec> next_window;
};

struct pipeline_plan {
    std::vector<stage_plan> stages;
};

pipeline_plan plan_pipeline(const pipeline_spec& spec);

// Internal topic names: the input of stage k (k >= 1) and a stateful stage's changelog.
std::string stage_topic(const std::string& pipeline, size_t stage);
std::string changelog_topic(const std::string& pipeline, size_t stage);

}  // namespace runnel::streams
