#include "streams/plan/pipeline_plan.h"

namespace runnel::streams {

std::string stage_topic(const std::string& pipeline, size_t stage) {
    return "runnel-pipeline-" + pipeline + "-stage" + std::to_string(stage);
}

std::string changelog_topic(const std::string& pipeline, size_t stage) {
    return "runnel-pipeline-" + pipeline + "-stage" + std::to_string(stage) + "-changelog";
}

pipeline_plan plan_pipeline(const pipeline_spec& spec) {
    pipeline_plan plan;
    stage_plan current;
    current.reads_sources = true;
    for (size_t i = 0; i < spec.steps.size(); ++i) {
        const auto& s = spec.steps[i];
        const auto* aggregate = std::get_if<aggregate_step>(&s);
        const auto* dedupe = std::get_if<dedupe_step>(&s);
        const bool top = std::holds_alternative<top_step>(s);
        if (!aggregate && !dedupe && !top) continue;
        // A new stage starts here: the current one ends before this step and feeds it.
        current.end_step = i;
        current.next_topic = stage_topic(spec.name, plan.stages.size() + 1);
        if (aggregate) {
            current.next_key = aggregate->by;
            current.next_window = aggregate->window;
        } else if (dedupe) {
            current.next_key = dedupe->by;
        } else {
            current.next_is_single_partition = true;
        }
        plan.stages.push_back(current);
        stage_plan next;
        next.index = plan.stages.size();
        next.input_topic = *current.next_topic;
        next.first_step = i;
        current = next;
    }
    current.end_step = spec.steps.size();
    plan.stages.push_back(current);
    return plan;
}

}  // namespace runnel::streams
