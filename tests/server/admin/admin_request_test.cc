#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "server/admin/admin_server.h"
#include "server/admin/json_body.h"
#include "server/admin/router.h"

namespace runnel::server::admin {
namespace {

http_request json_request(std::string body) {
    http_request r;
    r.method = "POST";
    r.content_type = "application/json";
    r.body = std::move(body);
    return r;
}

std::optional<std::string> field_of(const std::optional<http_response>& problem) {
    if (!problem) return std::nullopt;
    auto doc = json::parse(problem->body);
    return doc.contains("field") ? doc["field"].get<std::string>() : std::string("(none)");
}

TEST(JsonBodyTest, ReadsKnownFieldsAndNamesTheFirstProblem) {
    {
        json_body b(json_request(R"({"name": "t", "partitions": 3, "configs": {"a": "1"}})"));
        EXPECT_EQ(b.string("name", true), "t");
        EXPECT_EQ(b.integer("partitions", false, 1, 10), 3);
        EXPECT_EQ(b.string_map("configs", false)->at("a"), "1");
        EXPECT_FALSE(b.problem());
    }
    auto problem = [](const char* body) {
        json_body b(json_request(body));
        b.string("name", true);
        b.integer("partitions", false, 1, 10);
        b.string_map("configs", false);
        return b.problem();
    };
    EXPECT_EQ(problem(R"({"partitions": 3})")->status, 400u);
    EXPECT_EQ(field_of(problem(R"({"partitions": 3})")), "name");
    EXPECT_EQ(field_of(problem(R"({"name": "t", "partitions": 11})")), "partitions");
    EXPECT_EQ(field_of(problem(R"({"name": "t", "partitions": 18446744073709551615})")),
              "partitions");
    EXPECT_EQ(field_of(problem(R"({"name": "t", "partitions": -1})")), "partitions");
    EXPECT_EQ(field_of(problem(R"({"name": "t", "partitions": 2.0})")), "partitions");
    EXPECT_EQ(field_of(problem(R"({"name": "t", "configs": {"a": 1}})")), "configs.a");
    EXPECT_EQ(field_of(problem(R"({"name": "t", "extra": null})")), "extra");
    EXPECT_EQ(field_of(problem(R"({"name": null})")), "name");  // null is no string
    EXPECT_EQ(field_of(problem(R"({"name": "t", "configs": null})")), "configs");
    EXPECT_EQ(field_of(problem("{oops")), "(none)");
    EXPECT_EQ(field_of(problem("[]")), "(none)");
    http_request text = json_request("{}");
    text.content_type = "text/plain";
    json_body b(text);
    EXPECT_EQ(b.problem()->status, 415u);
}

TEST(AdminListenersTest, ParsesHttpAddressesAndRefusesTheRest) {
    auto l = parse_admin_listeners("http://127.0.0.1:9644, http://[::1]:0,");
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l[0].host, "127.0.0.1");
    EXPECT_EQ(l[0].port, 9644);
    EXPECT_EQ(l[1].host, "::1");
    EXPECT_EQ(l[1].port, 0);
    EXPECT_TRUE(parse_admin_listeners("").empty());
    for (const char* bad : {"127.0.0.1:9644", "https://h:1", "http://h", "http://h:x",
                            "http://h:70000", "http://[::1]9644", "http://h:123456"}) {
        EXPECT_THROW(parse_admin_listeners(bad), std::invalid_argument) << bad;
    }
}

TEST(RouterTest, MatchesPatternsAndAnswers404And405) {
    router r;
    r.add("GET", "/v1/topics/{name}",
          [](const http_request&,
             const std::vector<std::string>& p) -> asio::awaitable<http_response> {
              co_return json_answer(200, json{{"got", p[0]}});
          });
    r.add(
        "DELETE", "/v1/topics/{name}",
        [](const http_request&, const std::vector<std::string>&) -> asio::awaitable<http_response> {
            co_return empty_answer(204);
        });
    asio::io_context io;
    auto ask = [&](std::string method, std::vector<std::string> segments) {
        http_request req;
        req.method = std::move(method);
        req.segments = std::move(segments);
        req.target = "/x";
        auto f = asio::co_spawn(io, r.dispatch(req), asio::use_future);
        io.restart();
        io.run();
        return f.get();
    };
    auto found = ask("GET", {"v1", "topics", "a b"});
    EXPECT_EQ(found.status, 200u);
    EXPECT_EQ(json::parse(found.body)["got"], "a b");
    EXPECT_EQ(ask("HEAD", {"v1", "topics", "t"}).status, 200u);  // answered as GET
    EXPECT_EQ(ask("GET", {"v1", "topics"}).status, 404u);
    EXPECT_EQ(ask("GET", {"v1", "topics", "t", "x"}).status, 404u);
    auto wrong = ask("POST", {"v1", "topics", "t"});
    EXPECT_EQ(wrong.status, 405u);
    ASSERT_EQ(wrong.headers.size(), 1u);
    EXPECT_EQ(wrong.headers[0].second, "GET, DELETE");
}

}  // namespace
}  // namespace runnel::server::admin

#include "server/admin/metrics/prometheus_text.h"

namespace runnel::server::admin {
namespace {

TEST(PrometheusTextTest, FamiliesSamplesAndEscapedLabels) {
    prometheus_text m;
    m.family("x_total", "counter", "Things, with a \\ and\na new line.");
    m.sample("x_total", {{"topic", "a\"b\\c\nd"}}, uint64_t{3});
    m.sample("x_total", {}, int64_t{-1});
    m.sample("y", {{"a", "1"}, {"b", "2"}}, 0.5);
    EXPECT_EQ(m.text(),
              "# HELP x_total Things, with a \\\\ and\\na new line.\n"
              "# TYPE x_total counter\n"
              "x_total{topic=\"a\\\"b\\\\c\\nd\"} 3\n"
              "x_total -1\n"
              "y{a=\"1\",b=\"2\"} 0.5\n");
}

}  // namespace
}  // namespace runnel::server::admin
