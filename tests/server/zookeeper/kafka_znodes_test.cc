// Kafka's znode JSON: what Runnel writes has the shape Kafka's readers expect, and what Kafka
// (2.x-3.x) writes is read back. The Kafka-written samples are as a Kafka 2.8 broker leaves them.
#include "server/zookeeper/kafka_znodes.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace runnel::server::zookeeper {
namespace {

using json = nlohmann::json;

TEST(KafkaZnodesTest, PathsAreKafkasLayout) {
    EXPECT_EQ(paths::broker(7), "/brokers/ids/7");
    EXPECT_EQ(paths::topic("t.1"), "/brokers/topics/t.1");
    EXPECT_EQ(paths::partition_state("t", 3), "/brokers/topics/t/partitions/3/state");
    EXPECT_EQ(paths::topic_config("t"), "/config/topics/t");
    auto p = paths::persistent();
    for (const char* want :
         {"/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config/changes",
          "/admin/delete_topics", "/isr_change_notification", "/latest_producer_id_block",
          "/log_dir_event_notification", "/config/topics", "/config/clients", "/config/users",
          "/config/brokers", "/config/ips", "/consumers"}) {
        EXPECT_NE(std::find(p.begin(), p.end(), want), p.end()) << want;
    }
    // Parents before children, so creating them in order needs no recursion.
    for (size_t i = 0; i < p.size(); ++i) {
        const auto parent = p[i].substr(0, p[i].rfind('/'));
        if (parent.empty()) continue;
        auto at = std::find(p.begin(), p.end(), parent);
        ASSERT_NE(at, p.end()) << p[i];
        EXPECT_LT(at - p.begin(), static_cast<ptrdiff_t>(i)) << p[i];
    }
}

TEST(KafkaZnodesTest, BrokerRegistrationAsKafkaWritesIt) {
    broker_registration r;
    r.id = 2;
    r.endpoints = {{"INTERNAL", "10.0.0.2", 9093}, {"PLAINTEXT", "h2", 9092}};
    r.protocols = {{"INTERNAL", "PLAINTEXT"}, {"PLAINTEXT", "PLAINTEXT"}};
    r.timestamp_ms = 1690000000000;
    json j = json::parse(r.to_json());
    EXPECT_EQ(j["version"], 5);
    EXPECT_EQ(j["endpoints"], json({"INTERNAL://10.0.0.2:9093", "PLAINTEXT://h2:9092"}));
    // host and port: the PLAINTEXT listener's, for readers older than endpoints.
    EXPECT_EQ(j["host"], "h2");
    EXPECT_EQ(j["port"], 9092);
    EXPECT_EQ(j["jmx_port"], -1);
    EXPECT_EQ(j["timestamp"], "1690000000000");  // a string, as Kafka writes it
    EXPECT_EQ(j["features"], json::object());
    EXPECT_FALSE(j.contains("rack"));  // left out when there is none
    EXPECT_EQ(j["listener_security_protocol_map"]["INTERNAL"], "PLAINTEXT");

    r.rack = "r1";
    r.endpoints = {{"SSL", "h", 9094}};
    j = json::parse(r.to_json());
    EXPECT_EQ(j["rack"], "r1");
    EXPECT_TRUE(j["host"].is_null());  // no PLAINTEXT listener
    EXPECT_EQ(j["port"], -1);

    auto back = broker_registration::from_json(2, r.to_json());
    EXPECT_EQ(back.endpoints.size(), 1u);
    EXPECT_EQ(back.endpoints[0].listener, "SSL");
    EXPECT_EQ(back.endpoints[0].host, "h");
    EXPECT_EQ(back.endpoints[0].port, 9094);
    EXPECT_EQ(back.rack, "r1");
    EXPECT_EQ(back.timestamp_ms, 1690000000000);
}

TEST(KafkaZnodesTest, ReadsRegistrationsKafkaBrokersWrote) {
    auto v5 = broker_registration::from_json(
        1, R"({"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT",)"
           R"("REPL":"PLAINTEXT"},"endpoints":["PLAINTEXT://kafka1:9092","REPL://[::1]:9093"],)"
           R"("jmx_port":9999,"port":9092,"host":"kafka1","version":5,"timestamp":"1600000000000",)"
           R"("rack":"dc1"})");
    ASSERT_EQ(v5.endpoints.size(), 2u);
    EXPECT_EQ(v5.endpoints[1].host, "::1");
    EXPECT_EQ(v5.endpoints[1].port, 9093);
    EXPECT_EQ(v5.rack, "dc1");
    // Version 1 had only host and port, and a numeric timestamp.
    auto v1 = broker_registration::from_json(
        4, R"({"jmx_port":-1,"timestamp":1500000000000,"host":"old","version":1,"port":9092})");
    ASSERT_EQ(v1.endpoints.size(), 1u);
    EXPECT_EQ(v1.endpoints[0].listener, "PLAINTEXT");
    EXPECT_EQ(v1.endpoints[0].host, "old");
    EXPECT_EQ(v1.timestamp_ms, 1500000000000);
}

TEST(KafkaZnodesTest, RefusesWhatKafkaWouldNotWrite) {
    EXPECT_THROW(broker_registration::from_json(1, "not json"), znode_format_error);
    EXPECT_THROW(broker_registration::from_json(1, "[1,2]"), znode_format_error);
    EXPECT_THROW(broker_registration::from_json(1, R"({"version":5,"endpoints":["nohost"]})"),
                 znode_format_error);
    EXPECT_THROW(broker_registration::from_json(1, R"({"version":5,"endpoints":["P://h:x"]})"),
                 znode_format_error);
    EXPECT_THROW(controller_record::from_json(R"({"version":1})"), znode_format_error);
    EXPECT_THROW(parse_controller_epoch("1a"), znode_format_error);
    EXPECT_THROW(parse_controller_epoch(""), znode_format_error);
    EXPECT_THROW(parse_cluster_id(R"({"version":"1"})"), znode_format_error);
}

TEST(KafkaZnodesTest, ControllerEpochAndClusterId) {
    controller_record c{3, 1690000000001};
    json j = json::parse(c.to_json());
    EXPECT_EQ(j, json::parse(R"({"version":1,"brokerid":3,"timestamp":"1690000000001"})"));
    EXPECT_EQ(controller_record::from_json(
                  R"({"version":2,"brokerid":5,"timestamp":"1","kraftControllerEpoch":-1})")
                  .broker_id,
              5);
    EXPECT_EQ(parse_controller_epoch("17"), 17);
    EXPECT_EQ(json::parse(cluster_id_json("AbC")), json::parse(R"({"version":"1","id":"AbC"})"));
    EXPECT_EQ(parse_cluster_id(R"({"version":"1","id":"hJeNYYtSR8SuW8wmR9ULyA"})"),
              "hJeNYYtSR8SuW8wmR9ULyA");
}

TEST(KafkaZnodesTest, LegacyReassignmentAsKafkasOlderToolsWriteIt) {
    // What Kafka 2.8's kafka-reassign-partitions --zookeeper --execute writes (log_dirs too).
    auto r = legacy_reassignment::from_json(
        R"({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[3,2],)"
        R"("log_dirs":["any","any"]},{"topic":"u","partition":4,"replicas":[1]}]})");
    ASSERT_EQ(r.partitions.size(), 2u);
    EXPECT_EQ(r.partitions[0].topic, "t");
    EXPECT_EQ(r.partitions[0].partition, 0);
    EXPECT_EQ(r.partitions[0].replicas, (std::vector<int32_t>{3, 2}));
    EXPECT_EQ(r.partitions[1].partition, 4);
    auto again = legacy_reassignment::from_json(r.to_json());
    EXPECT_EQ(again.partitions.size(), 2u);
    EXPECT_EQ(again.partitions[1].replicas, (std::vector<int32_t>{1}));
    EXPECT_THROW(legacy_reassignment::from_json(R"({"version":1})"), znode_format_error);
    EXPECT_THROW(legacy_reassignment::from_json(
                     R"({"version":1,"partitions":[{"topic":"t","replicas":[1]}]})"),
                 znode_format_error);
    EXPECT_THROW(legacy_reassignment::from_json("[]"), znode_format_error);
}

}  // namespace
}  // namespace runnel::server::zookeeper

