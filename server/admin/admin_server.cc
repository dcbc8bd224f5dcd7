#include "server/admin/admin_server.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <stdexcept>

#include "server/core/logger.h"

namespace runnel::server::admin {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr size_t max_header_bytes = 16 * 1024;
constexpr size_t max_body_bytes = 1 << 20;
constexpr size_t max_target_bytes = 2048;
constexpr auto request_timeout = 30s;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// %XX decoding ('+' as a space in queries); false on a broken escape.
bool percent_decode(std::string_view in, bool query, std::string& out) {
    out.clear();
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '%') {
            if (i + 2 >= in.size()) return false;
            const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return false;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (query && in[i] == '+') {
            out.push_back(' ');
        } else {
            out.push_back(in[i]);
        }
    }
    return true;
}

// Fills segments and query from the request target; false when it does not decode.
bool split_target(std::string_view target, http_request& r) {
    const size_t q = target.find('?');
    std::string_view path = target.substr(0, q);
    if (path.empty() || path.front() != '/') return false;
    size_t at = 1;
    while (at <= path.size()) {
        size_t end = path.find('/', at);
        if (end == std::string_view::npos) end = path.size();
        std::string segment;
        if (!percent_decode(path.substr(at, end - at), false, segment)) return false;
        // "/v1/topics/" is "/v1/topics": an empty last segment is dropped.
        if (!segment.empty() || end < path.size()) r.segments.push_back(std::move(segment));
        at = end + 1;
    }
    if (q == std::string_view::npos) return true;
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
        const size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) continue;
        const size_t eq = pair.find('=');
        std::string key, value;
        if (!percent_decode(pair.substr(0, eq), true, key)) return false;
        if (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), true, value)) {
            return false;
        }
        r.query[key] = value;
    }
    return true;
}

std::string lower_media_type(std::string_view value) {
    std::string out(value.substr(0, value.find(';')));
    while (!out.empty() && out.back() == ' ') out.pop_back();
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

asio::awaitable<void> write_answer(beast::tcp_stream& stream, const http_response& answer,
                                   unsigned version, bool keep_alive, bool head) {
    http::response<http::string_body> res{static_cast<http::status>(answer.status), version};
    res.set(http::field::server, "Runnel");
    if (!answer.content_type.empty()) res.set(http::field::content_type, answer.content_type);
    for (const auto& [name, value] : answer.headers) res.set(name, value);
    res.keep_alive(keep_alive);
    res.body() = answer.body;
    res.prepare_payload();
    if (head) res.body().clear();  // Content-Length stays that of the GET
    stream.expires_after(request_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (ec) throw boost::system::system_error(ec);
}

// After an error answer: what the client still sends (the rest of a body too large, say) is
// read and dropped for a moment before the close, which would otherwise reset the connection
// and could destroy the answer before the client has read it.
asio::awaitable<void> drain(beast::tcp_stream& stream) {
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(2s);
    std::array<char, 65536> sink;
    for (size_t drained = 0; drained < (8u << 20);) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink),
                                                       asio::as_tuple(asio::use_awaitable));
        if (ec) break;
        drained += n;
    }
}

// One connection: requests answered in turn until the client closes, stops sending, or sends
// something that is not HTTP.
asio::awaitable<void> serve(tcp::socket socket, const router& routes) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(max_header_bytes);
        parser.body_limit(max_body_bytes);
        stream.expires_after(request_timeout);
        auto [ec, n] =
            co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        (void)n;
        if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
            ec == asio::error::connection_reset || ec == asio::error::eof) {
            break;
        }
        if (ec) {
            // Answered, then closed: what follows on the connection cannot be trusted.
            http_response bad =
                ec == http::error::body_limit ? error_answer(413, "the body is larger than 1 MiB")
                : ec == http::error::header_limit
                    ? error_answer(431, "the request's headers are larger than 16 KiB")
                    : error_answer(400, join("not an HTTP/1.1 request: ", ec.message()));
            try {
                co_await write_answer(stream, bad, 11, false, false);
                co_await drain(stream);
            } catch (const std::exception&) {
            }
            break;
        }
        auto& req = parser.get();
        http_request request;
        request.method = std::string(req.method_string());
        request.target = std::string(req.target());
        request.content_type = lower_media_type(req[http::field::content_type]);
        request.body = std::move(req.body());
        const bool head = req.method() == http::verb::head;
        http_response answer;
        if (request.target.size() > max_target_bytes) {
            answer = error_answer(414, "the path and query are longer than 2 KiB");
        } else if (!split_target(request.target, request)) {
            answer = error_answer(400, "the path or query does not decode");
        } else {
            try {
                answer = co_await routes.dispatch(request);
            } catch (const std::exception& e) {
                server_log().error("admin API {} {}: {}", request.method,
                                   request.target.substr(0, 200), e.what());
                answer = error_answer(500, std::string("internal error: ") + e.what());
            }
        }
        const bool keep_alive = req.keep_alive();
        co_await write_answer(stream, answer, req.version(), keep_alive, head);
        if (!keep_alive) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> serve_logged(tcp::socket socket, const router* routes) {
    try {
        co_await serve(std::move(socket), *routes);
    } catch (const std::exception& e) {
        server_log().debug("admin API connection: {}", e.what());
    }
}

}  // namespace

