// /v1/topics/{name}/partitions/{partition}/records (read: from an offset or the tail) and
// /v1/topics/{topic}/records (produce): the console's message browser and `runnel topic
// produce|consume`. Both run on the partition's owner shard through the same paths as Kafka's
// Fetch and Produce (partition_records.h, partition::append), so what they show and write is
// what Kafka clients see.
#include <atomic>
#include <boost/asio/this_coro.hpp>
#include <map>

#include "protocol/errors.h"
#include "protocol/record_batch.h"
#include "server/admin/json_body.h"
#include "server/admin/record_json.h"
#include "server/admin/routes/routes.h"
#include "server/cluster/default_partitioner.h"
#include "server/core/cross_shard.h"
#include "server/kafka/kafka_services.h"
#include "storage/wall_clock.h"

namespace runnel::server::admin {

namespace {

using protocol::error_code;

constexpr int64_t max_read_records = 1000;
constexpr int64_t max_read_bytes = 16 << 20;
constexpr size_t max_produce_records = 10000;

// One partition's read, as answered.
struct partition_read {
    bool found = false;
    int64_t log_start = 0, high_watermark = 0, last_stable = 0;
    int64_t end = 0;    // what the isolation level reads up to (readable_end)
    int64_t start = 0;  // where the read began
    records_read read;
};

struct read_request {
    std::optional<int64_t> offset, tail;
    int64_t limit = 100;
    int64_t max_bytes = 1 << 20;
    isolation iso = isolation::read_uncommitted;
};

std::optional<http_response> parse_read(const http_request& request, read_request& r) {
    std::optional<http_response> bad;
    auto take = [&](const char* name, int64_t min, int64_t max) -> std::optional<int64_t> {
        int64_t v = 0;
        if (!bad) bad = query_integer(request, name, min, max, v);
        if (bad || !request.query.count(name)) return std::nullopt;
        return v;
    };
    r.offset = take("offset", 0, INT64_MAX);
    r.tail = take("tail", 1, max_read_records);
    r.limit = take("limit", 1, max_read_records).value_or(r.tail.value_or(r.limit));
    r.max_bytes = take("max_bytes", 1, max_read_bytes).value_or(r.max_bytes);
    if (bad) return bad;
    if (r.offset && r.tail) return error_answer(400, "give 'offset' or 'tail', not both", "tail");
    if (auto it = request.query.find("isolation"); it != request.query.end()) {
        if (it->second == "read_committed") {
            r.iso = isolation::read_committed;
        } else if (it->second != "read_uncommitted") {
            return error_answer(400, "'isolation' must be read_uncommitted or read_committed",
                                "isolation");
        }
    }
    return std::nullopt;
}

// A partition index from the path: digits only, below the topic's partition count.
std::optional<int32_t> partition_index(const std::string& text, const topic_metadata& t) {
    if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != text.npos)
        return std::nullopt;
    const int32_t i = std::stoi(text);
    if (i >= t.partition_count()) return std::nullopt;
    return i;
}

// One produced record, validated.
struct produced_record {
    protocol::record_input input;
    int32_t partition = 0;
};

std::optional<http_response> parse_records(const http_request& request, const topic_metadata& t,
                                           uint32_t turn, std::vector<produced_record>& out) {
    json_body body(request);
    auto list = body.value("records", true);
    if (auto bad = body.problem()) return bad;
    if (!list->is_array() || list->empty() || list->size() > max_produce_records) {
        return error_answer(400,
                            join("'records' must be an array of 1 to ",
                                 std::to_string(max_produce_records), " records"),
                            "records");
    }
    // Records without key and partition go to one partition per request, turn by turn (in
    // the spirit of Kafka's sticky partitioner, KIP-480: one batch, not one per partition).
    const int32_t unkeyed = static_cast<int32_t>(turn % static_cast<uint32_t>(t.partition_count()));
    const int64_t now = storage::wall_clock_ms();
    for (size_t i = 0; i < list->size(); ++i) {
        json_body rec((*list)[i], join("records[", std::to_string(i), "]."));
        produced_record p;
        p.input.key = record_bytes(rec, "key");
        p.input.value = record_bytes(rec, "value");
        p.input.timestamp = rec.integer("timestamp", false, 0, INT64_MAX).value_or(now);
        auto partition = rec.integer("partition", false, 0, t.partition_count() - 1);
        if (auto headers = rec.value("headers", false)) {
            if (!headers->is_array()) {
                rec.refuse(join("'", rec.full("headers"), "' must be an array"), "headers");
            } else {
                for (size_t k = 0; k < headers->size(); ++k) {
                    const std::string at = join("headers[", std::to_string(k), "]");
                    json_body h((*headers)[k], join(rec.full(at), "."));
                    auto key = h.string("key", true);
                    auto value = record_bytes(h, "value");
                    if (auto bad = h.problem()) return bad;
                    p.input.headers.emplace_back(*key, std::move(value));
                }
            }
        }
        if (auto bad = rec.problem()) return bad;
        p.partition = partition     ? static_cast<int32_t>(*partition)
                      : p.input.key ? partition_for_key(*p.input.key, t.partition_count())
                                    : unkeyed;
        out.push_back(std::move(p));
    }
    return std::nullopt;
}

// What a partition's append answered, as HTTP: the writer's mistakes are 4xx.
unsigned status_of(error_code e) {
    switch (e) {
        case error_code::message_too_large:
        case error_code::record_list_too_large:
        case error_code::invalid_record:
        case error_code::invalid_timestamp:
        case error_code::corrupt_message:
            return 400;
        case error_code::unknown_topic_or_partition:
            return 404;
        case error_code::not_enough_replicas:
        case error_code::not_leader_or_follower:
        case error_code::request_timed_out:
            return 503;
        default:
            return 500;
    }
}

}  // namespace

