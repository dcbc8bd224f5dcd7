#include "server/topic_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

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
    return write_file_atomically(path_, doc.dump(2) + "\n");
}

std::error_code write_file_atomically(const std::filesystem::path& path, std::string_view content) {
    auto tmp = path;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return {errno, std::generic_category()};
    size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::error_code ec(errno, std::generic_category());
            ::close(fd);
            ::unlink(tmp.c_str());
            return ec;
        }
        done += static_cast<size_t>(n);
    }
    if (::fdatasync(fd) != 0) {
        std::error_code ec(errno, std::generic_category());
        ::close(fd);
        ::unlink(tmp.c_str());
        return ec;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return {errno, std::generic_category()};
    int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

}  // namespace runnel::server
