#include "bench/options.h"

#include <cstdio>
#include <cstdlib>

namespace runnel::bench {

options::options(int argc, char** argv, const std::set<std::string>& known) {
    auto usage = [&](const std::string& problem) {
        std::fprintf(stderr, "%s: %s\noptions:", argv[0], problem.c_str());
        for (const auto& k : known) {
            bool is_flag = k.back() == '!';
            std::fprintf(stderr, " --%s%s", (is_flag ? k.substr(0, k.size() - 1) : k).c_str(),
                         is_flag ? "" : " VALUE");
        }
        std::fprintf(stderr, "\n");
        std::exit(2);
    };
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("--", 0) != 0) usage("unexpected argument " + arg);
        std::string name = arg.substr(2);
        if (known.count(name + "!")) {
            values_.emplace(name, std::string());  // present is all a flag says
        } else if (known.count(name)) {
            if (i + 1 >= argc) usage("--" + name + " needs a value");
            values_[name] = argv[++i];
        } else {
            usage("unknown option " + arg);
        }
    }
}

std::string options::text(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
}

int64_t options::integer(const std::string& name, int64_t fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : std::stoll(it->second);
}

double options::real(const std::string& name, double fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : std::stod(it->second);
}

}  // namespace runnel::bench
