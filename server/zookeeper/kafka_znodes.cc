#include "server/zookeeper/kafka_znodes.h"

#include <nlohmann/json.hpp>

#include <charconv>

namespace runnel::server::zookeeper {

using json = nlohmann::json;

namespace paths {

std::string broker(int32_t id) { return std::string(broker_ids) + "/" + std::to_string(id); }
std::string topic(std::string_view name) { return std::string(topics) + "/" + std::string(name); }
std::string partition_state(std::string_view t, int32_t partition) {
    return topic(t) + "/partitions/" + std::to_string(partition) + "/state";
}
std::string topic_config(std::string_view name) {
    return std::string(config_topics) + "/" + std::string(name);
}

std::vector<std::string> persistent() {
    // Kafka's list (ZkData's persistent paths), parents first.
    return {"/consumers",
            "/admin",
            std::string(delete_topics),
            "/brokers",
            std::string(broker_ids),
            std::string(topics),
            "/brokers/seqid",
            "/config",
            std::string(config_changes),
            std::string(config_topics),
            "/config/clients",
            "/config/users",
            "/config/brokers",
            "/config/ips",
            "/isr_change_notification",
            std::string(producer_id_block),
            "/log_dir_event_notification"};
}

}  // namespace paths

namespace {

json parse_object(std::string_view text, std::string_view what) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        throw znode_format_error(std::string(what) +
                                 " is not a JSON object: " + std::string(text.substr(0, 200)));
    }
    return j;
}

// Kafka writes timestamps as strings of milliseconds; older writers used numbers.
int64_t timestamp_of(const json& j) {
    auto it = j.find("timestamp");
    if (it == j.end()) return 0;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_string()) {
        const auto& s = it->get_ref<const std::string&>();
        int64_t v = 0;
        std::from_chars(s.data(), s.data() + s.size(), v);
        return v;
    }
    return 0;
}

}  // namespace

std::string broker_registration::to_json() const {
    json j;
    // Version 5 (features added by KIP-584); readers of versions 4+ take the endpoints list.
    j["version"] = 5;
    // host and port are those of the PLAINTEXT listener, for readers older than endpoints.
    j["host"] = nullptr;
    j["port"] = -1;
    json eps = json::array();
    for (const auto& e : endpoints) {
        eps.push_back(e.listener + "://" + e.host + ":" + std::to_string(e.port));
        if (e.listener == "PLAINTEXT" && j["port"] == -1) {
            j["host"] = e.host;
            j["port"] = e.port;
        }
    }
    j["endpoints"] = std::move(eps);
    json map = json::object();
    for (const auto& [name, protocol] : protocols) map[name] = protocol;
    j["listener_security_protocol_map"] = std::move(map);
    j["jmx_port"] = -1;
    j["timestamp"] = std::to_string(timestamp_ms);
    j["features"] = json::object();
    if (rack) j["rack"] = *rack;
    return j.dump();
}

broker_registration broker_registration::from_json(int32_t id, std::string_view text) {
    json j = parse_object(text, "broker registration");
    broker_registration r;
    r.id = id;
    r.timestamp_ms = timestamp_of(j);
    if (auto it = j.find("listener_security_protocol_map"); it != j.end() && it->is_object()) {
        for (const auto& [name, protocol] : it->items()) {
            if (protocol.is_string()) r.protocols[name] = protocol.get<std::string>();
        }
    }
    if (auto it = j.find("endpoints"); it != j.end() && it->is_array()) {
        for (const auto& e : *it) {
            if (!e.is_string()) continue;
            const auto& s = e.get_ref<const std::string&>();
            const size_t sep = s.find("://");
            const size_t colon = s.rfind(':');
            if (sep == std::string::npos || colon == std::string::npos || colon < sep + 3) {
                throw znode_format_error("broker " + std::to_string(id) + ": bad endpoint " + s);
            }
            endpoint ep;
            ep.listener = s.substr(0, sep);
            ep.host = s.substr(sep + 3, colon - sep - 3);
            // An IPv6 host is written in brackets.
            if (ep.host.size() >= 2 && ep.host.front() == '[' && ep.host.back() == ']')
                ep.host = ep.host.substr(1, ep.host.size() - 2);
            const char* first = s.data() + colon + 1;
            auto [p, ec] = std::from_chars(first, s.data() + s.size(), ep.port);
            if (ec != std::errc{} || p != s.data() + s.size()) {
                throw znode_format_error("broker " + std::to_string(id) + ": bad endpoint " + s);
            }
            r.endpoints.push_back(std::move(ep));
        }
    } else if (j.contains("host") && j["host"].is_string() && j.contains("port")) {
        // Version 1-2 registrations carry only host and port.
        r.endpoints.push_back(
            {"PLAINTEXT", j["host"].get<std::string>(), j["port"].get<int32_t>()});
    }
    if (auto it = j.find("rack"); it != j.end() && it->is_string()) r.rack = it->get<std::string>();
    return r;
}

