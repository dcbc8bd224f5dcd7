// Prometheus's text exposition format (version 0.0.4), written by hand: a family's # HELP and
// # TYPE lines, then its samples with escaped label values.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace runnel::server::admin {

using metric_labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class prometheus_text {
  public:
    // `type`: counter, gauge or histogram.
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, metric_labels labels, double value);
    void sample(std::string_view name, metric_labels labels, uint64_t value);
    void sample(std::string_view name, metric_labels labels, int64_t value);
    const std::string& text() const { return out_; }

  private:
    void begin(std::string_view name, metric_labels labels);
    std::string out_;
};

}  // namespace runnel::server::admin
