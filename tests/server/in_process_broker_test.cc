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
        if (k.api_key == produce_api_key) EXPECT_EQ(k.min_version, 0);  // KAFKA-18659
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

}  // namespace
}  // namespace runnel::server::test