namespace {

json replica_map(const std::map<int32_t, std::vector<int32_t>>& m) {
    json out = json::object();
    for (const auto& [p, replicas] : m) out[std::to_string(p)] = replicas;
    return out;
}

std::vector<int32_t> int_list(const json& j, std::string_view what) {
    if (!j.is_array()) throw znode_format_error(std::string(what) + " is not a list");
    std::vector<int32_t> out;
    for (const auto& v : j) {
        if (!v.is_number_integer()) throw znode_format_error(std::string(what) + ": not a number");
        out.push_back(v.get<int32_t>());
    }
    return out;
}

std::map<int32_t, std::vector<int32_t>> replica_map_from(const json& j, std::string_view what) {
    std::map<int32_t, std::vector<int32_t>> out;
    if (j.is_null()) return out;
    if (!j.is_object()) throw znode_format_error(std::string(what) + " is not an object");
    for (const auto& [key, replicas] : j.items()) {
        int32_t p = -1;
        auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), p);
        if (ec != std::errc{} || end != key.data() + key.size() || p < 0) {
            throw znode_format_error(std::string(what) + ": bad partition " + key);
        }
        out[p] = int_list(replicas, what);
    }
    return out;
}

int32_t int_field(const json& j, const char* name, std::string_view what) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_number_integer()) {
        throw znode_format_error(std::string(what) + " without " + name);
    }
    return it->get<int32_t>();
}

}  // namespace

std::string topic_assignment::to_json() const {
    json j;
    j["version"] = 3;
    j["partitions"] = replica_map(partitions);
    j["adding_replicas"] = replica_map(adding_replicas);
    j["removing_replicas"] = replica_map(removing_replicas);
    if (topic_id) j["topic_id"] = *topic_id;
    return j.dump();
}

topic_assignment topic_assignment::from_json(std::string_view text) {
    json j = parse_object(text, "topic assignment");
    topic_assignment a;
    auto parts = j.find("partitions");
    if (parts == j.end()) throw znode_format_error("topic assignment without partitions");
    a.partitions = replica_map_from(*parts, "partitions");
    if (auto it = j.find("adding_replicas"); it != j.end())
        a.adding_replicas = replica_map_from(*it, "adding_replicas");
    if (auto it = j.find("removing_replicas"); it != j.end())
        a.removing_replicas = replica_map_from(*it, "removing_replicas");
    if (auto it = j.find("topic_id"); it != j.end() && it->is_string())
        a.topic_id = it->get<std::string>();
    // Partitions are numbered 0..n-1 with no gap.
    int32_t expect = 0;
    for (const auto& [p, replicas] : a.partitions) {
        if (p != expect++)
            throw znode_format_error("topic assignment skips partition " +
                                     std::to_string(expect - 1));
    }
    return a;
}

std::string partition_state::to_json() const {
    json j;
    j["version"] = 1;
    j["leader"] = leader;
    j["leader_epoch"] = leader_epoch;
    j["isr"] = isr;
    j["controller_epoch"] = controller_epoch;
    if (recovering) j["leader_recovery_state"] = 1;
    return j.dump();
}

partition_state partition_state::from_json(std::string_view text) {
    json j = parse_object(text, "partition state");
    partition_state s;
    s.leader = int_field(j, "leader", "partition state");
    s.leader_epoch = int_field(j, "leader_epoch", "partition state");
    s.controller_epoch = int_field(j, "controller_epoch", "partition state");
    auto isr = j.find("isr");
    if (isr == j.end()) throw znode_format_error("partition state without isr");
    s.isr = int_list(*isr, "isr");
    if (auto it = j.find("leader_recovery_state"); it != j.end() && it->is_number_integer())
        s.recovering = it->get<int32_t>() == 1;
    return s;
}

std::string topic_config_json(const std::map<std::string, std::string>& configs) {
    json j;
    j["version"] = 1;
    j["config"] = json::object();
    for (const auto& [k, v] : configs) j["config"][k] = v;
    return j.dump();
}

