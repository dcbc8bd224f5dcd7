#include "server/config/broker_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace runnel::server {
namespace {

broker_config from_text(std::string_view text, const std::vector<std::string>& overrides = {}) {
    return broker_config::from_properties(parse_properties(text), overrides, "server.properties");
}

// The config_error message of loading `text`, or "" if it loads.
std::string error_of(std::string_view text, const std::vector<std::string>& overrides = {}) {
    try {
        from_text(text, overrides);
    } catch (const config_error& e) {
        return e.what();
    }
    return "";
}

const config_entry& entry(const std::vector<config_entry>& entries, std::string_view name) {
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const config_entry& e) { return e.name == name; });
    if (it == entries.end()) throw std::runtime_error("no entry " + std::string(name));
    return *it;
}

listener_endpoint plaintext(std::string name, std::string host, uint16_t port) {
    return {std::move(name), security_protocol::plaintext, std::move(host), port};
}

TEST(BrokerConfigTest, Defaults) {
    auto c = from_text("");
    EXPECT_EQ(c.node_id, 0);
    EXPECT_FALSE(c.cluster_id);
    EXPECT_EQ(c.listeners, std::vector{plaintext("PLAINTEXT", "", 9092)});
    EXPECT_EQ(c.advertised_listeners, c.listeners);
    EXPECT_EQ(c.log_dirs, std::vector<std::string>{"/tmp/kafka-logs"});
    EXPECT_EQ(c.num_partitions, 1);
    EXPECT_EQ(c.default_replication_factor, 1);
    EXPECT_TRUE(c.auto_create_topics_enable);
    EXPECT_TRUE(c.delete_topic_enable);
    EXPECT_EQ(c.message_max_bytes, 1048588);
    EXPECT_EQ(c.socket_request_max_bytes, 104857600);
    EXPECT_EQ(c.log_segment_bytes, 1073741824);
    EXPECT_EQ(c.log_retention_ms, 168LL * 3600 * 1000);
    EXPECT_EQ(c.log_roll_ms, 168LL * 3600 * 1000);
    EXPECT_EQ(c.log_retention_bytes, -1);
    EXPECT_EQ(c.log_flush_interval_messages, INT64_MAX);
    EXPECT_EQ(c.log_flush_interval_ms, INT64_MAX);  // log.flush.scheduler.interval.ms
    EXPECT_EQ(c.log_retention_check_interval_ms, 300000);
    EXPECT_EQ(c.log_index_interval_bytes, 4096);
    EXPECT_EQ(c.log_index_size_max_bytes, 10485760);
    EXPECT_EQ(c.log_message_timestamp_type, timestamp_type::create_time);
    EXPECT_EQ(c.log_cleanup_policy.bits, cleanup_delete);
    EXPECT_EQ(c.compression, compression_type::producer);
    EXPECT_TRUE(c.log_cleaner_enable);
    EXPECT_EQ(c.log_cleaner_backoff_ms, 15000);
    EXPECT_DOUBLE_EQ(c.log_cleaner_min_cleanable_ratio, 0.5);
    EXPECT_EQ(c.log_cleaner_delete_retention_ms, 86400000);
    EXPECT_EQ(c.log_cleaner_dedupe_buffer_size, 134217728);
    EXPECT_DOUBLE_EQ(c.log_cleaner_io_buffer_load_factor, 0.9);
    EXPECT_EQ(c.offsets_topic_num_partitions, 50);
    EXPECT_EQ(c.offsets_topic_replication_factor, 3);
    EXPECT_EQ(c.offsets_retention_minutes, 10080);
    EXPECT_EQ(c.group_initial_rebalance_delay_ms, 3000);
    EXPECT_EQ(c.group_min_session_timeout_ms, 6000);
    EXPECT_EQ(c.group_max_session_timeout_ms, 1800000);
    EXPECT_EQ(c.transaction_state_log_num_partitions, 50);
    EXPECT_EQ(c.transactional_id_expiration_ms, 604800000);
    EXPECT_EQ(c.transaction_max_timeout_ms, 900000);
    EXPECT_EQ(c.producer_id_expiration_ms, 86400000);
    EXPECT_EQ(c.shards, 0);
    EXPECT_GE(c.shard_count(), 1u);
    EXPECT_EQ(c.socket_send_buffer_bytes, -1);
    EXPECT_EQ(c.socket_receive_buffer_bytes, -1);
    EXPECT_EQ(c.loopback_congestion_control, "reno");  // the kernel always allows reno
    EXPECT_TRUE(c.ignored_keys.empty());
    EXPECT_TRUE(c.warnings.empty());
    EXPECT_TRUE(c.explicit_values.empty());
}

