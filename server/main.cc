// runnel <server.properties> [--override key=value]...  — the same arguments as Kafka's
// kafka-server-start.sh. SIGTERM or SIGINT shuts the broker down cleanly.
// runnel topic|group|pipeline|cluster ...  — the command line tool (server/cli/cli_main.h).
#include <csignal>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstring>
#include <iostream>

#include "server/broker.h"
#include "server/cli/cli_main.h"
#include "server/core/host_limits.h"
#include "server/core/logger.h"

namespace {

int usage() {
    std::cerr << "USAGE: runnel server.properties [--override property=value]*\n"
                 "       runnel topic|group|pipeline|cluster ...   (runnel topic --help)\n";
    return 2;
}

}  // namespace

// Descriptors are what a broker runs out of first (client connections, segment files): raise
// the soft limit on open files, often 1024, to the hard one, as Kafka's packaging advises
// operators to do, and say what both are.
static void raise_open_file_limit() {
    using namespace runnel::server;
    auto r = raise_descriptor_limit();
    if (!r.error.empty()) {
        server_log().warn("open file limit: soft {}, hard {}; raising the soft one failed: {}",
                          r.after.soft, r.after.hard, r.error);
    } else if (r.after.soft != r.before.soft) {
        server_log().info("open file limit: soft {} (raised from {}), hard {}", r.after.soft,
                          r.before.soft, r.after.hard);
    } else {
        server_log().info("open file limit: soft {}, hard {}", r.after.soft, r.after.hard);
    }
}

int main(int argc, char** argv) {
    using namespace runnel::server;
    if (argc < 2) return usage();
    if (runnel::cli::is_command(argc, argv)) return runnel::cli::run(argc, argv);
    std::string path;
    std::vector<std::string> overrides;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--override") {
            if (i + 1 >= argc) return usage();
            overrides.push_back(argv[++i]);
        } else if (arg.starts_with("--override=")) {
            overrides.push_back(arg.substr(std::strlen("--override=")));
        } else if (arg == "-h" || arg == "--help") {
            return usage();
        } else if (path.empty()) {
            path = arg;
        } else {
            std::cerr << "unexpected argument: " << arg << "\n";
            return usage();
        }
    }
    if (path.empty()) return usage();

    configure_logging();
    // sendfile() has no MSG_NOSIGNAL: writing a Fetch response to a consumer that has just
    // closed its socket raised SIGPIPE and killed the broker. The write fails with EPIPE instead
    // and only that connection is closed.
    std::signal(SIGPIPE, SIG_IGN);
    raise_open_file_limit();
    broker_config config;
    try {
        config = broker_config::load(path, overrides);
    } catch (const std::exception& e) {
        server_log().critical("invalid configuration: {}", e.what());
        return 1;
    }
    for (const auto& w : config.warnings) server_log().warn("{}", w);
    if (!config.ignored_keys.empty()) {
        std::string keys;
        for (const auto& k : config.ignored_keys) keys += (keys.empty() ? "" : ", ") + k;
        server_log().warn("these settings are accepted but have no effect yet: {}", keys);
    }

    // Signals are taken on this thread so shard threads never see them.
    boost::asio::io_context signals_ctx;
    boost::asio::signal_set signals(signals_ctx, SIGTERM, SIGINT);
    broker b(std::move(config));
    try {
        b.start();
    } catch (const std::exception& e) {
        server_log().critical("cannot start: {}", e.what());
        b.stop();
        return 1;
    }
    signals.async_wait([&](const boost::system::error_code&, int sig) {
        server_log().info("received signal {}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    });
    signals_ctx.run();
    b.stop();
    return 0;
}
