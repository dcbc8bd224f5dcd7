// Runs every stage task of a pipeline in memory: topics are vectors of records, each task reads
// its input partition in order and its output is appended where it says. The broker's runtime
// does the same through real partitions and transactions; this drives the tasks alone, so their
// output can be checked record by record.
#pragma once

#include "streams/plan/pipeline_plan.h"
#include "streams/runtime/stage_task.h"
#include "streams/spec/pipeline_yaml.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace runnel::streams::testing {

class pipeline_harness {
  public:
    // `partitions`: of every source topic and of every internal topic keyed by group.
    pipeline_harness(const std::string& yaml, int32_t partitions) : partitions_(partitions) {
        auto r = load_pipeline(yaml, "test.yaml");
        EXPECT_TRUE(r.spec) << r.error;
        spec_ = std::make_unique<pipeline_spec>(*r.spec);
        plan_ = plan_pipeline(*spec_);
        int32_t upstream = partitions;
        for (const auto& stage : plan_.stages) {
            const int32_t tasks =
                stage.reads_sources
                    ? partitions * int32_t(spec_->source_topics.size())
                    : (plan_.stages[stage.index - 1].next_is_single_partition ? 1 : partitions);
            for (int32_t i = 0; i < tasks; ++i) {
                auto& t = tasks_.emplace_back();
                t.stage = stage.index;
                t.store = std::make_unique<memory_store>();
                t.task = std::make_unique<stage_task>(*spec_, plan_.stages[stage.index], i,
                                                      upstream, partitions, *t.store);
                if (stage.reads_sources) {
                    t.topic = spec_->source_topics[i / partitions];
                    t.partition = i % partitions;
                } else {
                    t.topic = stage.input_topic;
                    t.partition = i;
                }
            }
            upstream = tasks;
        }
    }

    void produce(const std::string& topic, int32_t partition, int64_t timestamp,
                 std::optional<std::string> value, std::optional<std::string> key = {}) {
        topic_partition(topic, partition)
            .push_back({topic, partition, std::move(key), std::move(value), timestamp, {}});
    }

    // Runs the tasks until nothing new is written; `punctuate_every` records a task punctuates
    // (and a round ends with every task punctuating).
    void run(size_t punctuate_every = 1000000) {
        for (int round = 0; round < 100; ++round) {
            size_t before = total_records();
            for (auto& t : tasks_) {
                auto& input = topic_partition(t.topic, t.partition);
                while (t.read < input.size()) {
                    const auto& p = input[t.read++];
                    std::vector<produced_record> out;
                    t.task->process({p.key, p.value, p.timestamp, p.headers}, wall_, out);
                    deliver(std::move(out));
                    if (++t.since_punctuate >= punctuate_every) {
                        t.since_punctuate = 0;
                        std::vector<produced_record> more;
                        t.task->punctuate(wall_, more);
                        deliver(std::move(more));
                    }
                }
            }
            for (auto& t : tasks_) {
                std::vector<produced_record> out;
                t.task->punctuate(wall_, out);
                deliver(std::move(out));
            }
            if (total_records() == before) return;
        }
        ADD_FAILURE() << "the pipeline did not settle";
    }

    // Values written to `topic` (all partitions, in order of partition then offset).
    std::vector<std::string> values(const std::string& topic) {
        std::vector<std::string> out;
        for (auto& [tp, records] : topics_) {
            if (tp.first != topic) continue;
            for (const auto& r : records) {
                if (r.value) out.push_back(*r.value);
            }
        }
        return out;
    }
    std::vector<produced_record> records(const std::string& topic) {
        std::vector<produced_record> out;
        for (auto& [tp, records] : topics_) {
            if (tp.first == topic) out.insert(out.end(), records.begin(), records.end());
        }
        return out;
    }

    task_counters counters() const {
        task_counters sum;
        for (const auto& t : tasks_) {
            const auto& c = t.task->counters();
            sum.records_in += c.records_in;
            sum.late += c.late;
            sum.dead_lettered += c.dead_lettered;
            sum.unrouted += c.unrouted;
            sum.duplicates += c.duplicates;
        }
        return sum;
    }

    void advance_wall(int64_t ms) { wall_ += ms; }
    const pipeline_plan& plan() const { return plan_; }

  private:
    struct task_slot {
        size_t stage = 0;
        std::string topic;
        int32_t partition = 0;
        size_t read = 0;
        size_t since_punctuate = 0;
        std::unique_ptr<memory_store> store;
        std::unique_ptr<stage_task> task;
    };

    std::vector<produced_record>& topic_partition(const std::string& topic, int32_t partition) {
        return topics_[{topic, partition}];
    }

    void deliver(std::vector<produced_record> out) {
        for (auto& r : out) {
            int32_t p = r.partition < 0 ? 0 : r.partition;
            topic_partition(r.topic, p).push_back(std::move(r));
        }
    }

    size_t total_records() const {
        size_t n = 0;
        for (const auto& [tp, records] : topics_) n += records.size();
        return n;
    }

    int32_t partitions_;
    std::unique_ptr<pipeline_spec> spec_;
    pipeline_plan plan_;
    std::vector<task_slot> tasks_;
    std::map<std::pair<std::string, int32_t>, std::vector<produced_record>> topics_;
    int64_t wall_ = 1'000'000;
};

}  // namespace runnel::streams::testing
