// A KIP-848 subscription regex (ConsumerGroupHeartbeat's SubscribedTopicRegex). Kafka evaluates
// it with RE2/J; RE2 takes the same syntax and, like it, runs in time linear in the input, so a
// client's pattern cannot make the coordinator backtrack for ever.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace runnel::server::groups {

class topic_regex {
  public:
    // The compiled pattern, or nullopt with `error` set to RE2's reason.
    static std::optional<topic_regex> compile(const std::string& pattern, std::string& error);

    // Whether the whole topic name matches (as Java's Pattern.matcher(name).matches()).
    bool matches(std::string_view topic) const;
    const std::string& pattern() const { return pattern_; }

  private:
    topic_regex(std::string pattern, std::shared_ptr<const re2::RE2> re)
        : pattern_(std::move(pattern)), re_(std::move(re)) {}
    std::string pattern_;
    std::shared_ptr<const re2::RE2> re_;
};

}  // namespace runnel::server::groups
