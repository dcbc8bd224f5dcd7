#include "server/admin/metrics/prometheus_text.h"

#include <fmt/format.h>

#include <cmath>

namespace runnel::server::admin {

void prometheus_text::family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    for (char c : help) {
        if (c == '\\') {
            out_ += "\\\\";
        } else if (c == '\n') {
            out_ += "\\n";
        } else {
            out_ += c;
        }
    }
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void prometheus_text::begin(std::string_view name, metric_labels labels) {
    out_ += name;
    if (labels.size() == 0) {
        out_ += ' ';
        return;
    }
    out_ += '{';
    bool first = true;
    for (const auto& [key, value] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += key;
        out_ += "=\"";
        for (char c : value) {
            if (c == '\\') {
                out_ += "\\\\";
            } else if (c == '"') {
                out_ += "\\\"";
            } else if (c == '\n') {
                out_ += "\\n";
            } else {
                out_ += c;
            }
        }
        out_ += '"';
    }
    out_ += "} ";
}

void prometheus_text::sample(std::string_view name, metric_labels labels, double value) {
    begin(name, labels);
    if (std::isinf(value)) {
        out_ += value > 0 ? "+Inf" : "-Inf";
    } else if (std::isnan(value)) {
        out_ += "NaN";
    } else {
        out_ += fmt::format("{}", value);
    }
    out_ += '\n';
}

void prometheus_text::sample(std::string_view name, metric_labels labels, uint64_t value) {
    begin(name, labels);
    out_ += std::to_string(value);
    out_ += '\n';
}

void prometheus_text::sample(std::string_view name, metric_labels labels, int64_t value) {
    begin(name, labels);
    out_ += std::to_string(value);
    out_ += '\n';
}

}  // namespace runnel::server::admin
