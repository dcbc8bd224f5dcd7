// Produce/consume through librdkafka's C++ API (librdkafka 2.0.2) against a real broker process.
//
// Consumers are assigned partitions (never subscribed) and never commit; producers have
// idempotence off: the broker implements neither consumer groups nor InitProducerId yet.
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "integration/broker_process.h"
#include "integration/broker_test.h"

namespace runnel::it {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using HeaderList = std::vector<std::pair<std::string, std::string>>;

constexpr int kFlushTimeoutMs = 30000;
constexpr auto kConsumeTimeout = 30s;

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string unique_topic(const std::string& prefix) {
    static int counter = 0;
    return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

std::unique_ptr<RdKafka::Conf> make_conf(const std::map<std::string, std::string>& settings) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string err;
    for (const auto& [k, v] : settings) {
        if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
            ADD_FAILURE() << "conf " << k << "=" << v << ": " << err;
        }
    }
    return conf;
}

struct Delivery {
    RdKafka::ErrorCode err;
    int32_t partition;
    int64_t offset;
    std::string key;
    std::string value;
};

class DeliveryCollector : public RdKafka::DeliveryReportCb {
  public:
    void dr_cb(RdKafka::Message& m) override {
        Delivery d{m.err(), m.partition(), m.offset(), m.key() ? *m.key() : std::string(),
                   std::string(static_cast<const char*>(m.payload()), m.len())};
        reports.push_back(std::move(d));
    }
    std::vector<Delivery> reports;
};

struct OutMessage {
    std::string key;  // empty + null_key -> no key
    bool null_key = false;
    std::string value;
    HeaderList headers;
    int64_t timestamp = 0;
    int32_t partition = RdKafka::Topic::PARTITION_UA;
};

struct InMessage {
    int32_t partition;
    int64_t offset;
    bool has_key;
    std::string key;
    std::string value;
    HeaderList headers;
    RdKafka::MessageTimestamp::MessageTimestampType ts_type;
    int64_t timestamp;
};

InMessage to_in(const RdKafka::Message& m) {
    InMessage in{m.partition(),
                 m.offset(),
                 m.key() != nullptr,
                 m.key() ? *m.key() : "",
                 std::string(static_cast<const char*>(m.payload()), m.len()),
                 {},
                 m.timestamp().type,
                 m.timestamp().timestamp};
    if (RdKafka::Headers* h = const_cast<RdKafka::Message&>(m).headers()) {
        for (const auto& hdr : h->get_all()) {
            in.headers.emplace_back(
                hdr.key(),
                hdr.value() ? std::string(static_cast<const char*>(hdr.value()), hdr.value_size())
                            : std::string());
        }
    }
    return in;
}

class Producer {
  public:
    Producer(const std::string& bootstrap, std::map<std::string, std::string> settings) {
        settings.emplace("bootstrap.servers", bootstrap);
        settings.emplace("enable.idempotence", "false");
        settings.emplace("linger.ms", "5");
        settings.emplace("message.timeout.ms", "25000");
        settings.emplace("socket.timeout.ms", "10000");
        auto conf = make_conf(settings);
        std::string err;
        conf->set("dr_cb", &dr_, err);
        producer_.reset(RdKafka::Producer::create(conf.get(), err));
        if (!producer_) ADD_FAILURE() << "Producer::create: " << err;
    }

    RdKafka::ErrorCode produce(const std::string& topic, const OutMessage& m) {
        RdKafka::Headers* headers = nullptr;
        if (!m.headers.empty()) {
            headers = RdKafka::Headers::create();
            for (const auto& [k, v] : m.headers) headers->add(k, v.data(), v.size());
        }
        while (true) {
            RdKafka::ErrorCode e =
                producer_->produce(topic, m.partition, RdKafka::Producer::RK_MSG_COPY,
                                   const_cast<char*>(m.value.data()), m.value.size(),
                                   m.null_key ? nullptr : m.key.data(),
                                   m.null_key ? 0 : m.key.size(), m.timestamp, headers, nullptr);
            if (e == RdKafka::ERR__QUEUE_FULL) {
                producer_->poll(50);
                continue;
            }
            if (e != RdKafka::ERR_NO_ERROR) delete headers;  // ownership not taken on failure
            return e;
        }
    }

