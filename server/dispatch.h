// API key → handler. Each handler is registered with the version range it implements; that range
// is what ApiVersions advertises, so an API is only advertised once its handler exists.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <vector>

#include "protocol/codec.h"
#include "protocol/messages/api_table.h"
#include "server/request_context.h"

namespace runnel::server {

namespace asio = boost::asio;

// Result of running a handler: whether a response body was written (acks=0 produce writes none)
// and whether the request body was malformed (the connection is then closed).
enum class handler_outcome { respond, no_response, malformed };

struct api_handler {
    int16_t key = -1;
    const char* name = "";
    int16_t min_version = 0;
    int16_t max_version = -1;
    int16_t first_flexible = -1;
    // What ApiVersions reports as the minimum; below min_version only for KAFKA-18659.
    int16_t advertised_min_version = 0;
    std::function<asio::awaitable<handler_outcome>(request_context&, protocol::reader&,
                                                   protocol::writer&)>
        run;

    bool supports(int16_t v) const { return v >= min_version && v <= max_version; }
    bool flexible(int16_t v) const { return first_flexible >= 0 && v >= first_flexible; }
};

class dispatch {
public:
    dispatch();  // registers every implemented API (server/handlers/*)

    const api_handler* find(int16_t key) const {
        if (key < 0 || static_cast<size_t>(key) >= handlers_.size()) return nullptr;
        const auto& h = handlers_[key];
        return h.run ? &h : nullptr;
    }
    // Registered handlers in key order (for ApiVersions).
    std::vector<const api_handler*> all() const;

    // Advertises `key` from `version` in ApiVersions while still refusing requests below the
    // handler's real minimum (requests below it close the connection, as Kafka 4.0 does).
    void advertise_from(int16_t key, int16_t version) { handlers_.at(key).advertised_min_version = version; }

    // Registers `fn(ctx, request) -> awaitable<std::optional<response>>` for API `Api`,
    // advertising [min, max] (by default the schema's whole range).
    template <class Api, class Fn>
    void add(Fn fn, int16_t min = Api::min_version, int16_t max = Api::max_version) {
        api_handler h;
        h.key = Api::key;
        h.name = Api::name;
        h.min_version = min;
        h.advertised_min_version = min;
        h.max_version = max;
        h.first_flexible = Api::first_flexible;
        h.run = [fn](request_context& ctx, protocol::reader& r,
                     protocol::writer& w) -> asio::awaitable<handler_outcome> {
            typename Api::request req;
            req.decode(r, ctx.api_version);
            if (!r.ok()) co_return handler_outcome::malformed;
            std::optional<typename Api::response> resp = co_await fn(ctx, std::move(req));
            if (!resp) co_return handler_outcome::no_response;
            resp->encode(w, ctx.api_version);
            co_return handler_outcome::respond;
        };
        if (handlers_.size() <= static_cast<size_t>(h.key)) handlers_.resize(h.key + 1);
        handlers_[h.key] = std::move(h);
    }

private:
    std::vector<api_handler> handlers_;
};

}  // namespace runnel::server
