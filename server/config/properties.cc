#include "server/config/properties.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/config/config_entry.h"

namespace runnel::server {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }
bool is_eol(char c) { return c == '\n' || c == '\r'; }

// Splits text into logical lines with the state machine of Java's Properties.LineReader: leading
// blanks dropped, blank and comment lines skipped, an odd run of trailing backslashes joining the
// next natural line (whose leading blanks are dropped too).
class line_reader {
  public:
    explicit line_reader(std::string_view text) : in_(text) {}

    // Returns false once the text is exhausted. `start_line` is the natural line where the
    // logical line's first character sits.
    bool read(std::string& buf, int& start_line) {
        buf.clear();
        start_line = line_;
        bool skip_blanks = true;
        bool appended_line_begin = false;
        bool preceding_backslash = false;
        while (true) {
            if (pos_ >= in_.size()) {
                if (buf.empty()) return false;
                // A dangling backslash still yields a (possibly empty) line, as in Java.
                if (preceding_backslash) buf.pop_back();
                return true;
            }
            const int char_line = line_;
            char c = next();
            if (skip_lf_) {
                skip_lf_ = false;
                if (c == '\n') continue;
            }
            if (skip_blanks) {
                if (is_blank(c)) continue;
                if (!appended_line_begin && is_eol(c)) continue;
                skip_blanks = false;
                appended_line_begin = false;
            }
            if (buf.empty() && (c == '#' || c == '!')) {
                // Comments never continue, whatever they end with.
                while (pos_ < in_.size()) {
                    c = next();
                    if (is_eol(c)) {
                        if (c == '\r') skip_lf_ = true;
                        break;
                    }
                }
                skip_blanks = true;
                continue;
            }
            if (!is_eol(c)) {
                if (buf.empty()) start_line = char_line;
                buf.push_back(c);
                preceding_backslash = c == '\\' ? !preceding_backslash : false;
                continue;
            }
            if (buf.empty()) {
                skip_blanks = true;
                continue;
            }
            if (pos_ >= in_.size()) {
                if (preceding_backslash) buf.pop_back();
                return true;
            }
            if (!preceding_backslash) return true;
            buf.pop_back();  // the joining backslash is not part of the value
            skip_blanks = true;
            appended_line_begin = true;
            preceding_backslash = false;
            if (c == '\r') skip_lf_ = true;
        }
    }

  private:
    char next() {
        char c = in_[pos_++];
        // "\r\n" ends one line, not two.
        if (c == '\r' || (c == '\n' && prev_ != '\r')) ++line_;
        prev_ = c;
        return c;
    }

    std::string_view in_;
    size_t pos_ = 0;
    int line_ = 1;
    char prev_ = 0;
    bool skip_lf_ = false;
};

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

[[noreturn]] void malformed_unicode(std::string_view origin, int line) {
    std::string where = origin.empty() ? "line " + std::to_string(line)
                                       : std::string(origin) + ":" + std::to_string(line);
    throw config_error(where + ": malformed \\uxxxx encoding");
}

// Java's loadConvert: resolves backslash escapes in a key or value.
std::string unescape(std::string_view in, std::string_view origin, int line) {
    std::string out;
    out.reserve(in.size());
    uint32_t pending_high = 0;  // a high surrogate waiting for its low half
    auto flush_high = [&] {
        if (pending_high != 0) append_utf8(out, 0xFFFD);
        pending_high = 0;
    };
    size_t i = 0;
    while (i < in.size()) {
        char c = in[i++];
        if (c != '\\' || i >= in.size()) {
            flush_high();
            out.push_back(c);
            continue;
        }
        c = in[i++];
        if (c != 'u') {
            flush_high();
            switch (c) {
                case 't':
                    out.push_back('\t');
                    break;
                case 'r':
                    out.push_back('\r');
                    break;
                case 'n':
                    out.push_back('\n');
                    break;
                case 'f':
                    out.push_back('\f');
                    break;
                default:
                    out.push_back(c);
                    break;
            }
            continue;
        }
        if (in.size() - i < 4) malformed_unicode(origin, line);
        uint32_t unit = 0;
        for (int k = 0; k < 4; ++k) {
            char h = in[i++];
            uint32_t d;
            if (h >= '0' && h <= '9') {
                d = static_cast<uint32_t>(h - '0');
            } else if (h >= 'a' && h <= 'f') {
                d = static_cast<uint32_t>(h - 'a' + 10);
            } else if (h >= 'A' && h <= 'F') {
                d = static_cast<uint32_t>(h - 'A' + 10);
            } else {
                malformed_unicode(origin, line);
            }
            unit = (unit << 4) | d;
        }
        if (unit >= 0xD800 && unit <= 0xDBFF) {
            flush_high();
            pending_high = unit;
        } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
            if (pending_high != 0) {
                append_utf8(out, 0x10000 + ((pending_high - 0xD800) << 10) + (unit - 0xDC00));
                pending_high = 0;
            } else {
                append_utf8(out, 0xFFFD);
            }
        } else {
            flush_high();
            append_utf8(out, unit);
        }
    }
    flush_high();
    return out;
}

}  // namespace

std::vector<property> parse_properties(std::string_view text, std::string_view origin) {
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    std::vector<property> result;
    line_reader reader(text);
    std::string line;
    int start_line = 0;
    while (reader.read(line, start_line)) {
        // Key ends at the first unescaped '=', ':' or blank (Java's load0).
        size_t key_len = 0;
        size_t value_start = line.size();
        bool has_separator = false;
        bool preceding_backslash = false;
        while (key_len < line.size()) {
            char c = line[key_len];
            if ((c == '=' || c == ':') && !preceding_backslash) {
                value_start = key_len + 1;
                has_separator = true;
                break;
            }
            if (is_blank(c) && !preceding_backslash) {
                value_start = key_len + 1;
                break;
            }
            preceding_backslash = c == '\\' ? !preceding_backslash : false;
            ++key_len;
        }
        // Blanks, then at most one '=' or ':' if none was seen yet, then blanks again.
        while (value_start < line.size()) {
            char c = line[value_start];
            if (!is_blank(c)) {
                if (!has_separator && (c == '=' || c == ':')) {
                    has_separator = true;
                } else {
                    break;
                }
            }
            ++value_start;
        }
        std::string_view view(line);
        result.push_back(property{
            unescape(view.substr(0, key_len), origin, start_line),
            unescape(view.substr(value_start), origin, start_line),
            start_line,
        });
    }
    return result;
}

std::vector<property> load_properties_file(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw config_error("cannot read configuration file " + path + ": is a directory");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw config_error("cannot read configuration file " + path + ": " + std::strerror(errno));
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) {
        throw config_error("cannot read configuration file " + path + ": " + std::strerror(errno));
    }
    return parse_properties(buf.str(), path);
}

std::map<std::string, std::string> to_map(const std::vector<property>& props) {
    std::map<std::string, std::string> m;
    for (const auto& p : props) m[p.key] = p.value;
    return m;
}

}  // namespace runnel::server
