// Starts and stops a real Runnel broker process for the C++ integration tests; the C++ twin of
// integration/broker_process.py.
//
//   runnel::it::BrokerProcess broker({.properties = {{"num.partitions", "3"}}});
//   broker.start();                  // waits (<= 15 s) until the listener accepts connections
//   ... clients use broker.bootstrap() ...
//   broker.restart();                // SIGTERM, wait (<= 10 s) for exit code 0, start again
//   broker.kill(); broker.start();   // SIGKILL, start again on the same port and data dir
//
// The binary is $RUNNEL_BROKER, else the RUNNEL_BROKER_PATH compile definition; the shard count
// is $RUNNEL_SHARDS (default 1). Everything lives in a fresh temp dir (server.properties, data/,
// broker.log with the process's stdout+stderr), removed by the destructor unless
// $RUNNEL_KEEP_DIRS is set. The broker is started with PR_SET_PDEATHSIG so that it dies with the
// test process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace runnel::it {

struct BrokerOptions {
    std::map<std::string, std::string> properties;  // extra server.properties keys (win)
    std::map<std::string, std::string> overrides;   // passed as --override key=value
    std::string data_dir;                           // log.dirs; default <tempdir>/data
    int port = 0;                                   // default: a free loopback port
    int shards = 0;                                 // default: $RUNNEL_SHARDS or 1
    std::string name = "broker";
    std::chrono::milliseconds startup_timeout{15000};
    std::chrono::milliseconds stop_timeout{10000};
};

class BrokerProcess {
  public:
    explicit BrokerProcess(BrokerOptions options = {});
    ~BrokerProcess();
    BrokerProcess(const BrokerProcess&) = delete;
    BrokerProcess& operator=(const BrokerProcess&) = delete;

    // Writes server.properties, forks/execs the broker and waits for the port. Throws
    // std::runtime_error (with the log's tail) if it exits or does not listen in time.
    void start();
    // SIGTERM and wait; throws if it does not exit in time or exits with a code other than 0
    // (unless check_exit_code is false). Returns the wait status's exit code (or -signal).
    int stop(bool check_exit_code = true);
    // SIGKILL and reap.
    void kill();
    // stop() (or kill() if hard) then start().
    void restart(bool hard = false);
    bool running();

    std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
    int port() const { return port_; }
    const std::string& data_dir() const { return data_dir_; }
    const std::string& temp_dir() const { return tmpdir_; }
    const std::string& log_path() const { return log_path_; }
    std::map<std::string, std::string>& properties() { return properties_; }
    std::string log_tail(std::size_t lines = 150) const;

    static std::string binary_path();
    static int shard_count();
    static int free_port();
    static bool port_accepts(int port, std::chrono::milliseconds timeout);

  private:
    void write_properties() const;
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);

    BrokerOptions options_;
    std::string binary_;
    std::string tmpdir_;
    std::string data_dir_;
    std::string properties_path_;
    std::string log_path_;
    std::map<std::string, std::string> properties_;
    int port_ = 0;
    pid_t pid_ = -1;
    int starts_ = 0;
};

}  // namespace runnel::it
