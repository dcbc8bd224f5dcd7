#include "streams/operators/stateless_steps.h"
#include "streams/records/decode.h"
#include "streams/spec/pipeline_yaml.h"

#include <gtest/gtest.h>

namespace runnel::streams {
namespace {

// The steps of a pipeline written around `steps_yaml` (a list), loaded as a user would.
pipeline_spec with_steps(const std::string& steps_yaml, const std::string& source = "{topic: t}") {
    auto r = load_pipeline(
        "pipeline: p\nsource: " + source + "\nsteps:\n" + steps_yaml + "sink: {topic: o}\n",
        "p.yaml");
    EXPECT_TRUE(r.spec) << r.error;
    return r.spec ? *r.spec : pipeline_spec{};
}

// Runs every step of `p` over `values`; returns the values that come out, in order.
std::vector<json> run(const pipeline_spec& p, std::vector<json> values, side_outputs& side) {
    std::vector<stream_record> records;
    for (auto& v : values) records.push_back({nullptr, std::move(v), 0, {}});
    for (const auto& s : p.steps) {
        std::vector<stream_record> next;
        for (auto& r : records) run_stateless(s, std::move(r), next, side);
        records = std::move(next);
    }
    std::vector<json> out;
    for (auto& r : records) out.push_back(r.value);
    return out;
}

TEST(StatelessStepsTest, TheHashtagJobsTextSteps) {
    auto p = with_steps(
        "  - split: {on: \",2021\", keep: first}\n"
        "  - flat_map: {split: \" \"}\n"
        "  - filter: {starts_with: \"#\"}\n");
    side_outputs side;
    auto out = run(p,
                   {"Loving #kafka and #cpp  today,2021-04-05 10:00:00", "no tags,2021-01-01",
                    "#one,2021,#two"},
                   side);
    EXPECT_EQ(out, (std::vector<json>{"#kafka", "#cpp", "#one"}));
    EXPECT_TRUE(side.dead.empty());
}

TEST(StatelessStepsTest, ConditionsOnFieldsKeysAndNumbers) {
    auto p = with_steps(
        "  - filter:\n"
        "      all:\n"
        "        - {field: kind, in: [buy, sell]}\n"
        "        - {field: amount, greater_than: 10}\n"
        "        - not: {field: user, matches: \"^test-\"}\n"
        "        - {field: note, exists: false}\n");
    side_outputs side;
    auto out = run(p,
                   {json{{"kind", "buy"}, {"amount", 11}, {"user", "ann"}},
                    json{{"kind", "buy"}, {"amount", 10}, {"user", "bob"}},
                    json{{"kind", "hold"}, {"amount", 50}, {"user", "cy"}},
                    json{{"kind", "sell"}, {"amount", 99.5}, {"user", "test-1"}},
                    json{{"kind", "sell"}, {"amount", 12}, {"user", "dee"}, {"note", "x"}},
                    json{{"kind", "sell"}, {"amount", "12"}, {"user", "eve"}}},
                   side);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0]["user"], "ann");
}

TEST(StatelessStepsTest, ParseWithASchemaSendsBadRecordsToTheDeadLetterTopic) {
    auto p = with_steps(
        "  - parse: {format: json, schema: {event_type: string, level: optional integer}}\n");
    side_outputs side;
    auto out = run(p,
                   {"{\"event_type\": \"join_guild\"}", "{\"event_type\": 3}", "not json",
                    "{\"event_type\": \"x\", \"level\": 2.5}", "[1]",
                    "{\"event_type\": \"y\", \"level\": null}"},
                   side);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0]["event_type"], "join_guild");
    ASSERT_EQ(side.dead.size(), 4u);
    EXPECT_EQ(side.dead[0].reason, "field 'event_type' is not string");
    EXPECT_EQ(side.dead[1].reason, "not valid JSON");
    EXPECT_EQ(side.dead[2].reason, "field 'level' is not integer");
    EXPECT_EQ(side.dead[3].reason, "not a JSON object");
    EXPECT_EQ(side.dead[1].record.value, "not json");  // as it reached the step
}

