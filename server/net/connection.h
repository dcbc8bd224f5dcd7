// One client connection, served by one shard at a time. Reads size-prefixed request frames,
// decodes the header, runs the handler and writes responses in request order. A connection whose
// Produce or Fetch requests keep going to partitions of one other shard moves to that shard, so
// its requests stop paying two cross-shard hand-offs each (a wake-up of each thread when idle).
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/codec.h"
#include "server/kafka/dispatch.h"
#include "server/net/connection_quotas.h"

namespace runnel::server {

namespace asio = boost::asio;
class kafka_services;
class idle_connections;
class shard;
struct api_handler;

// Bytes read from the socket: one read can bring several pipelined requests, each served from
// here in place (Produce stamps offsets into its batches here). Not zero-filled before the read
// overwrites it: the memset of a value-initialised vector showed up at about 3% of the broker's
// CPU while producing.
struct read_chunk {
    explicit read_chunk(size_t n) : bytes(new uint8_t[n]), capacity(n) {}
    std::unique_ptr<uint8_t[]> bytes;
    size_t capacity;
};

// One request frame (without its size prefix) inside a chunk, which it keeps alive.
struct request_frame {
    std::shared_ptr<read_chunk> chunk;
    size_t offset = 0;
    size_t size = 0;
    uint8_t* data() { return chunk->bytes.get() + offset; }
};

class connection {
  public:
    connection(kafka_services& kafka, idle_connections& idle, shard& s,
               asio::ip::tcp::socket socket, std::string listener,
               connection_quotas::slot slot = {});
    ~connection() { open_.fetch_sub(1, std::memory_order_relaxed); }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    // Client connections open now, on every shard (one moving between shards may count twice
    // for a moment).
    static int64_t open_count() { return open_.load(std::memory_order_relaxed); }

    // Serves the connection until the peer closes it, a protocol violation, or shutdown.
    // `self` keeps the connection alive for as long as the coroutine runs.
    static asio::awaitable<void> run(std::shared_ptr<connection> self);
    void close();
    // How long it has been waiting for the client's next bytes at `now` (zero while it serves a
    // request or is not reading).
    std::chrono::steady_clock::duration idle_for(std::chrono::steady_clock::time_point now) const;
    // Closes it for connections.max.idle.ms (logged at debug level).
    void close_idle(std::chrono::milliseconds max_idle);

  private:
    asio::awaitable<void> serve();
    // The next request frame (waiting for it); nullptr when the connection must be closed.
    asio::awaitable<std::shared_ptr<request_frame>> next_frame();
    // These return false when the connection must be closed.
    asio::awaitable<bool> serve_frame(std::shared_ptr<request_frame> frame);
    // Pipelined requests of one API with api_handler::run_batch, served together.
    asio::awaitable<bool> serve_batch(std::vector<std::shared_ptr<request_frame>> frames);
    // Decodes the request header and starts the response; nullopt (logged) when malformed.
    std::optional<batched_call> begin_call(std::shared_ptr<request_frame> frame,
                                           const api_handler& handler);
    // Sends the call's answer (held back when `more_follow` or another Produce is buffered).
    asio::awaitable<bool> finish_call(batched_call& call, const api_handler& handler,
                                      bool more_follow);
    // Sends w after any held-back responses; with `hold` (the next request, a Produce, is already
    // here) a small response without file parts is held back instead, so pipelined produce
    // requests are answered with one write (and the client woken once, not once per response).
    asio::awaitable<bool> send(const protocol::writer& w, bool hold = false);
    // Sends the responses held back so far, if any.
    asio::awaitable<bool> send_held();
    // Whether requests with this header are served in batches (a Produce of a version we serve).
    bool batchable(int16_t api_key, int16_t api_version) const;
    // Whether a whole Produce request of a version we serve is buffered after the current one.
    bool produce_buffered() const;
    // Reads until at least `need` unparsed bytes are buffered, moving them to a new chunk when
    // this one cannot take them; sends held-back responses first. False when the peer closed.
    asio::awaitable<bool> fill(size_t need);
    void write_api_versions_fallback(int32_t correlation_id, protocol::writer& w);
    // Counts requests in a row whose partitions all live on the same other shard; sets
    // move_due_ once there have been enough of them to move there.
    void count_work_shard(int64_t work_shard);
    // Hands the socket and the bytes read but not yet served to a new connection on `target`;
    // this one then ends without closing the socket.
    asio::awaitable<void> move_to(shard& target);
    static asio::awaitable<void> resume_on(kafka_services& kafka, idle_connections& idle,
                                           shard& target, int fd, asio::ip::tcp protocol,
                                           std::string listener, std::shared_ptr<read_chunk> chunk,
                                           size_t begin, size_t end, size_t chunk_size,
                                           connection_quotas::slot slot);

    kafka_services& kafka_;
    idle_connections& idle_;
    shard& shard_;
    asio::ip::tcp::socket socket_;
    std::string peer_;
    std::string listener_;          // name of the listener that accepted it
    connection_quotas::slot slot_;  // its place in the connection limits (moves with it)
    std::shared_ptr<read_chunk> chunk_;
    size_t chunk_size_ = 512;  // of the next chunk: small while idle (10,000 idle connections)
    size_t begin_ = 0;         // unparsed bytes of chunk_: [begin_, end_)
    size_t end_ = 0;
    std::vector<uint8_t> held_;  // responses held back by send(w, true)
    bool move_due_ = false;
    int64_t streak_shard_ = -1;  // the other shard the last `streak_` requests all went to
    uint32_t streak_ = 0;
    // When the read now waiting started; the epoch while no read waits.
    std::chrono::steady_clock::time_point waiting_since_{};
    static inline std::atomic<int64_t> open_{0};
};

}  // namespace runnel::server
