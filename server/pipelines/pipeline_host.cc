#include "server/pipelines/pipeline_host.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "server/cluster/cluster_context.h"
#include "server/core/logger.h"
#include "streams/log.h"
#include "streams/spec/pipeline_yaml.h"

namespace runnel::server::pipelines {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

bool is_pipeline_file(const fs::path& p) {
    return p.extension() == ".yaml" || p.extension() == ".yml";
}

// Topics a pipeline writes besides its internal ones.
std::set<std::string> output_topics(const streams::pipeline_spec& s) {
    std::set<std::string> out{s.dead_letter_topic};
    if (s.sink) out.insert(s.sink->topic);
    if (s.late_topic) out.insert(*s.late_topic);
    for (const auto& step : s.steps) {
        if (const auto* r = std::get_if<streams::route_step>(&step)) {
            for (const auto& rule : r->rules) out.insert(rule.topic);
            if (r->otherwise) out.insert(*r->otherwise);
        }
    }
    return out;
}

// The task as a parameter, so the coroutine frame holds it (a lambda's captures would live in a
// temporary the frame outlives).
asio::awaitable<void> run_task(std::shared_ptr<pipeline_task> task) { co_await task->run(); }

}  // namespace

pipeline_host::pipeline_host(pipeline_services services, host_settings settings)
    : services_(services),
      dir_(std::move(settings.dir)),
      scan_interval_ms_(settings.scan_interval_ms),
      state_memory_(std::make_unique<streams::state_memory>(
          static_cast<size_t>(settings.state_memory_bytes))) {
    task_settings_.state_dir = std::move(settings.state_dir);
    task_settings_.memory = state_memory_.get();
    task_settings_.timeout = std::chrono::milliseconds(settings.task_timeout_ms);
    task_settings_.gave_up = [this](const pipeline_task& task, const std::string& failure) {
        task_gave_up(task, failure);
    };
}

pipeline_host::~pipeline_host() { stop(); }

void pipeline_host::start() {
    if (dir_.empty()) return;
    watching_ = true;
    streams::streams_log().info("running the pipelines of {} (checked every {} ms)", dir_,
                                scan_interval_ms_);
    asio::co_spawn(services_.cluster.metadata_shard().executor(), watch_loop(),
                   log_failure("pipeline directory watch"));
}

void pipeline_host::stop() {
    if (stopping_.exchange(true)) return;
    // First the directory watch, so that no pipeline starts after this; then every task, each
    // of which ends within a commit (its coordinator calls give up within 30 s). Nothing here
    // may return while one still runs: they use this host and its memory budget.
    auto wait = [](const char* what, const std::function<bool()>& busy) {
        const auto started = std::chrono::steady_clock::now();
        auto next_report = started + std::chrono::seconds(10);
        while (busy()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            if (std::chrono::steady_clock::now() > next_report) {
                streams::streams_log().warn("still waiting for {} to stop", what);
                next_report += std::chrono::seconds(10);
            }
        }
    };
    wait("the pipeline directory watch", [this] { return watching_.load(); });
    std::vector<std::shared_ptr<pipeline_task>> tasks;
    {
        std::lock_guard lock(mutex_);
        for (auto& [name, r] : running_) {
            for (auto& t : r.tasks) {
                t->stop();
                tasks.push_back(t);
            }
        }
        running_.clear();
        for (auto& [name, old] : retiring_) tasks.insert(tasks.end(), old.begin(), old.end());
        retiring_.clear();
    }
    wait("the pipeline tasks", [&tasks] {
        for (const auto& t : tasks) {
            if (t->status().running) return true;
        }
        return false;
    });
}

asio::awaitable<void> pipeline_host::watch_loop() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!stopping_) {
        co_await scan();
        for (int32_t waited = 0; waited < scan_interval_ms_ && !stopping_; waited += 100) {
            timer.expires_after(std::chrono::milliseconds(std::min(100, scan_interval_ms_)));
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }
    watching_ = false;
}