void add_record_routes(router& r, admin_services& s) {
    r.add("GET", "/v1/topics/{name}/partitions/{partition}/records",
          [&s](const http_request& request,
               const std::vector<std::string>& params) -> asio::awaitable<http_response> {
              auto t = s.kafka.topics().snapshot()->find(params[0]);
              if (!t) co_return error_answer(404, join("no topic named '", params[0], "'"));
              auto index = partition_index(params[1], *t);
              if (!index) {
                  co_return error_answer(
                      404, join("topic '", params[0], "' has no partition '", params[1], "'"));
              }
              read_request want;
              if (auto bad = parse_read(request, want)) co_return *bad;
              const shard_id owner = t->partitions[static_cast<size_t>(*index)].owner;
              auto read = [&s, owner, id = t->id, i = *index,
                           want]() -> asio::awaitable<partition_read> {
                  partition_read out;
                  const partition* p = s.kafka.partitions_on(owner).find(id, i);
                  if (!p) co_return out;
                  const auto& log = p->log();
                  out.found = true;
                  out.log_start = log.log_start_offset();
                  out.high_watermark = p->high_watermark();
                  out.last_stable = p->last_stable_offset();
                  out.end = readable_end(*p, want.iso);
                  out.start = want.offset ? *want.offset
                              : want.tail ? std::max(out.log_start, out.end - *want.tail)
                                          : out.log_start;
                  if (out.start > out.end) co_return out;  // answered as a 400 below
                  out.read = read_records(*p, out.start, static_cast<size_t>(want.max_bytes),
                                          want.iso, static_cast<size_t>(want.limit));
                  co_return out;
              };
              partition_read got = co_await on_shard(s.kafka.shards().at(owner), read);
              if (!got.found) co_return error_answer(503, "the partition is not open");
              if (got.read.error) {
                  co_return error_answer(
                      500, join("reading the partition failed: ", got.read.error.message()));
              }
              if (got.start > got.end) {
                  co_return error_answer(
                      400,
                      join("offset ", std::to_string(got.start),
                           " is past the end of the partition (", std::to_string(got.end), ")"),
                      "offset");
              }
              json records = json::array();
              for (const auto& rec : got.read.records) records.push_back(record_json(rec));
              co_return json_answer(200,
                                    json{{"topic", t->name},
                                         {"partition", *index},
                                         {"log_start_offset", got.log_start},
                                         {"high_watermark", got.high_watermark},
                                         {"last_stable_offset", got.last_stable},
                                         // Past the last record read, or where the read began when
                                         // older records were gone (the log start moved past it).
                                         {"next_offset", got.read.next_offset},
                                         {"records", std::move(records)}});
          });

    r.add(
        "POST", "/v1/topics/{name}/records",
        [&s](const http_request& request,
             const std::vector<std::string>& params) -> asio::awaitable<http_response> {
            auto t = s.kafka.topics().snapshot()->find(params[0]);
            if (!t) co_return error_answer(404, join("no topic named '", params[0], "'"));
            static std::atomic<uint32_t> round_robin{0};
            uint32_t turn = round_robin.fetch_add(1, std::memory_order_relaxed);
            std::vector<produced_record> records;
            if (auto bad = parse_records(request, *t, turn, records)) co_return *bad;

            // One batch per partition, in the order the records came.
            std::map<int32_t, std::vector<size_t>> by_partition;
            for (size_t i = 0; i < records.size(); ++i)
                by_partition[records[i].partition].push_back(i);
            std::vector<int64_t> offsets(records.size(), -1);
            json partitions = json::array();
            unsigned status = 200;
            for (const auto& [index, members] : by_partition) {
                std::vector<protocol::record_input> inputs;
                for (size_t m : members) inputs.push_back(records[m].input);
                auto batch = protocol::build_batch({}, inputs);
                const shard_id owner = t->partitions[static_cast<size_t>(index)].owner;
                auto append = [&s, owner, id = t->id, index = index,
                               batch =
                                   std::move(batch)]() mutable -> asio::awaitable<append_result> {
                    partition* p = s.kafka.partitions_on(owner).find(id, index);
                    if (!p) {
                        append_result missing;
                        missing.error = error_code::not_leader_or_follower;
                        missing.message = "the partition is not open";
                        co_return missing;
                    }
                    append_result done = p->append(batch, storage::append_origin::client);
                    if (!done.ok()) co_return done;
                    // Answered once durable as the topic's flush policy says, as acks=all.
                    std::error_code ec = co_await p->acknowledged(done, required_acks::all);
                    if (ec) {
                        done.error = error_code::kafka_storage_error;
                        done.message = ec.message();
                    }
                    co_return done;
                };
                append_result done = co_await on_shard(s.kafka.shards().at(owner), append);
                json entry = {{"partition", index}, {"records", members.size()}};
                if (done.ok()) {
                    for (size_t k = 0; k < members.size(); ++k)
                        offsets[members[k]] = done.base_offset + static_cast<int64_t>(k);
                    entry["base_offset"] = done.base_offset;
                } else {
                    // Each partition's batch is written whole or not at all (as in Produce);
                    // the others' outcomes are reported beside it.
                    entry["error"] =
                        done.message.value_or(std::string(protocol::error_name(done.error)));
                    entry["error_code"] = protocol::error_name(done.error);
                    status = std::max(status, status_of(done.error));
                }
                partitions.push_back(std::move(entry));
            }
            json answer = json::array();
            for (size_t i = 0; i < records.size(); ++i) {
                answer.push_back(json{{"partition", records[i].partition}, {"offset", offsets[i]}});
            }
            json result = {{"topic", t->name}, {"offsets", answer}, {"partitions", partitions}};
            if (status != 200) {
                result["error"] = "some partitions refused their records (see partitions)";
            }
            co_return json_answer(status, result);
        });
}

}  // namespace runnel::server::admin
