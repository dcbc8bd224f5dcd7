// The middle test tier: a whole broker in the test process, on real shards behind a loopback
// listener, and a blocking client that speaks the generated codecs. Between the unit tests (one
// class, no broker) and integration/ (a broker process driven by real clients): handler and
// coordinator behaviour can be tested in C++ without a process per test.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/codec.h"
#include "protocol/messages/api_table.h"
#include "protocol/messages/request_header.h"
#include "protocol/messages/response_header.h"
#include "server/broker.h"
#include "server/config/broker_config.h"

namespace runnel::server::test {

class in_process_broker {
  public:
    // `properties` go on top of a loopback listener on a free port, a temp log dir and
    // `shards` shards.
    explicit in_process_broker(std::map<std::string, std::string> properties = {}, int shards = 2) {
        char tmpl[] = "/tmp/runnel-in-process-XXXXXX";
        if (!mkdtemp(tmpl)) std::abort();
        dir_ = tmpl;
        std::vector<property> props = {
            {"listeners", "PLAINTEXT://127.0.0.1:0", 1},
            {"log.dirs", (dir_ / "data").string(), 2},
            {"runnel.shards", std::to_string(shards), 3},
            {"group.initial.rebalance.delay.ms", "0", 4},
            {"runnel.admin.listeners", "", 5},  // tests that want it set http://127.0.0.1:0
        };
        int line = 10;
        for (auto& [k, v] : properties) props.push_back({k, v, line++});
        broker_ = std::make_unique<broker>(broker_config::from_properties(props, {}, "test"));
        broker_->start();
    }
    ~in_process_broker() {
        broker_->stop();
        broker_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    in_process_broker(const in_process_broker&) = delete;
    in_process_broker& operator=(const in_process_broker&) = delete;

    uint16_t port() {
        return static_cast<uint16_t>(broker_->kafka().endpoint_for("PLAINTEXT").port);
    }
    const std::filesystem::path& dir() const { return dir_; }
    broker& get() { return *broker_; }

  private:
    std::filesystem::path dir_;
    std::unique_ptr<broker> broker_;
};

// One connection; call<Key>(request, version) sends a request and returns its decoded response
// (the test fails on a closed connection or a response that does not decode).
class kafka_test_client {
  public:
    explicit kafka_test_client(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ADD_FAILURE() << "connect: " << std::strerror(errno);
        }
        timeval tv{30, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~kafka_test_client() { ::close(fd_); }
    kafka_test_client(const kafka_test_client&) = delete;
    kafka_test_client& operator=(const kafka_test_client&) = delete;

    template <int16_t Key>
    typename protocol::msg::api_types<Key>::response call(
        const typename protocol::msg::api_types<Key>::request& req, int16_t version) {
        using api = protocol::msg::api_types<Key>;
        const bool flexible = api::first_flexible >= 0 && version >= api::first_flexible;
        protocol::writer w;
        w.write_int32(0);
        protocol::msg::request_header h;
        h.request_api_key = Key;
        h.request_api_version = version;
        h.correlation_id = ++correlation_;
        h.client_id = "in-process-test";
        h.encode(w, flexible ? 2 : 1);
        req.encode(w, version);
        w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
        send_all(w.flatten());  // record sets past a size are spliced, not in buffer()
        auto frame = std::make_shared<std::vector<uint8_t>>(receive_frame());
        protocol::reader r(frame->data(), frame->size(), frame);
        protocol::msg::response_header rh;
        // ApiVersions answers with header v0 whatever its version (KIP-511).
        rh.decode(r, flexible && Key != protocol::msg::api_versions_api_key ? 1 : 0);
        EXPECT_EQ(rh.correlation_id, correlation_);
        typename api::response resp;
        resp.decode(r, version);
        EXPECT_TRUE(r.ok()) << api::name << " v" << version << " response did not decode";
        return resp;
    }

  private:
    void send_all(const std::vector<uint8_t>& bytes) {
        size_t done = 0;
        while (done < bytes.size()) {
            ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            if (n <= 0) {
                ADD_FAILURE() << "send: " << std::strerror(errno);
                return;
            }
            done += static_cast<size_t>(n);
        }
    }
    void receive_exactly(uint8_t* out, size_t n) {
        size_t done = 0;
        while (done < n) {
            ssize_t got = ::recv(fd_, out + done, n - done, 0);
            if (got <= 0) {
                ADD_FAILURE() << "the broker closed the connection or timed out";
                std::memset(out + done, 0, n - done);
                return;
            }
            done += static_cast<size_t>(got);
        }
    }
    std::vector<uint8_t> receive_frame() {
        uint8_t size_bytes[4];
        receive_exactly(size_bytes, 4);
        const int32_t size = protocol::reader(size_bytes, 4).read_int32();
        std::vector<uint8_t> frame(static_cast<size_t>(std::max(0, size)));
        receive_exactly(frame.data(), frame.size());
        return frame;
    }

    int fd_ = -1;
    int32_t correlation_ = 0;
};

}  // namespace runnel::server::test
