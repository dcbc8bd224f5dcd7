#include "server/cli/cli_main.h"

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "server/cli/cli_context.h"

namespace runnel::cli {

bool is_command(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--admin" || a == "--format") {
            ++i;  // its value
            continue;
        }
        if (a.starts_with("--admin=") || a.starts_with("--format=")) continue;
        return a == "topic" || a == "group" || a == "pipeline" || a == "cluster";
    }
    return false;
}

int run(int argc, char** argv) {
    cli_context ctx;
    if (const char* env = std::getenv("RUNNEL_ADMIN"); env && *env) ctx.admin_url = env;
    CLI::App app{"runnel: topics, groups, pipelines and the cluster, through a broker's admin API"};
    app.name("runnel");
    app.require_subcommand(1);
    app.add_option("--admin", ctx.admin_url,
                   "The broker's admin API (runnel.admin.listeners; $RUNNEL_ADMIN)")
        ->capture_default_str();
    app.add_option("--format", ctx.format, "text (tables) or json (for scripts)")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    add_cluster_commands(app, ctx);
    add_topic_commands(app, ctx);
    add_group_commands(app, ctx);
    add_pipeline_commands(app, ctx);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? exit_ok : exit_usage;
    } catch (const unreachable& e) {
        ctx.err << "error: " << e.what() << "\n";
        return exit_unreachable;
    } catch (const std::invalid_argument& e) {
        ctx.err << "error: " << e.what() << "\n";
        return exit_usage;
    } catch (const std::exception& e) {
        // An answer of a shape this command does not expect (another version of the API).
        ctx.err << "error: unexpected answer from " << ctx.admin_url << ": " << e.what() << "\n";
        return exit_refused;
    }
    return ctx.exit_code;
}

}  // namespace runnel::cli
