#include "server/zookeeper/zk_client.h"

#include <zookeeper/zookeeper.h>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "server/core/logger.h"

namespace runnel::server::zookeeper {

namespace asio = boost::asio;

bool zk_code::no_node() const { return value == ZNONODE; }
bool zk_code::node_exists() const { return value == ZNODEEXISTS; }
bool zk_code::bad_version() const { return value == ZBADVERSION; }
bool zk_code::not_empty() const { return value == ZNOTEMPTY; }
bool zk_code::connection_lost() const {
    return value == ZCONNECTIONLOSS || value == ZSESSIONEXPIRED || value == ZINVALIDSTATE ||
           value == ZOPERATIONTIMEOUT || value == ZCLOSING;
}
std::string zk_code::text() const { return zerror(value); }

namespace {

// The C client's own log lines go to the "server" logger: only its warnings and errors (it
// logs every connection attempt at INFO), and at most one every 10 s, since with the ensemble
// out of reach it writes two lines per retry, several a second, for as long as that lasts.
void forward_client_log(const char* message) {
    static std::mutex mutex;
    static std::chrono::steady_clock::time_point last{};
    static uint64_t suppressed = 0;
    std::string_view m(message);
    while (!m.empty() && (m.back() == '\n' || m.back() == '\r')) m.remove_suffix(1);
    // Its own prefix (time, pid, thread) repeats what the logger adds.
    if (auto at = m.find("ZOO_"); at != std::string_view::npos) m.remove_prefix(at);
    const auto now = std::chrono::steady_clock::now();
    uint64_t dropped = 0;
    {
        std::lock_guard lock(mutex);
        if (last != std::chrono::steady_clock::time_point{} &&
            now - last < std::chrono::seconds(10)) {
            ++suppressed;
            return;
        }
        last = now;
        dropped = std::exchange(suppressed, 0);
    }
    if (dropped == 0) {
        server_log().warn("zookeeper client: {}", m);
    } else {
        server_log().warn("zookeeper client: {} ({} more lines in the last 10 s not shown)", m,
                          dropped);
    }
}

}  // namespace

// Everything the C client's threads touch. Lives as long as a handle may call back into it.
struct zk_client::state : std::enable_shared_from_this<zk_client::state> {
    asio::any_io_executor home;
    std::string hosts;   // the connection string without its chroot
    std::string chroot;  // "" or "/path"
    int timeout_ms = 0;

    std::mutex mutex;
    zhandle_t* handle = nullptr;
    int64_t session = 0;
    bool connected = false;
    bool closed = false;
    uint64_t next_watch = 1;
    std::map<uint64_t, watch_fn> watches;  // of the current handle
    std::function<void(session_event)> listener;

    std::string full(const std::string& path) const {
        if (chroot.empty()) return path;
        return path == "/" ? chroot : chroot + path;
    }

    void open() {
        // Held across the init: the client's threads may report the session connected before
        // zookeeper_init2 returns, and its callback must find this handle stored (without the
        // lock a loaded machine lost that event and the start waited out its timeout).
        std::lock_guard lock(mutex);
        zhandle_t* h = zookeeper_init2(hosts.c_str(), &session_watcher, timeout_ms, nullptr, this,
                                       0, &forward_client_log);
        if (h == nullptr) {
            throw std::runtime_error("cannot start a ZooKeeper client for " + hosts + ": " +
                                     std::strerror(errno));
        }
        handle = h;
    }

    // Runs on home after the ensemble expired the session: the old handle is closed (its
    // watches die with it) and a new session opened.
    void reopen() {
        zhandle_t* old = nullptr;
        {
            std::lock_guard lock(mutex);
            old = handle;
            handle = nullptr;
            connected = false;
            watches.clear();
        }
        if (old != nullptr) zookeeper_close(old);
        server_log().warn("ZooKeeper session expired; opening a new session with {}", hosts);
        open();
    }

    void announce(session_event e) {
        if (listener) listener(e);
    }

