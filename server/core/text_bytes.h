// Bytes in JSON: JSON text must be UTF-8, record keys, values and headers need not be. Those that
// are UTF-8 travel as they are, the others as base64 (the admin API and the runnel command).
#pragma once

#include <algorithm>
#include <boost/beast/core/detail/base64.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace runnel::server {

// Well-formed UTF-8: no overlong forms, surrogates or code points past U+10FFFF.
inline bool valid_utf8(std::string_view bytes) {
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
        static constexpr uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
        if (cp < smallest[more] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
        i += more + 1;
    }
    return true;
}

inline std::string base64_of(std::string_view bytes) {
    namespace b64 = boost::beast::detail::base64;
    std::string out(b64::encoded_size(bytes.size()), '\0');
    out.resize(b64::encode(out.data(), bytes.data(), bytes.size()));
    return out;
}

// The bytes of strict base64 (length a multiple of 4, at most two '=' at the end), or nullopt.
inline std::optional<std::string> bytes_of_base64(std::string_view text) {
    namespace b64 = boost::beast::detail::base64;
    std::string out(b64::decoded_size(text.size()), '\0');
    auto [written, read] = b64::decode(out.data(), text.data(), text.size());
    // The decoder stops at the '=' padding or at a bad character.
    const size_t padding = text.size() - std::min(text.size(), text.find_last_not_of('=') + 1);
    if (text.size() % 4 != 0 || padding > 2 || read != text.size() - padding) return std::nullopt;
    out.resize(written);
    return out;
}

}  // namespace runnel::server
