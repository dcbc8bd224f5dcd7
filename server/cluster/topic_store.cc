#include "server/cluster/topic_store.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "storage/file.h"
#include "storage/partition_dir.h"

namespace runnel::server {

std::vector<stored_topic> topic_store::load() const {
    std::ifstream in(path_);
    if (!in) return {};
    std::stringstream text;
    text << in.rdbuf();
    std::vector<stored_topic> out;
    try {
        auto doc = nlohmann::json::parse(text.str());
        for (const auto& t : doc.at("topics")) {
            stored_topic st;
            st.name = t.at("name").get<std::string>();
            auto id = storage::topic_id_from_string(t.at("id").get<std::string>());
            if (!id) throw std::runtime_error("bad topic id for " + st.name);
            st.id = *id;
            st.partitions = t.at("partitions").get<int32_t>();
            if (t.contains("configs")) {
                st.configs = t.at("configs").get<std::map<std::string, std::string>>();
            }
            out.push_back(std::move(st));
        }
    } catch (const std::exception& e) {
        throw std::runtime_error(path_.string() + ": cannot read the topic table: " + e.what());
    }
    return out;
}

std::error_code topic_store::save(const std::vector<stored_topic>& topics) const {
    nlohmann::json doc;
    doc["version"] = 1;
    doc["topics"] = nlohmann::json::array();
    for (const auto& t : topics) {
        doc["topics"].push_back({{"name", t.name},
                                 {"id", storage::topic_id_to_string(t.id)},
                                 {"partitions", t.partitions},
                                 {"configs", t.configs}});
    }
    return storage::write_file_atomically(path_, doc.dump(2) + "\n");
}

}  // namespace runnel::server
