#include "pipeline_harness.h"

#include <gtest/gtest.h>

namespace runnel::streams {
namespace {

using testing::pipeline_harness;

// The seed's hashtag job, scaled to milliseconds: windows of 50 ms every 20 ms, grace 3 ms,
// records up to 3 ms out of order, the top 2 of each window.
const char* hashtags = R"(
pipeline: tags
source: {topic: tweets, format: text}
event_time: {from: record_timestamp, max_out_of_order: 3ms}
steps:
  - split: {on: ",2021", keep: first}
  - flat_map: {split: " "}
  - filter: {starts_with: "#"}
  - window: {type: hopping, size: 50ms, advance: 20ms, grace: 3ms}
  - count: {by: value}
  - top: {n: 2, by: count}
emit: on_close
late: {to: tweets.late}
sink: {topic: top, format: json}
)";

void tweets(pipeline_harness& h) {
    h.produce("tweets", 0, 1, "#a #b,2021-04-05");
    h.produce("tweets", 1, 2, "#b,2021-04-05");
    h.produce("tweets", 0, 5, "#a,2021");
    h.produce("tweets", 1, 21, "#b #c,2021");
    h.produce("tweets", 0, 25, "#c #a,2021");
    h.produce("tweets", 1, 41, "#c,2021");
    h.produce("tweets", 0, 70, "#z,2021");
    h.produce("tweets", 1, 80, "#z,2021");
    h.produce("tweets", 0, 10, "#late,2021");  // partition 0 is at 70: [0,50) closed at 53
}

std::string top(int64_t start, const std::string& entries) {
    return R"({"top":[)" + entries + R"(],"window":{"end":)" + std::to_string(start + 50) +
           R"(,"start":)" + std::to_string(start) + "}}";
}

const std::vector<std::string> first_windows = {
    top(-40, R"({"count":2,"key":"#a"},{"count":2,"key":"#b"})"),
    top(-20, R"({"count":3,"key":"#a"},{"count":3,"key":"#b"})"),
    top(0, R"({"count":3,"key":"#a"},{"count":3,"key":"#b"})"),
};

TEST(StageTaskTest, TheHashtagJobGivesOneTopListPerClosedWindow) {
    pipeline_harness h(hashtags, 2);
    ASSERT_EQ(h.plan().stages.size(), 3u);  // text steps | count by hashtag | top per window
    tweets(h);
    h.run();
    // The watermark is the smaller of the partitions': 70 - 3. Windows ending by 64 closed.
    EXPECT_EQ(h.values("top"), first_windows);
    EXPECT_EQ(h.values("tweets.late"), std::vector<std::string>{"#late"});
    EXPECT_EQ(h.counters().late, 1u);

    h.produce("tweets", 0, 200, "#end,2021");
    h.produce("tweets", 1, 200, "#end,2021");
    h.run();
    auto all = first_windows;
    all.push_back(top(20, R"({"count":3,"key":"#c"},{"count":1,"key":"#a"})"));
    all.push_back(top(40, R"({"count":2,"key":"#z"},{"count":1,"key":"#c"})"));
    all.push_back(top(60, R"({"count":2,"key":"#z"})"));
    all.push_back(top(80, R"({"count":1,"key":"#z"})"));
    EXPECT_EQ(h.values("top"), all);
}

TEST(StageTaskTest, OutputDoesNotDependOnWhenTasksPunctuate) {
    pipeline_harness often(hashtags, 2), rarely(hashtags, 2);
    tweets(often);
    tweets(rarely);
    often.run(1);
    rarely.run();
    EXPECT_EQ(often.values("top"), first_windows);
    EXPECT_EQ(rarely.values("top"), first_windows);
}

TEST(StageTaskTest, AnIdlePartitionStopsHoldingTheWatermarkBack) {
    pipeline_harness h(R"(
pipeline: counts
source: {topic: in}
event_time: {max_out_of_order: 0ms, idle_timeout: 5s}
steps:
  - window: {type: tumbling, size: 10ms, grace: 0ms}
  - count: {by: value}
sink: {topic: out}
)",
                       2);
    h.produce("in", 0, 1, "x");
    h.produce("in", 0, 30, "x");
    h.run();
    EXPECT_TRUE(h.values("out").empty());  // partition 1 has said nothing: no watermark
    h.advance_wall(5000);
    h.produce("in", 0, 31, "x");  // partition 0 goes on; partition 1 has been quiet for 5 s
    h.run();
    EXPECT_EQ(h.values("out"),
              std::vector<std::string>{R"({"count":1,"key":"x","window":{"end":10,"start":0}})"});
}

TEST(StageTaskTest, RoutingAndDeadLettersOfTheGameEvents) {
    pipeline_harness h(R"(
pipeline: game
source: {topic: events, format: json, schema: {event_type: string}}
steps:
  - route:
      - {when: {field: event_type, equals: purchase_sword}, to: swords}
      - {when: {field: event_type, equals: join_guild}, to: guilds}
dead_letter: events.bad
)",
                       1);
    h.produce("events", 0, 1, R"({"event_type": "purchase_sword", "user": "ann"})");
    h.produce("events", 0, 2, R"({"event_type": "join_guild"})");
    h.produce("events", 0, 3, R"({"event_type": "default"})");
    h.produce("events", 0, 4, "{oops", "k1");
    h.run();
    EXPECT_EQ(h.values("swords"),
              std::vector<std::string>{R"({"event_type":"purchase_sword","user":"ann"})"});
    EXPECT_EQ(h.values("guilds"), std::vector<std::string>{R"({"event_type":"join_guild"})"});
    auto bad = h.records("events.bad");
    ASSERT_EQ(bad.size(), 1u);
    EXPECT_EQ(bad[0].value, "{oops");  // the bytes as they came
    EXPECT_EQ(bad[0].key, "k1");
    EXPECT_EQ(bad[0].headers.at(0),
              (std::pair<std::string, std::string>{"runnel-error", "not valid JSON"}));
    EXPECT_EQ(h.counters().unrouted, 1u);
}

TEST(StageTaskTest, DedupeWithinASpanAcrossPartitions) {
    pipeline_harness h(R"(
pipeline: once
source: {topic: clicks, format: json}
steps:
  - dedupe: {by: value.id, within: 10ms}
  - map: {field: id}
sink: {topic: unique, format: text}
)",
                       2);
    h.produce("clicks", 0, 1, R"({"id": "a"})");
    h.produce("clicks", 1, 2, R"({"id": "a"})");
    h.produce("clicks", 1, 3, R"({"id": "b"})");
    h.produce("clicks", 0, 20, R"({"id": "a"})");
    h.run();
    auto out = h.values("unique");
    std::sort(out.begin(), out.end());
    EXPECT_EQ(out, (std::vector<std::string>{"a", "a", "b"}));
    EXPECT_EQ(h.counters().duplicates, 1u);
}

TEST(StageTaskTest, EventTimeFromAFieldAndOnUpdateCounts) {
    pipeline_harness h(R"(
pipeline: plays
source: {topic: plays, format: json}
event_time: {from: at, max_out_of_order: 0ms}
steps:
  - window: {type: tumbling, size: 1m, grace: 0s}
  - count: {by: value.song}
emit: on_update
sink: {topic: plays-per-minute}
)",
                       1);
    h.produce("plays", 0, 999, R"({"song": "s1", "at": "2021-04-05T10:00:01Z"})");
    h.produce("plays", 0, 999, R"({"song": "s1", "at": "2021-04-05T10:00:59Z"})");
    h.produce("plays", 0, 999, R"({"song": "s1"})");
    h.run();
    auto out = h.values("plays-per-minute");
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(json::parse(out[1])["count"], 2);
    EXPECT_EQ(json::parse(out[1])["window"]["start"], 1617616800000);
    EXPECT_EQ(h.counters().dead_lettered, 1u);  // no event time
}

TEST(StageTaskTest, ProgressSavedWithACommitGivesARestartedTaskTheSameWatermark) {
    auto r = load_pipeline(hashtags, "test.yaml");
    ASSERT_TRUE(r.spec) << r.error;
    const auto plan = plan_pipeline(*r.spec);
    memory_store store;
    std::vector<produced_record> out;
    // A source task: its watermark comes from the largest event time it has read.
    stage_task source(*r.spec, plan.stages[0], 0, 0, 2, store);
    source.process({std::nullopt, std::string("#a,2021"), 100, {}}, 0, out);
    source.process({std::nullopt, std::string("#b,2021"), 40, {}}, 0, out);
    stage_task source_again(*r.spec, plan.stages[0], 0, 0, 2, store);
    EXPECT_EQ(source_again.watermark(), no_watermark);
    source_again.restore_progress(source.progress());
    EXPECT_EQ(source_again.watermark(), source.watermark());
    EXPECT_EQ(source.watermark(), 97);  // 100 - 3 ms out of order
    // A later stage: its watermark comes from its upstream tasks' markers.
    stage_task counts(*r.spec, plan.stages[1], 0, 2, 1, store);
    counts.process({std::nullopt, std::nullopt, 0, {{watermark_header, "0:70:0"}}}, 0, out);
    counts.process({std::nullopt, std::nullopt, 0, {{watermark_header, "1:50:0"}}}, 0, out);
    EXPECT_EQ(counts.watermark(), 50);
    stage_task counts_again(*r.spec, plan.stages[1], 0, 2, 1, store);
    counts_again.restore_progress(counts.progress());
    EXPECT_EQ(counts_again.watermark(), 50);
    // ...and goes on from there: task 1 catching up moves it to task 0's.
    counts_again.process({std::nullopt, std::nullopt, 0, {{watermark_header, "1:90:0"}}}, 0, out);
    EXPECT_EQ(counts_again.watermark(), 70);
}

}  // namespace
}  // namespace runnel::streams