TEST(BrokerConfigTest, DefaultConstructedMatchesLoadedDefaults) {
    broker_config built;
    auto loaded = from_text("");
    EXPECT_EQ(built.listeners, loaded.listeners);
    EXPECT_EQ(built.advertised_listeners, loaded.advertised_listeners);
    EXPECT_EQ(built.log_dirs, loaded.log_dirs);
    EXPECT_EQ(built.log_retention_ms, loaded.log_retention_ms);
    EXPECT_EQ(built.log_roll_ms, loaded.log_roll_ms);
    EXPECT_EQ(built.message_max_bytes, loaded.message_max_bytes);
    EXPECT_EQ(built.transaction_max_timeout_ms, loaded.transaction_max_timeout_ms);
    EXPECT_EQ(built.socket_send_buffer_bytes, loaded.socket_send_buffer_bytes);
    EXPECT_EQ(built.socket_receive_buffer_bytes, loaded.socket_receive_buffer_bytes);
    EXPECT_EQ(built.loopback_congestion_control, loaded.loopback_congestion_control);
}

TEST(BrokerConfigTest, SocketKeys) {
    auto c = from_text(
        "socket.send.buffer.bytes=102400\nsocket.receive.buffer.bytes=65536\n"
        "runnel.socket.loopback.congestion.control=\n");
    EXPECT_EQ(c.socket_send_buffer_bytes, 102400);
    EXPECT_EQ(c.socket_receive_buffer_bytes, 65536);
    EXPECT_EQ(c.loopback_congestion_control, "");  // empty: the system's choice
    EXPECT_TRUE(c.warnings.empty());
}

TEST(BrokerConfigTest, UnknownCongestionControlIsAConfigError) {
    auto message = error_of("runnel.socket.loopback.congestion.control=no-such-algorithm\n");
    EXPECT_NE(message.find("runnel.socket.loopback.congestion.control"), std::string::npos)
        << message;
    EXPECT_NE(message.find("no congestion control named \"no-such-algorithm\""), std::string::npos)
        << message;
}

TEST(BrokerConfigTest, TypedValuesAreParsedAndTrimmed) {
    auto c = from_text(
        "num.partitions = 3 \n"
        "auto.create.topics.enable=FALSE\n"
        "log.cleanup.policy = compact , delete\n"
        "log.message.timestamp.type=LogAppendTime\n"
        "compression.type=zstd\n"
        "log.cleaner.min.cleanable.ratio=0.25\n"
        "offsets.topic.replication.factor=1\n"
        "runnel.shards=4\n"
        "cluster.id=abc\n"
        "log.flush.interval.ms=1000\n");
    EXPECT_EQ(c.num_partitions, 3);
    EXPECT_FALSE(c.auto_create_topics_enable);
    EXPECT_EQ(c.log_cleanup_policy.bits, cleanup_compact | cleanup_delete);
    EXPECT_EQ(c.log_message_timestamp_type, timestamp_type::log_append_time);
    EXPECT_EQ(c.compression, compression_type::zstd);
    EXPECT_DOUBLE_EQ(c.log_cleaner_min_cleanable_ratio, 0.25);
    EXPECT_EQ(c.offsets_topic_replication_factor, 1);
    EXPECT_EQ(c.shard_count(), 4u);
    EXPECT_EQ(c.cluster_id, "abc");
    EXPECT_EQ(c.log_flush_interval_ms, 1000);
    // The raw text is kept as the file has it (Java keeps trailing blanks).
    EXPECT_EQ(c.explicit_value("num.partitions"), "3 ");
}

TEST(BrokerConfigTest, NodeIdWinsOverBrokerId) {
    EXPECT_EQ(from_text("broker.id=5").node_id, 5);
    EXPECT_EQ(from_text("node.id=7").node_id, 7);
    auto both = from_text("broker.id=5\nnode.id=7");
    EXPECT_EQ(both.node_id, 7);
    ASSERT_EQ(both.warnings.size(), 1u);
    EXPECT_NE(both.warnings[0].find("node.id"), std::string::npos);
    EXPECT_TRUE(from_text("broker.id=7\nnode.id=7").warnings.empty());
    // -1 is Kafka's "unset".
    EXPECT_EQ(from_text("broker.id=-1").node_id, 0);
    EXPECT_EQ(from_text("broker.id=4\nnode.id=-1").node_id, 4);
    EXPECT_NE(error_of("broker.id=-2"), "");
}

