// Whole-broker behaviour in process (tests/server/in_process_broker.h): requests through the
// listener, connection, dispatch, handlers, coordinators and partitions, without a broker process.
#include "in_process_broker.h"

#include "protocol/errors.h"
#include "protocol/record_batch.h"

namespace runnel::server::test {
namespace {

using namespace protocol::msg;
using protocol::error_code;
using protocol::to_wire;

create_topics_request one_topic(std::string name, int32_t partitions) {
    create_topics_request req;
    auto& t = req.topics.emplace_back();
    t.name = std::move(name);
    t.num_partitions = partitions;
    t.replication_factor = 1;
    return req;
}

TEST(InProcessBroker, ApiVersionsAdvertisesTheServedRanges) {
    in_process_broker b;
    kafka_test_client c(b.port());
    auto resp = c.call<api_versions_api_key>(api_versions_request{}, 3);
    EXPECT_EQ(resp.error_code, 0);
    bool saw_end_txn = false;
    for (const auto& k : resp.api_keys) {
        if (k.api_key == end_txn_api_key) {
            saw_end_txn = true;
            EXPECT_EQ(k.min_version, 0);
            EXPECT_EQ(k.max_version, 4);  // the schema describes v5, the broker serves up to v4
        }
        if (k.api_key == produce_api_key) {
            EXPECT_EQ(k.min_version, 0);  // KAFKA-18659
        }
    }
    EXPECT_TRUE(saw_end_txn);
}

TEST(InProcessBroker, PartitionLimitsRefuseWithPolicyViolation) {
    in_process_broker b(std::map<std::string, std::string>{{"runnel.max.partitions", "10"}});
    kafka_test_client c(b.port());
    auto huge = c.call<create_topics_api_key>(one_topic("huge", 50000), 5);
    ASSERT_EQ(huge.topics.size(), 1u);
    EXPECT_EQ(huge.topics[0].error_code, to_wire(error_code::policy_violation));
    auto fits = c.call<create_topics_api_key>(one_topic("fits", 8), 5);
    EXPECT_EQ(fits.topics[0].error_code, 0);
    auto over = c.call<create_topics_api_key>(one_topic("over", 5), 5);
    EXPECT_EQ(over.topics[0].error_code, to_wire(error_code::policy_violation));
    ASSERT_TRUE(over.topics[0].error_message);
    EXPECT_NE(over.topics[0].error_message->find("runnel.max.partitions"), std::string::npos);
}

TEST(InProcessBroker, ProducedBatchIsFetchedBackWithItsOffsets) {
    in_process_broker b;
    kafka_test_client c(b.port());
    ASSERT_EQ(c.call<create_topics_api_key>(one_topic("walk", 3), 5).topics[0].error_code, 0);

    std::vector<protocol::record_input> records(3);
    for (int i = 0; i < 3; ++i) records[i].value = "value-" + std::to_string(i);
    auto batch = protocol::build_batch({}, records);
    for (int round = 0; round < 2; ++round) {
        produce_request p;
        p.acks = -1;
        p.timeout_ms = 10000;
        auto& td = p.topic_data.emplace_back();
        td.name = "walk";
        auto& pd = td.partition_data.emplace_back();
        pd.index = 2;
        pd.records = protocol::record_set::copy_of(batch);
        auto resp = c.call<produce_api_key>(p, 9);
        ASSERT_EQ(resp.responses.size(), 1u);
        const auto& pr = resp.responses[0].partition_responses[0];
        EXPECT_EQ(pr.error_code, 0);
        EXPECT_EQ(pr.base_offset, 3 * round);
    }

    fetch_request f;
    f.max_wait_ms = 100;
    f.min_bytes = 1;
    auto& ft = f.topics.emplace_back();
    ft.topic = "walk";
    auto& fp = ft.partitions.emplace_back();
    fp.partition = 2;
    fp.fetch_offset = 3;
    fp.partition_max_bytes = 1 << 20;
    auto resp = c.call<fetch_api_key>(f, 12);
    ASSERT_EQ(resp.responses.size(), 1u);
    const auto& pd = resp.responses[0].partitions[0];
    EXPECT_EQ(pd.error_code, 0);
    EXPECT_EQ(pd.high_watermark, 6);
    std::vector<uint8_t> got;
    for (const auto& chunk : pd.records.chunks()) chunk.copy_to(got);
    auto h = protocol::parse_batch_header(got);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->base_offset, 3);  // stamped by the broker
    EXPECT_EQ(h->records_count, 3);
    EXPECT_EQ(got.size(), batch.size());
}

TEST(InProcessBroker, MetadataCreatesAMissingTopicWithTheDefaultPartitionCount) {
    in_process_broker b(std::map<std::string, std::string>{{"num.partitions", "4"}});
    kafka_test_client c(b.port());
    metadata_request m;
    auto& t = m.topics.emplace();
    t.emplace_back().name = "auto-made";
    m.allow_auto_topic_creation = true;
    auto resp = c.call<metadata_api_key>(m, 12);
    ASSERT_EQ(resp.topics.size(), 1u);
    EXPECT_EQ(resp.topics[0].error_code, 0);
    EXPECT_EQ(resp.topics[0].partitions.size(), 4u);
}

// Produces `batch` to partition 0 of `topic` with acks=all (Produce v9); returns the partition's
// answer.
produce_response::topic_produce_response::partition_produce_response produce_batch(
    kafka_test_client& c, const std::string& topic, const std::vector<uint8_t>& batch) {
    produce_request p;
    p.acks = -1;
    p.timeout_ms = 10000;
    auto& td = p.topic_data.emplace_back();
    td.name = topic;
    auto& pd = td.partition_data.emplace_back();
    pd.index = 0;
    pd.records = protocol::record_set::copy_of(batch);
    auto resp = c.call<produce_api_key>(p, 9);
    return resp.responses[0].partition_responses[0];
}

// The record batches partition 0 of `topic` holds from offset 0 (Fetch v12, up to 1 MiB).
std::vector<uint8_t> fetch_all(kafka_test_client& c, const std::string& topic) {
    fetch_request f;
    auto& fp = f.topics.emplace_back().partitions.emplace_back();
    f.topics[0].topic = topic;
    fp.partition_max_bytes = 1 << 20;
    auto resp = c.call<fetch_api_key>(f, 12);
    std::vector<uint8_t> got;
    for (const auto& chunk : resp.responses[0].partitions[0].records.chunks()) chunk.copy_to(got);
    return got;
}

// Produces one record of `value_size` bytes to partition 0 of `topic`; returns the error code.
int16_t produce_one(kafka_test_client& c, const std::string& topic, size_t value_size) {
    std::vector<protocol::record_input> records(1);
    records[0].value = std::string(value_size, 'v');
    return produce_batch(c, topic, protocol::build_batch({}, records)).error_code;
}

incremental_alter_configs_request alter_topic(const std::string& topic, std::string key, int8_t op,
                                              std::optional<std::string> value) {
    incremental_alter_configs_request req;
    auto& r = req.resources.emplace_back();
    r.resource_type = 2;
    r.resource_name = topic;
    auto& c = r.configs.emplace_back();
    c.name = std::move(key);
    c.config_operation = op;
    c.value = std::move(value);
    return req;
}

TEST(InProcessBroker, AlteredTopicConfigTakesEffectAtOnceAndIsDescribed) {
    in_process_broker b;
    kafka_test_client c(b.port());
    ASSERT_EQ(c.call<create_topics_api_key>(one_topic("altered", 1), 5).topics[0].error_code, 0);
    EXPECT_EQ(produce_one(c, "altered", 4000), 0);

    auto set = c.call<incremental_alter_configs_api_key>(
        alter_topic("altered", "max.message.bytes", 0, "1000"), 1);
    ASSERT_EQ(set.responses.size(), 1u);
    EXPECT_EQ(set.responses[0].error_code, 0);
    EXPECT_EQ(produce_one(c, "altered", 4000), to_wire(error_code::message_too_large));

    describe_configs_request d;
    auto& dr = d.resources.emplace_back();
    dr.resource_type = 2;
    dr.resource_name = "altered";
    dr.configuration_keys = std::vector<std::string>{"max.message.bytes"};
    auto described = c.call<describe_configs_api_key>(d, 4);
    ASSERT_EQ(described.results[0].configs.size(), 1u);
    EXPECT_EQ(described.results[0].configs[0].value, "1000");
    EXPECT_EQ(described.results[0].configs[0].config_source, 1);  // DYNAMIC_TOPIC_CONFIG

    // validate_only changes nothing; DELETE goes back to the default.
    auto check = alter_topic("altered", "max.message.bytes", 0, "9000");
    check.validate_only = true;
    EXPECT_EQ(c.call<incremental_alter_configs_api_key>(check, 1).responses[0].error_code, 0);
    EXPECT_EQ(produce_one(c, "altered", 4000), to_wire(error_code::message_too_large));
    EXPECT_EQ(c.call<incremental_alter_configs_api_key>(
                   alter_topic("altered", "max.message.bytes", 1, std::nullopt), 0)
                  .responses[0]
                  .error_code,
              0);
    EXPECT_EQ(produce_one(c, "altered", 4000), 0);

    // A bad value or an unknown topic fails that resource with Kafka's code.
    auto bad = c.call<incremental_alter_configs_api_key>(
        alter_topic("altered", "segment.bytes", 0, "5"), 1);
    EXPECT_EQ(bad.responses[0].error_code, to_wire(error_code::invalid_config));
    auto unknown = c.call<incremental_alter_configs_api_key>(
        alter_topic("no-such-topic", "retention.ms", 0, "5"), 1);
    EXPECT_EQ(unknown.responses[0].error_code, to_wire(error_code::unknown_topic_or_partition));
}

TEST(InProcessBroker, AlterConfigsReplacesTheWholeSet) {
    in_process_broker b;
    kafka_test_client c(b.port());
    auto create = one_topic("replaced", 1);
    auto& cfg = create.topics[0].configs.emplace_back();
    cfg.name = "retention.ms";
    cfg.value = "1000";
    ASSERT_EQ(c.call<create_topics_api_key>(create, 5).topics[0].error_code, 0);

    alter_configs_request req;
    auto& r = req.resources.emplace_back();
    r.resource_type = 2;
    r.resource_name = "replaced";
    auto& set = r.configs.emplace_back();
    set.name = "segment.ms";
    set.value = "60000";
    EXPECT_EQ(c.call<alter_configs_api_key>(req, 0).responses[0].error_code, 0);

    describe_configs_request d;
    auto& dr = d.resources.emplace_back();
    dr.resource_type = 2;
    dr.resource_name = "replaced";
    std::map<std::string, std::optional<std::string>> dynamic;
    auto described = c.call<describe_configs_api_key>(d, 4);
    for (const auto& row : described.results[0].configs) {
        if (row.config_source == 1) dynamic[row.name] = row.value;
    }
    EXPECT_EQ(dynamic,
              (std::map<std::string, std::optional<std::string>>{{"segment.ms", "60000"}}));

    // AlterConfigs is not for broker loggers (IncrementalAlterConfigs is).
    alter_configs_request loggers;
    auto& lr = loggers.resources.emplace_back();
    lr.resource_type = 8;
    lr.resource_name = "0";
    EXPECT_EQ(c.call<alter_configs_api_key>(loggers, 2).responses[0].error_code,
              to_wire(error_code::invalid_request));
}

offset_for_leader_epoch_request epoch_query(const std::string& topic, int32_t partition,
                                            int32_t current_epoch, int32_t epoch) {
    offset_for_leader_epoch_request req;
    req.replica_id = -1;
    auto& t = req.topics.emplace_back();
    t.topic = topic;
    auto& p = t.partitions.emplace_back();
    p.partition = partition;
    p.current_leader_epoch = current_epoch;
    p.leader_epoch = epoch;
    return req;
}

// KIP-320: the epoch every partition is led in ends at the log end offset; other epochs are
// unknown to the log (-1, -1); a client claiming a newer current epoch is told UNKNOWN, an older
// one FENCED; Metadata and fetched batches carry the same epoch.
TEST(InProcessBroker, OffsetForLeaderEpochAnswersTheEndOfTheEpoch) {
    in_process_broker b;
    kafka_test_client c(b.port());
    ASSERT_EQ(c.call<create_topics_api_key>(one_topic("epochs", 1), 5).topics[0].error_code, 0);
    EXPECT_EQ(produce_one(c, "epochs", 10), 0);
    EXPECT_EQ(produce_one(c, "epochs", 10), 0);

    auto at = [&](int32_t current, int32_t epoch, int16_t version = 4) {
        auto r = c.call<offset_for_leader_epoch_api_key>(epoch_query("epochs", 0, current, epoch),
                                                         version);
        EXPECT_EQ(r.topics.size(), 1u);
        return r.topics[0].partitions[0];
    };
    auto current = at(0, 0);
    EXPECT_EQ(current.error_code, 0);
    EXPECT_EQ(current.leader_epoch, 0);
    EXPECT_EQ(current.end_offset, 2);
    EXPECT_EQ(at(-1, 0, 2).end_offset, 2);  // v2, no fencing asked for
    auto later = at(-1, 3);
    EXPECT_EQ(later.error_code, 0);
    EXPECT_EQ(later.leader_epoch, -1);
    EXPECT_EQ(later.end_offset, -1);
    EXPECT_EQ(at(2, 0).error_code, to_wire(error_code::unknown_leader_epoch));

    auto missing = c.call<offset_for_leader_epoch_api_key>(epoch_query("nowhere", 0, -1, 0), 4);
    EXPECT_EQ(missing.topics[0].partitions[0].error_code,
              to_wire(error_code::unknown_topic_or_partition));
    auto past_end = c.call<offset_for_leader_epoch_api_key>(epoch_query("epochs", 5, -1, 0), 4);
    EXPECT_EQ(past_end.topics[0].partitions[0].error_code,
              to_wire(error_code::unknown_topic_or_partition));

    metadata_request m;
    auto& mt = m.topics.emplace().emplace_back();
    mt.name = "epochs";
    auto md = c.call<metadata_api_key>(m, 12);
    ASSERT_EQ(md.topics.size(), 1u);
    EXPECT_EQ(md.topics[0].partitions[0].leader_epoch, current.leader_epoch);
}

TEST(InProcessBroker, ClientQuotasAndReassignmentsAnswerNoneAndRefuseBadFilters) {
    in_process_broker b;
    kafka_test_client c(b.port());
    describe_client_quotas_request all;
    auto any_user = c.call<describe_client_quotas_api_key>(all, 1);
    EXPECT_EQ(any_user.error_code, 0);
    ASSERT_TRUE(any_user.entries);
    EXPECT_TRUE(any_user.entries->empty());

    auto filter = [](std::vector<std::pair<std::string, int8_t>> parts) {
        describe_client_quotas_request r;
        for (auto& [type, match] : parts) {
            auto& comp = r.components.emplace_back();
            comp.entity_type = type;
            comp.match_type = match;
            comp.match = "alice";
        }
        return r;
    };
    EXPECT_EQ(c.call<describe_client_quotas_api_key>(filter({{"user", 0}, {"client-id", 2}}), 0)
                  .error_code,
              0);
    for (auto bad : {filter({{"tenant", 0}}), filter({{"user", 0}, {"user", 1}}),
                     filter({{"user", 7}}), filter({{"ip", 0}, {"user", 2}})}) {
        auto r = c.call<describe_client_quotas_api_key>(bad, 1);
        EXPECT_EQ(r.error_code, to_wire(error_code::invalid_request));
        EXPECT_TRUE(r.error_message && !r.error_message->empty());
        EXPECT_FALSE(r.entries);
    }

    list_partition_reassignments_request lr;
    auto moves = c.call<list_partition_reassignments_api_key>(lr, 0);
    EXPECT_EQ(moves.error_code, 0);
    EXPECT_TRUE(moves.topics.empty());
}

// min.insync.replicas above the replica count is capped at it (Kafka 4's effective min ISR,
// KIP-966; test_versus_kafka.py shows Kafka 4.4 taking the same write): acks=all goes through.
TEST(InProcessBroker, MinInsyncReplicasIsCappedAtTheReplicaCount) {
    in_process_broker b;
    kafka_test_client c(b.port());
    auto req = one_topic("guarded", 1);
    auto& cfg = req.topics[0].configs.emplace_back();
    cfg.name = "min.insync.replicas";
    cfg.value = "2";
    ASSERT_EQ(c.call<create_topics_api_key>(req, 5).topics[0].error_code, 0);
    EXPECT_EQ(produce_one(c, "guarded", 10), 0);
}

// compression.type other than producer: client batches are stored recompressed with the topic's
// codec (Kafka's LogValidator), records, headers, timestamps and producer fields intact.
TEST(InProcessBroker, TopicCompressionTypeRecompressesBatches) {
    in_process_broker b;
    kafka_test_client c(b.port());
    for (auto [topic, codec] :
         {std::pair{"as-gzip", "gzip"}, std::pair{"as-plain", "uncompressed"}}) {
        auto req = one_topic(topic, 1);
        auto& cfg = req.topics[0].configs.emplace_back();
        cfg.name = "compression.type";
        cfg.value = codec;
        ASSERT_EQ(c.call<create_topics_api_key>(req, 5).topics[0].error_code, 0);
    }
    std::vector<protocol::record_input> records(3);
    for (int i = 0; i < 3; ++i) {
        records[i].key = "k" + std::to_string(i);
        records[i].value = std::string(200, static_cast<char>('a' + i));
        records[i].headers.emplace_back("h", "v" + std::to_string(i));
        records[i].timestamp = 1'700'000'000'000 + i;
    }
    auto produce_and_fetch = [&](const std::string& topic, protocol::compression_codec sent) {
        protocol::batch_options o;
        o.codec = sent;
        EXPECT_EQ(produce_batch(c, topic, protocol::build_batch(o, records)).error_code, 0);
        return fetch_all(c, topic);
    };
    for (auto [topic, sent, stored] : {std::tuple{"as-gzip", protocol::compression_codec::none,
                                                  protocol::compression_codec::gzip},
                                       std::tuple{"as-plain", protocol::compression_codec::lz4,
                                                  protocol::compression_codec::none}}) {
        auto got = produce_and_fetch(topic, sent);
        auto h = protocol::parse_batch_header(got);
        ASSERT_TRUE(h) << topic;
        EXPECT_EQ(h->codec(), stored) << topic;
        EXPECT_EQ(h->records_count, 3);
        int i = 0;
        ASSERT_TRUE(protocol::for_each_record(
            got,
            [&](const protocol::record& r) {
                EXPECT_EQ(r.offset, i);
                EXPECT_EQ(r.timestamp, records[i].timestamp);
                EXPECT_EQ(std::string(r.key->begin(), r.key->end()), *records[i].key);
                EXPECT_EQ(std::string(r.value->begin(), r.value->end()), *records[i].value);
                EXPECT_EQ(r.headers.size(), 1u);
                ++i;
                return true;
            },
            nullptr));
        EXPECT_EQ(i, 3);
    }
}

// compression.zstd.level (KIP-390): the same uncompressed batch stored by two zstd topics at
// levels 1 and 19 comes out smaller at 19, and reads back the same.
TEST(InProcessBroker, TopicCompressionLevelIsApplied) {
    in_process_broker b;
    kafka_test_client c(b.port());
    for (auto [topic, level] : {std::pair{"zstd-1", "1"}, std::pair{"zstd-19", "19"}}) {
        auto req = one_topic(topic, 1);
        auto& type = req.topics[0].configs.emplace_back();
        type.name = "compression.type";
        type.value = "zstd";
        auto& lvl = req.topics[0].configs.emplace_back();
        lvl.name = "compression.zstd.level";
        lvl.value = level;
        ASSERT_EQ(c.call<create_topics_api_key>(req, 5).topics[0].error_code, 0);
    }
    std::vector<protocol::record_input> records(8);
    uint32_t x = 7;
    for (auto& r : records) {
        std::string value;
        while (value.size() < 16 * 1024) {
            x = x * 1103515245 + 12345;
            value += "word" + std::to_string((x >> 12) % 500) + " ";
        }
        r.value = value;
        r.timestamp = 1'700'000'000'000;
    }
    std::map<std::string, size_t> stored;
    for (const std::string topic : {"zstd-1", "zstd-19"}) {
        EXPECT_EQ(produce_batch(c, topic, protocol::build_batch({}, records)).error_code, 0);
        auto got = fetch_all(c, topic);
        auto h = protocol::parse_batch_header(got);
        ASSERT_TRUE(h) << topic;
        EXPECT_EQ(h->codec(), protocol::compression_codec::zstd);
        stored[topic] = got.size();
        size_t n = 0;
        ASSERT_TRUE(protocol::for_each_record(
            got,
            [&](const protocol::record& r) {
                EXPECT_EQ(std::string(r.value->begin(), r.value->end()), *records[n++].value);
                return true;
            },
            nullptr));
        EXPECT_EQ(n, records.size());
    }
    EXPECT_LT(stored["zstd-19"], stored["zstd-1"]);
}

TEST(InProcessBroker, DescribeLogDirsListsPartitionsWithTheirSizes) {
    in_process_broker b;
    kafka_test_client c(b.port());
    ASSERT_EQ(c.call<create_topics_api_key>(one_topic("sized", 2), 5).topics[0].error_code, 0);
    ASSERT_EQ(c.call<create_topics_api_key>(one_topic("other", 1), 5).topics[0].error_code, 0);
    EXPECT_EQ(produce_one(c, "sized", 1000), 0);

    describe_log_dirs_request req;
    auto& t = req.topics.emplace();
    auto& wanted = t.emplace_back();
    wanted.topic = "sized";
    wanted.partitions = {0, 1, 7};  // 7 does not exist: skipped
    auto resp = c.call<describe_log_dirs_api_key>(req, 4);
    EXPECT_EQ(resp.error_code, 0);
    ASSERT_EQ(resp.results.size(), 1u);
    const auto& dir = resp.results[0];
    EXPECT_EQ(dir.error_code, 0);
    EXPECT_EQ(dir.log_dir, (b.dir() / "data").string());
    EXPECT_GT(dir.total_bytes, 0);
    EXPECT_GT(dir.usable_bytes, 0);
    ASSERT_EQ(dir.topics.size(), 1u);
    EXPECT_EQ(dir.topics[0].name, "sized");
    ASSERT_EQ(dir.topics[0].partitions.size(), 2u);
    EXPECT_EQ(dir.topics[0].partitions[0].partition_index, 0);
    EXPECT_GT(dir.topics[0].partitions[0].partition_size, 1000);
    EXPECT_EQ(dir.topics[0].partitions[1].partition_size, 0);

    // Null topics: every partition of every topic; v1 has no disk totals.
    auto all = c.call<describe_log_dirs_api_key>(describe_log_dirs_request{}, 1);
    ASSERT_EQ(all.results.size(), 1u);
    size_t partitions = 0;
    for (const auto& topic : all.results[0].topics) partitions += topic.partitions.size();
    EXPECT_EQ(partitions, 3u);
    EXPECT_EQ(all.results[0].total_bytes, -1);
}

}  // namespace
}  // namespace runnel::server::test
