#include "integration/broker_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#ifndef RUNNEL_BROKER_PATH
#define RUNNEL_BROKER_PATH ""
#endif

namespace runnel::it {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : fallback;
}

std::string make_temp_dir(const std::string& name) {
    std::string base = env_or("TMPDIR", "/tmp");
    std::string pattern = base + "/runnel-it-" + name + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) {
        throw std::runtime_error("mkdtemp(" + pattern + "): " + std::strerror(errno));
    }
    return buf.data();
}

}  // namespace

std::string BrokerProcess::binary_path() {
    std::string path = env_or("RUNNEL_BROKER", RUNNEL_BROKER_PATH);
    if (path.empty()) {
        throw std::runtime_error("broker binary unknown: set RUNNEL_BROKER");
    }
    if (access(path.c_str(), X_OK) != 0) {
        throw std::runtime_error("broker binary " + path + " is not executable");
    }
    return path;
}

int BrokerProcess::shard_count() { return std::stoi(env_or("RUNNEL_SHARDS", "1")); }

int BrokerProcess::free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket(): " + std::string(std::strerror(errno)));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        int e = errno;
        ::close(fd);
        throw std::runtime_error("bind/getsockname: " + std::string(std::strerror(e)));
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool BrokerProcess::port_accepts(int port, std::chrono::milliseconds timeout) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        ok = true;
    } else if (errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            ok = err == 0;
        }
    }
    ::close(fd);
    return ok;
}

BrokerProcess::BrokerProcess(BrokerOptions options) : options_(std::move(options)) {
    binary_ = binary_path();
    tmpdir_ = make_temp_dir(options_.name);
    data_dir_ = options_.data_dir.empty() ? tmpdir_ + "/data" : options_.data_dir;
    fs::create_directories(data_dir_);
    properties_path_ = tmpdir_ + "/server.properties";
    log_path_ = tmpdir_ + "/broker.log";
    port_ = options_.port ? options_.port : free_port();
    int shards = options_.shards ? options_.shards : shard_count();
    properties_ = {
        {"listeners", "PLAINTEXT://127.0.0.1:" + std::to_string(port_)},
        {"log.dirs", data_dir_},
        {"runnel.admin.listeners", ""},  // parallel tests must not meet on 9644
        {"num.partitions", "1"},
        {"auto.create.topics.enable", "true"},
        {"runnel.shards", std::to_string(shards)},
    };
    for (const auto& [k, v] : options_.properties) properties_[k] = v;
}

BrokerProcess::~BrokerProcess() {
    try {
        if (pid_ > 0) kill();
    } catch (...) {
    }
    if (std::getenv("RUNNEL_KEEP_DIRS")) {
        std::fprintf(stderr, "[broker_process] keeping %s\n", tmpdir_.c_str());
    } else {
        std::error_code ec;
        fs::remove_all(tmpdir_, ec);
    }
}

void BrokerProcess::write_properties() const {
    std::ofstream out(properties_path_, std::ios::trunc);
    out << "# written by integration/broker_process.cc\n";
    for (const auto& [k, v] : properties_) out << k << '=' << v << '\n';
    if (!out) throw std::runtime_error("cannot write " + properties_path_);
}

void BrokerProcess::start() {
    if (pid_ > 0) throw std::runtime_error(options_.name + " is already running");
    write_properties();
    ++starts_;
    std::vector<std::string> args{binary_, properties_path_};
    for (const auto& [k, v] : options_.overrides) {
        args.push_back("--override");
        args.push_back(k + "=" + v);
    }
    {
        std::ofstream log(log_path_, std::ios::app);
        log << "\n===== start #" << starts_ << ":";
        for (const auto& a : args) log << ' ' << a;
        log << '\n';
    }
    int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || null_fd < 0) throw std::runtime_error("cannot open " + log_path_);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(log_fd);
        ::close(null_fd);
        throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    }
    if (pid == 0) {
        // child: only async-signal-safe calls from here on
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        ::dup2(null_fd, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        ::chdir(tmpdir_.c_str());
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(log_fd);
    ::close(null_fd);
    pid_ = pid;

    auto deadline = Clock::now() + options_.startup_timeout;
    while (true) {
        if (auto code = wait_exit(0ms)) {
            throw std::runtime_error(options_.name + " exited with code " + std::to_string(*code) +
                                     " during startup\n" + log_tail());
        }
        if (port_accepts(port_, 250ms)) return;
        if (Clock::now() > deadline) {
            kill();
            throw std::runtime_error(
                options_.name + " did not accept connections on " + bootstrap() + " within " +
                std::to_string(options_.startup_timeout.count()) + " ms\n" + log_tail());
        }
        std::this_thread::sleep_for(50ms);
    }
}

std::optional<int> BrokerProcess::wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (true) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            pid_ = -1;
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            if (WIFSIGNALED(status)) return -WTERMSIG(status);
            return -1000;
        }
        if (r < 0 && errno != EINTR) {
            pid_ = -1;
            return -1001;
        }
        if (Clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(20ms);
    }
}

bool BrokerProcess::running() {
    if (pid_ <= 0) return false;
    return !wait_exit(0ms).has_value();
}

int BrokerProcess::stop(bool check_exit_code) {
    if (pid_ <= 0) return 0;
    ::kill(pid_, SIGTERM);
    auto code = wait_exit(options_.stop_timeout);
    if (!code) {
        kill();
        throw std::runtime_error(options_.name + " did not exit within " +
                                 std::to_string(options_.stop_timeout.count()) +
                                 " ms of SIGTERM\n" + log_tail());
    }
    if (check_exit_code && *code != 0) {
        throw std::runtime_error(options_.name + " exited with code " + std::to_string(*code) +
                                 " after SIGTERM (expected 0)\n" + log_tail());
    }
    return *code;
}

void BrokerProcess::kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    wait_exit(10000ms);
    pid_ = -1;
}

void BrokerProcess::restart(bool hard) {
    if (hard) {
        kill();
    } else {
        stop();
    }
    start();
}

std::string BrokerProcess::log_tail(std::size_t lines) const {
    std::ifstream in(log_path_);
    std::deque<std::string> tail;
    std::string line;
    std::size_t total = 0;
    while (std::getline(in, line)) {
        ++total;
        tail.push_back(line);
        if (tail.size() > lines) tail.pop_front();
    }
    std::ostringstream out;
    out << "----- " << log_path_ << " (" << bootstrap() << "), last " << tail.size() << " of "
        << total << " lines -----\n";
    for (const auto& l : tail) out << l << '\n';
    out << "----- end of " << options_.name << " log -----\n";
    return out.str();
}

}  // namespace runnel::it