    static void session_watcher(zhandle_t* zh, int type, int zstate, const char*, void* ctx) {
        if (type != ZOO_SESSION_EVENT) return;
        auto* s = static_cast<state*>(ctx);
        auto self = s->shared_from_this();
        if (zstate == ZOO_CONNECTED_STATE) {
            const clientid_t* id = zoo_client_id(zh);
            {
                std::lock_guard lock(s->mutex);
                if (zh != s->handle) return;
                s->connected = true;
                s->session = id != nullptr ? id->client_id : 0;
            }
            asio::post(s->home, [self] {
                server_log().info("ZooKeeper session 0x{:x} connected to {}", self->session,
                                  self->hosts);
                self->announce(session_event::connected);
            });
        } else if (zstate == ZOO_EXPIRED_SESSION_STATE) {
            {
                std::lock_guard lock(s->mutex);
                if (zh != s->handle) return;
                s->connected = false;
            }
            asio::post(s->home, [self, zh] {
                {
                    std::lock_guard lock(self->mutex);
                    if (zh != self->handle || self->closed) return;
                }
                self->reopen();
                self->announce(session_event::new_session);
            });
        } else if (zstate == ZOO_CONNECTING_STATE || zstate == ZOO_ASSOCIATING_STATE) {
            bool was = false;
            {
                std::lock_guard lock(s->mutex);
                if (zh != s->handle) return;
                was = s->connected;
                s->connected = false;
            }
            if (was) {
                asio::post(s->home, [self] {
                    server_log().warn("ZooKeeper connection to {} lost; reconnecting", self->hosts);
                    self->announce(session_event::disconnected);
                });
            }
        } else if (zstate == ZOO_AUTH_FAILED_STATE) {
            server_log().error("ZooKeeper refused the session's authentication ({})", s->hosts);
        }
    }

    static void node_watcher(zhandle_t* zh, int type, int, const char*, void* ctx) {
        // Session events reach every registered watcher too, without consuming it.
        if (type == ZOO_SESSION_EVENT || type == ZOO_NOTWATCHING_EVENT) return;
        auto* s = static_cast<state*>(const_cast<void*>(zoo_get_context(zh)));
        const auto id = reinterpret_cast<uintptr_t>(ctx);
        watch_fn fn;
        {
            std::lock_guard lock(s->mutex);
            if (zh != s->handle) return;
            auto it = s->watches.find(id);
            if (it == s->watches.end()) return;
            fn = std::move(it->second);
            s->watches.erase(it);
        }
        asio::post(s->home, std::move(fn));
    }

    // A watch registered for the current handle; its key is the watcher's context.
    void* add_watch(watch_fn fn) {
        std::lock_guard lock(mutex);
        const uint64_t id = next_watch++;
        watches.emplace(id, std::move(fn));
        return reinterpret_cast<void*>(static_cast<uintptr_t>(id));
    }

