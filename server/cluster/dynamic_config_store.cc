#include "server/cluster/dynamic_config_store.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "storage/file.h"

namespace runnel::server {

namespace {

using json = nlohmann::json;

json read(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) return json::object();
    std::stringstream text;
    text << in.rdbuf();
    try {
        return json::parse(text.str());
    } catch (const std::exception& e) {
        throw std::runtime_error(path.string() +
                                 ": cannot read the dynamic broker configs: " + e.what());
    }
}

config_map section(const json& doc, const char* key, const std::string& sub = {}) {
    if (!doc.contains(key)) return {};
    const json& j = sub.empty() ? doc.at(key) : doc.at(key).value(sub, json::object());
    config_map out;
    for (const auto& [k, v] : j.items()) out.emplace(k, v.get<std::string>());
    return out;
}

}  // namespace

dynamic_broker_configs dynamic_config_store::load(int32_t node_id) const {
    json doc = read(path_);
    try {
        return {section(doc, "cluster_default"), section(doc, "brokers", std::to_string(node_id))};
    } catch (const std::exception& e) {
        throw std::runtime_error(path_.string() +
                                 ": cannot read the dynamic broker configs: " + e.what());
    }
}

std::error_code dynamic_config_store::save(const dynamic_broker_configs& configs,
                                           int32_t node_id) const {
    // Keeps what other node ids have stored: a broker whose node.id changes back finds its own.
    json doc = json::object();
    try {
        doc = read(path_);
    } catch (const std::exception&) {
        // Unreadable: start-up would have refused it; rewrite it whole.
    }
    doc["version"] = 1;
    doc["cluster_default"] = json(configs.cluster_default);
    if (!doc.contains("brokers")) doc["brokers"] = json::object();
    doc["brokers"][std::to_string(node_id)] = json(configs.this_broker);
    return storage::write_file_atomically(path_, doc.dump(2) + "\n");
}

}  // namespace runnel::server
