#include "server/cluster/topic_name.h"

namespace runnel::server {

std::optional<std::string> topic_name_problem(std::string_view name) {
    if (name.empty()) return "Topic name is illegal, it can't be empty";
    if (name == "." || name == "..") return "Topic name cannot be \".\" or \"..\"";
    if (name.size() > max_topic_name_length) {
        return "Topic name is illegal, it can't be longer than " +
               std::to_string(max_topic_name_length) +
               " characters, topic name: " + std::string(name);
    }
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            return "Topic name \"" + std::string(name) +
                   "\" is illegal, it contains a character other than ASCII alphanumerics, '.', "
                   "'_' and '-'";
        }
    }
    return std::nullopt;
}

bool is_internal_topic(std::string_view name) {
    return name == "__consumer_offsets" || name == "__transaction_state";
}

}  // namespace runnel::server
