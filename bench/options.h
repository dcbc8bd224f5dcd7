// Command-line options of the benchmark programs: `--name value` pairs and bare `--flag`s,
// checked against the names a program declares so a typo fails instead of being ignored.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace runnel::bench {

class options {
  public:
    // `known` lists the option names without dashes; a name ending in '!' is a flag (no value).
    // Exits with a usage message on an unknown option or a missing value.
    options(int argc, char** argv, const std::set<std::string>& known);

    std::string text(const std::string& name, const std::string& fallback) const;
    int64_t integer(const std::string& name, int64_t fallback) const;
    double real(const std::string& name, double fallback) const;
    bool flag(const std::string& name) const { return values_.count(name) != 0; }

  private:
    std::map<std::string, std::string> values_;
};

}  // namespace runnel::bench