    zhandle_t* current() {
        std::lock_guard lock(mutex);
        return handle;
    }
};

namespace {

template <class Result>
struct pending {
    asio::any_completion_handler<void(Result)> handler;
    asio::any_io_executor resume_on;  // the awaiting coroutine's executor
    Result result{};
    // Multi's operations and their results stay here until the completion.
    std::vector<zk_op> ops;
    std::vector<std::string> paths;
    std::vector<zoo_op_t> c_ops;
    std::vector<zoo_op_result_t> c_results;
};

template <class Result>
void finish(pending<Result>* raw) {
    std::unique_ptr<pending<Result>> p(raw);
    auto ex = p->resume_on;
    asio::post(ex, [p = std::move(p)]() mutable { std::move(p->handler)(std::move(p->result)); });
}

template <class Result>
zk_code& code_of(Result& r) {
    if constexpr (std::is_same_v<Result, zk_code>) {
        return r;
    } else {
        return r.code;
    }
}

// Starts one asynchronous call: `start(p)` returns the C client's immediate code; anything but
// ZOK means the completion will not run, so the result is delivered here.
template <class Result, class Start>
asio::awaitable<Result> call(asio::any_io_executor home, Start start) {
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result)>(
        [home, &start](auto handler) {
            asio::any_io_executor ex = asio::get_associated_executor(handler, home);
            auto* p = new pending<Result>{std::move(handler), std::move(ex)};
            const int rc = start(p);
            if (rc != ZOK) {
                code_of(p->result).value = rc;
                finish(p);
            }
        },
        asio::use_awaitable);
}

void on_void(int rc, const void* data) {
    auto* p = static_cast<pending<zk_code>*>(const_cast<void*>(data));
    p->result.value = rc;
    finish(p);
}

void on_stat(int rc, const struct Stat*, const void* data) { on_void(rc, data); }

void on_string(int rc, const char*, const void* data) { on_void(rc, data); }

// A set whose new version the caller wants (node_data without data).
void on_set_stat(int rc, const struct Stat* stat, const void* data) {
    auto* p = static_cast<pending<node_data>*>(const_cast<void*>(data));
    p->result.code.value = rc;
    if (rc == ZOK && stat != nullptr) p->result.version = stat->version;
    finish(p);
}

void on_data(int rc, const char* value, int len, const struct Stat* stat, const void* data) {
    auto* p = static_cast<pending<node_data>*>(const_cast<void*>(data));
    p->result.code.value = rc;
    if (rc == ZOK) {
        if (value != nullptr && len > 0) p->result.data.assign(value, static_cast<size_t>(len));
        if (stat != nullptr) {
            p->result.version = stat->version;
            p->result.ephemeral_owner = stat->ephemeralOwner;
            p->result.children_version = stat->cversion;
        }
    }
    finish(p);
}

void on_children(int rc, const struct String_vector* names, const void* data) {
    auto* p = static_cast<pending<node_children>*>(const_cast<void*>(data));
    p->result.code.value = rc;
    if (rc == ZOK && names != nullptr) {
        for (int32_t i = 0; i < names->count; ++i) p->result.names.emplace_back(names->data[i]);
    }
    finish(p);
}

void on_multi(int rc, const void* data) {
    auto* p = static_cast<pending<multi_result>*>(const_cast<void*>(data));
    p->result.code.value = rc;
    if (rc != ZOK) {
        // The multi's own code is the first failing operation's; the rest say "not run".
        for (size_t i = 0; i < p->c_results.size(); ++i) {
            const int err = p->c_results[i].err;
            if (err != ZOK && err != ZRUNTIMEINCONSISTENCY) {
                p->result.code.value = err;
                p->result.failed_op = static_cast<int32_t>(i);
                break;
            }
        }
    }
    finish(p);
}

int create_flags(node_mode m) { return m == node_mode::ephemeral ? ZOO_EPHEMERAL : ZOO_PERSISTENT; }

// What an operation on a handle that is not there (yet, or any more) answers.
constexpr int no_handle = ZINVALIDSTATE;

}  // namespace

namespace {

zk_op make_op(zk_op::kind type, std::string path, std::string data, int32_t version,
              node_mode mode) {
    zk_op op;
    op.type = type;
    op.path = std::move(path);
    op.data = std::move(data);
    op.version = version;
    op.mode = mode;
    return op;
}

}  // namespace

zk_op zk_op::create(std::string path, std::string data, node_mode mode) {
    return make_op(kind::create, std::move(path), std::move(data), -1, mode);
}
zk_op zk_op::set(std::string path, std::string data, int32_t version) {
    return make_op(kind::set, std::move(path), std::move(data), version, node_mode::persistent);
}
zk_op zk_op::remove(std::string path, int32_t version) {
    return make_op(kind::remove, std::move(path), "", version, node_mode::persistent);
}
zk_op zk_op::check(std::string path, int32_t version) {
    return make_op(kind::check, std::move(path), "", version, node_mode::persistent);
}