TEST(BrokerConfigTest, RetentionPrecedence) {
    constexpr int64_t hour = 3600 * 1000;
    EXPECT_EQ(from_text("log.retention.hours=24").log_retention_ms, 24 * hour);
    EXPECT_EQ(from_text("log.retention.minutes=30\nlog.retention.hours=24").log_retention_ms,
              30 * 60 * 1000);
    EXPECT_EQ(from_text("log.retention.ms=1234\nlog.retention.minutes=30\nlog.retention.hours=2")
                  .log_retention_ms,
              1234);
    // Any negative value means unlimited.
    EXPECT_EQ(from_text("log.retention.hours=-1").log_retention_ms, -1);
    EXPECT_EQ(from_text("log.retention.ms=-5").log_retention_ms, -1);
    EXPECT_EQ(error_of("log.retention.ms=0"),
              "server.properties:1: log.retention.ms = \"0\": expected a positive retention, or "
              "-1 for unlimited");
    EXPECT_NE(error_of("log.retention.hours=0").find("log.retention.hours"), std::string::npos);
}

TEST(BrokerConfigTest, RollAndFlushPrecedence) {
    EXPECT_EQ(from_text("log.roll.hours=2").log_roll_ms, 2 * 3600 * 1000);
    EXPECT_EQ(from_text("log.roll.hours=2\nlog.roll.ms=500").log_roll_ms, 500);
    EXPECT_EQ(from_text("log.roll.jitter.hours=1").log_roll_jitter_ms, 3600 * 1000);
    EXPECT_EQ(from_text("log.roll.jitter.ms=10\nlog.roll.jitter.hours=1").log_roll_jitter_ms, 10);
    EXPECT_NE(error_of("log.roll.ms=0"), "");
    EXPECT_NE(error_of("log.roll.hours=0"), "");
    EXPECT_NE(error_of("log.flush.scheduler.interval.ms=-1"), "");
    EXPECT_EQ(error_of("log.flush.scheduler.interval.ms=-1\nlog.flush.interval.ms=5"), "");
}

TEST(BrokerConfigTest, LogDirs) {
    EXPECT_EQ(from_text("log.dir=/x").log_dirs, std::vector<std::string>{"/x"});
    EXPECT_EQ(from_text("log.dir=/x\nlog.dirs=/a , /b,,/c").log_dirs,
              (std::vector<std::string>{"/a", "/b", "/c"}));
    EXPECT_EQ(error_of("log.dirs= , "),
              "server.properties:1: log.dirs = \", \": expected at least one directory");
    // A trailing separator names the same dir (partitions find theirs as a parent path).
    EXPECT_EQ(from_text("log.dirs=/a/,/b//,/").log_dirs,
              (std::vector<std::string>{"/a", "/b", "/"}));
    EXPECT_EQ(error_of("log.dirs=/a,/b,/a/"),
              "server.properties:1: log.dirs = \"/a,/b,/a/\": duplicate log directory /a");
    EXPECT_NE(error_of("log.dirs=/a/./x,/a/x"), "");
}

TEST(BrokerConfigTest, CleanerKeyMapSize) {
    auto c =
        from_text("log.cleaner.dedupe.buffer.size=4194304\nlog.cleaner.io.buffer.load.factor=0.5");
    EXPECT_EQ(c.log_cleaner_dedupe_buffer_size, 4194304);
    EXPECT_DOUBLE_EQ(c.log_cleaner_io_buffer_load_factor, 0.5);
    // Kafka's rule: more than 1 MiB per cleaner thread.
    EXPECT_EQ(error_of("log.cleaner.dedupe.buffer.size=1048576"),
              "server.properties:1: log.cleaner.dedupe.buffer.size = \"1048576\": must be at least "
              "1MB per cleaner thread (log.cleaner.threads = 1)");
    EXPECT_NE(error_of("log.cleaner.dedupe.buffer.size=4194304\nlog.cleaner.threads=4"), "");
    EXPECT_EQ(error_of("log.cleaner.dedupe.buffer.size=4194304\nlog.cleaner.threads=3"), "");
    EXPECT_NE(error_of("log.cleaner.io.buffer.load.factor=0"), "");
    EXPECT_NE(error_of("log.cleaner.io.buffer.load.factor=1.5"), "");
}

