// Turning bytes into a record's value (text, JSON, CSV, with an optional field schema) and a
// value back into bytes for a sink.
#pragma once

#include "streams/records/stream_record.h"
#include "streams/spec/pipeline_spec.h"

#include <optional>
#include <string>
#include <string_view>

namespace runnel::streams {

// Decodes `bytes` as `how` says into `out`; on failure returns why (the record then goes to the
// dead-letter topic) and leaves `out` as it was.
std::optional<std::string> decode_value(const decoding& how, std::string_view bytes, json& out);

// Why `value` does not meet `schema`, or nullopt when it does.
std::optional<std::string> schema_problem(const field_schema& schema, const json& value);

// A value as a sink writes it: text sinks write strings as they are (anything else as JSON),
// JSON sinks write JSON.
std::string encode_value(data_format format, const json& value);

// The event time a field holds: a number of milliseconds since the epoch, or an ISO-8601 /
// RFC 3339 date-time string ("2021-04-05T10:00:00Z", "2021-04-05 10:00:00.250+02:00").
std::optional<int64_t> event_time_of(const json& field);

}  // namespace runnel::streams
