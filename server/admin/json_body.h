// A JSON request body read field by field. The first problem is kept and answered as 400 with
// the field it concerns: not JSON, not an object, a required field missing, a field of the
// wrong type or out of range, and — once the route has read what it knows — any field it does
// not know (a misspelt "partitons" must not be silently ignored).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "server/admin/http_exchange.h"

namespace runnel::server::admin {

class json_body {
  public:
    explicit json_body(const http_request& request);
    // An object inside a body (an array element, say): problems name its fields with `prefix`
    // in front, e.g. "records[2]." + "partition".
    json_body(const json& object, std::string prefix);

    std::optional<std::string> string(std::string_view name, bool required);
    std::optional<int64_t> integer(std::string_view name, bool required, int64_t min, int64_t max);
    // An object of string values (config overrides).
    std::optional<std::map<std::string, std::string>> string_map(std::string_view name,
                                                                 bool required);

    // Any JSON value (for a field of several types, checked by the caller).
    std::optional<json> value(std::string_view name, bool required);
    // An array of integers within [min, max].
    std::optional<std::vector<int64_t>> integer_list(std::string_view name, bool required,
                                                     int64_t min, int64_t max);
    // Records a problem found by the caller with a field it read (named without the prefix; the
    // message should use full(field)).
    void refuse(std::string message, std::string_view field) {
        fail(std::move(message), full(field));
    }
    // A field's name as problems give it (with the prefix of a nested object).
    std::string full(std::string_view name) const { return join(prefix_, name); }

    // An array of strings.
    std::optional<std::vector<std::string>> string_list(std::string_view name, bool required);

    // The first problem, including fields nobody read; nullopt when the body is good.
    std::optional<http_response> problem();

  private:
    const json* field(std::string_view name, bool required);
    void fail(std::string message, std::optional<std::string> field);

    json doc_;
    std::string prefix_;
    std::set<std::string, std::less<>> read_;
    std::optional<http_response> problem_;
};

}  // namespace runnel::server::admin
