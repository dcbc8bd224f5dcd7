#include "server/coordinators/groups/offsets_topic.h"

#include <string>

#include "server/cluster/internal_topic.h"
#include "server/config/broker_config.h"

namespace runnel::server::groups {

namespace {

// Decodes one UTF-8 sequence at s[i]; returns the code point (U+FFFD when malformed) and
// advances i.
uint32_t next_code_point(std::string_view s, size_t& i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    auto cont = [&](size_t k) -> int {
        if (i + k >= s.size()) return -1;
        auto b = static_cast<unsigned char>(s[i + k]);
        return (b & 0xc0) == 0x80 ? (b & 0x3f) : -1;
    };
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    int len = (b0 & 0xe0) == 0xc0 ? 2 : (b0 & 0xf0) == 0xe0 ? 3 : (b0 & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0) {
        ++i;
        return 0xfffd;
    }
    uint32_t cp = b0 & (0x7f >> len);
    for (int k = 1; k < len; ++k) {
        int c = cont(static_cast<size_t>(k));
        if (c < 0) {
            ++i;
            return 0xfffd;
        }
        cp = (cp << 6) | static_cast<uint32_t>(c);
    }
    static constexpr uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        ++i;
        return 0xfffd;
    }
    i += static_cast<size_t>(len);
    return cp;
}

}  // namespace

int32_t java_string_hash(std::string_view utf8) {
    uint32_t h = 0;  // Java int arithmetic wraps; unsigned arithmetic wraps the same way
    auto add = [&h](uint32_t unit) { h = h * 31 + unit; };
    for (size_t i = 0; i < utf8.size();) {
        uint32_t cp = next_code_point(utf8, i);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            add(0xd800 + (cp >> 10));  // surrogate pair
            add(0xdc00 + (cp & 0x3ff));
        } else {
            add(cp);
        }
    }
    return static_cast<int32_t>(h);
}

int32_t partition_for_group(std::string_view group_id, int32_t partitions) {
    const int32_t h = java_string_hash(group_id);
    const int32_t abs = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
    return abs % partitions;
}

new_topic offsets_topic_spec(const broker_config& c) {
    auto spec = compacted_internal_topic(offsets_topic_name, c.offsets_topic_num_partitions,
                                         c.offsets_topic_segment_bytes, "producer");
    if (!c.zookeeper_connect.empty()) {
        // A cluster's groups are coordinated by the leaders of their partitions of
        // __consumer_offsets, a topic of the cluster's like any other (Kafka's ZooKeeper mode);
        // more replicas than live brokers: COORDINATOR_NOT_AVAILABLE until there are enough.
        spec.local = false;
        spec.replication_factor = c.offsets_topic_replication_factor;
    }
    return spec;
}

}  // namespace runnel::server::groups