TEST(BrokerConfigTest, OverridesApplyAfterTheFile) {
    auto c = from_text("num.partitions=3\nlog.dirs=/data\n",
                       {"num.partitions=6", "log.retention.ms=1000", "foo.bar=1"});
    EXPECT_EQ(c.num_partitions, 6);
    EXPECT_EQ(c.log_dirs, std::vector<std::string>{"/data"});
    EXPECT_EQ(c.log_retention_ms, 1000);
    EXPECT_EQ(c.explicit_value("num.partitions"), "6");
    EXPECT_EQ(c.ignored_keys, std::vector<std::string>{"foo.bar"});
    // Only the first '=' splits; a missing value is empty, as in Kafka.
    EXPECT_EQ(from_text("", {"cluster.id=a=b"}).cluster_id, "a=b");
    EXPECT_FALSE(from_text("cluster.id=x", {"cluster.id"}).cluster_id);
    EXPECT_EQ(error_of("", {"num.partitions=0"}),
              "--override: num.partitions = \"0\": expected an integer between 1 and 2147483647");
    EXPECT_EQ(error_of("", {"=5"}), "--override: \"=5\": expected key=value");
}

TEST(BrokerConfigTest, InvalidValueMessageNamesFileLineKeyValueAndExpectation) {
    EXPECT_EQ(error_of("# comment\n\nlog.segment.bytes=abc\n"),
              "server.properties:3: log.segment.bytes = \"abc\": expected an integer between 14 "
              "and 2147483647");
    EXPECT_EQ(error_of("log.segment.bytes=13"),
              "server.properties:1: log.segment.bytes = \"13\": expected an integer between 14 "
              "and 2147483647");
    EXPECT_EQ(error_of("auto.create.topics.enable=yes"),
              "server.properties:1: auto.create.topics.enable = \"yes\": expected true or false");
    EXPECT_EQ(error_of("compression.type=brotli"),
              "server.properties:1: compression.type = \"brotli\": expected one of: "
              "uncompressed, zstd, lz4, snappy, gzip, producer");
    EXPECT_EQ(error_of("log.cleanup.policy=delete,archive"),
              "server.properties:1: log.cleanup.policy = \"delete,archive\": expected a "
              "comma-separated list of: compact, delete");
    EXPECT_EQ(error_of("log.cleaner.min.cleanable.ratio=2"),
              "server.properties:1: log.cleaner.min.cleanable.ratio = \"2\": expected a number "
              "between 0 and 1");
    EXPECT_EQ(error_of("log.retention.bytes=9223372036854775808"),
              "server.properties:1: log.retention.bytes = \"9223372036854775808\": expected a "
              "64-bit integer");
    EXPECT_EQ(error_of("offsets.topic.replication.factor=40000"),
              "server.properties:1: offsets.topic.replication.factor = \"40000\": expected an "
              "integer between 1 and 32767");
    EXPECT_EQ(error_of("compression.gzip.level=0"),
              "server.properties:1: compression.gzip.level = \"0\": expected an integer between "
              "1 and 9, or -1");
    // A later duplicate is the one checked and reported.
    EXPECT_EQ(error_of("num.partitions=2\nnum.partitions=x\n"),
              "server.properties:2: num.partitions = \"x\": expected an integer between 1 and "
              "2147483647");
}

TEST(BrokerConfigTest, LoadReadsTheFile) {
    auto path = (std::filesystem::temp_directory_path() /
                 ("runnel_broker_" + std::to_string(::getpid()) + ".properties"))
                    .string();
    std::ofstream(path) << "listeners=PLAINTEXT://127.0.0.1:9092\n"
                           "log.dirs=./data\n"
                           "log.segment.bytes=abc\n";
    try {
        broker_config::load(path, {});
        ADD_FAILURE() << "expected config_error";
    } catch (const config_error& e) {
        EXPECT_EQ(std::string(e.what()),
                  path +
                      ":3: log.segment.bytes = \"abc\": expected an integer between 14 and "
                      "2147483647");
    }
    auto c = broker_config::load(path, {"log.segment.bytes=1048576"});
    EXPECT_EQ(c.log_segment_bytes, 1048576);
    EXPECT_EQ(c.listeners, std::vector{plaintext("PLAINTEXT", "127.0.0.1", 9092)});
    EXPECT_EQ(c.log_dirs, std::vector<std::string>{"./data"});
    EXPECT_EQ(c.origin, path);
    std::filesystem::remove(path);
    EXPECT_THROW(broker_config::load(path, {}), config_error);
}

