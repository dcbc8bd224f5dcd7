// What every `runnel` subcommand shares: the admin API client, the output format, and the exit
// code it leaves. Exit codes scripts can rely on: 0 done, 1 refused by the broker (its reason on
// stderr), 2 a usage mistake, 3 the broker could not be reached.
#pragma once

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "server/cli/admin_client.h"

namespace CLI {
class App;
}

namespace runnel::cli {

constexpr int exit_ok = 0;
constexpr int exit_refused = 1;
constexpr int exit_usage = 2;
constexpr int exit_unreachable = 3;

struct cli_context {
    std::string admin_url = "http://127.0.0.1:9644";
    std::string format = "text";  // text (tables for people) or json (for scripts)
    int exit_code = exit_ok;
    std::ostream& out = std::cout;
    std::ostream& err = std::cerr;

    admin_client client() const { return admin_client(admin_url); }
    bool json_output() const { return format == "json"; }
    // Prints `answer` as JSON, or through `text` for people; a refusal goes to stderr and
    // sets exit_refused. Returns whether the call succeeded.
    template <class Text>
    bool show(const api_answer& answer, Text text) {
        if (!answer.ok()) {
            err << "error: " << answer.error() << "\n";
            exit_code = exit_refused;
            return false;
        }
        if (json_output()) {
            out << (answer.body.is_null() ? json::object() : answer.body).dump(2) << "\n";
        } else {
            text(answer.body);
        }
        return true;
    }
};

// A table for people: a header row, then rows, columns padded to their widest cell.
void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);
// A JSON value as a table cell (strings without quotes, null as "-").
std::string cell(const json& v);

void add_cluster_commands(CLI::App& app, cli_context& ctx);
void add_topic_commands(CLI::App& app, cli_context& ctx);
// `topic produce` and `topic consume` (record_commands.cc), under the topic command.
void add_record_commands(CLI::App& topic, cli_context& ctx);
void add_group_commands(CLI::App& app, cli_context& ctx);
void add_pipeline_commands(CLI::App& app, cli_context& ctx);

}  // namespace runnel::cli