asio::awaitable<void> pipeline_host::scan() {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
        if (entry.is_regular_file() && is_pipeline_file(entry.path()))
            files.push_back(entry.path());
    }
    {
        std::lock_guard lock(mutex_);
        if (ec) {
            if (failed_[dir_] != ec.message()) {
                streams::streams_log().error("pipeline directory {}: {}", dir_, ec.message());
                failed_[dir_] = ec.message();
            }
            co_return;
        }
        failed_.erase(dir_);
    }
    std::sort(files.begin(), files.end());
    std::set<std::string> present;
    for (const auto& path : files) {
        const std::string file = path.string();
        present.insert(file);
        std::string text = read_text(path);
        {
            // (Under the lock: resume() forgets a file's content from any shard.)
            std::lock_guard lock(mutex_);
            if (auto seen = seen_.find(file); seen != seen_.end() && seen->second == text) continue;
            // A changed (or resumed) file ends a pause: that version starts.
            std::erase_if(paused_, [&file](const auto& p) { return p.second.file == file; });
        }
        auto load = streams::load_pipeline(text, file);
        if (!load.spec) {
            std::lock_guard lock(mutex_);
            if (failed_[file] != load.error) {
                streams::streams_log().error("pipeline file not started: {}", load.error);
            }
            failed_[file] = load.error;
            seen_[file] = text;
            continue;
        }
        const std::string name = load.spec->name;
        {
            std::lock_guard lock(mutex_);
            auto it = running_.find(name);
            if (it != running_.end() && it->second.file != file) {
                std::string why =
                    file + ": pipeline '" + name + "' is already run from " + it->second.file;
                if (failed_[file] != why) streams::streams_log().error("{}", why);
                failed_[file] = why;
                seen_[file] = text;
                continue;
            }
        }
        bool changed = false;
        {
            std::lock_guard lock(mutex_);
            changed = running_.count(name) > 0;
        }
        if (changed) {
            streams::streams_log().info("pipeline {}: {} changed, restarting it", name, file);
            stop_pipeline(name);
        }
        if (still_retiring(name)) continue;  // tried again at the next scan
        auto p = std::make_shared<loaded_pipeline>();
        p->spec = std::move(*load.spec);
        p->plan = streams::plan_pipeline(p->spec);
        p->text = text;
        std::string why = co_await start_pipeline(p, file);
        std::lock_guard lock(mutex_);
        if (!why.empty()) {
            // Tried again at the next scan (a coordinator may still be loading).
            if (failed_[file] != why) {
                streams::streams_log().error("pipeline {} not started: {}", name, why);
            }
            failed_[file] = why;
            continue;
        }
        failed_.erase(file);
        seen_[file] = text;
    }
    // Files gone: their pipelines stop.
    std::vector<std::string> gone;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [name, r] : running_) {
            if (!present.count(r.file)) gone.push_back(name);
        }
        for (auto it = seen_.begin(); it != seen_.end();) {
            it = present.count(it->first) ? std::next(it) : seen_.erase(it);
        }
        for (auto it = failed_.begin(); it != failed_.end();) {
            it = present.count(it->first) ? std::next(it) : failed_.erase(it);
        }
        std::erase_if(paused_, [&present](const auto& p) { return !present.count(p.second.file); });
    }
    for (const auto& name : gone) {
        streams::streams_log().info("pipeline {}: its file was removed, stopping it", name);
        stop_pipeline(name);
    }
}

bool pipeline_host::still_retiring(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = retiring_.find(name);
    if (it == retiring_.end()) return false;
    std::erase_if(it->second, [](const auto& t) { return !t->status().running; });
    if (!it->second.empty()) return true;
    retiring_.erase(it);
    return false;
}

std::vector<std::shared_ptr<pipeline_task>> pipeline_host::stop_pipeline(const std::string& name) {
    std::lock_guard lock(mutex_);
    return stop_locked(name);
}

std::vector<std::shared_ptr<pipeline_task>> pipeline_host::stop_locked(const std::string& name) {
    auto it = running_.find(name);
    if (it == running_.end()) return {};
    auto tasks = std::move(it->second.tasks);
    for (auto& t : tasks) t->stop();
    running_.erase(it);
    // Kept until they have finished: a new version of the pipeline must not open the same
    // state stores, transactional ids and groups meanwhile.
    auto& old = retiring_[name];
    old.insert(old.end(), tasks.begin(), tasks.end());
    return tasks;
}

void pipeline_host::task_gave_up(const pipeline_task& task, const std::string& failure) {
    const std::string& name = task.pipeline()->spec.name;
    std::string file;
    {
        std::lock_guard lock(mutex_);
        auto it = running_.find(name);
        // An earlier version's task, already stopped: nothing to do.
        if (it == running_.end() || it->second.pipeline != task.pipeline()) return;
        file = it->second.file;
        // Its file's content stays in seen_: the pipeline starts again when the file changes.
        failed_[file] = "task " + task.name() + " gave up: " + failure;
        stop_locked(name);
    }
    streams::streams_log().error(
        "pipeline {} stopped: its task {} kept failing ({}); the other pipelines run on, and "
        "this one starts again when {} changes",
        name, task.name(), failure, file);
}

