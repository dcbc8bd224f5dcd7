// A pipeline as its YAML file declares it (docs/streams.md is the reference): where records come
// from, how their event time is read, the steps they pass through, and where results go.
// Built by load_pipeline (pipeline_yaml.h), which checks everything a run would trip over.
#pragma once

#include "streams/records/field_ref.h"
#include "streams/spec/duration.h"

#include <re2/re2.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace runnel::streams {

enum class data_format { text, json, csv, bytes };

// A JSON field schema: records whose fields are missing or of another type go to the dead-letter
// topic with the reason. A type written "optional <type>" may also be absent or null.
struct field_schema {
    enum class type { string, number, integer, boolean, object, array, any };
    struct field {
        std::string name;
        type kind = type::any;
        bool optional = false;
    };
    std::vector<field> fields;
};

// How text becomes a value: the source's format, or a parse step's.
struct decoding {
    data_format format = data_format::text;
    std::optional<field_schema> schema;
    std::vector<std::string> columns;  // csv: field names in column order (else c0, c1, ...)
    char delimiter = ',';              // csv
};

// A test on one record. Leaf tests look at `subject` (the whole value unless a field, the key or
// the timestamp is named); all / any / negate combine others.
struct condition {
    enum class kind {
        equals,
        not_equals,
        starts_with,
        ends_with,
        contains,
        matches,  // RE2 syntax, partial match
        one_of,
        exists,
        greater_than,
        less_than,
        at_least,
        at_most,
        all,
        any,
        negate,
    };
    kind test = kind::exists;
    field_ref subject = *field_ref::parse("value");
    json operand;                      // what the subject is compared with
    std::shared_ptr<const RE2> regex;  // matches
    std::vector<condition> children;   // all, any, negate (one)
};

struct filter_step {
    condition keep;
};

// "split": cut a text value at a separator, keeping the first piece, the last, or every piece
// (then one record each, as "flat_map: {split: ...}").
struct split_step {
    enum class keep { first, last, all };
    std::string separator;
    keep pieces = keep::all;
    bool skip_empty = true;  // pieces of "a  b" split at " " are a and b, not a, "" and b
};

// "flat_map: {field: items}": one record per element of a JSON array.
struct explode_step {
    field_ref array;
};

// "map": the value replaced by one field, by an object of named fields, or a text transform.
struct map_step {
    enum class text_transform { none, lowercase, uppercase, trim };
    std::optional<field_ref> value;
    std::vector<std::pair<std::string, field_ref>> fields;
    text_transform transform = text_transform::none;
};

struct parse_step {
    decoding as;
};

struct rekey_step {
    field_ref by;
};

struct window_spec {
    enum class type { tumbling, hopping, sliding, session };
    type kind = type::tumbling;
    millis size{0};     // tumbling, hopping, sliding
    millis advance{0};  // hopping (tumbling: = size)
    millis gap{0};      // session
    millis grace{0};    // always written out: no hidden default
};

struct aggregate_function {
    enum class kind { count, sum, min, max, avg, count_distinct };
    kind fn = kind::count;
    std::optional<field_ref> of;  // every function but count
    std::string output;           // the result field: "count", "sum", ...
};

// "count" / "aggregate": results per group key (and window, when one precedes it).
struct aggregate_step {
    field_ref by;
    std::optional<window_spec> window;
    std::vector<aggregate_function> functions;
};

// "top": the n groups with the largest `by` per window, as one result.
struct top_step {
    size_t n = 10;
    std::string by;  // an aggregate's output field
};

// "dedupe": a record whose `by` was already seen within `within` of event time is dropped.
struct dedupe_step {
    field_ref by;
    millis within{0};
};

// "route": each record to the topic of the first rule it meets (or `otherwise`; else dropped and
// counted). Always the last step.
struct route_step {
    struct rule {
        condition when;
        std::string topic;
    };
    std::vector<rule> rules;
    std::optional<std::string> otherwise;
};

using step = std::variant<filter_step, split_step, explode_step, map_step, parse_step, rekey_step,
                          aggregate_step, top_step, dedupe_step, route_step>;

struct sink_spec {
    std::string topic;
    data_format format = data_format::json;  // json or text
};

enum class emit_mode { on_close, on_update };

struct pipeline_spec {
    std::string name;
    std::string file;  // where it was read from (messages)

    std::vector<std::string> source_topics;
    decoding source_format;

    std::optional<field_ref> event_time_field;  // else the record timestamp
    millis max_out_of_order{0};
    millis idle_timeout{60'000};

    std::vector<step> steps;
    emit_mode emit = emit_mode::on_close;
    std::optional<std::string> late_topic;  // nullopt: late records dropped (and counted)
    std::optional<sink_spec> sink;          // absent only when the last step routes
    std::string dead_letter_topic;
    millis commit_interval{100};

    // True when some step keeps state across records (aggregate, top, dedupe).
    bool stateful() const;
};

}  // namespace runnel::streams