std::map<std::string, std::string> parse_topic_config(std::string_view text) {
    json j = parse_object(text, "topic config");
    std::map<std::string, std::string> out;
    auto it = j.find("config");
    if (it == j.end() || it->is_null()) return out;
    if (!it->is_object()) throw znode_format_error("topic config: config is not an object");
    for (const auto& [k, v] : it->items()) {
        if (!v.is_string()) throw znode_format_error("topic config " + k + " is not a string");
        out[k] = v.get<std::string>();
    }
    return out;
}

std::string controller_record::to_json() const {
    json j;
    j["version"] = 1;
    j["brokerid"] = broker_id;
    j["timestamp"] = std::to_string(timestamp_ms);
    return j.dump();
}

controller_record controller_record::from_json(std::string_view text) {
    json j = parse_object(text, "controller");
    controller_record r;
    auto it = j.find("brokerid");
    if (it == j.end() || !it->is_number_integer()) {
        throw znode_format_error("controller record without brokerid: " + std::string(text));
    }
    r.broker_id = it->get<int32_t>();
    r.timestamp_ms = timestamp_of(j);
    return r;
}

std::string producer_id_block::to_json() const {
    json j;
    j["version"] = 1;
    j["broker"] = broker;
    j["block_start"] = std::to_string(first);
    j["block_end"] = std::to_string(last);
    return j.dump();
}

producer_id_block producer_id_block::from_json(std::string_view text) {
    json j = parse_object(text, "producer id block");
    producer_id_block b;
    auto number = [&](const char* key) -> int64_t {
        auto it = j.find(key);
        int64_t v = -1;
        if (it != j.end() && it->is_string()) {
            const auto s = it->get<std::string>();
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec != std::errc{} || p != s.data() + s.size()) v = -1;
        } else if (it != j.end() && it->is_number_integer()) {
            v = it->get<int64_t>();
        }
        if (v < 0)
            throw znode_format_error("producer id block without " + std::string(key) + ": " +
                                     std::string(text));
        return v;
    };
    b.first = number("block_start");
    b.last = number("block_end");
    if (auto it = j.find("broker"); it != j.end() && it->is_number_integer())
        b.broker = it->get<int32_t>();
    return b;
}

int32_t parse_controller_epoch(std::string_view data) {
    int32_t v = 0;
    auto [p, ec] = std::from_chars(data.data(), data.data() + data.size(), v);
    if (ec != std::errc{} || p != data.data() + data.size()) {
        throw znode_format_error("controller epoch is not a number: " + std::string(data));
    }
    return v;
}

std::string cluster_id_json(std::string_view id) {
    json j;
    j["version"] = "1";
    j["id"] = std::string(id);
    return j.dump();
}

std::string parse_cluster_id(std::string_view text) {
    json j = parse_object(text, "cluster id");
    auto it = j.find("id");
    if (it == j.end() || !it->is_string()) {
        throw znode_format_error("cluster id znode without id: " + std::string(text));
    }
    return it->get<std::string>();
}

std::string legacy_reassignment::to_json() const {
    json j;
    j["version"] = 1;
    j["partitions"] = json::array();
    for (const auto& m : partitions) {
        j["partitions"].push_back(
            {{"topic", m.topic}, {"partition", m.partition}, {"replicas", m.replicas}});
    }
    return j.dump();
}

legacy_reassignment legacy_reassignment::from_json(std::string_view text) {
    json j = parse_object(text, "/admin/reassign_partitions");
    legacy_reassignment r;
    auto ps = j.find("partitions");
    if (ps == j.end() || !ps->is_array()) {
        throw znode_format_error("/admin/reassign_partitions has no partitions list");
    }
    for (const auto& p : *ps) {
        if (!p.is_object() || !p.contains("topic") || !p["topic"].is_string() ||
            !p.contains("partition") || !p["partition"].is_number_integer() ||
            !p.contains("replicas") || !p["replicas"].is_array()) {
            throw znode_format_error("/admin/reassign_partitions: malformed entry " +
                                     p.dump().substr(0, 200));
        }
        move m;
        m.topic = p["topic"].get<std::string>();
        m.partition = p["partition"].get<int32_t>();
        for (const auto& b : p["replicas"]) {
            if (!b.is_number_integer()) {
                throw znode_format_error("/admin/reassign_partitions: a replica is not a number");
            }
            m.replicas.push_back(b.get<int32_t>());
        }
        r.partitions.push_back(std::move(m));
    }
    return r;
}

}  // namespace runnel::server::zookeeper
