// Pipeline files: YAML text to a checked pipeline_spec, or one message that says where
// (file:line:column) and what was expected there.
#pragma once

#include "streams/spec/pipeline_spec.h"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace runnel::streams {

struct pipeline_load {
    std::optional<pipeline_spec> spec;
    std::string error;  // "etc/pipelines/x.yaml:3:5: ..." when spec is empty
};

// `file` names the text in messages (and is kept in the spec).
pipeline_load load_pipeline(std::string_view yaml, const std::string& file);
pipeline_load load_pipeline_file(const std::filesystem::path& path);

}  // namespace runnel::streams
