// Consumer groups through librdkafka's C++ API (librdkafka 2.0.2) against a real broker process:
// subscribe() with the cooperative-sticky assignor and an application rebalance callback
// (incremental_assign / incremental_unassign), synchronous commits, and committed offsets that
// survive a SIGKILL of the broker.
//
// Exactly-once across a rebalance rests on the application: it commits each batch it processed
// with commitSync before consuming more, and on revocation commits what it processed of the
// revoked partitions before giving them up (and, cooperative, holds its batch commits until the
// rejoin that follows a revocation is over: see GroupConsumer::rebalance_cb).
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "integration/broker_process.h"
#include "integration/broker_test.h"

namespace runnel::it {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using PartitionOffsets = std::map<int32_t, int64_t>;

constexpr int kPartitions = 4;
constexpr int kFlushTimeoutMs = 30000;
constexpr int kCommittedTimeoutMs = 15000;

std::string unique_name(const std::string& prefix) {
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

std::string to_string(const PartitionOffsets& m) {
    std::ostringstream out;
    out << "{";
    for (const auto& [p, o] : m) out << " " << p << ":" << o;
    out << " }";
    return out.str();
}

// Owns a vector of TopicPartition* (librdkafka's C++ API hands them around by raw pointer).
struct PartitionList {
    std::vector<RdKafka::TopicPartition*> v;
    PartitionList() = default;
    PartitionList(const std::string& topic, const PartitionOffsets& offsets) {
        for (const auto& [p, o] : offsets)
            v.push_back(RdKafka::TopicPartition::create(topic, p, o));
    }
    PartitionList(const std::string& topic, const std::set<int32_t>& partitions) {
        for (int32_t p : partitions) v.push_back(RdKafka::TopicPartition::create(topic, p));
    }
    ~PartitionList() { RdKafka::TopicPartition::destroy(v); }
    PartitionList(const PartitionList&) = delete;
    PartitionList& operator=(const PartitionList&) = delete;
    PartitionOffsets offsets() const {
        PartitionOffsets out;
        for (const auto* tp : v) out[tp->partition()] = tp->offset();
        return out;
    }
};

std::set<int32_t> partition_set(const std::vector<RdKafka::TopicPartition*>& v) {
    std::set<int32_t> out;
    for (const auto* tp : v) out.insert(tp->partition());
    return out;
}

// Produces `per_partition` records to each partition; returns {(partition, offset): value}.
std::map<std::pair<int32_t, int64_t>, std::string> produce(const std::string& bootstrap,
                                                           const std::string& topic,
                                                           int per_partition,
                                                           const std::string& tag) {
    struct Dr : RdKafka::DeliveryReportCb {
        std::map<std::pair<int32_t, int64_t>, std::string> delivered;
        std::vector<std::string> errors;
        void dr_cb(RdKafka::Message& m) override {
            if (m.err() != RdKafka::ERR_NO_ERROR) {
                errors.push_back(m.errstr());
                return;
            }
            delivered[{m.partition(), m.offset()}] =
                std::string(static_cast<const char*>(m.payload()), m.len());
        }
    } dr;
    auto conf = make_conf({{"bootstrap.servers", bootstrap},
                           {"enable.idempotence", "false"},
                           {"acks", "all"},
                           {"linger.ms", "5"},
                           {"message.timeout.ms", "25000"}});
    std::string err;
    conf->set("dr_cb", &dr, err);
    std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
    if (!p) {
        ADD_FAILURE() << "Producer::create: " << err;
        return {};
    }
    for (int i = 0; i < per_partition; ++i) {
        for (int32_t part = 0; part < kPartitions; ++part) {
            std::string value = tag + "-" + std::to_string(part) + "-" + std::to_string(i);
            while (true) {
                auto e = p->produce(topic, part, RdKafka::Producer::RK_MSG_COPY,
                                    const_cast<char*>(value.data()), value.size(), nullptr, 0, 0,
                                    nullptr, nullptr);
                if (e == RdKafka::ERR__QUEUE_FULL) {
                    p->poll(50);
                    continue;
                }
                EXPECT_EQ(e, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(e);
                break;
            }
            p->poll(0);
        }
    }
    p->flush(kFlushTimeoutMs);
    EXPECT_EQ(p->outq_len(), 0) << "messages left after flush";
    EXPECT_TRUE(dr.errors.empty()) << ::testing::PrintToString(dr.errors);
    EXPECT_EQ(dr.delivered.size(), static_cast<std::size_t>(per_partition * kPartitions));
    return dr.delivered;
}

struct RebalanceEvent {
    bool assign;  // false: revoke
    std::set<int32_t> partitions;
};

// A subscribed KafkaConsumer with an application rebalance callback. Consumed records are
// "processed" into `records`; pending() are processed but not yet committed.
class GroupConsumer : public RdKafka::RebalanceCb {
  public:
    GroupConsumer(const std::string& bootstrap, const std::string& group, const std::string& topic,
                  const std::string& name, const std::string& strategy = "cooperative-sticky")
        : topic_(topic), name_(name) {
        std::map<std::string, std::string> settings{{"bootstrap.servers", bootstrap},
                                                    {"group.id", group},
                                                    {"client.id", name},
                                                    {"partition.assignment.strategy", strategy},
                                                    {"enable.auto.commit", "false"},
                                                    {"auto.offset.reset", "earliest"},
                                                    {"session.timeout.ms", "6000"},
                                                    {"heartbeat.interval.ms", "500"},
                                                    {"socket.timeout.ms", "10000"},
                                                    {"topic.metadata.refresh.interval.ms", "2000"}};
        // e.g. RUNNEL_IT_RDKAFKA_DEBUG=cgrp,consumer to see the group protocol on stderr
        if (const char* debug = std::getenv("RUNNEL_IT_RDKAFKA_DEBUG")) settings["debug"] = debug;
        auto conf = make_conf(settings);
        std::string err;
        if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) !=
            RdKafka::Conf::CONF_OK) {
            ADD_FAILURE() << "rebalance_cb: " << err;
        }
        consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
        if (!consumer_) {
            ADD_FAILURE() << "KafkaConsumer::create: " << err;
            return;
        }
        auto e = consumer_->subscribe({topic});
        EXPECT_EQ(e, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(e);
    }

    ~GroupConsumer() override { close(); }

    void close() {
        if (consumer_ && !closed_) {
            closed_ = true;
            consumer_->close();  // serves the final revocation through rebalance_cb
        }
    }

    void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                      std::vector<RdKafka::TopicPartition*>& partitions) override {
        protocol_ = consumer->rebalance_protocol();
        std::set<int32_t> parts = partition_set(partitions);
        if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
            events_.push_back({true, parts});
            if (protocol_ == "COOPERATIVE") {
                check(consumer->incremental_assign(partitions), "incremental_assign");
            } else {
                consumer->assign(partitions);
            }
            assigned_.insert(parts.begin(), parts.end());
            if (assigns_until_settled_ > 0) --assigns_until_settled_;
            return;
        }
        // revoked (or lost): commit what was processed of these partitions first, unless lost
        events_.push_back({false, parts});
        if (err == RdKafka::ERR__REVOKE_PARTITIONS && !consumer->assignment_lost()) {
            commit_pending(parts);
        } else {
            lost_ = true;
        }
        // Cooperative: librdkafka 2.0.2 now calls the assign callback with no partitions
        // ("cooperative assign after revoke"), then rejoins, then calls it again after the
        // SyncGroup. A commit sent while that JoinGroup is parked is answered after the
        // rebalance, with ILLEGAL_GENERATION (as Kafka does: a connection's requests are served
        // in order), which librdkafka takes for a lost assignment. Hold the batch commits until
        // the second assign callback.
        if (protocol_ == "COOPERATIVE") assigns_until_settled_ = 2;
        if (protocol_ == "COOPERATIVE") {
            check(consumer->incremental_unassign(partitions), "incremental_unassign");
        } else {
            consumer->unassign();
        }
        for (int32_t p : parts) {
            assigned_.erase(p);
            pending_.erase(p);
        }
    }

