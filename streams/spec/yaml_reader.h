// Reading a YAML mapping field by field with messages that name the file, line and column and
// what was expected, for the pipeline loader.
#pragma once

#include "streams/spec/duration.h"

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

namespace runnel::streams {

// Thrown inside the loader only; load_pipeline turns it into its message.
struct pipeline_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class yaml_reader {
  public:
    explicit yaml_reader(std::string file) : file_(std::move(file)) {}

    [[noreturn]] void fail(const YAML::Node& at, std::string_view message) const;
    [[noreturn]] void fail(const YAML::Mark& at, std::string_view message) const;

    // `node` must be a mapping whose keys are all among `known` ("where" names it in messages).
    void expect_mapping(const YAML::Node& node, std::string_view where,
                        std::initializer_list<std::string_view> known) const;
    // The mapping's single key (for one-key forms such as a step "- filter: {...}").
    std::string only_key(const YAML::Node& node, std::string_view where) const;

    std::string string(const YAML::Node& node, std::string_view what) const;
    millis duration(const YAML::Node& node, std::string_view what) const;
    int64_t integer(const YAML::Node& node, std::string_view what, int64_t min) const;
    bool boolean(const YAML::Node& node, std::string_view what) const;

  private:
    std::string file_;
};

}  // namespace runnel::streams
