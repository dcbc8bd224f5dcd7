// The admin API's table of routes: a method and a path pattern ("/v1/topics/{name}") to the
// coroutine that answers. A path no route has is 404; a path some route has, with another
// method, is 405 with the methods it takes (Allow).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string>
#include <vector>

#include "server/admin/http_exchange.h"

namespace runnel::server::admin {

namespace asio = boost::asio;

// `params`: the path's values where the pattern has {...}, in order.
using route_handler = std::function<asio::awaitable<http_response>(
    const http_request& request, const std::vector<std::string>& params)>;

class router {
  public:
    void add(std::string method, std::string pattern, route_handler handler);
    asio::awaitable<http_response> dispatch(const http_request& request) const;

  private:
    struct route {
        std::string method;
        std::vector<std::string> pattern;  // segments; "{...}" matches any one
        route_handler handler;
    };
    std::vector<route> routes_;
};

}  // namespace runnel::server::admin
