// `runnel topic produce` and `runnel topic consume`: lines in and out through the admin API's
// record routes, in the spirit of kafka-console-producer / kafka-console-consumer and `rpk topic
// produce|consume`. A progress line (stderr, rewritten in place) shows how far a long run is.
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <thread>

#include "server/cli/cli_context.h"
#include "server/core/text_bytes.h"

namespace runnel::cli {

namespace {

using clock_type = std::chrono::steady_clock;

// The progress line: shown when stderr is a terminal or --progress asks for it, rewritten at
// most four times a second, and left on its own line at the end.
class progress_line {
  public:
    progress_line(std::ostream& err, bool wanted, std::string verb)
        : err_(err), on_(wanted || isatty(STDERR_FILENO)), verb_(std::move(verb)) {}

    void update(uint64_t records, uint64_t bytes, bool last = false) {
        if (!on_) return;
        auto now = clock_type::now();
        if (!last && now - shown_ < std::chrono::milliseconds(250)) return;
        shown_ = now;
        const double secs = std::chrono::duration<double>(now - start_).count();
        err_ << "\r" << verb_ << " " << records << " records, " << fmt_mb(bytes) << " MB in "
             << fmt_1(secs) << " s (" << static_cast<uint64_t>(secs > 0 ? records / secs : 0)
             << " records/s)" << (last ? "\n" : "") << std::flush;
    }

  private:
    static std::string fmt_1(double v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f", v);
        return buf;
    }
    static std::string fmt_mb(uint64_t bytes) { return fmt_1(static_cast<double>(bytes) / 1e6); }

