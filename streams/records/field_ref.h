// What a step reads from a record: the whole value, the key, the event time, or a field of a
// JSON value by path ("user.id", "items[0].name", "value.key" for a field named "key").
#pragma once

#include "streams/records/stream_record.h"

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace runnel::streams {

class field_ref {
  public:
    enum class part { value, key, timestamp };

    // The reference `text` names, or nullopt when the path is malformed ("a..b", "a[x]").
    static std::optional<field_ref> parse(std::string_view text);

    // The referenced JSON, or nullptr when the record has no such field. The timestamp is
    // answered through `scratch`.
    const json* find(const stream_record& r, json& scratch) const;
    // The same, writable (created as needed; nullptr for the timestamp or through a non-object).
    json* find_or_create(stream_record& r) const;

    const std::string& text() const { return text_; }
    bool is_whole_value() const { return part_ == part::value && steps_.empty(); }

  private:
    using step = std::variant<std::string, size_t>;  // object member or array index
    part part_ = part::value;
    std::vector<step> steps_;
    std::string text_;
};

}  // namespace runnel::streams
