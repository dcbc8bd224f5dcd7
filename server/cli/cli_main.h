// The `runnel` command for everyday work, in the spirit of Redpanda's rpk: the broker binary
// runs it when its first argument is a command (`runnel topic list`), and the broker itself
// otherwise (`runnel server.properties`). It talks to a broker's admin HTTP API
// (--admin, $RUNNEL_ADMIN, default http://127.0.0.1:9644).
#pragma once

#include <string_view>

namespace runnel::cli {

// Whether the arguments name a command (after the global --admin/--format options, if any)
// rather than a properties file.
bool is_command(int argc, char** argv);
int run(int argc, char** argv);

}  // namespace runnel::cli
