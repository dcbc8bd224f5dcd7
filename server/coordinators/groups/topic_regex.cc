#include "server/coordinators/groups/topic_regex.h"

#include <re2/re2.h>

namespace runnel::server::groups {

std::optional<topic_regex> topic_regex::compile(const std::string& pattern, std::string& error) {
    RE2::Options options;
    options.set_log_errors(false);  // the error goes back to the client instead
    auto re = std::make_shared<const re2::RE2>(pattern, options);
    if (!re->ok()) {
        error = re->error();
        return std::nullopt;
    }
    return topic_regex(pattern, std::move(re));
}

bool topic_regex::matches(std::string_view topic) const { return RE2::FullMatch(topic, *re_); }

}  // namespace runnel::server::groups