TEST(BrokerConfigTest, ShippedServerPropertiesLoads) {
    // The test data dir is tests/data, whatever directory ctest runs the test from.
    auto path = std::filesystem::path(RUNNEL_TEST_DATA_DIR) / "../../etc/server.properties";
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    auto c = broker_config::load(path.string(), {});
    EXPECT_EQ(c.listeners, std::vector{plaintext("PLAINTEXT", "127.0.0.1", 9092)});
    EXPECT_EQ(c.log_dirs, std::vector<std::string>{"./data"});
    EXPECT_EQ(c.num_partitions, 1);
    // As Kafka's shipped single-node file: the first consumer of a tutorial reads at once.
    EXPECT_EQ(c.group_initial_rebalance_delay_ms, 0);
    EXPECT_TRUE(c.ignored_keys.empty());
    EXPECT_TRUE(c.warnings.empty());
}

TEST(BrokerConfigTest, MultipleListenersAndEmptyHost) {
    auto c = from_text(
        "listeners=plaintext://:9092, INTERNAL://10.0.0.5:9093,EXTERNAL://[::1]:9094\n"
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:plaintext,"
        "EXTERNAL:PLAINTEXT\n");
    EXPECT_EQ(c.listeners, (std::vector{plaintext("PLAINTEXT", "", 9092),
                                        plaintext("INTERNAL", "10.0.0.5", 9093),
                                        plaintext("EXTERNAL", "::1", 9094)}));
    EXPECT_EQ(c.advertised_listeners, c.listeners);
    EXPECT_EQ(to_string(c.listeners[2]), "EXTERNAL://[::1]:9094");
    EXPECT_EQ(to_string(c.listeners[0]), "PLAINTEXT://:9092");
}

TEST(BrokerConfigTest, AdvertisedListeners) {
    auto c = from_text(
        "listeners=PLAINTEXT://0.0.0.0:9092\n"
        "advertised.listeners=PLAINTEXT://broker1.example.com:19092\n");
    EXPECT_EQ(c.listeners, std::vector{plaintext("PLAINTEXT", "0.0.0.0", 9092)});
    EXPECT_EQ(c.advertised_listeners,
              std::vector{plaintext("PLAINTEXT", "broker1.example.com", 19092)});

    EXPECT_EQ(error_of("listeners=PLAINTEXT://0.0.0.0:9092"),
              "server.properties:1: listeners = \"PLAINTEXT://0.0.0.0:9092\": cannot advertise "
              "the non-routable address 0.0.0.0; set advertised.listeners to a host clients can "
              "reach");
    EXPECT_NE(
        error_of("advertised.listeners=PLAINTEXT://0.0.0.0:9092").find("advertised.listeners"),
        std::string::npos);
    EXPECT_EQ(error_of("advertised.listeners=OTHER://h:1\n"
                       "listener.security.protocol.map=OTHER:PLAINTEXT,PLAINTEXT:PLAINTEXT"),
              "server.properties:1: advertised.listeners = \"OTHER://h:1\": advertised listener "
              "OTHER is not among listeners");
}

TEST(BrokerConfigTest, ControllerListenersAreSkippedWithAWarning) {
    // Kafka 4's sample KRaft configuration.
    auto c = from_text(
        "process.roles=broker,controller\n"
        "node.id=1\n"
        "controller.quorum.bootstrap.servers=localhost:9093\n"
        "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\n"
        "inter.broker.listener.name=PLAINTEXT\n"
        "advertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093\n"
        "controller.listener.names=CONTROLLER\n"
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,"
        "SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL\n");
    EXPECT_EQ(c.node_id, 1);
    EXPECT_EQ(c.listeners, std::vector{plaintext("PLAINTEXT", "", 9092)});
    EXPECT_EQ(c.advertised_listeners, std::vector{plaintext("PLAINTEXT", "localhost", 9092)});
    ASSERT_EQ(c.warnings.size(), 1u);
    EXPECT_NE(c.warnings[0].find("CONTROLLER://:9093"), std::string::npos);
    // inter.broker.listener.name is honoured (replication), the KRaft keys are not.
    EXPECT_EQ(c.inter_broker_listener_name, "PLAINTEXT");
    EXPECT_EQ(c.ignored_keys,
              (std::vector<std::string>{"controller.quorum.bootstrap.servers", "process.roles"}));

    // A listener named in controller.listener.names is skipped even without a protocol mapping.
    auto named = from_text(
        "listeners=PLAINTEXT://:9092,CTRL://:9093\n"
        "controller.listener.names=ctrl\n");
    EXPECT_EQ(named.listeners, std::vector{plaintext("PLAINTEXT", "", 9092)});
    EXPECT_NE(error_of("listeners=CONTROLLER://:9093"), "");
}