zk_client::zk_client(asio::any_io_executor home, std::string connect,
                     std::chrono::milliseconds session_timeout)
    : home_(std::move(home)),
      connect_(std::move(connect)),
      session_timeout_(session_timeout),
      state_(std::make_shared<state>()) {
    state_->home = home_;
    const size_t slash = connect_.find('/');
    state_->hosts = connect_.substr(0, slash);
    if (slash != std::string::npos) {
        state_->chroot = connect_.substr(slash);
        while (state_->chroot.size() > 1 && state_->chroot.back() == '/') state_->chroot.pop_back();
        if (state_->chroot == "/") state_->chroot.clear();
    }
    state_->timeout_ms = static_cast<int>(session_timeout_.count());
    zoo_set_debug_level(ZOO_LOG_LEVEL_WARN);
}

zk_client::~zk_client() { close(); }

void zk_client::close() {
    zhandle_t* h = nullptr;
    {
        std::lock_guard lock(state_->mutex);
        h = state_->handle;
        state_->handle = nullptr;
        state_->closed = true;
        state_->connected = false;
        state_->watches.clear();
    }
    // Joins the C client's threads: no callback of this handle runs after this.
    if (h != nullptr) zookeeper_close(h);
}

bool zk_client::closed() const {
    std::lock_guard lock(state_->mutex);
    return state_->closed;
}

void zk_client::on_session_event(std::function<void(session_event)> f) {
    state_->listener = std::move(f);
}

int64_t zk_client::session_id() const {
    std::lock_guard lock(state_->mutex);
    return state_->session;
}

void zk_client::open_session() { state_->open(); }

asio::awaitable<void> zk_client::connect(std::chrono::milliseconds timeout) {
    if (closed()) throw std::runtime_error("the ZooKeeper client is closed");
    if (state_->current() == nullptr) open_session();
    // The caller's executor, not home: start-up connects before the shards run.
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        {
            std::lock_guard lock(state_->mutex);
            if (state_->connected) break;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            throw std::runtime_error("cannot connect to ZooKeeper at " + state_->hosts +
                                     " within " + std::to_string(timeout.count()) +
                                     " ms (zookeeper.connection.timeout.ms)");
        }
        timer.expires_after(std::chrono::milliseconds(10));
        co_await timer.async_wait(asio::use_awaitable);
    }
    // Kafka creates a missing chroot at start, so that "host:2181/kafka" works on a fresh
    // ensemble.
    if (!state_->chroot.empty()) {
        const std::string chroot = state_->chroot;
        state_->chroot.clear();
        zk_code c = co_await create_parents_and(chroot);
        state_->chroot = chroot;
        if (!c.ok() && !c.node_exists()) {
            throw std::runtime_error("cannot create the ZooKeeper chroot " + chroot + ": " +
                                     c.text());
        }
    }
}

asio::awaitable<zk_code> zk_client::create(std::string path, std::string data, node_mode mode) {
    auto s = state_;
    const std::string full = s->full(path);
    co_return co_await call<zk_code>(home_, [&](pending<zk_code>* p) {
        zhandle_t* h = s->current();
        if (h == nullptr) return no_handle;
        return zoo_acreate(h, full.c_str(), data.data(), static_cast<int>(data.size()),
                           &ZOO_OPEN_ACL_UNSAFE, create_flags(mode), &on_string, p);
    });
}

asio::awaitable<node_data> zk_client::get(std::string path, watch_fn watch) {
    auto s = state_;
    const std::string full = s->full(path);
    co_return co_await call<node_data>(home_, [&](pending<node_data>* p) {
        zhandle_t* h = s->current();
        if (h == nullptr) return no_handle;
        if (!watch) return zoo_aget(h, full.c_str(), 0, &on_data, p);
        return zoo_awget(h, full.c_str(), &state::node_watcher, s->add_watch(std::move(watch)),
                         &on_data, p);
    });
}

asio::awaitable<zk_code> zk_client::exists(std::string path, watch_fn watch) {
    auto s = state_;
    const std::string full = s->full(path);
    co_return co_await call<zk_code>(home_, [&](pending<zk_code>* p) {
        zhandle_t* h = s->current();
        if (h == nullptr) return no_handle;
        if (!watch) return zoo_aexists(h, full.c_str(), 0, &on_stat, p);
        return zoo_awexists(h, full.c_str(), &state::node_watcher, s->add_watch(std::move(watch)),
                            &on_stat, p);
    });
}

