#include "streams/windows/windowed_aggregation.h"
#include "streams/spec/pipeline_yaml.h"
#include "streams/windows/top_by_window.h"
#include "streams/windows/watermark.h"

#include <gtest/gtest.h>

namespace runnel::streams {
namespace {

aggregate_step aggregate_of(const std::string& window_and_aggregate) {
    auto r = load_pipeline(
        "pipeline: p\nsource: {topic: t}\nsteps:\n" + window_and_aggregate + "sink: {topic: o}\n",
        "p.yaml");
    EXPECT_TRUE(r.spec) << r.error;
    return std::get<aggregate_step>(r.spec->steps.at(0));
}

stream_record at(int64_t t, json value) { return {nullptr, std::move(value), t, {}}; }

// "group@start-end=count" for each result, in order.
std::vector<std::string> summary(const std::vector<window_result>& results) {
    std::vector<std::string> out;
    for (const auto& r : results) {
        out.push_back(to_text(r.record.key) + "@" + std::to_string(r.window.start) + "-" +
                      std::to_string(r.window.end) + "=" + to_text(r.record.value["count"]));
    }
    return out;
}

TEST(WindowAssignmentTest, HoppingWindowsHoldingATime) {
    window_spec w{window_spec::type::hopping, millis(300), millis(120), {}, {}};
    auto ws = fixed_windows_of(w, 250);
    ASSERT_EQ(ws.size(), 3u);  // [0,300) [120,420) [240,540)
    EXPECT_EQ(ws[0].start, 0);
    EXPECT_EQ(ws[2].start, 240);
    EXPECT_EQ(fixed_windows_of(w, -1).back().start, -120);  // times before the epoch too
}

TEST(WindowedAggregationTest, TumblingCountsCloseOnceTheWatermarkPassesEndPlusGrace) {
    auto spec = aggregate_of(
        "  - window: {type: tumbling, size: 10ms, grace: 5ms}\n  - count: {by: value}\n");
    memory_store store;
    auto agg = make_windowed_aggregation(spec, store);
    std::vector<window_result> none;
    EXPECT_TRUE(agg->add(at(1, "a"), no_watermark, false, none));
    EXPECT_TRUE(agg->add(at(9, "a"), no_watermark, false, none));
    EXPECT_TRUE(agg->add(at(12, "b"), no_watermark, false, none));
    EXPECT_TRUE(agg->add(at(3, "b"), 14, false, none));  // [0,10) open until 15
    EXPECT_TRUE(none.empty());
    std::vector<window_result> finals;
    agg->close_until(14, true, finals);
    EXPECT_TRUE(finals.empty());
    agg->close_until(15, true, finals);
    EXPECT_EQ(summary(finals), (std::vector<std::string>{"a@0-10=2", "b@0-10=1"}));
    EXPECT_FALSE(agg->add(at(4, "a"), 15, false, none));  // late: its only window closed
    finals.clear();
    agg->close_until(25, true, finals);
    EXPECT_EQ(summary(finals), (std::vector<std::string>{"b@10-20=1"}));
    EXPECT_EQ(store.approximate_entries(), 0u);  // closed windows leave no state
}

TEST(WindowedAggregationTest, OnUpdateEmitsEveryChangeAndHoppingCountsInEachWindow) {
    auto spec = aggregate_of(
        "  - window: {type: hopping, size: 20ms, advance: 10ms, grace: 0ms}\n"
        "  - aggregate: {by: value.k, count: true, sum: value.n, max: value.n, avg: value.n}\n");
    memory_store store;
    auto agg = make_windowed_aggregation(spec, store);
    std::vector<window_result> updates;
    agg->add(at(15, json{{"k", "x"}, {"n", 4}}), no_watermark, true, updates);
    agg->add(at(16, json{{"k", "x"}, {"n", 2.5}}), no_watermark, true, updates);
    ASSERT_EQ(updates.size(), 4u);  // two windows per record
    const auto& last = updates.back().record.value;
    EXPECT_EQ(last["window"], (json{{"start", 10}, {"end", 30}}));
    EXPECT_EQ(last["count"], 2);
    EXPECT_EQ(last["sum"], 6.5);
    EXPECT_EQ(last["max"], 4);
    EXPECT_EQ(last["avg"], 3.25);
    EXPECT_EQ(last["key"], "x");
}

TEST(WindowedAggregationTest, SlidingWindowsEndAtEachRecord) {
    auto spec = aggregate_of(
        "  - window: {type: sliding, size: 10ms, grace: 0ms}\n  - count: {by: value}\n");
    memory_store store;
    auto agg = make_windowed_aggregation(spec, store);
    std::vector<window_result> none, finals;
    for (int64_t t : {0, 5, 10, 11, 30}) agg->add(at(t, "a"), no_watermark, false, none);
    agg->close_until(31, true, finals);
    // The window ending at each record reaches 10 ms back: [t-10, t].
    EXPECT_EQ(summary(finals), (std::vector<std::string>{"a@-10-1=1", "a@-5-6=2", "a@0-11=3",
                                                         "a@1-12=3", "a@20-31=1"}));
    EXPECT_EQ(store.approximate_entries(), 1u);  // the record at 30, for windows still to come
}

TEST(WindowedAggregationTest, SessionsMergeWhenARecordBridgesTheGap) {
    auto spec = aggregate_of(
        "  - window: {type: session, gap: 10ms, grace: 0ms}\n"
        "  - aggregate: {by: key, count: true, count_distinct: value}\n");
    memory_store store;
    auto agg = make_windowed_aggregation(spec, store);
    std::vector<window_result> none, finals;
    auto rec = [](int64_t t, const char* key, const char* v) {
        return stream_record{key, v, t, {}};
    };
    agg->add(rec(0, "u", "a"), no_watermark, false, none);
    agg->add(rec(25, "u", "b"), no_watermark, false, none);
    agg->add(rec(9, "u", "a"), no_watermark, false, none);   // joins [0]: 9 apart
    agg->add(rec(18, "u", "c"), no_watermark, false, none);  // bridges [0,9] and [25]
    agg->add(rec(3, "v", "z"), no_watermark, false, none);
    agg->close_until(100, true, finals);
    ASSERT_EQ(finals.size(), 2u);
    EXPECT_EQ(finals[0].record.key, "v");
    EXPECT_EQ(finals[1].record.value["window"], (json{{"start", 0}, {"end", 26}}));
    EXPECT_EQ(finals[1].record.value["count"], 4);
    EXPECT_EQ(finals[1].record.value["count_distinct"], 3);
    EXPECT_EQ(store.approximate_entries(), 0u);
    EXPECT_FALSE(agg->add(rec(50, "u", "a"), 100, false, none));  // late
}

TEST(WindowedAggregationTest, StateSurvivesInTheStore) {
    auto spec = aggregate_of(
        "  - window: {type: tumbling, size: 10ms, grace: 0ms}\n  - count: {by: value}\n");
    memory_store store;
    std::vector<window_result> none, finals;
    make_windowed_aggregation(spec, store)->add(at(1, "a"), no_watermark, false, none);
    // A new operator over the same store (a restarted task) carries on from it.
    auto again = make_windowed_aggregation(spec, store);
    again->add(at(2, "a"), no_watermark, false, none);
    again->close_until(10, true, finals);
    EXPECT_EQ(summary(finals), std::vector<std::string>{"a@0-10=2"});
}

TEST(TopByWindowTest, RanksGroupsPerWindowBestFirstWithTiesByKey) {
    top_step top{2, "count"};
    window_spec w{window_spec::type::tumbling, millis(10), millis(10), {}, millis(0)};
    memory_store store;
    top_by_window ranking(top, w, store);
    auto result = [](const char* key, int count, int64_t start) {
        json v = {
            {"window", {{"start", start}, {"end", start + 10}}}, {"key", key}, {"count", count}};
        return stream_record{key, v, start + 9, {}};
    };
    std::vector<stream_record> out;
    ranking.add(result("#b", 3, 0), no_watermark, false, out);
    ranking.add(result("#a", 3, 0), no_watermark, false, out);
    ranking.add(result("#c", 9, 0), no_watermark, false, out);
    ranking.add(result("#d", 1, 0), no_watermark, false, out);
    ranking.add(result("#z", 5, 10), no_watermark, false, out);
    EXPECT_TRUE(out.empty());
    ranking.close_until(10, true, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].value["top"],
              json::parse(R"([{"key":"#c","count":9},{"key":"#a","count":3}])"));
    EXPECT_EQ(out[0].key, (json{{"start", 0}, {"end", 10}}));
    out.clear();
    EXPECT_FALSE(ranking.add(result("#e", 7, 0), 10, false, out));  // its window closed
    ranking.close_until(20, true, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].value["top"][0]["key"], "#z");
    EXPECT_EQ(store.approximate_entries(), 0u);
}

TEST(WatermarkTest, TheSmallestOfTheUpstreamTasksThatAreNotIdle) {
    upstream_watermarks w(3);
    EXPECT_FALSE(w.update(0, 100, false));
    EXPECT_FALSE(w.update(1, 50, false));
    EXPECT_EQ(w.current(), no_watermark);  // task 2 not heard from
    EXPECT_TRUE(w.update(2, 70, false));
    EXPECT_EQ(w.current(), 50);
    EXPECT_TRUE(w.update(1, no_watermark, true));  // idle: no longer holds the others back
    EXPECT_EQ(w.current(), 70);
    EXPECT_FALSE(w.update(1, 10, false));  // back, but behind: the watermark does not go back
    EXPECT_EQ(w.current(), 70);
    EXPECT_FALSE(w.update(1, no_watermark, true));
    EXPECT_FALSE(w.update(0, 100, true));  // task 2 (at 70) still holds it
    EXPECT_TRUE(w.update(2, 90, true));    // all idle: the furthest of them
    EXPECT_EQ(w.current(), 100);
}

}  // namespace
}  // namespace runnel::streams