TEST(BrokerConfigTest, ListenerErrors) {
    EXPECT_EQ(error_of("listeners=SSL://:9093"),
              "server.properties:1: listeners = \"SSL://:9093\": listener SSL uses security "
              "protocol SSL; only PLAINTEXT is supported so far");
    EXPECT_EQ(error_of("listeners=CLIENT://:9093"),
              "server.properties:1: listeners = \"CLIENT://:9093\": listener name CLIENT has no "
              "security protocol in listener.security.protocol.map");
    EXPECT_EQ(error_of("listeners=PLAINTEXT//:9092"),
              "server.properties:1: listeners = \"PLAINTEXT//:9092\": cannot parse "
              "\"PLAINTEXT//:9092\"; expected NAME://host:port");
    EXPECT_NE(error_of("listeners=PLAINTEXT://host"), "");
    EXPECT_NE(error_of("listeners=PLAINTEXT://host:port"), "");
    EXPECT_NE(error_of("listeners=PLAINTEXT://ho/st:1"), "");
    EXPECT_NE(error_of("listeners=PLAINTEXT://:65536").find("between 0 and 65535"),
              std::string::npos);
    EXPECT_NE(error_of("listeners=PLAINTEXT://:1,PLAINTEXT://:2").find("more than once"),
              std::string::npos);
    EXPECT_NE(error_of("listeners=A://:9092,B://h:9092\n"
                       "listener.security.protocol.map=A:PLAINTEXT,B:PLAINTEXT")
                  .find("share port 9092"),
              std::string::npos);
    EXPECT_NE(error_of("listener.security.protocol.map=PLAINTEXT:TLS").find("TLS"),
              std::string::npos);
    EXPECT_NE(error_of("listener.security.protocol.map=PLAINTEXT")
                  .find("LISTENER_NAME:SECURITY_PROTOCOL"),
              std::string::npos);
    // Defaulted listeners are blamed with their default value.
    EXPECT_EQ(error_of("listener.security.protocol.map=SSL:SSL"),
              "server.properties: listeners = \"PLAINTEXT://:9092\" (default): listener name "
              "PLAINTEXT has no security protocol in listener.security.protocol.map");
}

TEST(BrokerConfigTest, SharedPortNeedsOneIpv4AndOneIpv6Address) {
    auto c = from_text(
        "listeners=A://127.0.0.1:9092,B://[::1]:9092\n"
        "listener.security.protocol.map=A:PLAINTEXT,B:PLAINTEXT");
    EXPECT_EQ(c.listeners.size(), 2u);
    EXPECT_NE(error_of("listeners=A://127.0.0.1:9092,B://127.0.0.2:9092\n"
                       "listener.security.protocol.map=A:PLAINTEXT,B:PLAINTEXT"),
              "");
    // Port 0 (ephemeral) may repeat.
    EXPECT_EQ(error_of("listeners=A://:0,B://:0\n"
                       "listener.security.protocol.map=A:PLAINTEXT,B:PLAINTEXT"),
              "");
}

TEST(BrokerConfigTest, LegacyPortAndHostName) {
    EXPECT_EQ(from_text("port=9093").listeners, std::vector{plaintext("PLAINTEXT", "", 9093)});
    auto c = from_text("host.name=localhost\nport=9094");
    EXPECT_EQ(c.listeners, std::vector{plaintext("PLAINTEXT", "localhost", 9094)});
    EXPECT_EQ(c.advertised_listeners, c.listeners);
    EXPECT_EQ(entry(c.describe(), "listeners").value, "PLAINTEXT://localhost:9094");
    // listeners wins when present.
    EXPECT_EQ(from_text("port=9093\nlisteners=PLAINTEXT://:9000").listeners,
              std::vector{plaintext("PLAINTEXT", "", 9000)});
    EXPECT_NE(error_of("port=70000").find("between 0 and 65535"), std::string::npos);
    // Legacy advertised host and port.
    auto adv = from_text("port=9093\nadvertised.host.name=public.example.com");
    EXPECT_EQ(adv.advertised_listeners,
              std::vector{plaintext("PLAINTEXT", "public.example.com", 9093)});
}

