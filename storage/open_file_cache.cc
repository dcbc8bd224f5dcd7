#include "storage/open_file_cache.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <limits>

namespace runnel::storage {

namespace {
std::atomic<size_t> default_capacity{std::numeric_limits<size_t>::max()};
}  // namespace

struct cached_file::node {
    std::filesystem::path path;
    int reopen_flags = 0;
    std::shared_ptr<file> open;  // null while closed by the cache
    bool closed_for_good = false;
    open_file_cache* cache = nullptr;  // null once that thread's cache is gone
    node* prev = nullptr;              // towards the most recently used (head)
    node* next = nullptr;
};

open_file_cache::open_file_cache() : capacity_(default_capacity.load()) {}

open_file_cache::~open_file_cache() {
    // The thread is ending; files it still holds are closed by their owners later, elsewhere.
    for (auto* n = head_; n;) {
        auto* next = n->next;
        n->prev = n->next = nullptr;
        n->cache = nullptr;
        n = next;
    }
    head_ = tail_ = nullptr;
}

open_file_cache& open_file_cache::local() {
    thread_local open_file_cache cache;
    return cache;
}

void open_file_cache::set_default_capacity(size_t files_per_thread) {
    default_capacity = std::max<size_t>(1, files_per_thread);
}

void open_file_cache::set_capacity(size_t files) {
    capacity_ = std::max<size_t>(1, files);
    evict_over_capacity(nullptr);
}

void open_file_cache::link_front(cached_file::node* n) {
    n->prev = nullptr;
    n->next = head_;
    if (head_) head_->prev = n;
    head_ = n;
    if (!tail_) tail_ = n;
    ++open_;
}

void open_file_cache::unlink(cached_file::node* n) {
    if (n->prev)
        n->prev->next = n->next;
    else
        head_ = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        tail_ = n->prev;
    n->prev = n->next = nullptr;
    --open_;
}

void open_file_cache::touch(cached_file::node* n) {
    if (head_ == n) return;
    unlink(n);
    link_front(n);
}

void open_file_cache::evict_over_capacity(const cached_file::node* keep) {
    while (open_ > capacity_ && tail_ && tail_ != keep) {
        auto* victim = tail_;
        unlink(victim);
        victim->open.reset();  // closes unless a holder still sends from it
        ++evictions_;
    }
}

cached_file::cached_file() = default;
cached_file::cached_file(cached_file&&) noexcept = default;
cached_file::cached_file(std::unique_ptr<node> n) : node_(std::move(n)) {}

cached_file& cached_file::operator=(cached_file&& o) noexcept {
    if (this != &o) {
        (void)close();
        node_ = std::move(o.node_);
    }
    return *this;
}

cached_file::~cached_file() { (void)close(); }

result<cached_file> cached_file::open(const std::filesystem::path& path, int flags,
                                      int reopen_flags) {
    auto f = file::open(path, flags);
    if (!f) return f.error();
    auto n = std::make_unique<node>();
    n->path = path;
    n->reopen_flags = reopen_flags;
    n->open = std::make_shared<file>(std::move(*f));
    auto& cache = open_file_cache::local();
    n->cache = &cache;
    cache.link_front(n.get());
    cache.evict_over_capacity(n.get());
    return cached_file(std::move(n));
}

const std::filesystem::path& cached_file::path() const {
    static const std::filesystem::path none;
    return node_ ? node_->path : none;
}

bool cached_file::is_open() const { return node_ && !node_->closed_for_good; }

result<std::shared_ptr<file>> cached_file::get() const {
    if (!is_open()) return make_error_code(errc::log_closed);
    node* n = node_.get();
    auto& cache = open_file_cache::local();
    assert(!n->cache || n->cache == &cache);  // only the opening thread uses a file
    if (n->open) {
        if (n->cache) cache.touch(n);
        return n->open;
    }
    auto f = file::open(n->path, n->reopen_flags);
    if (!f) return f.error();
    n->open = std::make_shared<file>(std::move(*f));
    n->cache = &cache;
    ++cache.reopens_;
    cache.link_front(n);
    cache.evict_over_capacity(n);
    return n->open;
}

std::error_code cached_file::close() {
    if (!node_ || node_->closed_for_good) return {};
    node* n = node_.get();
    n->closed_for_good = true;
    if (n->open && n->cache) n->cache->unlink(n);
    auto f = std::move(n->open);
    // A fetch response still being sent holds the file: it closes when the last holder lets go.
    if (f && f.use_count() == 1) return f->close();
    return {};
}

}  // namespace runnel::storage
