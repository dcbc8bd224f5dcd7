// The `runnel` command's way to a broker: one HTTP/1.1 request at a time to its admin API
// (runnel.admin.listeners), answers decoded as JSON. A broker that cannot be reached is an
// unreachable error naming the address tried, so the command can say so and exit with its own
// code.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace runnel::cli {

using json = nlohmann::json;

struct unreachable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct api_answer {
    unsigned status = 0;
    json body;  // null for an empty answer; a string when the answer is not JSON

    bool ok() const { return status >= 200 && status < 300; }
    // The API's error text, or the status.
    std::string error() const;
};

class admin_client {
  public:
    // `url`: http://host:port (the admin listener).
    explicit admin_client(std::string url);

    api_answer call(const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& content_type = "");
    api_answer get(const std::string& target) { return call("GET", target); }
    api_answer send_json(const std::string& method, const std::string& target, const json& body) {
        return call(method, target, body.dump(), "application/json");
    }
    const std::string& url() const { return url_; }

  private:
    std::string url_, host_, port_;
};

// Path segments and query values escaped for a URL.
std::string url_escape(const std::string& text);

}  // namespace runnel::cli
