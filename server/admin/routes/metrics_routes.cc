#include <map>

#include "protocol/errors.h"
#include "server/admin/group_view.h"
#include "server/admin/metrics/prometheus_text.h"
#include "server/admin/metrics/shard_snapshot.h"
#include "server/admin/routes/routes.h"
#include "server/kafka/kafka_services.h"
#include "server/net/connection.h"
#include "server/pipelines/pipeline_host.h"
#include "storage/wall_clock.h"

namespace runnel::server::admin {

namespace {

// One histogram's samples: cumulative buckets, sum and count, with the label `key`=`value` on
// each (none when key is empty).
void write_histogram(prometheus_text& m, const std::string& name, const latency_histogram& h,
                     std::string_view key = {}, std::string_view value = {}) {
    const std::string bucket = name + "_bucket", sum = name + "_sum", count = name + "_count";
    uint64_t cumulative = 0;
    for (size_t b = 0; b < h.buckets.size(); ++b) {
        cumulative += h.buckets[b];
        const std::string le = b < latency_histogram::bounds_ms.size()
                                   ? fmt::format("{}", latency_histogram::bounds_ms[b])
                                   : std::string("+Inf");
        if (key.empty()) {
            m.sample(bucket, {{"le", le}}, cumulative);
        } else {
            m.sample(bucket, {{key, value}, {"le", le}}, cumulative);
        }
    }
    if (key.empty()) {
        m.sample(sum, {}, h.sum_ms);
        m.sample(count, {}, h.count);
    } else {
        m.sample(sum, {{key, value}}, h.sum_ms);
        m.sample(count, {{key, value}}, h.count);
    }
}

// Kafka's JMX metrics under the names Prometheus's JMX exporter gives them (the usual Kafka
// dashboards read these), then Runnel's own.
void write_metrics(prometheus_text& m, kafka_services& kafka,
                   const std::vector<shard_snapshot>& shards,
                   const std::vector<pipelines::pipeline_status>& pipelines,
                   const std::vector<group_committed_offset>& committed) {
    std::map<std::string, partition_traffic> by_topic;
    request_metrics requests;
    for (const auto& s : shards) {
        requests.add(s.requests);
        for (const auto& p : s.partitions) {
            auto& t = by_topic[p.topic];
            t.bytes_in += p.traffic.bytes_in;
            t.messages_in += p.traffic.messages_in;
        }
    }
    auto topics = kafka.topics().snapshot();
    std::map<std::string, uint64_t> bytes_out;
    for (const auto& [id, n] : requests.bytes_out()) {
        if (auto t = topics->find(id)) bytes_out[t->name] += n;  // a deleted topic's are gone
    }
    m.family("kafka_server_brokertopicmetrics_bytesin_total", "counter",
             "Bytes of record batches produced to each topic.");
    for (const auto& [topic, t] : by_topic)
        m.sample("kafka_server_brokertopicmetrics_bytesin_total", {{"topic", topic}}, t.bytes_in);
    m.family("kafka_server_brokertopicmetrics_messagesin_total", "counter",
             "Records produced to each topic.");
    for (const auto& [topic, t] : by_topic) {
        m.sample("kafka_server_brokertopicmetrics_messagesin_total", {{"topic", topic}},
                 t.messages_in);
    }
    m.family("kafka_server_brokertopicmetrics_bytesout_total", "counter",
             "Bytes of record batches fetch answers carried, for each topic.");
    for (const auto& [topic, n] : bytes_out)
        m.sample("kafka_server_brokertopicmetrics_bytesout_total", {{"topic", topic}}, n);

    const auto& apis = requests.apis();
    auto api_name = [&kafka](size_t key) -> std::string {
        const api_handler* h = kafka.api_dispatch().find(static_cast<int16_t>(key));
        return h ? h->name : std::to_string(key);
    };
    m.family("kafka_network_requestmetrics_requests_total", "counter",
             "Requests answered, by API and version.");
    for (size_t k = 0; k < apis.size(); ++k) {
        for (const auto& [version, n] : apis[k].by_version) {
            const std::string v = std::to_string(version);
            m.sample("kafka_network_requestmetrics_requests_total",
                     {{"request", api_name(k)}, {"version", v}}, n);
        }
    }
    m.family("kafka_network_requestmetrics_errors_total", "counter",
             "Error codes answered, by API and code (every partition's, NONE included), as "
             "Kafka's RequestMetrics ErrorsPerSec.");
    for (size_t k = 0; k < apis.size(); ++k) {
        for (const auto& [code, n] : apis[k].errors) {
            m.sample("kafka_network_requestmetrics_errors_total",
                     {{"request", api_name(k)},
                      {"error",
                       std::string(protocol::error_name(static_cast<protocol::error_code>(code)))}},
                     n);
        }
    }
    m.family("kafka_network_requestmetrics_totaltimems", "histogram",
             "Milliseconds from a request's arrival to its answer, by API.");
    for (size_t k = 0; k < apis.size(); ++k) {
        if (apis[k].latency.count == 0) continue;
        write_histogram(m, "kafka_network_requestmetrics_totaltimems", apis[k].latency, "request",
                        api_name(k));
    }
    const auto& reads = requests.fetch_file_reads();
    m.family("runnel_fetch_file_ranges_total", "counter",
             "File ranges fetch answers sent with sendfile (zero copy).");
    m.sample("runnel_fetch_file_ranges_total", {}, reads.ranges);
    m.family("runnel_fetch_page_cache_misses_total", "counter",
             "Of those, ranges not wholly in the page cache: read from the disk on the I/O pool "
             "before sendfile (cachestat(2), or mincore(2) on older kernels).");
    m.sample("runnel_fetch_page_cache_misses_total", {}, reads.misses);
    m.family("runnel_fetch_page_cache_miss_bytes_total", "counter",
             "Bytes of the ranges that missed the page cache.");
    m.sample("runnel_fetch_page_cache_miss_bytes_total", {}, reads.miss_bytes);
    latency_histogram flushes;
    for (const auto& s : shards) flushes.add(s.log_flushes);
    m.family("kafka_log_logflushstats_logflushrateandtimems", "histogram",
             "Milliseconds each log flush (fdatasync of a partition's new segment data and "
             "index entries) took, as Kafka's LogFlushStats.");
    write_histogram(m, "kafka_log_logflushstats_logflushrateandtimems", flushes);

    struct gauge {
        const char* name;
        const char* help;
        int64_t (*value)(const partition_row&);
    };
    const gauge per_partition[] = {
        {"kafka_log_log_size", "Bytes of a partition's log on disk.",
         [](const partition_row& p) { return p.size_bytes; }},
        {"kafka_log_log_logstartoffset", "First offset of a partition's log.",
         [](const partition_row& p) { return p.log_start_offset; }},
        {"kafka_log_log_logendoffset", "Offset the next record of a partition gets.",
         [](const partition_row& p) { return p.log_end_offset; }},
        {"kafka_log_log_numlogsegments", "Segments of a partition's log.",
         [](const partition_row& p) { return static_cast<int64_t>(p.segments); }},
    };
    for (const auto& g : per_partition) {
        m.family(g.name, "gauge", g.help);
        for (const auto& s : shards) {
            for (const auto& p : s.partitions) {
                const std::string index = std::to_string(p.index);
                m.sample(g.name, {{"topic", p.topic}, {"partition", index}}, g.value(p));
            }
        }
    }
    m.family("kafka_server_replicamanager_partitioncount", "gauge", "Partitions on this broker.");
    m.sample("kafka_server_replicamanager_partitioncount", {}, topics->partition_count);
    m.family("kafka_controller_kafkacontroller_globaltopiccount", "gauge", "Topics.");
    m.sample("kafka_controller_kafkacontroller_globaltopiccount", {},
             static_cast<uint64_t>(topics->by_name.size()));
    m.family("kafka_server_socketservermetrics_connection_count", "gauge",
             "Client connections open.");
    m.sample("kafka_server_socketservermetrics_connection_count", {}, connection::open_count());

    // Consumer lag under kafka_exporter's names (what Kafka dashboards chart for groups).
    std::map<std::pair<std::string, int32_t>, int64_t> log_ends;
    for (const auto& s : shards) {
        for (const auto& p : s.partitions) log_ends[{p.topic, p.index}] = p.log_end_offset;
    }
    m.family("kafka_consumergroup_current_offset", "gauge",
             "Offset a group has committed for a partition.");
    for (const auto& c : committed) {
        const std::string index = std::to_string(c.partition);
        m.sample("kafka_consumergroup_current_offset",
                 {{"consumergroup", c.group_id}, {"topic", c.topic}, {"partition", index}},
                 c.committed_offset);
    }
    m.family("kafka_consumergroup_lag", "gauge",
             "Records of a partition after a group's committed offset.");
    for (const auto& c : committed) {
        auto end = log_ends.find({c.topic, c.partition});
        if (end == log_ends.end()) continue;  // the partition is gone
        const std::string index = std::to_string(c.partition);
        m.sample("kafka_consumergroup_lag",
                 {{"consumergroup", c.group_id}, {"topic", c.topic}, {"partition", index}},
                 std::max<int64_t>(0, end->second - c.committed_offset));
    }

    m.family("runnel_shard_cpu_seconds_total", "counter",
             "CPU time of each shard's thread; its rate is the shard's busy ratio.");
    for (const auto& s : shards) {
        const std::string id = std::to_string(s.id);
        m.sample("runnel_shard_cpu_seconds_total", {{"shard", id}}, s.cpu_seconds);
    }

    struct pipeline_counter {
        const char* name;
        const char* help;
        uint64_t pipelines::pipeline_status::*field;
    };
    const pipeline_counter counters[] = {
        {"runnel_pipeline_records_in_total", "Records a pipeline's tasks read.",
         &pipelines::pipeline_status::records_in},
        {"runnel_pipeline_records_out_total", "Records a pipeline's tasks wrote.",
         &pipelines::pipeline_status::records_out},
        {"runnel_pipeline_late_total", "Records too late for every window they fall in.",
         &pipelines::pipeline_status::late},
        {"runnel_pipeline_dead_lettered_total", "Records sent to the dead-letter topic.",
         &pipelines::pipeline_status::dead_lettered},
        {"runnel_pipeline_commits_total", "Transactions a pipeline's tasks committed.",
         &pipelines::pipeline_status::commits},
        {"runnel_pipeline_restarts_total", "Restarts of a pipeline's tasks after a failure.",
         &pipelines::pipeline_status::restarts},
    };
    for (const auto& c : counters) {
        m.family(c.name, "counter", c.help);
        for (const auto& p : pipelines) {
            if (!p.name.empty()) m.sample(c.name, {{"pipeline", p.name}}, p.*(c.field));
        }
    }
    m.family("runnel_pipeline_commit_seconds_total", "counter",
             "Time a pipeline's tasks spent committing (over commits_total: the mean commit "
             "latency).");
    for (const auto& p : pipelines) {
        if (!p.name.empty()) {
            m.sample("runnel_pipeline_commit_seconds_total", {{"pipeline", p.name}},
                     static_cast<double>(p.commit_us) / 1e6);
        }
    }
    m.family("runnel_pipeline_state_bytes", "gauge",
             "Bytes of state a pipeline's tasks keep (their stores' estimates).");
    for (const auto& p : pipelines) {
        if (!p.name.empty()) {
            m.sample("runnel_pipeline_state_bytes", {{"pipeline", p.name}}, p.state_bytes);
        }
    }
    m.family("runnel_pipeline_watermark_delay_ms", "gauge",
             "How far a pipeline's event time (its slowest task's watermark) is behind the "
             "broker's clock.");
    const int64_t now_ms = storage::wall_clock_ms();
    for (const auto& p : pipelines) {
        if (!p.name.empty() && p.watermark) {
            m.sample("runnel_pipeline_watermark_delay_ms", {{"pipeline", p.name}},
                     now_ms - *p.watermark);
        }
    }
    m.family("runnel_pipeline_tasks", "gauge", "Tasks of each running pipeline.");
    for (const auto& p : pipelines) {
        if (!p.name.empty()) {
            m.sample("runnel_pipeline_tasks", {{"pipeline", p.name}},
                     static_cast<uint64_t>(p.tasks));
        }
    }
}

}  // namespace

void add_metrics_routes(router& r, admin_services& s) {
    r.add("GET", "/metrics",
          [&s](const http_request&,
               const std::vector<std::string>&) -> asio::awaitable<http_response> {
              std::vector<shard_snapshot> shards = co_await snapshot_shards(s.kafka);
              std::vector<group_committed_offset> committed =
                  co_await all_committed_offsets(s.kafka);
              prometheus_text m;
              write_metrics(m, s.kafka, shards, s.pipelines.status(), committed);
              http_response answer;
              answer.content_type = "text/plain; version=0.0.4; charset=utf-8";
              answer.body = m.text();
              co_return answer;
          });
}

}  // namespace runnel::server::admin