TEST(BrokerConfigTest, IgnoredKeysAreCollectedSortedAndUnique) {
    auto c = from_text(
        "ssl.keystore.location=/x\n"
        "sasl.enabled.mechanisms=PLAIN\n"
        "confluent.support.metrics.enable=false\n"
        "num.replica.fetchers=2\n"
        "authorizer.class.name=x\n"
        "ssl.keystore.location=/y\n"
        "num.partitions=2\n");
    EXPECT_EQ(c.ignored_keys,
              (std::vector<std::string>{"authorizer.class.name", "confluent.support.metrics.enable",
                                        "num.replica.fetchers", "sasl.enabled.mechanisms",
                                        "ssl.keystore.location"}));
    EXPECT_EQ(c.num_partitions, 2);
    EXPECT_FALSE(c.explicit_value("ssl.keystore.location"));
}

TEST(BrokerConfigTest, ZooKeeperKeysAsKafkaReadsThem) {
    auto single = from_text("num.partitions=2\n");
    EXPECT_EQ(single.zookeeper_connect, "");
    EXPECT_EQ(single.zookeeper_session_timeout_ms, 18000);
    EXPECT_EQ(single.zookeeper_connection_timeout_ms, 18000);
    EXPECT_EQ(single.broker_rack, "");
    // The last setting wins; the connection timeout follows the session timeout unless set.
    auto c = from_text(
        "zookeeper.connect=localhost:2181\n"
        "zookeeper.connect=zk1:2181,zk2:2181/kafka\n"
        "zookeeper.session.timeout.ms=6000\n"
        "broker.rack=rack-a\n");
    EXPECT_EQ(c.zookeeper_connect, "zk1:2181,zk2:2181/kafka");
    EXPECT_EQ(c.zookeeper_session_timeout_ms, 6000);
    EXPECT_EQ(c.zookeeper_connection_timeout_ms, 6000);
    EXPECT_EQ(c.broker_rack, "rack-a");
    EXPECT_TRUE(c.ignored_keys.empty());
    EXPECT_EQ(from_text("zookeeper.connection.timeout.ms=500\n").zookeeper_connection_timeout_ms,
              500);
    EXPECT_NE(error_of("zookeeper.session.timeout.ms=0").find("zookeeper.session.timeout.ms"),
              std::string::npos);
}

TEST(BrokerConfigTest, CompactionLagsMustBeOrdered) {
    EXPECT_NE(error_of("log.cleaner.min.compaction.lag.ms=10\n"
                       "log.cleaner.max.compaction.lag.ms=5")
                  .find("log.cleaner.min.compaction.lag.ms"),
              std::string::npos);
}

TEST(BrokerConfigTest, DescribeListsEveryKnownKeySorted) {
    auto c = from_text("num.partitions= 4 \nlog.retention.hours=24\n");
    auto entries = c.describe();
    EXPECT_EQ(entries.size(), broker_config::known_keys().size());
    EXPECT_TRUE(std::is_sorted(entries.begin(), entries.end(),
                               [](const auto& a, const auto& b) { return a.name < b.name; }));

    const auto& partitions = entry(entries, "num.partitions");
    EXPECT_EQ(partitions.value, "4");
    EXPECT_EQ(partitions.source, config_source::static_broker_config);
    EXPECT_FALSE(partitions.is_default);
    EXPECT_TRUE(partitions.read_only);
    EXPECT_FALSE(partitions.sensitive);
    EXPECT_EQ(partitions.type, config_type::int32);
    EXPECT_FALSE(partitions.documentation.empty());
    EXPECT_EQ(
        partitions.synonyms,
        (std::vector<config_synonym>{{"num.partitions", "4 ", config_source::static_broker_config},
                                     {"num.partitions", "1", config_source::default_config}}));

    const auto& segment = entry(entries, "log.segment.bytes");
    EXPECT_EQ(segment.value, "1073741824");
    EXPECT_EQ(segment.source, config_source::default_config);
    EXPECT_TRUE(segment.is_default);
    EXPECT_EQ(segment.synonyms, (std::vector<config_synonym>{{"log.segment.bytes", "1073741824",
                                                              config_source::default_config}}));

    const auto& hours = entry(entries, "log.retention.hours");
    EXPECT_EQ(hours.value, "24");
    EXPECT_EQ(hours.source, config_source::static_broker_config);
    EXPECT_EQ(hours.synonyms,
              (std::vector<config_synonym>{
                  {"log.retention.hours", "24", config_source::static_broker_config},
                  {"log.retention.hours", "168", config_source::default_config}}));

    // Unset and without a default: no value, no synonyms (Kafka drops the ones before it).
    const auto& ms = entry(entries, "log.retention.ms");
    EXPECT_FALSE(ms.value);
    EXPECT_EQ(ms.source, config_source::default_config);
    EXPECT_TRUE(ms.synonyms.empty());
    EXPECT_EQ(ms.type, config_type::int64);

    EXPECT_EQ(entry(entries, "log.cleanup.policy").type, config_type::list);
    EXPECT_EQ(entry(entries, "auto.create.topics.enable").type, config_type::boolean);
    EXPECT_EQ(entry(entries, "log.cleaner.min.cleanable.ratio").type, config_type::float64);
    EXPECT_EQ(entry(entries, "log.cleaner.min.cleanable.ratio").value, "0.5");
    EXPECT_EQ(entry(entries, "offsets.topic.replication.factor").type, config_type::int16);
    EXPECT_EQ(entry(entries, "listeners").type, config_type::string);
    EXPECT_EQ(entry(entries, "broker.id").value, "0");
}

