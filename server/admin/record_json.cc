#include "server/admin/record_json.h"

#include <boost/beast/core/detail/base64.hpp>

namespace runnel::server::admin {

namespace base64 = boost::beast::detail::base64;

bool valid_utf8(std::string_view bytes) {
    size_t i = 0;
    const size_t n = bytes.size();
    while (i < n) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        size_t more = 0;
        uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            more = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            more = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            more = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + more >= n) return false;
        for (size_t k = 1; k <= more; ++k) {
            const auto cc = static_cast<unsigned char>(bytes[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        // No overlong forms, surrogates or code points past U+10FFFF (what JSON text allows).
        static constexpr uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
        if (cp < smallest[more] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
        i += more + 1;
    }
    return true;
}

std::string base64_of(std::string_view bytes) {
    std::string out(base64::encoded_size(bytes.size()), '\0');
    out.resize(base64::encode(out.data(), bytes.data(), bytes.size()));
    return out;
}

namespace {

// Sets obj[name] and obj[name + "_encoding"] for bytes that may not be text.
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

}  // namespace

json record_json(const stored_record& r) {
    json out = {{"offset", r.offset}, {"timestamp", r.timestamp}};
    put_bytes(out, "key", r.key);
    put_bytes(out, "value", r.value);
    json headers = json::array();
    for (const auto& [key, value] : r.headers) {
        // Header keys are strings in Kafka's protocol, but nothing checks that they are UTF-8.
        json h = {{"key", valid_utf8(key) ? key : base64_of(key)}};
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
    std::string out(base64::decoded_size(text.size()), '\0');
    auto [written, read] = base64::decode(out.data(), text.data(), text.size());
    // The decoder stops at the '=' padding (at most two, at the end) or at a bad character.
    const size_t padding = text.size() - std::min(text.size(), text.find_last_not_of('=') + 1);
    if (text.size() % 4 != 0 || padding > 2 || read != text.size() - padding) {
        body.refuse(join("'", body.full(name), "' is not valid base64"), std::string(name));
        return std::nullopt;
    }
    out.resize(written);
    return out;
}

}  // namespace runnel::server::admin
