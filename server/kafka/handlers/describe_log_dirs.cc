// DescribeLogDirs (35, KIP-113): every log.dirs entry with the partitions it holds and their
// sizes, and (v4, KIP-827) the file system's total and usable bytes. kafka-log-dirs.sh
// --describe and AdminClient.describeLogDirs use it; Cruise Control and the console UIs read
// partition sizes from it.
#include <sys/statvfs.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "protocol/errors.h"
#include "protocol/messages/describe_log_dirs.h"
#include "server/cluster/partition_work.h"
#include "server/core/cross_shard.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"

namespace runnel::server {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

namespace {

using dir_result = describe_log_dirs_response::describe_log_dirs_result;

struct partition_size : partition_work {
    size_t dir = 0;  // index into log.dirs
    std::string topic;
    int64_t bytes = -1;  // -1: the partition went away before its owner was asked
};

void measure(kafka_services& b, shard_id owner, partition_size& s) {
    if (partition* p = b.partitions_on(owner).find(s.topic_id, s.index)) {
        s.bytes = p->log().size_bytes();
    }
}

// The name clients see: Kafka reports each log dir by its absolute path.
std::string absolute_dir(const std::string& dir) {
    std::error_code ec;
    auto path = std::filesystem::absolute(dir, ec);
    return ec ? dir : path.lexically_normal().string();
}

// Wanted partitions of `topic`: all of them when the request names no topics (null), else
// those listed under its name (a name may appear more than once; unknown indexes are skipped,
// as Kafka skips partitions it doesn't host).
std::vector<int32_t> wanted_partitions(const describe_log_dirs_request& req,
                                       const topic_metadata& topic) {
    std::vector<int32_t> out;
    if (!req.topics) {
        for (int32_t i = 0; i < topic.partition_count(); ++i) out.push_back(i);
        return out;
    }
    for (const auto& t : *req.topics) {
        if (t.topic != topic.name) continue;
        for (int32_t i : t.partitions) {
            if (i >= 0 && i < topic.partition_count()) out.push_back(i);
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

asio::awaitable<std::optional<describe_log_dirs_response>> handle(request_context& ctx,
                                                                  describe_log_dirs_request req) {
    kafka_services& b = ctx.services;
    const auto& dirs = b.config().log_dirs;
    auto snap = b.topics().snapshot();

    std::vector<partition_size> work;
    auto consider = [&](const topic_metadata& topic) {
        for (int32_t index : wanted_partitions(req, topic)) {
            partition_size s;
            locate_partition(&topic, index, 0, s);
            const auto& placed_in = topic.partitions[static_cast<size_t>(index)].log_dir;
            auto dir = std::find(dirs.begin(), dirs.end(), placed_in);
            if (dir == dirs.end()) continue;
            s.dir = static_cast<size_t>(dir - dirs.begin());
            s.topic = topic.name;
            work.push_back(std::move(s));
        }
    };
    if (req.topics) {
        // Only the named topics: a request for one topic must not walk a table of 100,000.
        std::set<std::string_view> names;
        for (const auto& t : *req.topics) names.insert(t.topic);
        for (auto name : names) {
            if (auto topic = snap->find(name)) consider(*topic);
        }
    } else {
        for (const auto& [name, topic] : snap->by_name) consider(*topic);
    }

    auto measure_all =
        [&b](shard_id owner,
             std::vector<partition_size> items) -> asio::awaitable<std::vector<partition_size>> {
        for (auto& s : items) measure(b, owner, s);
        co_return items;
    };
    auto done = co_await run_on_owners(b.shards(), ctx.home, std::move(work), measure_all);

    // Per dir, topics by name and partitions by index, so the answer reads the same every time.
    std::vector<std::map<std::string, std::map<int32_t, int64_t>>> by_dir(dirs.size());
    for (const auto& s : done) {
        if (s.bytes >= 0) by_dir[s.dir][s.topic][s.index] = s.bytes;
    }

    describe_log_dirs_response resp;
    for (size_t d = 0; d < dirs.size(); ++d) {
        dir_result& out = resp.results.emplace_back();
        out.log_dir = absolute_dir(dirs[d]);
        struct statvfs fs {};
        if (::statvfs(dirs[d].c_str(), &fs) != 0) {
            // The dir is unreadable: Kafka reports such a dir as offline with this code.
            out.error_code = to_wire(error_code::kafka_storage_error);
            continue;
        }
        out.total_bytes = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
        out.usable_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
        for (auto& [name, partitions] : by_dir[d]) {
            auto& t = out.topics.emplace_back();
            t.name = name;
            for (auto [index, bytes] : partitions) {
                auto& p = t.partitions.emplace_back();
                p.partition_index = index;
                p.partition_size = bytes;
                // A single replica is its own high watermark: nothing to catch up (Kafka's lag
                // is the high watermark minus the log end, never below 0).
                p.offset_lag = 0;
                p.is_future_key = false;
            }
        }
    }
    co_return resp;
}

}  // namespace

void register_describe_log_dirs(dispatch& d) { d.add<api_types<35>>(handle); }

}  // namespace runnel::server
