#include "streams/spec/pipeline_yaml.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace runnel::streams {
namespace {

std::string error_of(const std::string& yaml) {
    auto r = load_pipeline(yaml, "p.yaml");
    EXPECT_FALSE(r.spec.has_value()) << yaml;
    return r.error;
}

TEST(PipelineYamlTest, TheShippedSeedPipelinesLoad) {
    const std::filesystem::path dir = std::filesystem::path(RUNNEL_SOURCE_DIR) / "etc/pipelines";
    int loaded = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        auto r = load_pipeline_file(entry.path());
        EXPECT_TRUE(r.spec.has_value()) << r.error;
        ++loaded;
    }
    EXPECT_EQ(loaded, 3);
    auto top = load_pipeline_file(dir / "top-hashtags.yaml");
    ASSERT_TRUE(top.spec);
    const auto& p = *top.spec;
    EXPECT_EQ(p.name, "top-hashtags");
    EXPECT_EQ(p.source_topics, std::vector<std::string>{"tweets"});
    EXPECT_EQ(p.max_out_of_order, millis(30'000));
    ASSERT_EQ(p.steps.size(), 5u);  // the window is folded into the count after it
    const auto& count = std::get<aggregate_step>(p.steps[3]);
    ASSERT_TRUE(count.window);
    EXPECT_EQ(count.window->kind, window_spec::type::hopping);
    EXPECT_EQ(count.window->size, millis(300'000));
    EXPECT_EQ(count.window->advance, millis(120'000));
    EXPECT_EQ(count.window->grace, millis(30'000));
    EXPECT_EQ(std::get<top_step>(p.steps[4]).n, 30u);
    EXPECT_EQ(p.late_topic, "tweets.late");
    EXPECT_EQ(p.dead_letter_topic, "top-hashtags.dead-letter");
    EXPECT_TRUE(p.stateful());
}

TEST(PipelineYamlTest, BadYamlNamesFileLineAndColumn) {
    auto e = error_of("pipeline: x\nsource: {topic: [oops\n");
    EXPECT_EQ(e.rfind("p.yaml:", 0), 0u) << e;
    EXPECT_NE(e.find("not valid YAML"), std::string::npos) << e;
}

TEST(PipelineYamlTest, UnknownStepSaysWhereAndWhatWasExpected) {
    auto e = error_of(
        "pipeline: x\n"
        "source: {topic: t}\n"
        "steps:\n"
        "  - filter: {starts_with: \"#\"}\n"
        "  - frobnicate: {}\n"
        "sink: {topic: out}\n");
    EXPECT_EQ(e.rfind("p.yaml:5:5: unknown step 'frobnicate' (expected filter,", 0), 0u) << e;
}

TEST(PipelineYamlTest, RefusalsNameWhatWasExpected) {
    const std::string head = "pipeline: x\nsource: {topic: t}\n";
    struct refusal {
        std::string body;
        std::string says;
    } cases[] = {
        {"steps:\n  - window: {type: tumbling, size: 1m}\n  - count: {by: value}\nsink: {topic: "
         "o}\n",
         "4:13: window needs grace"},
        {"steps:\n  - window: {type: tumbling, size: 1m, grace: 0s}\n  - filter: {exists: "
         "true}\nsink: {topic: o}\n",
         "5:5: a window must be followed by count or aggregate"},
        {"steps:\n  - count: {by: value}\nsink: {topic: o}\n", "without a window never closes"},
        {"steps:\n  - count: {by: value}\n  - top: {n: 3, by: count}\nemit: on_update\nsink: "
         "{topic: o}\n",
         "top ranks the results of a windowed count"},
        {"steps:\n  - window: {type: session, gap: 1m, grace: 0s}\n  - count: {by: value}\n  - "
         "top: {n: 3, by: count}\nsink: {topic: o}\n",
         "needs tumbling or hopping"},
        {"steps:\n  - window: {type: tumbling, size: 1m, grace: 0s}\n  - count: {by: value}\n  - "
         "top: {n: 3, by: sum}\nsink: {topic: o}\n",
         "top by 'sum'"},
        {"steps:\n  - filter: {matches: \"(\"}\nsink: {topic: o}\n", "bad regular expression"},
        {"steps:\n  - route: [{when: {equals: a}, to: a}]\n  - filter: {exists: true}\n",
         "route must be the last step"},
        {"steps:\n  - filter: {equals: a, contains: b}\nsink: {topic: o}\n",
         "a condition has one test"},
        {"sink: {topic: \"bad topic\"}\n", "is not a valid topic name"},
        {"sink: {topic: o}\ncolour: blue\n", "unknown key 'colour' in a pipeline file"},
        {"", "sink is missing"},
        {"steps:\n  - window: {type: hopping, size: 1m, advance: 2m, grace: 0s}\n  - count: {by: "
         "value}\nsink: {topic: o}\n",
         "advance must not exceed size"},
        {"steps:\n  - window: {type: tumbling, size: 1 minute, grace: 0s}\n  - count: {by: "
         "value}\nsink: {topic: o}\n",
         "size must be a duration"},
        {"steps:\n  - map: {field: \"a..b\"}\nsink: {topic: o}\n", "is not a field"},
        {"event_time: {from: ts}\nsink: {topic: o}\n", "needs a json or csv source"},
        {"late: drop\nsink: {topic: o}\n", "late applies to pipelines with a window"},
    };
    for (const auto& c : cases) {
        auto e = error_of(head + c.body);
        EXPECT_NE(e.find(c.says), std::string::npos) << "got: " << e << "\nwanted: " << c.says;
    }
}

TEST(PipelineYamlTest, DefaultsAreWrittenDown) {
    auto r = load_pipeline(
        "pipeline: w\nsource: {topic: t}\nsteps:\n"
        "  - window: {type: tumbling, size: 10s, grace: 1s}\n"
        "  - aggregate: {by: key, count: true, sum: value.n, count_distinct: value.user}\n"
        "sink: {topic: o}\n",
        "w.yaml");
    ASSERT_TRUE(r.spec) << r.error;
    EXPECT_EQ(r.spec->emit, emit_mode::on_close);
    EXPECT_EQ(r.spec->late_topic, "w.late");
    EXPECT_EQ(r.spec->commit_interval, millis(100));
    const auto& a = std::get<aggregate_step>(r.spec->steps[0]);
    ASSERT_EQ(a.functions.size(), 3u);
    EXPECT_EQ(a.functions[1].output, "sum");
    EXPECT_EQ(a.window->advance, millis(10'000));
}

}  // namespace
}  // namespace runnel::streams