asio::awaitable<node_children> zk_client::children(std::string path, watch_fn watch) {
    auto s = state_;
    const std::string full = s->full(path);
    co_return co_await call<node_children>(home_, [&](pending<node_children>* p) {
        zhandle_t* h = s->current();
        if (h == nullptr) return no_handle;
        if (!watch) return zoo_aget_children(h, full.c_str(), 0, &on_children, p);
        return zoo_awget_children(h, full.c_str(), &state::node_watcher,
                                  s->add_watch(std::move(watch)), &on_children, p);
    });
}

asio::awaitable<zk_code> zk_client::set(std::string path, std::string data, int32_t version) {
    auto s = state_;
    const std::string full = s->full(path);
    co_return co_await call<zk_code>(home_, [&](pending<zk_code>* p) {
        zhandle_t* h = s->current();
        if (h == nullptr) return no_handle;
        return zoo_aset(h, full.c_str(), data.data(), static_cast<int>(data.size()), version,
                        &on_stat, p);
    });
}

asio::awaitable<node_data> zk_client::set_and_stat(std::string path, std::string data,
                                                   int32_t version) {
    auto s = state_;
    const std::string full = s->full(path);
    co_return co_await call<node_data>(home_, [&](pending<node_data>* p) {
        zhandle_t* h = s->current();
        if (h == nullptr) return no_handle;
        return zoo_aset(h, full.c_str(), data.data(), static_cast<int>(data.size()), version,
                        &on_set_stat, p);
    });
}

asio::awaitable<zk_code> zk_client::remove(std::string path, int32_t version) {
    auto s = state_;
    const std::string full = s->full(path);
    co_return co_await call<zk_code>(home_, [&](pending<zk_code>* p) {
        zhandle_t* h = s->current();
        if (h == nullptr) return no_handle;
        return zoo_adelete(h, full.c_str(), version, &on_void, p);
    });
}

asio::awaitable<multi_result> zk_client::multi(std::vector<zk_op> ops) {
    auto s = state_;
    co_return co_await call<multi_result>(home_, [&](pending<multi_result>* p) {
        zhandle_t* h = s->current();
        if (h == nullptr) return no_handle;
        p->ops = std::move(ops);
        p->paths.reserve(p->ops.size());
        for (const auto& op : p->ops) p->paths.push_back(s->full(op.path));
        p->c_ops.resize(p->ops.size());
        p->c_results.resize(p->ops.size());
        for (size_t i = 0; i < p->ops.size(); ++i) {
            const zk_op& op = p->ops[i];
            const char* path = p->paths[i].c_str();
            switch (op.type) {
                case zk_op::kind::create:
                    zoo_create_op_init(&p->c_ops[i], path, op.data.data(),
                                       static_cast<int>(op.data.size()), &ZOO_OPEN_ACL_UNSAFE,
                                       create_flags(op.mode), nullptr, 0);
                    break;
                case zk_op::kind::set:
                    zoo_set_op_init(&p->c_ops[i], path, op.data.data(),
                                    static_cast<int>(op.data.size()), op.version, nullptr);
                    break;
                case zk_op::kind::remove:
                    zoo_delete_op_init(&p->c_ops[i], path, op.version);
                    break;
                case zk_op::kind::check:
                    zoo_check_op_init(&p->c_ops[i], path, op.version);
                    break;
            }
        }
        return zoo_amulti(h, static_cast<int>(p->c_ops.size()), p->c_ops.data(),
                          p->c_results.data(), &on_multi, p);
    });
}

asio::awaitable<zk_code> zk_client::create_parents_and(std::string path) {
    zk_code last;
    for (size_t pos = 1; pos <= path.size(); ++pos) {
        if (pos != path.size() && path[pos] != '/') continue;
        last = co_await create(path.substr(0, pos), "", node_mode::persistent);
        if (!last.ok() && !last.node_exists()) co_return last;
    }
    co_return last;
}

}  // namespace runnel::server::zookeeper