TEST(BrokerConfigTest, DescribeRetentionSynonymsFollowKafkaOrder) {
    auto c = from_text("log.retention.ms=1000\nlog.retention.hours=5\n");
    auto entries = c.describe();
    const auto& ms = entry(entries, "log.retention.ms");
    EXPECT_EQ(ms.value, "1000");
    EXPECT_EQ(ms.source, config_source::static_broker_config);
    EXPECT_EQ(ms.synonyms, (std::vector<config_synonym>{
                               {"log.retention.ms", "1000", config_source::static_broker_config},
                               {"log.retention.hours", "5", config_source::static_broker_config},
                               {"log.retention.hours", "168", config_source::default_config}}));
    const auto& minutes = entry(entries, "log.retention.minutes");
    EXPECT_FALSE(minutes.value);
    EXPECT_TRUE(minutes.synonyms.empty());
    EXPECT_EQ(entry(entries, "node.id").value, "0");
}

TEST(BrokerConfigTest, SynonymGroups) {
    using v = std::vector<std::string_view>;
    EXPECT_EQ(broker_config::synonyms_of("log.retention.minutes"),
              (v{"log.retention.ms", "log.retention.minutes", "log.retention.hours"}));
    EXPECT_EQ(broker_config::synonyms_of("log.roll.hours"), (v{"log.roll.ms", "log.roll.hours"}));
    EXPECT_EQ(broker_config::synonyms_of("log.flush.interval.ms"),
              (v{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"}));
    EXPECT_EQ(broker_config::synonyms_of("log.flush.scheduler.interval.ms"),
              (v{"log.flush.scheduler.interval.ms"}));
    EXPECT_EQ(broker_config::synonyms_of("num.partitions"), (v{"num.partitions"}));
}

TEST(BrokerConfigTest, CanonicalHostNameIsNotEmpty) {
    EXPECT_FALSE(local_canonical_host_name().empty());
}

// Every key Runnel knows is documented in docs/configuration.md (the key table is generated from
// server/config/broker_keys.def; this keeps the page in step with it).
TEST(BrokerConfigTest, EveryKeyIsDocumented) {
    auto path = std::filesystem::path(RUNNEL_TEST_DATA_DIR) / "../../docs/configuration.md";
    std::ifstream in(path);
    ASSERT_TRUE(in) << path;
    std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& k : broker_config::known_keys()) {
        // (appended, not `"`" + name + "`"`: GCC 12 warns falsely about that with -Wrestrict)
        const std::string quoted = std::string("`").append(k.name).append("`");
        EXPECT_NE(doc.find(quoted), std::string::npos)
            << k.name << " is missing from docs/configuration.md";
    }
}

// A default-constructed broker_config holds what loading an empty file gives, field by field
// (both come from the same rows).
TEST(BrokerConfigTest, FieldDefaultsMatchTheKeyDefaults) {
    const broker_config constructed;
    const auto loaded = broker_config::from_properties({}, {});
#define RUNNEL_FIELD(cpp_type, field, name, type, mode, default_value, rule, doc) \
    EXPECT_EQ(constructed.field, loaded.field) << name;
#define RUNNEL_KEY(name, type, mode, default_value, rule, doc)
#include "server/config/broker_keys.def"
#undef RUNNEL_FIELD
#undef RUNNEL_KEY
}

}  // namespace
}  // namespace runnel::server
