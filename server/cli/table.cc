#include <algorithm>

#include "server/cli/cli_context.h"

namespace runnel::cli {

std::string cell(const json& v) {
    if (v.is_null()) return "-";
    if (v.is_string()) return v.get<std::string>();
    return v.dump();
}

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width(header.size());
    for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
    for (const auto& row : rows) {
        for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
            width[c] = std::max(width[c], row[c].size());
        }
    }
    auto line = [&](const std::vector<std::string>& cells) {
        for (size_t c = 0; c < cells.size() && c < width.size(); ++c) {
            out << cells[c];
            if (c + 1 < cells.size()) out << std::string(width[c] - cells[c].size() + 2, ' ');
        }
        out << "\n";
    };
    line(header);
    for (const auto& row : rows) line(row);
}

}  // namespace runnel::cli