asio::awaitable<std::string> pipeline_host::start_pipeline(std::shared_ptr<const loaded_pipeline> p,
                                                           const std::string& file) {
    const auto& spec = p->spec;
    const auto& plan = p->plan;
    cluster_context& cluster = services_.cluster;
    auto create = [&cluster](
                      std::string name, int32_t partitions,
                      std::map<std::string, std::string> configs) -> asio::awaitable<std::string> {
        if (cluster.topics().snapshot()->find(name)) co_return std::string();
        new_topic t;
        t.name = name;
        t.partitions = partitions;
        t.configs = std::move(configs);
        t.local = true;  // tasks run where their partitions are: on this broker
        auto r = co_await cluster.admin().create_topic(std::move(t), false);
        if (r.error != protocol::error_code::none &&
            r.error != protocol::error_code::topic_already_exists) {
            co_return "creating topic " + name + ": " +
                r.message.value_or(std::string(protocol::error_name(r.error)));
        }
        co_return std::string();
    };
    auto partitions_of = [&cluster](const std::string& topic) {
        auto t = cluster.topics().snapshot()->find(topic);
        return t ? t->partition_count() : 0;
    };

    const std::map<std::string, std::string> no_configs;
    for (const auto& source : spec.source_topics) {
        std::string why = co_await create(source, -1, no_configs);
        if (!why.empty()) co_return why;
    }
    int32_t widest_source = 1;
    for (const auto& source : spec.source_topics) {
        widest_source = std::max(widest_source, partitions_of(source));
    }
    for (size_t k = 1; k < plan.stages.size(); ++k) {
        const int32_t n = plan.stages[k - 1].next_is_single_partition ? 1 : widest_source;
        std::string why = co_await create(plan.stages[k].input_topic, n, no_configs);
        if (!why.empty()) co_return why;
        // The stage's state, one changelog partition per task, compacted to the latest value.
        // (Named values: g++ 12 cannot take string literals in a braced list in co_await, and
        // destroys a co_await result bound in an if's initializer twice.)
        std::map<std::string, std::string> compacted;
        compacted["cleanup.policy"] = "compact";
        why = co_await create(streams::changelog_topic(spec.name, k),
                              partitions_of(plan.stages[k].input_topic), compacted);
        if (!why.empty()) co_return why;
    }
    for (const auto& topic : output_topics(spec)) {
        std::string why = co_await create(topic, -1, no_configs);
        if (!why.empty()) co_return why;
    }

    running r;
    r.pipeline = p;
    r.file = file;
    std::vector<int32_t> tasks_per_stage;
    for (const auto& stage : plan.stages) {
        std::vector<std::pair<std::string, int32_t>> inputs;
        if (stage.reads_sources) {
            for (const auto& source : spec.source_topics) {
                for (int32_t i = 0; i < partitions_of(source); ++i) inputs.emplace_back(source, i);
            }
        } else {
            for (int32_t i = 0; i < partitions_of(stage.input_topic); ++i) {
                inputs.emplace_back(stage.input_topic, i);
            }
        }
        tasks_per_stage.push_back(static_cast<int32_t>(inputs.size()));
        const int32_t downstream = stage.next_topic ? partitions_of(*stage.next_topic) : 0;
        for (size_t i = 0; i < inputs.size(); ++i) {
            task_place place;
            place.stage = stage.index;
            place.index = static_cast<int32_t>(i);
            place.input_topic = inputs[i].first;
            place.input_partition = inputs[i].second;
            place.upstream_tasks = stage.index ? tasks_per_stage[stage.index - 1] : 0;
            place.downstream_partitions = downstream;
            r.tasks.push_back(
                std::make_shared<pipeline_task>(services_, p, std::move(place), task_settings_));
        }
    }
    // Every task's shard first, so that a failed lookup leaves nothing running.
    auto snapshot = cluster.topics().snapshot();
    std::vector<shard_id> owners;
    for (auto& task : r.tasks) {
        auto t = snapshot->find(task->place().input_topic);
        if (!t || task->place().input_partition >= t->partition_count()) {
            co_return "topic " + task->place().input_topic + " vanished";
        }
        owners.push_back(t->partitions[task->place().input_partition].owner);
    }
    {
        std::lock_guard lock(mutex_);
        if (stopping_) co_return std::string("the broker is stopping");
        running_[spec.name] = r;
    }
    for (size_t i = 0; i < r.tasks.size(); ++i) {
        asio::co_spawn(cluster.shards().at(owners[i]).executor(), run_task(r.tasks[i]),
                       log_failure("pipeline task " + r.tasks[i]->name()));
    }
    streams::streams_log().info("pipeline {} started from {}: {} stage(s), {} task(s)", spec.name,
                                file, plan.stages.size(), r.tasks.size());
    co_return std::string();
}

