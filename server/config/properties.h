// Reader for Java .properties text, following the rules of java.util.Properties.load so that a
// Kafka server.properties file means the same thing to Runnel as it does to Kafka.
//
// Differences from Java, all deliberate:
// - Bytes outside ASCII are passed through unchanged (the file is taken as UTF-8); Java's
//   load(InputStream) would read them as ISO-8859-1.
// - \uXXXX escapes are written out as UTF-8; a surrogate pair becomes one code point, a lone
//   surrogate becomes U+FFFD.
// - A UTF-8 byte order mark at the start of the text is skipped.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::server {

struct property {
    std::string key;
    std::string value;
    int line = 0;  // 1-based line on which the key starts
    bool operator==(const property&) const = default;
};

// Parses properties text; entries come back in file order, duplicates included. Throws
// config_error ("<origin>:<line>: malformed \uxxxx encoding") on a bad \u escape, as Java does;
// `origin` names the text in that message (e.g. the file name) and may be empty.
std::vector<property> parse_properties(std::string_view text, std::string_view origin = {});

// Reads and parses a file. Throws config_error naming the file if it cannot be read.
std::vector<property> load_properties_file(const std::string& path);

// Collapses parsed entries into a map; a later duplicate wins, as in Java.
std::map<std::string, std::string> to_map(const std::vector<property>& props);

}  // namespace runnel::server