TEST(StatelessStepsTest, CsvColumnsTypesAndQuotes) {
    auto p = with_steps(
        "  - parse: {format: csv, columns: [name, age, note], schema: {age: integer}}\n");
    side_outputs side;
    auto out = run(p, {"ann,41,\"likes \"\"x\"\", y\"", "bob,old,z", "cy,3", "dee,5,\"open"}, side);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], (json{{"name", "ann"}, {"age", 41}, {"note", "likes \"x\", y"}}));
    ASSERT_EQ(side.dead.size(), 3u);
    EXPECT_EQ(side.dead[0].reason, "CSV field 'age' is not integer");
    EXPECT_EQ(side.dead[1].reason, "expected 3 CSV fields, found 2");
    EXPECT_EQ(side.dead[2].reason, "a quoted CSV field is not closed");
}

TEST(StatelessStepsTest, MapProjectsExplodesAndTransforms) {
    auto p = with_steps(
        "  - flat_map: {field: items}\n"
        "  - map: {fields: {sku: sku, qty: n, gone: missing}}\n");
    side_outputs side;
    auto out = run(p,
                   {json{{"items", {{{"sku", "a"}, {"n", 1}}, {{"sku", "b"}, {"n", 2}}}}},
                    json{{"items", "none"}}},
                   side);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[1], (json{{"sku", "b"}, {"qty", 2}, {"gone", nullptr}}));
    EXPECT_EQ(side.dead.size(), 1u);

    auto lower = with_steps("  - map: {transform: lowercase}\n  - map: {transform: trim}\n");
    EXPECT_EQ(run(lower, {"  Hello World "}, side), std::vector<json>{"hello world"});
}

TEST(StatelessStepsTest, RouteSendsEachRecordToItsFirstMatchingRule) {
    auto r = load_pipeline(
        "pipeline: g\nsource: {topic: events, format: json}\nsteps:\n"
        "  - route:\n"
        "      - {when: {field: event_type, equals: purchase_sword}, to: swords}\n"
        "      - {when: {field: event_type, starts_with: join}, to: joins}\n",
        "g.yaml");
    ASSERT_TRUE(r.spec) << r.error;
    side_outputs side;
    std::vector<stream_record> out;
    for (auto type : {"purchase_sword", "join_guild", "default"}) {
        run_stateless(r.spec->steps[0], {nullptr, json{{"event_type", type}}, 0, {}}, out, side);
    }
    EXPECT_TRUE(out.empty());
    ASSERT_EQ(side.routed.size(), 2u);
    EXPECT_EQ(side.routed[0].topic, "swords");
    EXPECT_EQ(side.routed[1].topic, "joins");
    EXPECT_EQ(side.unrouted, 1u);
}

TEST(StatelessStepsTest, RekeyByAFieldAndDeadLetterWithoutIt) {
    auto p = with_steps("  - rekey: {by: user.id}\n");
    side_outputs side;
    std::vector<stream_record> out;
    run_stateless(p.steps[0], {nullptr, json{{"user", {{"id", 7}}}}, 0, {}}, out, side);
    run_stateless(p.steps[0], {nullptr, json{{"user", nullptr}}, 0, {}}, out, side);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].key, 7);
    EXPECT_EQ(side.dead.size(), 1u);
}

TEST(DecodeTest, EventTimesFromNumbersAndIsoStrings) {
    EXPECT_EQ(event_time_of(1617616800000), 1617616800000);
    EXPECT_EQ(event_time_of("2021-04-05T10:00:00Z"), 1617616800000);
    EXPECT_EQ(event_time_of("2021-04-05 10:00:00.25"), 1617616800250);
    EXPECT_EQ(event_time_of("2021-04-05T12:00:00+02:00"), 1617616800000);
    EXPECT_EQ(event_time_of("2021-02-30T10:00:00Z"), std::nullopt);
    EXPECT_EQ(event_time_of("yesterday"), std::nullopt);
    EXPECT_EQ(event_time_of(true), std::nullopt);
}

}  // namespace
}  // namespace runnel::streams