    // Flushes; returns the number of messages still queued.
    int flush() {
        producer_->flush(kFlushTimeoutMs);
        return producer_->outq_len();
    }

    RdKafka::Producer* get() { return producer_.get(); }
    std::vector<Delivery>& reports() { return dr_.reports; }

  private:
    DeliveryCollector dr_;
    std::unique_ptr<RdKafka::Producer> producer_;
};

// Assigned (never subscribed) KafkaConsumer. librdkafka requires a group.id; it is never used
// for joining or committing.
std::vector<InMessage> consume_assigned(const std::string& bootstrap, const std::string& topic,
                                        int32_t partition, int64_t start, std::size_t count,
                                        std::map<std::string, std::string> settings = {}) {
    settings.emplace("bootstrap.servers", bootstrap);
    settings.emplace("group.id", "runnel-it-unused-group");
    settings.emplace("enable.auto.commit", "false");
    settings.emplace("enable.auto.offset.store", "false");
    settings.emplace("enable.partition.eof", "false");
    settings.emplace("socket.timeout.ms", "10000");
    auto conf = make_conf(settings);
    std::string err;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(
        RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer) {
        ADD_FAILURE() << "KafkaConsumer::create: " << err;
        return {};
    }
    std::vector<RdKafka::TopicPartition*> parts{
        RdKafka::TopicPartition::create(topic, partition, start)};
    RdKafka::ErrorCode e = consumer->assign(parts);
    RdKafka::TopicPartition::destroy(parts);
    EXPECT_EQ(e, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(e);
    std::vector<InMessage> out;
    std::vector<std::string> errors;
    // count == 0: expect nothing for 2 s
    auto deadline = Clock::now() + (count == 0 ? std::chrono::seconds(2) : kConsumeTimeout);
    while ((count == 0 || out.size() < count) && Clock::now() < deadline) {
        std::unique_ptr<RdKafka::Message> m(consumer->consume(500));
        if (m->err() == RdKafka::ERR_NO_ERROR) {
            out.push_back(to_in(*m));
        } else if (m->err() != RdKafka::ERR__TIMED_OUT && m->err() != RdKafka::ERR__PARTITION_EOF) {
            if (errors.size() < 20) errors.push_back(m->errstr());
        }
    }
    consumer->close();
    EXPECT_EQ(out.size(), count) << "consumed " << out.size() << " of " << count << " from "
                                 << topic << "-" << partition
                                 << "; errors: " << ::testing::PrintToString(errors);
    return out;
}

// Group-less legacy consumer (RdKafka::Consumer): reads [start, start+count) of a partition.
std::vector<InMessage> consume_legacy(const std::string& bootstrap, const std::string& topic,
                                      int32_t partition, int64_t start, std::size_t count) {
    auto conf = make_conf({{"bootstrap.servers", bootstrap}, {"socket.timeout.ms", "10000"}});
    std::string err;
    std::unique_ptr<RdKafka::Consumer> consumer(RdKafka::Consumer::create(conf.get(), err));
    if (!consumer) {
        ADD_FAILURE() << "Consumer::create: " << err;
        return {};
    }
    std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(consumer.get(), topic, nullptr, err));
    RdKafka::ErrorCode e = consumer->start(t.get(), partition, start);
    EXPECT_EQ(e, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(e);
    std::vector<InMessage> out;
    auto deadline = Clock::now() + kConsumeTimeout;
    while (out.size() < count && Clock::now() < deadline) {
        std::unique_ptr<RdKafka::Message> m(consumer->consume(t.get(), partition, 500));
        if (m->err() == RdKafka::ERR_NO_ERROR) out.push_back(to_in(*m));
        consumer->poll(0);
    }
    consumer->stop(t.get(), partition);
    EXPECT_EQ(out.size(), count) << topic << "-" << partition;
    return out;
}

BrokerOptions with_properties(std::map<std::string, std::string> properties) {
    BrokerOptions o;
    o.properties = std::move(properties);
    return o;
}

class BrokerTest : public BrokerTestBase {
  protected:
    // Produces `msgs` with checks on the delivery reports: every message delivered without
    // error, offsets consecutive per partition. Returns the reports in production order.
    std::vector<Delivery> produce_all(Producer& p, const std::string& topic,
                                      const std::vector<OutMessage>& msgs) {
        std::size_t before = p.reports().size();
        for (const auto& m : msgs) {
            RdKafka::ErrorCode e = p.produce(topic, m);
            EXPECT_EQ(e, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(e);
            p.get()->poll(0);
        }
        EXPECT_EQ(p.flush(), 0) << "messages left in the queue after flush";
        std::vector<Delivery> reports(p.reports().begin() + static_cast<long>(before),
                                      p.reports().end());
        EXPECT_EQ(reports.size(), msgs.size());
        std::map<int32_t, std::vector<int64_t>> offsets;
        for (const auto& d : reports) {
            EXPECT_EQ(d.err, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(d.err);
            offsets[d.partition].push_back(d.offset);
        }
        for (auto& [part, offs] : offsets) {
            for (std::size_t i = 1; i < offs.size(); ++i) {
                EXPECT_EQ(offs[i], offs[i - 1] + 1) << "partition " << part << " report " << i;
            }
        }
        return reports;
    }
};

std::vector<OutMessage> make_messages(int n, const std::string& tag, int64_t base_ts,
                                      int32_t partition = 0, std::size_t value_size = 100) {
    std::vector<OutMessage> out;
    for (int i = 0; i < n; ++i) {
        OutMessage m;
        m.null_key = i % 10 == 9;
        if (!m.null_key) m.key = "key-" + std::to_string(i % 13);
        m.value = tag + "-" + std::to_string(i) + "-";
        while (m.value.size() < value_size)
            m.value += static_cast<char>('a' + (i + m.value.size()) % 26);
        if (i % 4 != 0) {
            m.headers = {{"idx", std::to_string(i)}, {"tag", tag}};
            if (i % 8 == 1) m.headers.emplace_back("empty", "");
        }
        m.timestamp = base_ts + i;
        m.partition = partition;
        out.push_back(std::move(m));
    }
    return out;
}

void expect_same(const std::vector<OutMessage>& sent, const std::vector<InMessage>& got,
                 int64_t first_offset) {
    ASSERT_EQ(got.size(), sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
        SCOPED_TRACE("message " + std::to_string(i));
        EXPECT_EQ(got[i].offset, first_offset + static_cast<int64_t>(i));
        EXPECT_EQ(got[i].has_key, !sent[i].null_key);
        EXPECT_EQ(got[i].key, sent[i].key);
        EXPECT_EQ(got[i].value, sent[i].value);
        EXPECT_EQ(got[i].headers, sent[i].headers);
        EXPECT_EQ(got[i].ts_type, RdKafka::MessageTimestamp::MSG_TIMESTAMP_CREATE_TIME);
        EXPECT_EQ(got[i].timestamp, sent[i].timestamp);
    }
}

// ------------------------------------------------------------------------------ codecs x acks

struct CodecAcks {
    std::string codec;
    std::string acks;
};

class CodecAcksTest : public BrokerTest, public ::testing::WithParamInterface<CodecAcks> {};

TEST_P(CodecAcksTest, ProduceAndConsumeBack) {
    auto& broker = start_broker();
    const auto& [codec, acks] = GetParam();
    std::string topic = unique_topic("cpp-" + codec + "-acks" + (acks == "-1" ? "all" : acks));
    Producer p(broker.bootstrap(),
               {{"compression.codec", codec}, {"acks", acks}, {"batch.num.messages", "250"}});
    auto msgs = make_messages(1000, codec, now_ms() - 60000);
    auto reports = produce_all(p, topic, msgs);
    ASSERT_EQ(reports.size(), msgs.size());
    for (std::size_t i = 0; i < reports.size(); ++i) {
        EXPECT_EQ(reports[i].partition, 0);
        EXPECT_EQ(reports[i].offset, static_cast<int64_t>(i)) << "delivery report " << i;
        EXPECT_EQ(reports[i].value, msgs[i].value);
    }
    auto got = consume_assigned(broker.bootstrap(), topic, 0, RdKafka::Topic::OFFSET_BEGINNING,
                                msgs.size());
    expect_same(msgs, got, 0);
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, CodecAcksTest,
                         ::testing::Values(CodecAcks{"none", "1"}, CodecAcks{"none", "-1"},
                                           CodecAcks{"gzip", "1"}, CodecAcks{"gzip", "-1"},
                                           CodecAcks{"snappy", "1"}, CodecAcks{"snappy", "-1"},
                                           CodecAcks{"lz4", "1"}, CodecAcks{"lz4", "-1"},
                                           CodecAcks{"zstd", "1"}, CodecAcks{"zstd", "-1"}),
                         [](const ::testing::TestParamInfo<CodecAcks>& info) {
                             return info.param.codec +
                                    (info.param.acks == "-1" ? "_acks_all" : "_acks_1");
                         });

// ------------------------------------------------------------------------------ the rest

TEST_F(BrokerTest, ThreePartitionsWithKeys) {
    auto& broker = start_broker(with_properties({{"num.partitions", "3"}}));
    std::string topic = unique_topic("cpp-keyed");
    Producer p(broker.bootstrap(), {{"acks", "all"}, {"compression.codec", "lz4"}});
    std::vector<OutMessage> msgs;
    for (int i = 0; i < 600; ++i) {
        OutMessage m;
        m.key = "user-" + std::to_string(i % 30);
        m.value = "event-" + std::to_string(i);
        m.timestamp = 1'700'000'000'000 + i;
        msgs.push_back(m);  // partition UA: librdkafka's partitioner picks by key
    }
    auto reports = produce_all(p, topic, msgs);
    ASSERT_EQ(reports.size(), msgs.size());
    std::map<std::string, std::set<int32_t>> key_partitions;
    std::map<int32_t, std::vector<std::pair<int64_t, std::string>>> expected;  // offset, value
    for (const auto& d : reports) {
        key_partitions[d.key].insert(d.partition);
        expected[d.partition].emplace_back(d.offset, d.value);
    }
    for (const auto& [key, parts] : key_partitions) {
        EXPECT_EQ(parts.size(), 1u) << key << " went to several partitions";
    }
    EXPECT_EQ(expected.size(), 3u) << "30 keys should cover all 3 partitions";
    for (auto& [part, list] : expected) {
        std::sort(list.begin(), list.end());
        auto got = consume_legacy(broker.bootstrap(), topic, part, RdKafka::Topic::OFFSET_BEGINNING,
                                  list.size());
        ASSERT_EQ(got.size(), list.size());
        for (std::size_t i = 0; i < list.size(); ++i) {
            EXPECT_EQ(got[i].offset, static_cast<int64_t>(i));
            EXPECT_EQ(got[i].offset, list[i].first);
            EXPECT_EQ(got[i].value, list[i].second);
            EXPECT_EQ(got[i].partition, part);
        }
    }
}

TEST_F(BrokerTest, MetadataQuery) {
    auto& broker = start_broker(with_properties({{"num.partitions", "3"}}));
    std::string topic = unique_topic("cpp-meta");
    Producer p(broker.bootstrap(), {});
    OutMessage m;
    m.value = "x";
    produce_all(p, topic, {m});

    std::string errstr;
    std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(p.get(), topic, nullptr, errstr));
    ASSERT_TRUE(t) << errstr;
    RdKafka::Metadata* raw = nullptr;
    RdKafka::ErrorCode e = p.get()->metadata(false, t.get(), &raw, 10000);
    ASSERT_EQ(e, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(e);
    std::unique_ptr<RdKafka::Metadata> md(raw);
    ASSERT_EQ(md->brokers()->size(), 1u);
    const RdKafka::BrokerMetadata* b = md->brokers()->at(0);
    EXPECT_EQ(b->host(), "127.0.0.1");
    EXPECT_EQ(b->port(), broker.port());
    ASSERT_EQ(md->topics()->size(), 1u);
    const RdKafka::TopicMetadata* tm = md->topics()->at(0);
    EXPECT_EQ(tm->topic(), topic);
    EXPECT_EQ(tm->err(), RdKafka::ERR_NO_ERROR);
    ASSERT_EQ(tm->partitions()->size(), 3u);
    std::set<int32_t> ids;
    for (const auto* pm : *tm->partitions()) {
        ids.insert(pm->id());
        EXPECT_EQ(pm->err(), RdKafka::ERR_NO_ERROR);
        EXPECT_EQ(pm->leader(), b->id());
        EXPECT_EQ(*pm->replicas(), std::vector<int32_t>{b->id()});
        EXPECT_EQ(*pm->isrs(), std::vector<int32_t>{b->id()});
    }
    EXPECT_EQ(ids, (std::set<int32_t>{0, 1, 2}));

    RdKafka::Metadata* all_raw = nullptr;
    ASSERT_EQ(p.get()->metadata(true, nullptr, &all_raw, 10000), RdKafka::ERR_NO_ERROR);
    std::unique_ptr<RdKafka::Metadata> all(all_raw);
    bool found = false;
    for (const auto* tmd : *all->topics()) found = found || tmd->topic() == topic;
    EXPECT_TRUE(found) << "topic missing from the all-topics metadata";
}

TEST_F(BrokerTest, LargeMessagesNearMessageMaxBytes) {
    auto& broker = start_broker(with_properties({{"message.max.bytes", "1000000"}}));
    std::string topic = unique_topic("cpp-large");
    Producer p(broker.bootstrap(), {{"acks", "all"}, {"message.max.bytes", "1000000"}});
    std::vector<OutMessage> msgs;
    for (int i = 0; i < 4; ++i) {
        OutMessage m;
        m.key = "big-" + std::to_string(i);
        m.value.resize(999000);
        for (std::size_t j = 0; j < m.value.size(); ++j) {
            m.value[j] = static_cast<char>((j * 2654435761u + static_cast<unsigned>(i)) >> 13);
        }
        m.timestamp = 1'700'000'000'000 + i;
        m.partition = 0;
        msgs.push_back(std::move(m));
    }
    produce_all(p, topic, msgs);
    auto got = consume_assigned(broker.bootstrap(), topic, 0, RdKafka::Topic::OFFSET_BEGINNING,
                                msgs.size());
    expect_same(msgs, got, 0);
}

TEST_F(BrokerTest, MessageAboveBrokerLimitIsRejected) {
    auto& broker = start_broker(with_properties({{"message.max.bytes", "200000"}}));
    std::string topic = unique_topic("cpp-too-large");
    Producer p(broker.bootstrap(), {{"acks", "1"}, {"linger.ms", "0"}});
    OutMessage ok, big;
    ok.value.assign(199000, 'o');
    ok.partition = 0;
    big.value.assign(250000, 'b');
    big.partition = 0;
    ASSERT_EQ(p.produce(topic, ok), RdKafka::ERR_NO_ERROR);
    ASSERT_EQ(p.flush(), 0);
    ASSERT_EQ(p.produce(topic, big), RdKafka::ERR_NO_ERROR);
    ASSERT_EQ(p.flush(), 0);
    ASSERT_EQ(p.reports().size(), 2u);
    EXPECT_EQ(p.reports()[0].err, RdKafka::ERR_NO_ERROR);
    EXPECT_EQ(p.reports()[0].offset, 0);
    EXPECT_EQ(p.reports()[1].err, RdKafka::ERR_MSG_SIZE_TOO_LARGE)
        << RdKafka::err2str(p.reports()[1].err);
    auto got = consume_assigned(broker.bootstrap(), topic, 0, RdKafka::Topic::OFFSET_BEGINNING, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].value.size(), 199000u);
}

TEST_F(BrokerTest, GracefulRestartInTheMiddle) {
    auto& broker = start_broker();
    std::string topic = unique_topic("cpp-restart");
    Producer p(broker.bootstrap(), {{"acks", "all"}, {"compression.codec", "zstd"}});
    auto first = make_messages(300, "before", now_ms() - 100000);
    produce_all(p, topic, first);
    broker.restart();  // SIGTERM, exit code 0, same port and data dir
    auto second = make_messages(300, "after", now_ms() - 50000);
    auto reports = produce_all(p, topic, second);  // the same producer reconnects
    ASSERT_FALSE(reports.empty());
    EXPECT_EQ(reports.front().offset, 300);
    auto all = first;
    all.insert(all.end(), second.begin(), second.end());
    auto got = consume_assigned(broker.bootstrap(), topic, 0, RdKafka::Topic::OFFSET_BEGINNING,
                                all.size());
    expect_same(all, got, 0);
}

TEST_F(BrokerTest, KillRestartKeepsAcknowledgedMessages) {
    auto& broker = start_broker(with_properties({{"log.flush.interval.messages", "1"}}));
    std::string topic = unique_topic("cpp-kill");
    std::vector<OutMessage> all;
    {
        Producer p(broker.bootstrap(), {{"acks", "all"}});
        all = make_messages(500, "durable", now_ms() - 100000);
        produce_all(p, topic, all);
    }
    broker.kill();
    broker.start();
    auto got = consume_assigned(broker.bootstrap(), topic, 0, RdKafka::Topic::OFFSET_BEGINNING,
                                all.size());
    expect_same(all, got, 0);
    Producer p2(broker.bootstrap(), {{"acks", "all"}});
    auto more = make_messages(10, "more", now_ms());
    auto reports = produce_all(p2, topic, more);
    ASSERT_FALSE(reports.empty());
    EXPECT_EQ(reports.front().offset, 500);
}

TEST_F(BrokerTest, ConsumeFromTheMiddleAndFromTheEnd) {
    auto& broker = start_broker();
    std::string topic = unique_topic("cpp-middle");
    Producer p(broker.bootstrap(), {{"acks", "1"}});
    auto msgs = make_messages(100, "mid", now_ms() - 1000);
    produce_all(p, topic, msgs);
    auto got = consume_assigned(broker.bootstrap(), topic, 0, 60, 40);
    std::vector<OutMessage> tail(msgs.begin() + 60, msgs.end());
    expect_same(tail, got, 60);
    auto from_end = consume_assigned(broker.bootstrap(), topic, 0, RdKafka::Topic::OFFSET_END, 0);
    EXPECT_TRUE(from_end.empty());
}

TEST_F(BrokerTest, WatermarksAndOffsetsForTimes) {
    auto& broker = start_broker();
    std::string topic = unique_topic("cpp-offsets");
    Producer p(broker.bootstrap(), {{"acks", "all"}});
    int64_t base = now_ms() - 3'600'000;
    std::vector<OutMessage> msgs;
    for (int i = 0; i < 10; ++i) {
        OutMessage m;
        m.value = "t" + std::to_string(i);
        m.timestamp = base + 1000 * i;
        m.partition = 0;
        msgs.push_back(m);
    }
    produce_all(p, topic, msgs);
    int64_t low = -100, high = -100;
    ASSERT_EQ(p.get()->query_watermark_offsets(topic, 0, &low, &high, 10000),
              RdKafka::ERR_NO_ERROR);
    EXPECT_EQ(low, 0);
    EXPECT_EQ(high, 10);
    std::vector<RdKafka::TopicPartition*> parts{
        RdKafka::TopicPartition::create(topic, 0, base + 4500)};
    ASSERT_EQ(p.get()->offsetsForTimes(parts, 10000), RdKafka::ERR_NO_ERROR);
    EXPECT_EQ(parts[0]->err(), RdKafka::ERR_NO_ERROR);
    EXPECT_EQ(parts[0]->offset(), 5);
    RdKafka::TopicPartition::destroy(parts);
}

}  // namespace
}  // namespace runnel::it
