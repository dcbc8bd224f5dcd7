#include "server/net/connection.h"

#include <unistd.h>

#include <cstring>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "protocol/errors.h"
#include "protocol/messages/api_versions.h"
#include "protocol/messages/produce.h"
#include "protocol/messages/request_header.h"
#include "protocol/messages/response_header.h"
#include "server/core/logger.h"
#include "server/core/peer_warnings.h"
#include "server/core/shard.h"
#include "server/kafka/dispatch.h"
#include "server/kafka/kafka_services.h"
#include "server/net/idle_connections.h"
#include "server/net/response_sender.h"

namespace runnel::server {

using asio::use_awaitable;
constexpr auto nothrow = asio::as_tuple(use_awaitable);

namespace {

std::string describe_peer(const asio::ip::tcp::socket& s) {
    boost::system::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) return "unknown peer";
    return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// The smallest request header: api key, version, correlation id, client id length.
constexpr size_t min_request_size = 10;
// Read chunks start small (an idle connection costs little) and double while reads fill them.
constexpr size_t max_chunk_size = 256 * 1024;
// Responses held back to go out with the next one are at most this much in all.
constexpr size_t max_held_bytes = 64 * 1024;
// A connection moves after this many requests in a row went to one other shard: enough to tell a
// producer or consumer of that shard's partitions from one that merely started there, and few
// enough that a benchmark or a short-lived client gains from it.
constexpr uint32_t requests_before_moving = 16;
// At most this many pipelined Produce requests are served together (librdkafka keeps up to 5 in
// flight by default, a Java producer 5).
constexpr size_t max_batched_requests = 32;

}  // namespace

connection::connection(kafka_services& kafka, idle_connections& idle, shard& s,
                       asio::ip::tcp::socket socket, std::string listener,
                       connection_quotas::slot slot)
    : kafka_(kafka),
      idle_(idle),
      shard_(s),
      socket_(std::move(socket)),
      peer_(describe_peer(socket_)),
      listener_(std::move(listener)),
      slot_(std::move(slot)) {
    open_.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code ec;
    // Responses are written with sendmsg/sendfile directly (response_sender.h), which must not
    // block the shard.
    socket_.non_blocking(true, ec);
}

void connection::close() {
    boost::system::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
}

asio::awaitable<void> connection::run(std::shared_ptr<connection> self) {
    // Registered while served on this shard, also when serve() ends by an exception.
    struct registration {
        idle_connections& idle;
        shard_id home;
        connection* c;
        ~registration() { idle.remove(home, c); }
    } reg{self->idle_, self->shard_.id(), self.get()};
    reg.idle.add(reg.home, reg.c);
    co_await self->serve();
}

std::chrono::steady_clock::duration connection::idle_for(
    std::chrono::steady_clock::time_point now) const {
    if (waiting_since_ == std::chrono::steady_clock::time_point{}) return {};
    return now - waiting_since_;
}

void connection::close_idle(std::chrono::milliseconds max_idle) {
    server_log().debug("closing the connection from {}: idle for {} ms (connections.max.idle.ms)",
                       peer_, max_idle.count());
    close();
}

asio::awaitable<void> connection::serve() {
    for (;;) {
        auto frame = co_await next_frame();
        if (!frame) break;  // peer closed, shutdown or a bad frame size
        bool keep_open;
        protocol::reader peek(frame->data(), frame->size);
        const int16_t api_key = peek.read_int16();
        if (batchable(api_key, peek.read_int16()) && produce_buffered()) {
            // Pipelined produce requests already here are served together (dispatch.h).
            std::vector<std::shared_ptr<request_frame>> frames{std::move(frame)};
            while (frames.size() < max_batched_requests && produce_buffered()) {
                auto next = co_await next_frame();  // whole and buffered: does not wait
                if (!next) break;
                frames.push_back(std::move(next));
            }
            keep_open = co_await serve_batch(std::move(frames));
        } else {
            keep_open = co_await serve_frame(std::move(frame));
        }
        if (!keep_open) break;
        if (move_due_) {
            co_await move_to(kafka_.shards().at(static_cast<shard_id>(streak_shard_)));
            co_return;
        }
    }
    // Answers held back for requests served before the one that ends the connection still go.
    co_await send_held();
    close();
}

asio::awaitable<std::shared_ptr<request_frame>> connection::next_frame() {
    const auto max_frame = static_cast<uint64_t>(kafka_.config().socket_request_max_bytes);
    if (!co_await fill(4)) co_return nullptr;
    const int32_t size = protocol::reader(chunk_->bytes.get() + begin_, 4).read_int32();
    if (size < static_cast<int32_t>(min_request_size) || static_cast<uint64_t>(size) > max_frame) {
        warn_about_peer(server_log(), peer_,
                        "closing connection from {}: request size {} outside [{}, {}] "
                        "(socket.request.max.bytes)",
                        peer_, size, min_request_size, max_frame);
        co_return nullptr;
    }
    const size_t total = 4 + static_cast<size_t>(size);
    if (!co_await fill(total)) co_return nullptr;
    auto frame = std::make_shared<request_frame>(
        request_frame{chunk_, begin_ + 4, static_cast<size_t>(size)});
    begin_ += total;
    co_return frame;
}

void connection::count_work_shard(int64_t work_shard) {
    if (work_shard == request_context::no_work_shard) return;  // neither for nor against
    if (work_shard < 0 || work_shard == static_cast<int64_t>(shard_.id())) {
        streak_ = 0;
        move_due_ = false;
        return;
    }
    if (work_shard != streak_shard_) {
        streak_shard_ = work_shard;
        streak_ = 0;
    }
    move_due_ = ++streak_ >= requests_before_moving;
}

asio::awaitable<void> connection::move_to(shard& target) {
    if (!co_await send_held()) {
        close();
        co_return;
    }
    boost::system::error_code ec;
    const auto protocol = socket_.local_endpoint(ec).protocol();
    const int fd = ec ? -1 : socket_.release(ec);
    if (ec || fd < 0) {
        close();
        co_return;
    }
    server_log().debug(
        "{}: moving from shard {} to shard {}, which owns the partitions of its "
        "last {} requests",
        peer_, shard_.id(), target.id(), streak_);
    asio::co_spawn(target.executor(),
                   resume_on(kafka_, idle_, target, fd, protocol, listener_, std::move(chunk_),
                             begin_, end_, chunk_size_, std::move(slot_)),
                   log_failure("connection ended by an unexpected error"));
}

asio::awaitable<void> connection::resume_on(kafka_services& kafka, idle_connections& idle,
                                            shard& target, int fd, asio::ip::tcp protocol,
                                            std::string listener, std::shared_ptr<read_chunk> chunk,
                                            size_t begin, size_t end, size_t chunk_size,
                                            connection_quotas::slot slot) {
    // The socket is registered with the target's reactor on the target's own thread.
    asio::ip::tcp::socket socket(target.context());
    boost::system::error_code ec;
    socket.assign(protocol, fd, ec);
    if (ec) {
        ::close(fd);
        co_return;
    }
    auto moved = std::make_shared<connection>(kafka, idle, target, std::move(socket),
                                              std::move(listener), std::move(slot));
    moved->chunk_ = std::move(chunk);
    moved->begin_ = begin;
    moved->end_ = end;
    moved->chunk_size_ = chunk_size;
    co_await run(std::move(moved));
}

bool connection::batchable(int16_t api_key, int16_t api_version) const {
    if (api_key != protocol::msg::produce_api_key) return false;
    const api_handler* h = kafka_.api_dispatch().find(api_key);
    return h && h->run_batch && h->supports(api_version);
}

bool connection::produce_buffered() const {
    if (end_ - begin_ < 8) return false;
    protocol::reader peek(chunk_->bytes.get() + begin_, 8);
    const int32_t size = peek.read_int32();
    const int16_t api_key = peek.read_int16();
    return batchable(api_key, peek.read_int16()) &&
           size >= static_cast<int32_t>(min_request_size) &&
           static_cast<uint64_t>(size) <=
               static_cast<uint64_t>(kafka_.config().socket_request_max_bytes) &&
           end_ - begin_ >= 4 + static_cast<size_t>(size);
}

asio::awaitable<bool> connection::fill(size_t need) {
    if (end_ - begin_ >= need) co_return true;
    // Nothing more to answer until the client sends: held-back responses go now.
    if (!co_await send_held()) co_return false;
    const size_t have = end_ - begin_;
    // A new chunk when this one cannot take the frame, or when it is used up and a frame in it
    // may still be referenced (a handler may keep the request's bytes).
    const bool used_up =
        have == 0 && (!chunk_ || chunk_.use_count() > 1 || chunk_->capacity != chunk_size_);
    if (used_up || !chunk_ || chunk_->capacity - begin_ < need) {
        auto next = std::make_shared<read_chunk>(std::max(chunk_size_, need));
        if (have > 0) std::memcpy(next->bytes.get(), chunk_->bytes.get() + begin_, have);
        chunk_ = std::move(next);
        begin_ = 0;
        end_ = have;
    } else if (have == 0) {
        begin_ = end_ = 0;  // reuse this chunk from its start
    }
    while (end_ - begin_ < need) {
        const size_t room = chunk_->capacity - end_;
        waiting_since_ = std::chrono::steady_clock::now();
        auto [ec, n] = co_await socket_.async_read_some(
            asio::buffer(chunk_->bytes.get() + end_, room), nothrow);
        waiting_since_ = {};
        if (ec) co_return false;
        end_ += n;
        // A read that filled the chunk: the client sends more than fits, use bigger chunks.
        if (n == room) chunk_size_ = std::min(chunk_size_ * 2, max_chunk_size);
    }
    co_return true;
}

std::optional<batched_call> connection::begin_call(std::shared_ptr<request_frame> frame,
                                                   const api_handler& handler) {
    protocol::reader peek(frame->data(), frame->size);
    const int16_t api_key = peek.read_int16();
    const int16_t api_version = peek.read_int16();
    const int32_t correlation_id = peek.read_int32();

    protocol::reader r(frame->data(), frame->size, frame);
    protocol::msg::request_header header;
    header.decode(r, handler.flexible(api_version) ? 2 : 1);
    if (!r.ok()) {
        warn_about_peer(server_log(), peer_,
                        "closing connection from {}: malformed request header ({} v{})", peer_,
                        handler.name, api_version);
        return std::nullopt;
    }
    // RUNNEL_LOG_LEVEL=trace follows every request of every connection (client interop bugs).
    server_log().trace("{} shard {}: {} v{} correlation {} ({} bytes)", peer_, shard_.id(),
                       handler.name, api_version, correlation_id, frame->size);
    batched_call call{request_context{kafka_, shard_, api_key, api_version, correlation_id,
                                      std::move(header.client_id), peer_, listener_},
                      std::move(r), protocol::writer{}, handler_outcome::respond};
    call.w.write_int32(0);  // frame size, patched in finish_call
    protocol::msg::response_header rh;
    rh.correlation_id = correlation_id;
    // ApiVersions always answers with header v0 so a client can parse it before it knows
    // which versions we support (KIP-511).
    const bool is_api_versions = api_key == protocol::msg::api_versions_api_key;
    rh.encode(call.w, handler.flexible(api_version) && !is_api_versions ? 1 : 0);
    return call;
}

asio::awaitable<bool> connection::finish_call(batched_call& call, const api_handler& handler,
                                              bool more_follow) {
    const auto& ctx = call.ctx;
    if (call.outcome == handler_outcome::malformed) {
        warn_about_peer(server_log(), peer_,
                        "closing connection from {}: malformed {} v{} request body", peer_,
                        handler.name, ctx.api_version);
        co_return false;
    }
    if (ctx.close_connection) {
        log_about_peer(server_log(), spdlog::level::info, peer_,
                       "closing connection from {} (client {}) after a failed {} v{} request "
                       "with acks=0",
                       peer_, ctx.client_id.value_or(""), handler.name, ctx.api_version);
        co_return false;
    }
    count_work_shard(ctx.work_shard);
    shard_.requests().record(ctx.api_key, ctx.api_version,
                             std::chrono::steady_clock::now() - ctx.received, ctx.errors);
    if (call.outcome == handler_outcome::no_response) co_return true;
    call.w.patch_int32(0, static_cast<int32_t>(call.w.size() - 4));
    server_log().trace("{} shard {}: answered {} correlation {} ({} bytes)", peer_, shard_.id(),
                       handler.name, ctx.correlation_id, call.w.size());
    // Only a Produce answer waits for the next Produce: other requests may park for long (a
    // JoinGroup, a long-poll Fetch) and must not delay the answers before them.
    const bool hold =
        ctx.api_key == protocol::msg::produce_api_key && (more_follow || produce_buffered());
    co_return co_await send(call.w, hold);
}

asio::awaitable<bool> connection::serve_frame(std::shared_ptr<request_frame> frame) {
    protocol::reader peek(frame->data(), frame->size);
    const int16_t api_key = peek.read_int16();
    const int16_t api_version = peek.read_int16();
    const int32_t correlation_id = peek.read_int32();

    const api_handler* handler = kafka_.api_dispatch().find(api_key);
    if (!handler || !handler->supports(api_version)) {
        if (api_key == protocol::msg::api_versions_api_key) {
            // KIP-511: a client newer than us sends a version we do not know; answer v0 with
            // UNSUPPORTED_VERSION and our ranges so it can retry with a version we support.
            protocol::writer w;
            write_api_versions_fallback(correlation_id, w);
            co_return co_await send(w);
        }
        warn_about_peer(server_log(), peer_,
                        "closing connection from {}: unsupported API key {} version {}", peer_,
                        api_key, api_version);
        co_return false;
    }
    auto call = begin_call(std::move(frame), *handler);
    if (!call) co_return false;
    try {
        call->outcome = co_await handler->run(call->ctx, call->r, call->w);
    } catch (const std::exception& e) {
        server_log().error("{} v{} from {} failed: {}; closing the connection", handler->name,
                           api_version, peer_, e.what());
        co_return false;
    }
    co_return co_await finish_call(*call, *handler, false);
}

asio::awaitable<bool> connection::serve_batch(std::vector<std::shared_ptr<request_frame>> frames) {
    // serve() and produce_buffered() checked every frame with batchable().
    const api_handler& handler =
        *kafka_.api_dispatch().find(protocol::reader(frames.front()->data(), 2).read_int16());
    server_log().trace("{} shard {}: {} pipelined {} requests served together", peer_, shard_.id(),
                       frames.size(), handler.name);
    std::vector<batched_call> calls;
    calls.reserve(frames.size());
    bool header_ok = true;
    for (auto& f : frames) {
        auto call = begin_call(std::move(f), handler);
        if (!call) {
            header_ok = false;  // serve those before it, then close
            break;
        }
        calls.push_back(std::move(*call));
    }
    try {
        co_await handler.run_batch(calls);
    } catch (const std::exception& e) {
        server_log().error("{} from {} failed: {}; closing the connection", handler.name, peer_,
                           e.what());
        co_return false;
    }
    for (size_t i = 0; i < calls.size(); ++i) {
        if (!co_await finish_call(calls[i], handler, i + 1 < calls.size())) co_return false;
    }
    co_return header_ok;
}

void connection::write_api_versions_fallback(int32_t correlation_id, protocol::writer& w) {
    w.write_int32(0);
    w.write_int32(correlation_id);
    protocol::msg::api_versions_response resp;
    resp.error_code = protocol::to_wire(protocol::error_code::unsupported_version);
    for (const api_handler* h : kafka_.api_dispatch().all()) {
        protocol::msg::api_versions_response::api_version e;
        e.api_key = h->key;
        e.min_version = h->advertised_min_version;
        e.max_version = h->max_version;
        resp.api_keys.push_back(e);
    }
    resp.encode(w, 0);
    w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
}

asio::awaitable<bool> connection::send_held() {
    if (held_.empty()) co_return true;
    protocol::writer none;
    co_return co_await send(none);
}

asio::awaitable<bool> connection::send(const protocol::writer& w, bool hold) {
    if (hold && w.splices().empty() && held_.size() + w.size() <= max_held_bytes) {
        held_.insert(held_.end(), w.buffer().begin(), w.buffer().end());
        co_return true;
    }
    const bool ok = co_await send_response(socket_, w, kafka_.io_pool(), held_);
    if (!ok) server_log().trace("{}: sending a response failed", peer_);
    held_.clear();
    co_return ok;
}

}  // namespace runnel::server