std::string pipeline_host::submit(const std::string& yaml) {
    if (dir_.empty()) return "no pipeline directory is configured (runnel.pipelines.dir)";
    auto load = streams::load_pipeline(yaml, "the submitted pipeline");
    if (!load.spec) return load.error;
    const fs::path path = fs::path(dir_) / (load.spec->name + ".yaml");
    const fs::path temp = fs::path(dir_) / ("." + load.spec->name + ".yaml.tmp");
    {
        std::ofstream out(temp, std::ios::binary | std::ios::trunc);
        out << yaml;
        if (!out.flush()) return "cannot write " + temp.string();
    }
    std::error_code ec;
    fs::rename(temp, path, ec);  // whole or not at all, for the directory watch
    if (ec) return "cannot write " + path.string() + ": " + ec.message();
    return "";
}

std::string pipeline_host::remove(const std::string& name) {
    std::string file;
    {
        std::lock_guard lock(mutex_);
        if (auto it = running_.find(name); it != running_.end()) {
            file = it->second.file;
        } else if (auto p = paused_.find(name); p != paused_.end()) {
            file = p->second.file;
            paused_.erase(p);
        } else {
            return "no pipeline named '" + name + "' is running";
        }
    }
    std::error_code ec;
    if (!fs::remove(file, ec) || ec) return "cannot remove " + file + ": " + ec.message();
    return "";
}

std::string pipeline_host::pause(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = running_.find(name);
    if (it == running_.end()) {
        return paused_.count(name) ? "" : "no pipeline named '" + name + "' is running";
    }
    running r = it->second;
    r.tasks.clear();
    stop_locked(name);
    paused_[name] = std::move(r);
    streams::streams_log().info("pipeline {} paused", name);
    return "";
}

std::string pipeline_host::resume(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = paused_.find(name);
    if (it == paused_.end()) {
        return running_.count(name) ? "" : "no pipeline named '" + name + "' is paused";
    }
    // Forgetting what the file held makes the next scan start it (after its old tasks end).
    seen_.erase(it->second.file);
    paused_.erase(it);
    streams::streams_log().info("pipeline {} resumed", name);
    return "";
}

std::shared_ptr<const loaded_pipeline> pipeline_host::find(const std::string& name) const {
    std::lock_guard lock(mutex_);
    if (auto it = running_.find(name); it != running_.end()) return it->second.pipeline;
    if (auto it = paused_.find(name); it != paused_.end()) return it->second.pipeline;
    return nullptr;
}

std::vector<pipeline_status> pipeline_host::status() const {
    std::lock_guard lock(mutex_);
    std::vector<pipeline_status> out;
    for (const auto& [name, r] : running_) {
        pipeline_status s;
        s.name = name;
        s.file = r.file;
        s.state = "running";
        s.tasks = r.tasks.size();
        for (const auto& t : r.tasks) {
            const auto& c = t->status();
            s.records_in += c.records_in;
            s.records_out += c.records_out;
            s.late += c.late;
            s.dead_lettered += c.dead_lettered;
            s.commits += c.commits;
            s.restarts += c.restarts;
            s.commit_us += c.commit_us;
            s.state_bytes += c.state_bytes;
        }
        // A pipeline's event time is as far as its slowest task's: the earliest watermark.
        for (const auto& t : r.tasks) {
            const int64_t w = t->status().watermark;
            if (w == INT64_MIN) {
                s.watermark.reset();
                break;
            }
            s.watermark = std::min(s.watermark.value_or(INT64_MAX), w);
        }
        out.push_back(std::move(s));
    }
    for (const auto& [name, r] : paused_) {
        pipeline_status s;
        s.name = name;
        s.file = r.file;
        s.state = "paused";
        out.push_back(std::move(s));
    }
    for (const auto& [file, why] : failed_) {
        pipeline_status s;
        s.file = file;
        s.state = "failed: " + why;
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace runnel::server::pipelines
