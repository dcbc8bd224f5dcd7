// The aborted transaction index of one segment, <base>.txnindex, in Kafka's format: 34-byte
// big-endian entries [int16 version 0][int64 producer id][int64 first offset][int64 last offset]
// [int64 last stable offset], one per aborted transaction whose abort marker lies in the segment,
// in marker order (last offsets strictly increasing). read_committed fetches use it to tell
// consumers which transactional batches to drop.
//
// As in Kafka the file is created by the first append only, so most segments have none, and a
// missing file is an empty index. Entries are read from the file when asked for (a read_committed
// fetch reads the few entries of the segments it spans); only the count and the last offset are
// kept in memory.
#pragma once

#include "storage/errors.h"
#include "storage/file.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

namespace runnel::storage {

inline constexpr std::string_view txn_index_suffix = ".txnindex";

struct aborted_txn {
    static constexpr size_t size = 34;
    static constexpr int16_t version = 0;

    int64_t producer_id = -1;
    int64_t first_offset = -1;        // the transaction's first offset in this partition
    int64_t last_offset = -1;         // its abort marker's offset
    int64_t last_stable_offset = -1;  // the partition's LSO once the transaction was complete

    void encode(uint8_t* out) const;
    // nullopt for a version other than 0 (Kafka refuses newer versions too).
    static std::optional<aborted_txn> decode(const uint8_t* p);
    bool operator==(const aborted_txn&) const = default;
};

class transaction_index {
  public:
    transaction_index() = default;
    transaction_index(transaction_index&&) noexcept = default;
    transaction_index& operator=(transaction_index&&) noexcept = default;

    // Opens `path` if it exists and checks it: the longest prefix of entries with version 0, last
    // offsets at or above base_offset, first offset <= last offset and last offsets increasing is
    // kept; the rest (a torn tail, say) is cut off with a warning.
    static result<transaction_index> open(const std::filesystem::path& path, int64_t base_offset);

    const std::filesystem::path& path() const { return path_; }
    size_t entries() const { return entries_; }
    // Last offset of the last entry; nullopt when empty.
    std::optional<int64_t> last_offset() const;

    // Appends one entry, creating the file if need be (*created is then set: its directory entry
    // is not durable until the directory is synced). Its last offset must exceed the last entry's
    // (else errc::invalid_index_entry). A failed write leaves the file as it was.
    std::error_code append(const aborted_txn& entry, bool* created = nullptr);
    // Appends the entries of `other` whose last offsets lie beyond this index's last one (the
    // cleaner folding a group's indexes into one; repeating it adds nothing twice).
    std::error_code merge_from(const transaction_index& other, bool* created = nullptr);
    // Drops the entries whose last offset >= offset (their markers were cut off the log).
    std::error_code truncate_to(int64_t offset);

    // Kafka's collectAbortedTxns: appends to `out` every entry with last offset >= fetch_offset and
    // first offset < upper_bound. Returns true when the search is complete: an entry's last stable
    // offset reached upper_bound, so no later entry (here or in later segments) can start below it.
    result<bool> collect(int64_t fetch_offset, int64_t upper_bound,
                         std::vector<aborted_txn>& out) const;
    result<std::vector<aborted_txn>> all() const;

    std::error_code flush();
    // Adds a duplicate of the descriptor to `out` (for a flush on another thread); nothing when
    // there is no file.
    std::error_code duplicate(std::vector<file>& out) const;
    std::error_code close();
    // Closes and deletes the file, if any.
    std::error_code remove();

  private:
    // Reads entries [first, first + n) into `buf` (n * size bytes).
    std::error_code read_entries(size_t first, size_t n, std::vector<uint8_t>& buf) const;

    std::filesystem::path path_;
    int64_t base_offset_ = 0;
    file file_;  // open once the file exists
    size_t entries_ = 0;
    int64_t last_offset_ = -1;
};

}  // namespace runnel::storage
