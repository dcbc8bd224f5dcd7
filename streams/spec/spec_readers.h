// The pipeline loader's parts (pipeline_yaml.cc reads the file, these read what it contains).
#pragma once

#include "streams/spec/pipeline_spec.h"
#include "streams/spec/yaml_reader.h"

namespace runnel::streams {

condition read_condition(const yaml_reader& in, const YAML::Node& node);
// A format and its options from `node` (a source or a parse step), keys beyond `extra` refused.
decoding read_decoding(const yaml_reader& in, const YAML::Node& node, std::string_view where,
                       std::initializer_list<std::string_view> known);
field_ref read_field(const yaml_reader& in, const YAML::Node& node, std::string_view what);
window_spec read_window(const yaml_reader& in, const YAML::Node& node);
// One entry of "steps:"; a window is returned as an aggregate_step with only its window set,
// for the loader to join to the aggregate after it.
step read_step(const yaml_reader& in, const YAML::Node& node, bool& is_window);
bool valid_topic_name(std::string_view name);

}  // namespace runnel::streams
