// A ZooKeeper session through Apache ZooKeeper's C client (libzookeeper_mt), with every operation
// an awaitable that resumes on one executor (the metadata shard's). The C client runs its own I/O
// and completion threads; nothing here blocks a shard.
//
// Sessions: the C client reconnects by itself while the session lives. When the ensemble expires
// the session, the handle is dead: the client opens a new session and tells its listener, which
// re-creates its ephemeral nodes and watches (Kafka's KafkaZkClient does the same).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace runnel::server::zookeeper {

// ZooKeeper's return codes (ZOK, ZNONODE, ...), as the C client gives them.
struct zk_code {
    int value = 0;
    bool ok() const { return value == 0; }
    bool no_node() const;
    bool node_exists() const;
    bool bad_version() const;
    bool not_empty() const;
    // The session is gone or the connection is down: retry after the session event.
    bool connection_lost() const;
    std::string text() const;
};

enum class node_mode { persistent, ephemeral };

struct node_data {
    zk_code code;
    std::string data;
    int32_t version = -1;         // data version (conditional set / delete)
    int64_t ephemeral_owner = 0;  // session id that owns an ephemeral node, 0 otherwise
    int32_t children_version = -1;
};

struct node_children {
    zk_code code;
    std::vector<std::string> names;
};

// One operation of an atomic multi (zoo_amulti).
struct zk_op {
    enum class kind { create, set, remove, check } type = kind::create;
    std::string path;
    std::string data;
    int32_t version = -1;  // set / remove / check: the version required (-1: any)
    node_mode mode = node_mode::persistent;

    // Plain functions, not braced temporaries in coroutines: g++ 12 miscompiles those (a
    // braced zk_op pushed inside a coroutine crashed the controller).
    static zk_op create(std::string path, std::string data, node_mode mode);
    static zk_op set(std::string path, std::string data, int32_t version);
    static zk_op remove(std::string path, int32_t version);
    static zk_op check(std::string path, int32_t version);
};

struct multi_result {
    zk_code code;            // the first failing operation's, or ok
    int32_t failed_op = -1;  // its index in the request
};

enum class session_event {
    connected,     // first connection, or a reconnection within the same session
    disconnected,  // the connection dropped; the session may still live
    new_session,   // the previous session expired: ephemeral nodes and watches are gone
};

class zk_client {
  public:
    // `connect` is ZooKeeper's connection string, with an optional chroot
    // ("host1:2181,host2:2181/kafka"). Completions and watch callbacks run on `home`.
    zk_client(boost::asio::any_io_executor home, std::string connect,
              std::chrono::milliseconds session_timeout);
    ~zk_client();
    zk_client(const zk_client&) = delete;
    zk_client& operator=(const zk_client&) = delete;

    // Opens the session and waits until it is connected; throws std::runtime_error naming the
    // servers after `timeout`.
    boost::asio::awaitable<void> connect(std::chrono::milliseconds timeout);
    // Ends the session (its ephemeral nodes go at once). Operations after it fail with a
    // connection_lost() code; the object stays usable for callers still holding it.
    void close();
    bool closed() const;
    // Called on `home` for every change of the session's state.
    void on_session_event(std::function<void(session_event)> f);
    // The current session's id (0 before connect).
    int64_t session_id() const;
    // Where completions and watches run.
    const boost::asio::any_io_executor& executor() const { return home_; }

    // A watch fires once, on `home`, when the node (or its list of children) changes or goes
    // away. Watches of an expired session never fire: the session listener sets them again.
    using watch_fn = std::function<void()>;

    boost::asio::awaitable<zk_code> create(std::string path, std::string data, node_mode mode);
    boost::asio::awaitable<node_data> get(std::string path, watch_fn watch = {});
    // Sets a watch that fires when the node is created, changed or deleted; answers whether it
    // exists now (code ok) or not (no_node).
    boost::asio::awaitable<zk_code> exists(std::string path, watch_fn watch = {});
    boost::asio::awaitable<node_children> children(std::string path, watch_fn watch = {});
    boost::asio::awaitable<zk_code> set(std::string path, std::string data, int32_t version);
    // The same, answering the node's new data version too (its code and version only).
    boost::asio::awaitable<node_data> set_and_stat(std::string path, std::string data,
                                                   int32_t version);
    boost::asio::awaitable<zk_code> remove(std::string path, int32_t version = -1);
    // All of `ops` or none.
    boost::asio::awaitable<multi_result> multi(std::vector<zk_op> ops);
    // Creates `path` and its missing parents as persistent nodes with empty data.
    boost::asio::awaitable<zk_code> create_parents_and(std::string path);

    struct state;  // shared with the C client's callbacks

  private:
    void open_session();

    boost::asio::any_io_executor home_;
    std::string connect_;
    std::chrono::milliseconds session_timeout_;
    std::shared_ptr<state> state_;
};

}  // namespace runnel::server::zookeeper