    // Consumes up to `max` records (waiting at most `timeout_ms` for the first), then commits
    // them synchronously. Returns the number consumed.
    int consume_batch(int max, int timeout_ms) {
        int n = 0;
        int wait = timeout_ms;
        while (n < max) {
            std::unique_ptr<RdKafka::Message> m(consumer_->consume(wait));
            wait = 0;
            if (m->err() == RdKafka::ERR__TIMED_OUT) break;
            if (m->err() == RdKafka::ERR__PARTITION_EOF) continue;
            if (m->err() != RdKafka::ERR_NO_ERROR) {
                if (errors_.size() < 20) errors_.push_back(m->errstr());
                break;
            }
            records_.emplace_back(m->partition(), m->offset(),
                                  std::string(static_cast<const char*>(m->payload()), m->len()));
            pending_[m->partition()] = m->offset() + 1;
            ++n;
        }
        if (assigns_until_settled_ == 0) {
            std::set<int32_t> all;
            for (const auto& [p, o] : pending_) all.insert(p);
            commit_pending(all);
        }
        return n;
    }

    PartitionOffsets committed(const std::set<int32_t>& partitions) {
        PartitionList list(topic_, partitions);
        auto e = consumer_->committed(list.v, kCommittedTimeoutMs);
        EXPECT_EQ(e, RdKafka::ERR_NO_ERROR) << name_ << " committed(): " << RdKafka::err2str(e);
        for (const auto* tp : list.v) {
            EXPECT_EQ(tp->err(), RdKafka::ERR_NO_ERROR)
                << name_ << " committed() partition " << tp->partition();
        }
        return list.offsets();
    }