    std::ostream& err_;
    bool on_;
    std::string verb_;
    clock_type::time_point start_ = clock_type::now(), shown_{};
};

// Sets r[name] to `bytes`, as text when they are UTF-8, else as base64 with name_encoding.
void put_bytes(json& r, const std::string& name, const std::string& bytes) {
    if (server::valid_utf8(bytes)) {
        r[name] = bytes;
    } else {
        r[name] = server::base64_of(bytes);
        r[name + "_encoding"] = "base64";
    }
}

// key=value (a header), split at the first '='.
bool split_header(const std::string& kv, json& out) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    out = json{{"key", kv.substr(0, eq)}};
    put_bytes(out, "value", kv.substr(eq + 1));
    return true;
}

std::string from_base64(const std::string& text) {
    return server::bytes_of_base64(text).value_or(text);
}

// A record's key or value as bytes (the API sends non-UTF-8 bytes as base64).
std::string bytes_of(const json& record, const std::string& name) {
    const json& v = record[name];
    if (v.is_null()) return "";
    std::string text = v.get<std::string>();
    return record.value(name + "_encoding", json("utf8")) == "base64" ? from_base64(text) : text;
}

volatile std::sig_atomic_t interrupted = 0;

struct produce_args {
    std::string topic, key, key_separator, file;
    int32_t partition = -1;
    std::vector<std::string> headers;
    bool progress = false;
    size_t batch = 1000;
};

void produce(cli_context& ctx, const produce_args& a) {
    std::ifstream file;
    if (!a.file.empty()) {
        file.open(a.file, std::ios::binary);
        if (!file) {
            ctx.err << "error: cannot read " << a.file << "\n";
            ctx.exit_code = exit_usage;
            return;
        }
    }
    std::istream& in = a.file.empty() ? std::cin : file;
    json headers = json::array();
    for (const auto& kv : a.headers) {
        json h;
        if (!split_header(kv, h)) {
            ctx.err << "error: --header takes key=value, not '" << kv << "'\n";
            ctx.exit_code = exit_usage;
            return;
        }
        headers.push_back(h);
    }
    auto client = ctx.client();
    const std::string target = "/v1/topics/" + url_escape(a.topic) + "/records";
    progress_line progress(ctx.err, a.progress, "produced");
    uint64_t records = 0, bytes = 0;
    std::map<int64_t, std::pair<int64_t, int64_t>> ranges;  // partition -> first, last offset
    json pending = json::array();
    size_t pending_bytes = 0;
    auto send = [&]() -> bool {
        if (pending.empty()) return true;
        api_answer answer = client.send_json("POST", target, json{{"records", pending}});
        if (!answer.ok()) {
            progress.update(records, bytes, true);
            ctx.err << "error: " << answer.error() << "\n";
            ctx.exit_code = exit_refused;
            return false;
        }
        for (const auto& o : answer.body["offsets"]) {
            auto [it, fresh] =
                ranges.try_emplace(o["partition"].get<int64_t>(), o["offset"].get<int64_t>(), 0);
            it->second.second = o["offset"].get<int64_t>();
        }
        records += pending.size();
        bytes += pending_bytes;
        pending = json::array();
        pending_bytes = 0;
        progress.update(records, bytes);
        return true;
    };
    // A request's body stays below this, well inside the API's 1 MiB limit.
    constexpr size_t max_request_bytes = 900u << 10;
    size_t request_bytes = 0;
    std::string line;
    while (std::getline(in, line)) {
        json r = json::object();
        if (!a.key_separator.empty()) {
            const size_t at = line.find(a.key_separator);
            if (at == std::string::npos) {
                ctx.err << "error: line " << records + pending.size() + 1
                        << " has no key separator '" << a.key_separator << "'\n";
                ctx.exit_code = exit_usage;
                send();
                return;
            }
            put_bytes(r, "key", line.substr(0, at));
            line.erase(0, at + a.key_separator.size());
        } else if (!a.key.empty()) {
            put_bytes(r, "key", a.key);
        }
        const size_t value_bytes = line.size();
        put_bytes(r, "value", line);
        if (a.partition >= 0) r["partition"] = a.partition;
        if (!headers.empty()) r["headers"] = headers;
        // What the record adds to the request as JSON (escapes and base64 included).
        const size_t size = r.dump().size() + 1;
        if (!pending.empty() && request_bytes + size > max_request_bytes) {
            if (!send()) return;
            request_bytes = 0;
        }
        pending.push_back(std::move(r));
        pending_bytes += value_bytes;
        request_bytes += size;
        if (pending.size() >= a.batch) {
            if (!send()) return;
            request_bytes = 0;
        }
    }
    if (!send()) return;
    progress.update(records, bytes, true);
    if (ctx.json_output()) {
        json parts = json::array();
        for (const auto& [p, r] : ranges) {
            parts.push_back(
                json{{"partition", p}, {"first_offset", r.first}, {"last_offset", r.second}});
        }
        ctx.out << json{{"topic", a.topic}, {"records", records}, {"partitions", parts}}.dump(2)
                << "\n";
    } else {
        ctx.out << "produced " << records << " record(s) to " << a.topic << "\n";
    }
}

struct consume_args {
    std::string topic, offset = "start", isolation = "read_uncommitted";
    std::vector<int32_t> partitions;
    int64_t num = -1;
    bool follow = false, print_key = false, print_headers = false, progress = false;
};

// Where a partition's reading starts, as a query: start, end (what the isolation level reads up
// to), an offset, or -N (the last N).
std::string first_query(const std::string& spec, int64_t end) {
    if (spec == "start") return "";
    if (spec == "end") return "&offset=" + std::to_string(end);
    if (spec[0] == '-') return "&tail=" + spec.substr(1);
    return "&offset=" + spec;
}

void consume(cli_context& ctx, const consume_args& a) {
    if (a.offset != "start" && a.offset != "end") {
        const std::string digits = a.offset[0] == '-' ? a.offset.substr(1) : a.offset;
        const bool tail = a.offset[0] == '-';
        if (digits.empty() || digits.size() > 18 ||
            digits.find_first_not_of("0123456789") != std::string::npos ||
            (tail && (std::stoll(digits) < 1 || std::stoll(digits) > 1000))) {
            ctx.err << "error: --offset takes start, end, an offset or -N (N from 1 to 1000), "
                       "not '"
                    << a.offset << "'\n";
            ctx.exit_code = exit_usage;
            return;
        }
    }
    auto client = ctx.client();
    const std::string base = "/v1/topics/" + url_escape(a.topic);
    api_answer topic = client.get(base);
    if (!topic.ok()) {
        ctx.err << "error: " << topic.error() << "\n";
        ctx.exit_code = exit_refused;
        return;
    }
    struct cursor {
        int64_t partition = 0;
        std::string query;  // the first read's; later reads continue at `next`
        int64_t next = -1;
        bool done = false;
    };
    std::vector<cursor> cursors;
    for (const auto& p : topic.body["partitions"]) {
        const int64_t index = p["partition"].get<int64_t>();
        if (!a.partitions.empty() &&
            std::find(a.partitions.begin(), a.partitions.end(), index) == a.partitions.end())
            continue;
        const char* end = a.isolation == "read_committed" ? "last_stable_offset" : "log_end_offset";
        cursors.push_back({index, first_query(a.offset, p[end].get<int64_t>())});
    }
    if (cursors.empty()) {
        ctx.err << "error: topic " << a.topic << " has no such partition\n";
        ctx.exit_code = exit_usage;
        return;
    }
    interrupted = 0;
    auto previous = std::signal(SIGINT, [](int) { interrupted = 1; });
    progress_line progress(ctx.err, a.progress, "consumed");
    uint64_t records = 0, bytes = 0;
    auto wanted = [&] { return a.num < 0 || static_cast<int64_t>(records) < a.num; };
    while (wanted() && !interrupted) {
        bool any = false, all_done = true;
        for (auto& c : cursors) {
            if (c.done || !wanted()) continue;
            all_done = false;
            std::string q =
                "?isolation=" + a.isolation + "&limit=" +
                std::to_string(
                    a.num < 0 ? 1000
                              : std::min<int64_t>(1000, a.num - static_cast<int64_t>(records)));
            q += c.next < 0 ? c.query : "&offset=" + std::to_string(c.next);
            api_answer page =
                client.get(base + "/partitions/" + std::to_string(c.partition) + "/records" + q);
            if (!page.ok()) {
                progress.update(records, bytes, true);
                ctx.err << "error: partition " << c.partition << ": " << page.error() << "\n";
                ctx.exit_code = exit_refused;
                std::signal(SIGINT, previous);
                return;
            }
            const json& body = page.body;
            for (const auto& r : body["records"]) {
                if (!wanted()) break;
                ++records;
                if (ctx.json_output()) {
                    json line = r;
                    line["partition"] = c.partition;
                    ctx.out << line.dump() << "\n";
                    continue;
                }
                const std::string value = bytes_of(r, "value");
                bytes += value.size();
                if (a.print_headers) {
                    std::string hs;
                    for (const auto& h : r["headers"]) {
                        if (!hs.empty()) hs += ",";
                        hs += h["key"].get<std::string>() + ":" + bytes_of(h, "value");
                    }
                    ctx.out << (hs.empty() ? "NO_HEADERS" : hs) << "\t";
                }
                if (a.print_key)
                    ctx.out << (r["key"].is_null() ? "null" : bytes_of(r, "key")) << "\t";
                ctx.out << value << "\n";
            }
            ctx.out << std::flush;
            const int64_t next = body["next_offset"].get<int64_t>();
            any = any || !body["records"].empty();
            c.next = next;
            const int64_t end = a.isolation == "read_committed"
                                    ? body["last_stable_offset"].get<int64_t>()
                                    : body["high_watermark"].get<int64_t>();
            if (!a.follow && next >= end) c.done = true;
        }
        progress.update(records, bytes);
        if (all_done) break;
        if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::signal(SIGINT, previous);
    progress.update(records, bytes, true);
}

}  // namespace

void add_record_commands(CLI::App& topic, cli_context& ctx) {
    auto p = std::make_shared<produce_args>();
    auto* produce_cmd = topic.add_subcommand(
        "produce", "Produce lines of stdin (or --file) as records, one record per line");
    produce_cmd->add_option("topic", p->topic, "Topic name")->required();
    produce_cmd->add_option("-k,--key", p->key, "The key of every record");
    produce_cmd->add_option("--key-separator", p->key_separator,
                            "Each line is key<separator>value (kafka-console-producer's "
                            "parse.key / key.separator)");
    produce_cmd
        ->add_option("-p,--partition", p->partition,
                     "Partition (default: the key's, else one in turn per request)")
        ->check(CLI::NonNegativeNumber);
    produce_cmd->add_option("-H,--header", p->headers, "A header as key=value (repeatable)");
    produce_cmd->add_option("-f,--file", p->file, "Read the lines from this file");
    produce_cmd->add_option("--batch", p->batch, "Records per request (default 1000)")
        ->check(CLI::Range(1, 10000));
    produce_cmd->add_flag("--progress", p->progress, "Show the progress line even off a terminal");
    produce_cmd->callback([&ctx, p] { produce(ctx, *p); });

    auto c = std::make_shared<consume_args>();
    auto* consume_cmd = topic.add_subcommand(
        "consume",
        "Print a topic's records, one value per line (--format json: one object per line)");
    consume_cmd->add_option("topic", c->topic, "Topic name")->required();
    consume_cmd->add_option("-p,--partition", c->partitions, "Only these partitions (repeatable)");
    consume_cmd
        ->add_option("-o,--offset", c->offset,
                     "start, end, an offset, or -N for the last N of each partition")
        ->capture_default_str();
    consume_cmd->add_option("-n,--num", c->num, "Stop after this many records")
        ->check(CLI::PositiveNumber);
    consume_cmd->add_flag("-f,--follow", c->follow, "Keep waiting for new records (Ctrl-C ends)");
    consume_cmd->add_option("--isolation", c->isolation, "read_uncommitted or read_committed")
        ->check(CLI::IsMember({"read_uncommitted", "read_committed"}))
        ->capture_default_str();
    consume_cmd->add_flag("--print-key", c->print_key, "Print key<TAB>value");
    consume_cmd->add_flag("--print-headers", c->print_headers, "Print the headers first");
    consume_cmd->add_flag("--progress", c->progress, "Show the progress line even off a terminal");
    consume_cmd->callback([&ctx, c] { consume(ctx, *c); });
}

}  // namespace runnel::cli
