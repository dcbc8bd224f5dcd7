#include "streams/spec/pipeline_yaml.h"

#include "streams/spec/spec_readers.h"

#include <fstream>
#include <sstream>

namespace runnel::streams {

namespace {

bool valid_pipeline_name(std::string_view name) {
    return valid_topic_name(name) && name.size() <= 200;
}

std::string topic_of(const yaml_reader& in, const YAML::Node& node, std::string_view what) {
    auto name = in.string(node, what);
    if (!valid_topic_name(name)) {
        in.fail(node, "'" + name +
                          "' is not a valid topic name (letters, digits, '.', '_', '-'; "
                          "at most 249)");
    }
    return name;
}

void read_source(const yaml_reader& in, const YAML::Node& node, pipeline_spec& p) {
    p.source_format = read_decoding(
        in, node, "source", {"topic", "topics", "format", "schema", "columns", "delimiter"});
    if (node["topic"] && node["topics"]) in.fail(node, "source takes topic or topics, not both");
    if (node["topic"]) {
        p.source_topics.push_back(topic_of(in, node["topic"], "topic"));
    } else if (node["topics"] && node["topics"].IsSequence() && node["topics"].size() > 0) {
        for (const auto& t : node["topics"]) p.source_topics.push_back(topic_of(in, t, "a topic"));
    } else {
        in.fail(node, "source needs topic: <name> (or topics: [<name>, ...])");
    }
}

void read_event_time(const yaml_reader& in, const YAML::Node& node, pipeline_spec& p) {
    in.expect_mapping(node, "event_time", {"from", "max_out_of_order", "idle_timeout"});
    if (node["from"]) {
        auto from = in.string(node["from"], "from");
        if (from != "record_timestamp") {
            p.event_time_field = read_field(in, node["from"], "from");
            if (p.source_format.format != data_format::json &&
                p.source_format.format != data_format::csv) {
                in.fail(node["from"], "event time from a field needs a json or csv source");
            }
        }
    }
    if (node["max_out_of_order"]) {
        p.max_out_of_order = in.duration(node["max_out_of_order"], "max_out_of_order");
    }
    if (node["idle_timeout"]) p.idle_timeout = in.duration(node["idle_timeout"], "idle_timeout");
}

// The rules that tie steps together: a window belongs to the aggregate after it, top follows a
// windowed aggregate and ranks one of its outputs, route comes last.
void check_steps(const yaml_reader& in, const YAML::Node& steps, pipeline_spec& p) {
    const aggregate_step* aggregate = nullptr;
    bool deduped = false;
    for (size_t i = 0; i < p.steps.size(); ++i) {
        const auto& at = steps[i];
        if (auto* a = std::get_if<aggregate_step>(&p.steps[i])) {
            if (aggregate) in.fail(at, "a pipeline has one aggregate (count or aggregate)");
            aggregate = a;
        } else if (auto* t = std::get_if<top_step>(&p.steps[i])) {
            auto* before = i ? std::get_if<aggregate_step>(&p.steps[i - 1]) : nullptr;
            if (!before || !before->window) {
                in.fail(at,
                        "top ranks the results of a windowed count or aggregate just before "
                        "it");
            }
            if (before->window->kind == window_spec::type::sliding ||
                before->window->kind == window_spec::type::session) {
                in.fail(at,
                        "top ranks groups within one window: it needs tumbling or hopping "
                        "windows (sliding and session windows differ from group to group)");
            }
            bool known = false;
            for (const auto& f : before->functions) known = known || f.output == t->by;
            if (!known)
                in.fail(at, "top by '" + t->by +
                                "': the aggregate before has no such "
                                "result");
        } else if (std::holds_alternative<dedupe_step>(p.steps[i])) {
            if (deduped) in.fail(at, "a pipeline has one dedupe");
            deduped = true;
        } else if (std::holds_alternative<route_step>(p.steps[i]) && i + 1 != p.steps.size()) {
            in.fail(at, "route must be the last step");
        }
    }
    if (aggregate && !aggregate->window && p.emit == emit_mode::on_close) {
        in.fail(steps,
                "an aggregate without a window never closes: add a window or write "
                "emit: on_update");
    }
}

pipeline_spec read_pipeline(const yaml_reader& in, const YAML::Node& root) {
    in.expect_mapping(root, "a pipeline file",
                      {"pipeline", "source", "event_time", "steps", "emit", "late", "sink",
                       "dead_letter", "commit_interval"});
    pipeline_spec p;
    if (!root["pipeline"]) in.fail(root, "the pipeline's name is missing: pipeline: <name>");
    p.name = in.string(root["pipeline"], "pipeline");
    if (!valid_pipeline_name(p.name)) {
        in.fail(root["pipeline"], "a pipeline name is letters, digits, '.', '_' and '-'");
    }
    if (!root["source"]) in.fail(root, "source is missing: source: {topic: <name>}");
    read_source(in, root["source"], p);
    if (root["event_time"]) read_event_time(in, root["event_time"], p);
    if (root["emit"]) {
        auto e = in.string(root["emit"], "emit");
        if (e == "on_update") {
            p.emit = emit_mode::on_update;
        } else if (e != "on_close") {
            in.fail(root["emit"],
                    "emit must be on_close (one final result per window) or "
                    "on_update");
        }
    }
    const auto& steps = root["steps"];
    if (steps && !steps.IsSequence()) in.fail(steps, "steps must be a list");
    bool pending_window = false;
    std::optional<window_spec> window;
    for (size_t i = 0; steps && i < steps.size(); ++i) {
        bool is_window = false;
        auto s = read_step(in, steps[i], is_window);
        if (pending_window && !std::holds_alternative<aggregate_step>(s)) {
            in.fail(steps[i], "a window must be followed by count or aggregate");
        }
        if (is_window) {
            window = std::get<aggregate_step>(s).window;
            pending_window = true;
            continue;
        }
        if (auto* a = std::get_if<aggregate_step>(&s); a && pending_window) {
            a->window = window;
            pending_window = false;
        }
        p.steps.push_back(std::move(s));
    }
    if (pending_window) in.fail(steps, "the window at the end has no count or aggregate after it");
    // check_steps needs each kept step's node: rebuild the list without the window entries.
    YAML::Node kept(YAML::NodeType::Sequence);
    for (size_t i = 0; steps && i < steps.size(); ++i) {
        if (steps[i].begin()->first.Scalar() != "window") kept.push_back(steps[i]);
    }
    check_steps(in, kept, p);

    bool routed = !p.steps.empty() && std::holds_alternative<route_step>(p.steps.back());
    if (root["sink"]) {
        if (routed) in.fail(root["sink"], "a pipeline that routes has no sink");
        const auto& s = root["sink"];
        in.expect_mapping(s, "sink", {"topic", "format"});
        if (!s["topic"]) in.fail(s, "sink needs topic");
        sink_spec sink{topic_of(in, s["topic"], "topic")};
        if (s["format"]) {
            auto f = in.string(s["format"], "format");
            if (f == "text") {
                sink.format = data_format::text;
            } else if (f != "json") {
                in.fail(s["format"], "a sink's format is json or text");
            }
        }
        p.sink = sink;
    } else if (!routed) {
        in.fail(root, "sink is missing: sink: {topic: <name>} (or end the steps with route)");
    }
    bool windowed = false;
    for (const auto& s : p.steps) {
        if (auto* a = std::get_if<aggregate_step>(&s)) windowed = windowed || a->window;
    }
    if (root["late"]) {
        const auto& l = root["late"];
        if (!windowed) in.fail(l, "late applies to pipelines with a window");
        if (l.IsScalar() && l.Scalar() == "drop") {
            p.late_topic.reset();
        } else {
            in.expect_mapping(l, "late", {"to"});
            if (!l["to"]) in.fail(l, "late is drop or {to: <topic>}");
            p.late_topic = topic_of(in, l["to"], "to");
        }
    } else if (windowed) {
        p.late_topic = p.name + ".late";
    }
    p.dead_letter_topic = root["dead_letter"] ? topic_of(in, root["dead_letter"], "dead_letter")
                                              : p.name + ".dead-letter";
    if (root["commit_interval"]) {
        p.commit_interval = in.duration(root["commit_interval"], "commit_interval");
        if (p.commit_interval.count() <= 0) in.fail(root["commit_interval"], "must be above 0");
    }
    return p;
}

}  // namespace

bool pipeline_spec::stateful() const {
    for (const auto& s : steps) {
        if (std::holds_alternative<aggregate_step>(s) || std::holds_alternative<top_step>(s) ||
            std::holds_alternative<dedupe_step>(s)) {
            return true;
        }
    }
    return false;
}

pipeline_load load_pipeline(std::string_view yaml, const std::string& file) {
    yaml_reader in(file);
    pipeline_load out;
    try {
        YAML::Node root = YAML::Load(std::string(yaml));
        auto spec = read_pipeline(in, root);
        spec.file = file;
        out.spec = std::move(spec);
    } catch (const YAML::ParserException& e) {
        try {
            in.fail(e.mark, "not valid YAML: " + e.msg);
        } catch (const pipeline_error& pe) {
            out.error = pe.what();
        }
    } catch (const pipeline_error& e) {
        out.error = e.what();
    } catch (const YAML::Exception& e) {
        out.error = file + ": " + e.what();
    }
    return out;
}

pipeline_load load_pipeline_file(const std::filesystem::path& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return {std::nullopt, path.string() + ": cannot be read"};
    std::stringstream text;
    text << f.rdbuf();
    return load_pipeline(text.str(), path.string());
}

}  // namespace runnel::streams
