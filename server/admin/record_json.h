// Records as the admin API shows and takes them. Keys, values and header values are bytes: they
// travel as JSON strings when they are UTF-8 text, else base64, and an "*_encoding" field says
// which ("utf8" or "base64"), as Redpanda's HTTP proxy and Confluent's REST proxy also do.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/admin/http_exchange.h"
#include "server/admin/json_body.h"
#include "server/cluster/partition_records.h"
#include "server/core/text_bytes.h"

namespace runnel::server::admin {

// {"offset", "timestamp", "key", "key_encoding", "value", "value_encoding", "headers": [{"key",
// "key_encoding", "value", "value_encoding"}]}; null keys and values stay null.
json record_json(const stored_record& r);

// Sets obj[name] (text, base64 or null) and obj[name + "_encoding"] ("utf8", "base64" or null).
void put_bytes(json& obj, const std::string& name, const std::optional<std::string>& bytes);

// A produced record's bytes: field `name` (a string or null) read with the encoding field
// `name`_encoding ("utf8", the default, or "base64"). Problems go to `body`.
std::optional<std::string> record_bytes(json_body& body, std::string_view name);

}  // namespace runnel::server::admin
