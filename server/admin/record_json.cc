#include "server/admin/record_json.h"

namespace runnel::server::admin {

void put_bytes(json& obj, const std::string& name, const std::optional<std::string>& bytes) {
    if (!bytes) {
        obj[name] = nullptr;
        obj[name + "_encoding"] = nullptr;
    } else if (valid_utf8(*bytes)) {
        obj[name] = *bytes;
        obj[name + "_encoding"] = "utf8";
    } else {
        obj[name] = base64_of(*bytes);
        obj[name + "_encoding"] = "base64";
    }
}

json record_json(const stored_record& r) {
    json out = {{"offset", r.offset}, {"timestamp", r.timestamp}};
    put_bytes(out, "key", r.key);
    put_bytes(out, "value", r.value);
    json headers = json::array();
    for (const auto& [key, value] : r.headers) {
        // Header keys are strings in Kafka's protocol, but nothing checks that they are UTF-8.
        json h = json::object();
        put_bytes(h, "key", key);
        put_bytes(h, "value", value);
        headers.push_back(std::move(h));
    }
    out["headers"] = std::move(headers);
    return out;
}

std::optional<std::string> record_bytes(json_body& body, std::string_view name) {
    const std::string encoding_field = join(name, "_encoding");
    const std::string encoding = body.string(encoding_field, false).value_or("utf8");
    if (encoding != "utf8" && encoding != "base64") {
        body.refuse(join("'", body.full(encoding_field), "' must be utf8 or base64"),
                    encoding_field);
        return std::nullopt;
    }
    auto v = body.value(name, false);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_string()) {
        body.refuse(join("'", body.full(name), "' must be a string or null"), std::string(name));
        return std::nullopt;
    }
    std::string text = v->get<std::string>();
    if (encoding == "utf8") return text;
    auto bytes = bytes_of_base64(text);
    if (!bytes) {
        body.refuse(join("'", body.full(name), "' is not valid base64"), std::string(name));
        return std::nullopt;
    }
    return bytes;
}

}  // namespace runnel::server::admin