namespace runnel::server::zookeeper {
namespace {

TEST(KafkaZnodesTest, TopicAssignmentAsKafkaTwoEightWritesIt) {
    // kafka-topics.sh --zookeeper (2.8) writes version 3 without a topic id.
    auto a = topic_assignment::from_json(
        R"({"partitions":{"0":[2,1],"1":[1,2]},"adding_replicas":{},"removing_replicas":{},)"
        R"("version":3})");
    EXPECT_EQ(a.partitions.size(), 2u);
    EXPECT_EQ(a.partitions[0], (std::vector<int32_t>{2, 1}));
    EXPECT_FALSE(a.topic_id);
    // Version 1 (old tools) has partitions only.
    auto v1 = topic_assignment::from_json(R"({"version":1,"partitions":{"0":[1]}})");
    EXPECT_EQ(v1.partitions[0], std::vector<int32_t>{1});

    a.topic_id = "hJeNYYtSR8SuW8wmR9ULyA";
    a.adding_replicas[1] = {3};
    json j = json::parse(a.to_json());
    EXPECT_EQ(j["version"], 3);
    EXPECT_EQ(j["partitions"]["1"], json({1, 2}));
    EXPECT_EQ(j["adding_replicas"], json::parse(R"({"1":[3]})"));
    EXPECT_EQ(j["removing_replicas"], json::object());
    EXPECT_EQ(j["topic_id"], "hJeNYYtSR8SuW8wmR9ULyA");
    auto back = topic_assignment::from_json(a.to_json());
    EXPECT_EQ(back.partitions, a.partitions);
    EXPECT_EQ(back.adding_replicas, a.adding_replicas);
    EXPECT_EQ(back.topic_id, a.topic_id);

    EXPECT_THROW(topic_assignment::from_json(R"({"version":3})"), znode_format_error);
    EXPECT_THROW(topic_assignment::from_json(R"({"partitions":{"0":[1],"2":[1]}})"),
                 znode_format_error);
    EXPECT_THROW(topic_assignment::from_json(R"({"partitions":{"x":[1]}})"), znode_format_error);
    EXPECT_THROW(topic_assignment::from_json(R"({"partitions":{"0":["1"]}})"), znode_format_error);
}

TEST(KafkaZnodesTest, PartitionStateAndTopicConfig) {
    partition_state s{2, 5, {2, 1}, 7, false};
    EXPECT_EQ(json::parse(s.to_json()),
              json::parse(R"({"version":1,"leader":2,"leader_epoch":5,"isr":[2,1],)"
                          R"("controller_epoch":7})"));
    EXPECT_EQ(partition_state::from_json(s.to_json()), s);
    auto recovering = partition_state::from_json(
        R"({"version":1,"leader":1,"leader_epoch":1,"isr":[1],"controller_epoch":1,)"
        R"("leader_recovery_state":1})");
    EXPECT_TRUE(recovering.recovering);
    EXPECT_EQ(json::parse(recovering.to_json())["leader_recovery_state"], 1);
    EXPECT_THROW(partition_state::from_json(R"({"leader":1,"isr":[1],"controller_epoch":1})"),
                 znode_format_error);

    EXPECT_EQ(json::parse(topic_config_json({})), json::parse(R"({"version":1,"config":{}})"));
    auto c = parse_topic_config(R"({"version":1,"config":{"retention.ms":"1000"}})");
    EXPECT_EQ(c.at("retention.ms"), "1000");
    EXPECT_EQ(parse_topic_config(topic_config_json(c)), c);
    EXPECT_THROW(parse_topic_config(R"({"version":1,"config":{"retention.ms":1000}})"),
                 znode_format_error);
}

}  // namespace
}  // namespace runnel::server::zookeeper