    const std::set<int32_t>& assigned() const { return assigned_; }
    const std::vector<RebalanceEvent>& events() const { return events_; }
    const std::vector<std::tuple<int32_t, int64_t, std::string>>& records() const {
        return records_;
    }
    const std::vector<std::string>& errors() const { return errors_; }
    const std::vector<std::string>& commit_errors() const { return commit_errors_; }
    const std::string& name() const { return name_; }
    const std::string& protocol() const { return protocol_; }
    int commits() const { return commits_; }
    bool lost() const { return lost_; }
    RdKafka::KafkaConsumer* get() { return consumer_.get(); }

    std::string describe_events() const {
        std::ostringstream out;
        out << name_ << ":";
        for (const auto& e : events_) {
            out << (e.assign ? " +[" : " -[");
            for (int32_t p : e.partitions) out << p << ",";
            out << "]";
        }
        return out.str();
    }

  private:
    void check(RdKafka::Error* error, const char* what) {
        if (error) {
            ADD_FAILURE() << name_ << " " << what << ": " << error->str();
            delete error;
        }
    }

    void commit_pending(const std::set<int32_t>& partitions) {
        PartitionOffsets todo;
        for (int32_t p : partitions) {
            auto it = pending_.find(p);
            if (it != pending_.end()) todo[p] = it->second;
        }
        if (todo.empty()) return;
        PartitionList list(topic_, todo);
        auto e = consumer_->commitSync(list.v);
        if (e == RdKafka::ERR_NO_ERROR) {
            for (const auto* tp : list.v) {
                if (tp->err() != RdKafka::ERR_NO_ERROR) e = tp->err();
            }
        }
        if (e == RdKafka::ERR_NO_ERROR) {
            ++commits_;
            for (const auto& [p, o] : todo) pending_.erase(p);
            return;
        }
        // A commit racing with a rebalance may be refused (Kafka: REBALANCE_IN_PROGRESS while
        // the group completes a rebalance; ILLEGAL_GENERATION with the previous generation).
        // The offsets stay pending and go with the next commit; anything else is a failure.
        commit_errors_.push_back(to_string(todo) + ": " + RdKafka::err2str(e));
        EXPECT_TRUE(e == RdKafka::ERR_REBALANCE_IN_PROGRESS || e == RdKafka::ERR_ILLEGAL_GENERATION)
            << name_ << " commitSync " << to_string(todo) << ": " << RdKafka::err2str(e);
    }

    std::string topic_;
    std::string name_;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
    bool closed_ = false;
    bool lost_ = false;
    int assigns_until_settled_ = 0;
    std::string protocol_;
    std::set<int32_t> assigned_;
    PartitionOffsets pending_;
    std::vector<RebalanceEvent> events_;
    std::vector<std::tuple<int32_t, int64_t, std::string>> records_;
    std::vector<std::string> errors_;
    std::vector<std::string> commit_errors_;
    int commits_ = 0;
};

