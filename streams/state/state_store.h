// A task's state: ordered byte keys to byte values. The in-memory store keeps it in a map; the
// durable one (RocksDB) keeps it on disk; both are wrapped by a changelog recorder so every
// commit knows what changed.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace runnel::streams {

class state_store {
  public:
    virtual ~state_store() = default;
    virtual std::optional<std::string> get(std::string_view key) const = 0;
    virtual void put(std::string_view key, std::string_view value) = 0;
    virtual void erase(std::string_view key) = 0;
    // Calls visit(key, value) for the keys in [from, to) in order, until it returns false.
    // `to` empty: no upper bound. The store must not change during a scan.
    virtual void scan(
        std::string_view from, std::string_view to,
        const std::function<bool(std::string_view, std::string_view)>& visit) const = 0;
    virtual size_t approximate_entries() const = 0;
    // Bytes of keys and values held, as the store can estimate them cheaply (a metric).
    virtual size_t approximate_bytes() const = 0;
};

class memory_store final : public state_store {
  public:
    std::optional<std::string> get(std::string_view key) const override;
    void put(std::string_view key, std::string_view value) override;
    void erase(std::string_view key) override;
    void scan(std::string_view from, std::string_view to,
              const std::function<bool(std::string_view, std::string_view)>& visit) const override;
    size_t approximate_entries() const override { return entries_.size(); }
    size_t approximate_bytes() const override { return bytes_; }

  private:
    std::map<std::string, std::string, std::less<>> entries_;
    size_t bytes_ = 0;
};

// Passes everything to the store under it and remembers the last write of every key since the
// last take_changes(): the records of the task's changelog topic (nullopt: a tombstone).
class recording_store final : public state_store {
  public:
    explicit recording_store(state_store& under) : under_(under) {}

    std::optional<std::string> get(std::string_view key) const override { return under_.get(key); }
    void put(std::string_view key, std::string_view value) override;
    void erase(std::string_view key) override;
    void scan(std::string_view from, std::string_view to,
              const std::function<bool(std::string_view, std::string_view)>& visit) const override {
        under_.scan(from, to, visit);
    }
    size_t approximate_entries() const override { return under_.approximate_entries(); }
    size_t approximate_bytes() const override { return under_.approximate_bytes(); }

    std::vector<std::pair<std::string, std::optional<std::string>>> take_changes();

  private:
    state_store& under_;
    std::map<std::string, std::optional<std::string>, std::less<>> changes_;
};

// Big-endian encoding of a signed time with the sign bit flipped, so that byte order is time
// order (keys of windows sort by their end).
void append_ordered_i64(std::string& out, int64_t v);
int64_t read_ordered_i64(std::string_view in);

}  // namespace runnel::streams
