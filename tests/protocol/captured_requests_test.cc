// Bytes captured from real clients decode as expected: each tests/data/captured/*.bin file is one
// request frame (size prefix stripped) recorded by scripts/capture-client-requests.py from kcat,
// kafka-python or confluent-kafka-python. The generated codec must decode header and body using
// every byte, find the values the capture script made the client send, and re-encode the decoded
// structs to exactly the captured bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "protocol/codec.h"
#include "protocol/messages/api_table.h"
#include "protocol/record_batch.h"

namespace runnel::protocol {
namespace {

namespace fs = std::filesystem;
using namespace runnel::protocol::msg;

constexpr const char* topic = "captured-topic";

fs::path captured_dir() { return fs::path(RUNNEL_TEST_DATA_DIR) / "captured"; }

std::vector<std::string> captured_files() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(captured_dir(), ec)) {
        if (e.is_regular_file() && e.path().extension() == ".bin") {
            names.push_back(e.path().filename().string());
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<uint8_t> read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// What the file name says: <client>-<ApiName>-v<version>[-<codec>].bin.
struct capture {
    std::string file;
    std::string client;  // kcat, kafka-python, confluent-kafka
    std::string client_id;
    std::string api_name;
    int version = -1;
    std::string variant;  // kcat Produce: the -z codec
};

const std::map<std::string, std::string> client_ids = {
    {"kcat", "captured-kcat"},
    {"kafka-python", "captured-kafka-python"},
    {"confluent-kafka", "captured-confluent"},
};

std::optional<capture> parse_name(const std::string& file) {
    capture c;
    c.file = file;
    for (const auto& [client, id] : client_ids) {
        if (file.rfind(client + "-", 0) == 0) {
            c.client = client;
            c.client_id = id;
        }
    }
    if (c.client.empty() || file.size() < 4) return std::nullopt;
    std::string rest = file.substr(c.client.size() + 1, file.size() - c.client.size() - 5);
    auto dash_v = rest.find("-v");
    if (dash_v == std::string::npos) return std::nullopt;
    c.api_name = rest.substr(0, dash_v);
    std::string tail = rest.substr(dash_v + 2);
    auto dash = tail.find('-');
    if (dash != std::string::npos) {
        c.variant = tail.substr(dash + 1);
        tail = tail.substr(0, dash);
    }
    if (tail.empty() || !std::all_of(tail.begin(), tail.end(), ::isdigit)) return std::nullopt;
    c.version = std::stoi(tail);
    return c;
}

const api_info* find_api(int16_t key) {
    for (const auto& a : api_table) {
        if (a.key == key) return &a;
    }
    return nullptr;
}

std::string str(std::span<const uint8_t> s) {
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

// ---------------------------------------------------------------- expectations per request type

// The first record of the first batch of every Produce capture, as the capture script sent it.
struct expected_record {
    std::string key, value;
    std::vector<std::pair<std::string, std::string>> headers;
};

void check_records(const record_set& records, const capture& c) {
    ASSERT_FALSE(records.is_null());
    std::vector<uint8_t> bytes = records.flatten();
    auto header = parse_batch_header(bytes);
    ASSERT_TRUE(header.has_value()) << "records shorter than a batch header: " << bytes.size();
    EXPECT_EQ(header->magic, 2);
    EXPECT_EQ(header->base_offset, 0);
    EXPECT_GE(header->records_count, 1);
    EXPECT_LE(header->total_size(), static_cast<int64_t>(bytes.size()));
    EXPECT_FALSE(header->is_transactional());
    EXPECT_FALSE(header->is_control());
    auto v = validate_batches(bytes, 1 << 20);
    EXPECT_EQ(v.error, error_code::none) << v.message;
    EXPECT_GE(v.batch_count, 1);
    EXPECT_GE(v.record_count, header->records_count);

    compression_codec codec = compression_codec::none;
    expected_record want;
    if (c.client == "kcat") {
        if (c.variant == "gzip") {
            codec = compression_codec::gzip;
        } else if (c.variant == "snappy") {
            codec = compression_codec::snappy;
        } else if (c.variant == "lz4") {
            codec = compression_codec::lz4;
        } else if (c.variant == "zstd") {
            codec = compression_codec::zstd;
        } else {
            FAIL() << "kcat Produce capture without a known codec suffix: " << c.variant;
        }
        // The script pads values so that compressing them pays off (librdkafka sends a batch
        // uncompressed otherwise).
        std::string filler;
        for (int i = 0; i < 32; ++i) filler += "abcdefgh";
        want = {"k0", c.variant + " value 0 " + filler, {}};
    } else if (c.client == "kafka-python") {
        want = {"kp0", R"({"n": 0, "from": "kafka-python"})", {{"source", "kafka-python"}}};
    } else {
        want = {"ck0", "confluent value 0", {{"source", "confluent-kafka"}}};
    }
    if (codec == compression_codec::lz4 && header->codec() == compression_codec::none) {
        // librdkafka keys its LZ4 feature on the broker advertising FindCoordinator (LZ4 dates
        // from Kafka 0.8.2); without it `kcat -z lz4` sends the batch uncompressed. See
        // tests/data/captured/README.md.
    } else {
        EXPECT_EQ(static_cast<int>(header->codec()), static_cast<int>(codec));
    }

    std::optional<expected_record> first;
    std::vector<uint8_t> scratch;
    bool parsed = for_each_record(
        bytes,
        [&](const record& r) {
            expected_record got;
            if (r.key) got.key = str(*r.key);
            if (r.value) got.value = str(*r.value);
            for (const auto& h : r.headers) {
                got.headers.emplace_back(std::string(h.key), h.value ? str(*h.value) : "");
            }
            EXPECT_EQ(r.offset, 0);
            first = got;
            return false;
        },
        &scratch);
    EXPECT_TRUE(parsed);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->key, want.key);
    EXPECT_EQ(first->value, want.value);
    EXPECT_EQ(first->headers, want.headers);
}

void check_body(const produce_request& m, const capture& c) {
    EXPECT_FALSE(m.transactional_id.has_value());
    // librdkafka's default acks is all (-1); kafka-python's is 1.
    EXPECT_EQ(m.acks, c.client == "kafka-python" ? 1 : -1);
    EXPECT_GT(m.timeout_ms, 0);
    ASSERT_EQ(m.topic_data.size(), 1u);
    EXPECT_EQ(m.topic_data[0].name, topic);
    ASSERT_EQ(m.topic_data[0].partition_data.size(), 1u);
    EXPECT_EQ(m.topic_data[0].partition_data[0].index, 0);
    check_records(m.topic_data[0].partition_data[0].records, c);
}

void check_body(const fetch_request& m, const capture& c) {
    if (c.version < 15) {
        EXPECT_EQ(m.replica_id, -1);  // a consumer, not a follower
    }
    EXPECT_GT(m.max_wait_ms, 0);
    ASSERT_FALSE(m.topics.empty());
    bool found = false;
    for (const auto& t : m.topics) {
        if (c.version >= 13) {
            EXPECT_NE(t.topic_id, zero_uuid);
        } else {
            EXPECT_EQ(t.topic, topic);
        }
        for (const auto& p : t.partitions) {
            if (p.partition == 0) {
                found = true;
                EXPECT_EQ(p.fetch_offset, 0);  // right after resetting to the earliest offset
                EXPECT_GT(p.partition_max_bytes, 0);
            }
        }
    }
    EXPECT_TRUE(found) << "no fetch of partition 0";
}

void check_body(const list_offsets_request& m, const capture&) {
    EXPECT_EQ(m.replica_id, -1);
    ASSERT_EQ(m.topics.size(), 1u);
    EXPECT_EQ(m.topics[0].name, topic);
    ASSERT_FALSE(m.topics[0].partitions.empty());
    for (const auto& p : m.topics[0].partitions) {
        EXPECT_EQ(p.timestamp, -2);  // earliest: -o beginning, OFFSET_BEGINNING, 'earliest'
    }
}

void check_body(const metadata_request& m, const capture& c) {
    // Either all topics (null; an empty array before v1) or just the captured topic.
    size_t named = 0;
    if (m.topics) {
        for (const auto& t : *m.topics) {
            ASSERT_TRUE(t.name.has_value());
            EXPECT_EQ(*t.name, topic);
            ++named;
        }
    }
    // `kcat -L -t captured-topic` asks for that topic alone.
    if (c.client == "kcat") {
        EXPECT_EQ(named, 1u);
    }
}

void check_body(const api_versions_request& m, const capture& c) {
    if (c.version < 3) {
        EXPECT_EQ(m.client_software_name, "");
        return;
    }
    if (c.client == "confluent-kafka") {
        EXPECT_EQ(m.client_software_name, "confluent-kafka-python");
        EXPECT_NE(m.client_software_version.find("-rdkafka-"), std::string::npos)
            << m.client_software_version;
    } else {
        // kcat leaves librdkafka's defaults.
        EXPECT_EQ(m.client_software_name, "librdkafka");
        EXPECT_FALSE(m.client_software_version.empty());
    }
}

void check_body(const create_topics_request& m, const capture& c) {
    ASSERT_EQ(m.topics.size(), 1u);
    const auto& t = m.topics[0];
    EXPECT_EQ(t.name, topic);
    EXPECT_EQ(t.replication_factor, 1);
    EXPECT_TRUE(t.assignments.empty());
    EXPECT_FALSE(m.validate_only);
    ASSERT_EQ(t.configs.size(), 1u);
    EXPECT_EQ(t.configs[0].name, "retention.ms");
    if (c.client == "kafka-python") {
        EXPECT_EQ(t.num_partitions, 2);
        EXPECT_EQ(t.configs[0].value, std::optional<std::string>("7200000"));
    } else {
        EXPECT_EQ(t.num_partitions, 1);
        EXPECT_EQ(t.configs[0].value, std::optional<std::string>("3600000"));
    }
}

void check_body(const delete_topics_request& m, const capture& c) {
    if (c.version >= 6) {
        ASSERT_EQ(m.topics.size(), 1u);
        EXPECT_EQ(m.topics[0].name, std::optional<std::string>(topic));
    } else {
        EXPECT_EQ(m.topic_names, std::vector<std::string>{topic});
    }
}

void check_body(const describe_configs_request& m, const capture&) {
    ASSERT_EQ(m.resources.size(), 1u);
    EXPECT_EQ(m.resources[0].resource_type, 2);  // TOPIC
    EXPECT_EQ(m.resources[0].resource_name, topic);
}

void check_body(const create_partitions_request& m, const capture&) {
    ASSERT_EQ(m.topics.size(), 1u);
    EXPECT_EQ(m.topics[0].name, topic);
    EXPECT_EQ(m.topics[0].count, 2);
    EXPECT_FALSE(m.topics[0].assignments.has_value());
    EXPECT_FALSE(m.validate_only);
}

template <class T>
void check_body(const T&, const capture& c) {
    ADD_FAILURE() << "no expectations written for " << c.api_name << " captures";
}

// ------------------------------------------------------------------------------------ the tests

TEST(captured_requests, directory_has_captures) {
    auto files = captured_files();
    ASSERT_FALSE(files.empty()) << "no .bin files in " << captured_dir()
                                << "; run scripts/capture-client-requests.py";
    std::set<std::string> clients, kcat_codecs;
    for (const auto& f : files) {
        auto c = parse_name(f);
        ASSERT_TRUE(c.has_value()) << "unexpected file name " << f;
        clients.insert(c->client);
        if (c->client == "kcat" && c->api_name == "Produce") kcat_codecs.insert(c->variant);
    }
    EXPECT_EQ(clients, (std::set<std::string>{"kcat", "kafka-python", "confluent-kafka"}));
    EXPECT_EQ(kcat_codecs, (std::set<std::string>{"gzip", "snappy", "lz4", "zstd"}));
}

class captured_request : public ::testing::TestWithParam<std::string> {};

TEST_P(captured_request, decodes_as_expected_and_reencodes_identically) {
    auto c = parse_name(GetParam());
    ASSERT_TRUE(c.has_value()) << "unexpected file name " << GetParam();
    const std::vector<uint8_t> bytes = read_file(captured_dir() / GetParam());
    ASSERT_GE(bytes.size(), 8u);

    // The API key and version come first in every header version.
    reader peek(bytes.data(), 4);
    const int16_t key = peek.read_int16();
    const int16_t version = peek.read_int16();
    const api_info* api = find_api(key);
    ASSERT_NE(api, nullptr) << "API key " << key << " is not in api_table";
    EXPECT_EQ(c->api_name, api->name);
    EXPECT_EQ(c->version, version);
    EXPECT_GE(version, api->min_version);
    EXPECT_LE(version, api->max_version);
    const bool flexible = api->first_flexible >= 0 && version >= api->first_flexible;
    const int16_t header_version = flexible ? 2 : 1;

    reader r(bytes.data(), bytes.size());
    request_header header;
    header.decode(r, header_version);
    ASSERT_TRUE(r.ok()) << "request header";
    EXPECT_EQ(header.request_api_key, key);
    EXPECT_EQ(header.request_api_version, version);
    EXPECT_EQ(header.client_id, std::optional<std::string>(c->client_id));
    EXPECT_TRUE(header.unknown_tags.empty());

    bool dispatched = false;
    std::apply(
        [&](auto... apis) {
            (
                [&] {
                    using A = decltype(apis);
                    if (A::key != key) return;
                    dispatched = true;
                    typename A::request body;
                    body.decode(r, version);
                    ASSERT_TRUE(r.ok()) << "decoding the " << A::name << " v" << version << " body";
                    ASSERT_EQ(r.remaining(), 0u) << "bytes left after the body";
                    check_body(body, *c);

                    writer w;
                    header.encode(w, header_version);
                    body.encode(w, version);
                    EXPECT_EQ(w.flatten(), bytes) << "re-encoding differs from the captured bytes";
                }(),
                ...);
        },
        all_apis{});
    EXPECT_TRUE(dispatched);
}

std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
    std::string s = info.param.substr(0, info.param.size() - 4);  // drop ".bin"
    for (char& ch : s) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    }
    return s;
}

INSTANTIATE_TEST_SUITE_P(files, captured_request, ::testing::ValuesIn(captured_files()),
                         param_name);
// With no files the parameterized suite is empty; directory_has_captures fails then.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(captured_request);

}  // namespace
}  // namespace runnel::protocol
