// Keeps a periodic task that fails the same way every round (a full disk fails every checkpoint
// write until space returns) from logging on every round: a failure is logged when it is new for
// its subject, and the subject's recovery is logged once. Not thread-safe: one per shard, or
// guarded by the caller.
#pragma once

#include <map>
#include <string>
#include <system_error>

namespace runnel::server {

class repeated_failures {
  public:
    // True when `subject` was not failing, or failed with another error last time: log it.
    bool failed(const std::string& subject, std::error_code ec) {
        auto [it, inserted] = failing_.try_emplace(subject, ec);
        if (inserted) return true;
        if (it->second == ec) return false;
        it->second = ec;
        return true;
    }
    // True when `subject` had failed before this success: log that it works again.
    bool succeeded(const std::string& subject) { return failing_.erase(subject) > 0; }
    bool is_failing(const std::string& subject) const { return failing_.count(subject) > 0; }

  private:
    std::map<std::string, std::error_code> failing_;
};

}  // namespace runnel::server
