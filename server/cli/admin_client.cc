#include "server/cli/admin_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace runnel::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string api_answer::error() const {
    if (body.is_object() && body.contains("error") && body["error"].is_string()) {
        std::string text = body["error"].get<std::string>();
        if (body.contains("field") && body["field"].is_string()) {
            text += " (field " + body["field"].get<std::string>() + ")";
        }
        return text;
    }
    return "HTTP " + std::to_string(status);
}

admin_client::admin_client(std::string url) : url_(std::move(url)) {
    std::string rest = url_;
    if (rest.rfind("http://", 0) != 0) {
        throw std::invalid_argument("the admin address must be http://host:port, not " + url_);
    }
    rest = rest.substr(7);
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    const size_t colon = rest.rfind(':');
    if (colon == std::string::npos || rest.find('/') != std::string::npos) {
        throw std::invalid_argument("the admin address must be http://host:port, not " + url_);
    }
    host_ = rest.substr(0, colon);
    if (host_.size() > 2 && host_.front() == '[' && host_.back() == ']') {
        host_ = host_.substr(1, host_.size() - 2);
    }
    port_ = rest.substr(colon + 1);
}

api_answer admin_client::call(const std::string& method, const std::string& target,
                              const std::string& body, const std::string& content_type) {
    asio::io_context io;
    beast::tcp_stream stream(io);
    beast::error_code ec;
    asio::ip::tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host_, port_, ec);
    if (ec) throw unreachable("cannot resolve " + url_ + ": " + ec.message());
    stream.expires_after(std::chrono::seconds(60));
    stream.connect(endpoints, ec);
    if (ec) {
        throw unreachable("cannot reach the admin API at " + url_ + ": " + ec.message() +
                          " (is the broker running? its runnel.admin.listeners?)");
    }
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host_);
    req.set(http::field::user_agent, "runnel-cli");
    if (!content_type.empty()) req.set(http::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req, ec);
    if (ec) throw unreachable("sending to " + url_ + ": " + ec.message());
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    http::read(stream, buffer, parser, ec);
    if (ec) throw unreachable("reading from " + url_ + ": " + ec.message());
    auto& res = parser.get();
    api_answer answer;
    answer.status = res.result_int();
    if (!res.body().empty()) {
        answer.body = json::parse(res.body(), nullptr, false);
        if (answer.body.is_discarded()) answer.body = res.body();
    }
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    return answer;
}

std::string url_escape(const std::string& text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace runnel::cli