std::vector<admin_listener> parse_admin_listeners(const std::string& text) {
    std::vector<admin_listener> out;
    size_t at = 0;
    while (at <= text.size()) {
        size_t end = text.find(',', at);
        if (end == std::string::npos) end = text.size();
        std::string entry = text.substr(at, end - at);
        at = end + 1;
        while (!entry.empty() && entry.front() == ' ') entry.erase(0, 1);
        while (!entry.empty() && entry.back() == ' ') entry.pop_back();
        if (entry.empty()) continue;
        const std::string scheme = "http://";
        if (entry.rfind(scheme, 0) != 0) {
            throw std::invalid_argument(join("'", entry, "' is not http://host:port"));
        }
        std::string rest = entry.substr(scheme.size());
        admin_listener l;
        std::string port;
        if (!rest.empty() && rest.front() == '[') {
            const size_t close = rest.find(']');
            if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
                throw std::invalid_argument(join("'", entry, "' is not http://[address]:port"));
            }
            l.host = rest.substr(1, close - 1);
            port = rest.substr(close + 2);
        } else {
            const size_t colon = rest.rfind(':');
            if (colon == std::string::npos) {
                throw std::invalid_argument(join("'", entry, "' has no port"));
            }
            l.host = rest.substr(0, colon);
            port = rest.substr(colon + 1);
        }
        if (port.empty() || port.size() > 5 ||
            port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
            throw std::invalid_argument(join("'", entry, "' has no valid port"));
        }
        l.port = static_cast<uint16_t>(std::stoi(port));
        out.push_back(std::move(l));
    }
    return out;
}

std::vector<std::string> admin_server::bind(const std::vector<admin_listener>& listeners) {
    std::vector<std::string> bound;
    for (const auto& l : listeners) {
        boost::system::error_code ec;
        const std::string host = l.host.empty() ? "0.0.0.0" : l.host;
        auto address = asio::ip::make_address(host, ec);
        if (ec) {
            throw std::runtime_error(join("admin listener ", host, ": not an IP address"));
        }
        auto acceptor = std::make_shared<tcp::acceptor>(shards_.at(0).context());
        tcp::endpoint endpoint(address, l.port);
        acceptor->open(endpoint.protocol(), ec);
        if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) acceptor->bind(endpoint, ec);
        if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            throw std::runtime_error(join("cannot listen on http://", host, ":",
                                          std::to_string(l.port),
                                          " (runnel.admin.listeners): ", ec.message()));
        }
        const auto local = acceptor->local_endpoint();
        const std::string text = local.address().to_string();
        const std::string where = local.address().is_v6()
                                      ? join("[", text, "]:", std::to_string(local.port()))
                                      : join(text, ":", std::to_string(local.port()));
        server_log().info("admin API listening on http://{}", where);
        if (!local.address().is_loopback()) {
            server_log().warn(
                "admin API on http://{} is open to anyone who reaches it: it has no "
                "authentication yet",
                where);
        }
        acceptors_.push_back(acceptor);
        bound.push_back(where);
        asio::co_spawn(shards_.at(0).executor(), accept_loop(acceptor),
                       log_failure("admin API accept loop"));
    }
    return bound;
}

void admin_server::close() {
    for (auto& a : acceptors_) {
        boost::system::error_code ignored;
        a->close(ignored);
    }
    acceptors_.clear();
}

asio::awaitable<void> admin_server::accept_loop(std::shared_ptr<tcp::acceptor> acceptor) {
    asio::steady_timer pause(acceptor->get_executor());
    bool failing = false;
    for (;;) {
        shard& target = shards_.at(next_shard_++ % shards_.size());
        auto [ec, socket] =
            co_await acceptor->async_accept(target.context(), asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
        if (ec) {
            // Out of descriptors, say: paused, not spun; logged once per streak.
            if (!failing) server_log().warn("admin API accept failed: {}", ec.message());
            failing = true;
            pause.expires_after(100ms);
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        failing = false;
        asio::co_spawn(target.executor(), serve_logged(std::move(socket), &routes_),
                       asio::detached);
    }
}

}  // namespace runnel::server::admin