class GroupTest : public BrokerTestBase {
  protected:
    BrokerProcess& start_broker() {
        BrokerOptions options;
        options.properties = {{"offsets.topic.replication.factor", "1"},
                              {"group.initial.rebalance.delay.ms", "0"},
                              {"group.min.session.timeout.ms", "1000"},
                              {"num.partitions", std::to_string(kPartitions)}};
        return BrokerTestBase::start_broker(std::move(options));
    }

    // Polls the consumers in turn (one batch of up to `batch` records each) until done() or
    // the timeout.
    template <typename Pred>
    bool drive(const std::vector<GroupConsumer*>& consumers, Pred done,
               std::chrono::milliseconds timeout, int batch = 50) {
        auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            for (auto* c : consumers) c->consume_batch(batch, 50);
            if (done()) return true;
        }
        return done();
    }

    static std::string state(const std::vector<GroupConsumer*>& consumers) {
        std::ostringstream out;
        for (auto* c : consumers) {
            out << c->describe_events() << " (assigned";
            for (int32_t p : c->assigned()) out << " " << p;
            out << "; " << c->records().size() << " records, errors "
                << ::testing::PrintToString(c->errors()) << ", refused commits "
                << ::testing::PrintToString(c->commit_errors()) << ")\n";
        }
        return out.str();
    }
};

std::set<int32_t> all_partitions() {
    std::set<int32_t> s;
    for (int32_t p = 0; p < kPartitions; ++p) s.insert(p);
    return s;
}

TEST_F(GroupTest, CooperativeStickyPairConsumesEachRecordExactlyOnce) {
    auto& broker = start_broker();
    std::string topic = unique_name("cpp-grp-coop");
    std::string group = unique_name("cpp-grp-coop");
    auto produced = produce(broker.bootstrap(), topic, 250, "first");
    ASSERT_EQ(produced.size(), 250u * kPartitions);

    GroupConsumer c1(broker.bootstrap(), group, topic, "cpp-c1");
    ASSERT_TRUE(drive(
        {&c1}, [&] { return c1.assigned() == all_partitions() && c1.records().size() >= 100; }, 40s,
        5))
        << "the first member never got every partition and consumed\n"
        << state({&c1});
    EXPECT_EQ(c1.protocol(), "COOPERATIVE");

    GroupConsumer c2(broker.bootstrap(), group, topic, "cpp-c2");
    auto split = [&] {
        std::set<int32_t> u = c1.assigned();
        u.insert(c2.assigned().begin(), c2.assigned().end());
        return c1.assigned().size() == 2 && c2.assigned().size() == 2 && u == all_partitions();
    };
    // (small batches: the partitions that move are still being consumed when they move)
    ASSERT_TRUE(drive({&c1, &c2}, split, 40s, 5)) << "no 2/2 split\n" << state({&c1, &c2});
    std::set<int32_t> kept = c1.assigned(), moved = c2.assigned();

    // more records while both members run
    auto more = produce(broker.bootstrap(), topic, 250, "second");
    produced.insert(more.begin(), more.end());
    auto total = [&] { return c1.records().size() + c2.records().size(); };
    EXPECT_TRUE(drive(
        {&c1, &c2}, [&] { return total() >= produced.size(); }, 60s))
        << state({&c1, &c2});
    // a little more polling: duplicates, if any, would show up now
    drive(
        {&c1, &c2}, [] { return false; }, 1500ms);

    std::map<std::pair<int32_t, int64_t>, int> seen;
    for (auto* c : {&c1, &c2}) {
        for (const auto& [p, o, v] : c->records()) {
            ++seen[{p, o}];
            auto it = produced.find({p, o});
            ASSERT_NE(it, produced.end()) << "unknown record " << p << "/" << o;
            EXPECT_EQ(it->second, v) << "record " << p << "/" << o;
        }
        EXPECT_TRUE(c->errors().empty()) << state({&c1, &c2});
        EXPECT_FALSE(c->lost()) << state({&c1, &c2});
    }
    EXPECT_EQ(seen.size(), produced.size()) << "records consumed by nobody";
    int duplicates = 0;
    for (const auto& [k, n] : seen) {
        if (n != 1) ++duplicates;
    }
    EXPECT_EQ(duplicates, 0) << "records consumed twice despite synchronous commits\n"
                             << state({&c1, &c2});

    // incremental rebalancing: c1 was asked only for what moved; c2 only ever gained
    ASSERT_FALSE(c1.events().empty());
    EXPECT_TRUE(c1.events()[0].assign);
    EXPECT_EQ(c1.events()[0].partitions, all_partitions());
    std::set<int32_t> revoked;
    for (const auto& e : c1.events()) {
        if (!e.assign) revoked.insert(e.partitions.begin(), e.partitions.end());
    }
    EXPECT_EQ(revoked, moved) << "partitions that stay must not be revoked\n" << state({&c1, &c2});
    for (std::size_t i = 1; i < c1.events().size(); ++i) {
        if (c1.events()[i].assign) {
            EXPECT_TRUE(c1.events()[i].partitions.empty())
                << "later assign callbacks of c1 carry only additions\n"
                << state({&c1, &c2});
        }
    }
    std::set<int32_t> gained;
    for (const auto& e : c2.events()) {
        EXPECT_TRUE(e.assign) << state({&c1, &c2});
        gained.insert(e.partitions.begin(), e.partitions.end());
    }
    EXPECT_EQ(gained, moved);
    EXPECT_EQ(c1.assigned(), kept);

    // the group's committed offsets are the end of every partition
    PartitionOffsets ends;
    for (const auto& [k, v] : produced) ends[k.first] = std::max(ends[k.first], k.second + 1);
    EXPECT_EQ(to_string(c1.committed(all_partitions())), to_string(ends));
    EXPECT_EQ(to_string(c2.committed(all_partitions())), to_string(ends));
    std::cerr << "[cooperative pair] c1 " << c1.records().size() << " records, " << c1.commits()
              << " commits; c2 " << c2.records().size() << " records, " << c2.commits()
              << " commits\n"
              << state({&c1, &c2});
    c2.close();
    c1.close();
}

