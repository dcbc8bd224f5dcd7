// API key → handler. Each handler is registered with the version range it implements; that range
// is what ApiVersions advertises, so an API is only advertised once its handler exists.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <optional>
#include <vector>

#include "protocol/codec.h"
#include "protocol/messages/api_table.h"
#include "server/kafka/request_context.h"

namespace runnel::server {

namespace asio = boost::asio;

// Result of running a handler: whether a response body was written (acks=0 produce writes none)
// and whether the request body was malformed (the connection is then closed).
enum class handler_outcome { respond, no_response, malformed };

// One request of several pipelined requests served together (api_handler::run_batch). The
// writer already holds the response header.
struct batched_call {
    request_context ctx;
    protocol::reader r;
    protocol::writer w;
    handler_outcome outcome = handler_outcome::respond;
};

struct api_handler {
    int16_t key = -1;
    const char* name = "";
    int16_t min_version = 0;
    int16_t max_version = -1;
    int16_t first_flexible = -1;
    // What ApiVersions reports as the minimum; below min_version only for KAFKA-18659.
    int16_t advertised_min_version = 0;
    // Listed by ApiVersions. Brokers' own APIs (ControlledShutdown) are served but not listed,
    // as Kafka 4 does not list its inter-broker APIs to clients.
    bool advertised = true;
    std::function<asio::awaitable<handler_outcome>(request_context&, protocol::reader&,
                                                   protocol::writer&)>
        run;
    // Set for APIs whose pipelined requests are served together (Produce: one hand-off to each
    // owner shard for all of them). Fills each call's outcome and response; a malformed call
    // ends the batch there (the calls after it are not run, as the connection then closes).
    std::function<asio::awaitable<void>(std::vector<batched_call>&)> run_batch;

    bool supports(int16_t v) const { return v >= min_version && v <= max_version; }
    bool flexible(int16_t v) const { return first_flexible >= 0 && v >= first_flexible; }
};

// Counts the error codes of an answer into ctx.errors (answers without any have no walk).
template <class Response>
void tally_errors(const Response& r, request_context& ctx) {
    if constexpr (requires(error_tally & t) { r.for_each_error_code(int16_t{}, t); }) {
        r.for_each_error_code(ctx.api_version, ctx.errors);
    }
}

class dispatch {
  public:
    dispatch();  // registers every implemented API (server/handlers/*)

    const api_handler* find(int16_t key) const {
        if (key < 0 || static_cast<size_t>(key) >= handlers_.size()) return nullptr;
        const auto& h = handlers_[key];
        return h.run ? &h : nullptr;
    }
    // Registered handlers in key order, those ApiVersions lists.
    std::vector<const api_handler*> all() const;
    // Serves `key` without listing it in ApiVersions (an inter-broker API).
    void hide(int16_t key) { handlers_.at(key).advertised = false; }

    // Advertises `key` from `version` in ApiVersions while still refusing requests below the
    // handler's real minimum (requests below it close the connection, as Kafka 4.0 does).
    void advertise_from(int16_t key, int16_t version) {
        handlers_.at(key).advertised_min_version = version;
    }

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
            tally_errors(*resp, ctx);
            resp->encode(w, ctx.api_version);
            co_return handler_outcome::respond;
        };
        if (handlers_.size() <= static_cast<size_t>(h.key)) handlers_.resize(h.key + 1);
        handlers_[h.key] = std::move(h);
    }

    // As add(), for an API whose pipelined requests may be served together:
    // `many(calls)` takes [(ctx*, request)] and returns a response (nullopt: none) for each.
    template <class Api, class Many>
    void add_batched(Many many, int16_t min = Api::min_version, int16_t max = Api::max_version) {
        using request = typename Api::request;
        using response = typename Api::response;
        add<Api>(
            [many](request_context& ctx, request req) -> asio::awaitable<std::optional<response>> {
                std::vector<std::pair<request_context*, request>> one;
                one.emplace_back(&ctx, std::move(req));
                auto out = co_await many(one);
                co_return std::move(out.front());
            },
            min, max);
        handlers_[Api::key].run_batch =
            [many](std::vector<batched_call>& calls) -> asio::awaitable<void> {
            std::vector<std::pair<request_context*, request>> decoded;
            for (auto& c : calls) {
                request req;
                req.decode(c.r, c.ctx.api_version);
                if (!c.r.ok()) {
                    c.outcome = handler_outcome::malformed;
                    break;
                }
                decoded.emplace_back(&c.ctx, std::move(req));
            }
            auto responses = co_await many(decoded);
            for (size_t i = 0; i < responses.size(); ++i) {
                auto& c = calls[i];
                if (!responses[i]) {
                    c.outcome = handler_outcome::no_response;
                    continue;
                }
                tally_errors(*responses[i], c.ctx);
                responses[i]->encode(c.w, c.ctx.api_version);
            }
        };
    }

  private:
    std::vector<api_handler> handlers_;
};

// Registers every API handler: server/handlers/<name>.cc defines register_<name>(dispatch&), and
// the build generates this function from the folder's files, so a new API is its schema file and
// its handler file, nothing else.
void register_handlers(dispatch& d);

}  // namespace runnel::server