TEST_F(GroupTest, CommittedOffsetsSurviveBrokerKill) {
    auto& broker = start_broker();
    std::string topic = unique_name("cpp-grp-kill");
    std::string group = unique_name("cpp-grp-kill");
    auto produced = produce(broker.bootstrap(), topic, 50, "durable");
    ASSERT_EQ(produced.size(), 50u * kPartitions);
    const PartitionOffsets commit_at{{0, 30}, {1, 20}, {2, 50}, {3, 0}};
    {
        GroupConsumer c(broker.bootstrap(), group, topic, "cpp-before-kill", "range");
        ASSERT_TRUE(drive(
            {&c}, [&] { return c.records().size() >= produced.size(); }, 40s))
            << state({&c});
        // rewind the group to chosen offsets (commitSync with explicit offsets)
        PartitionList list(topic, commit_at);
        auto e = c.get()->commitSync(list.v);
        ASSERT_EQ(e, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(e);
        EXPECT_EQ(to_string(c.committed(all_partitions())), to_string(commit_at));
        c.close();
    }

    broker.kill();
    broker.start();

    GroupConsumer c(broker.bootstrap(), group, topic, "cpp-after-kill", "range");
    EXPECT_EQ(to_string(c.committed(all_partitions())), to_string(commit_at))
        << "committed offsets after SIGKILL + restart";
    std::size_t expected = 0;
    for (const auto& [p, o] : commit_at) expected += static_cast<std::size_t>(50 - o);
    ASSERT_TRUE(drive(
        {&c}, [&] { return c.records().size() >= expected; }, 60s))
        << state({&c});
    drive(
        {&c}, [] { return false; }, 1000ms);
    std::map<int32_t, std::vector<int64_t>> offsets;
    for (const auto& [p, o, v] : c.records()) offsets[p].push_back(o);
    for (const auto& [p, start] : commit_at) {
        std::vector<int64_t> want;
        for (int64_t o = start; o < 50; ++o) want.push_back(o);
        EXPECT_EQ(offsets[p], want) << "partition " << p << " must resume at offset " << start;
    }
    PartitionOffsets ends{{0, 50}, {1, 50}, {2, 50}, {3, 50}};
    EXPECT_EQ(to_string(c.committed(all_partitions())), to_string(ends));
    c.close();
}

}  // namespace
}  // namespace runnel::it
