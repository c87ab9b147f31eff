#include "support/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace socle::testing {
namespace {

constexpr int START_TIMEOUT_MS = 20'000;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

pid_t spawn(const std::string& binary, const std::vector<std::string>& args,
            const std::map<std::string, std::string>& env, const std::string& out_path,
            const std::string& err_path) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int in = ::open("/dev/null", O_RDONLY);
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  for (const auto& [k, v] : env)
    setenv(k.c_str(), v.c_str(), 1);
  std::vector<char*> argv;
  std::string bin = binary;
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  execvp(bin.c_str(), argv.data());
  _exit(127);
}

int wait_pid(pid_t pid, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (now_ms() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

TempDir::TempDir() {
  char tmpl[] = "/tmp/socle-test-XXXXXX";
  char* p = mkdtemp(tmpl);
  if (p == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

ServerProcess::ServerProcess(const std::string& data_dir,
                             const std::map<std::string, std::string>& env,
                             const std::vector<std::string>& extra_args)
    : ServerProcess(
          Program{}, SOCLE_BINARY,
          [&] {
            std::vector<std::string> a{"serve", "--listen", "127.0.0.1:0", "--data", data_dir};
            a.insert(a.end(), extra_args.begin(), extra_args.end());
            return a;
          }(),
          env) {}

ServerProcess::ServerProcess(Program, const std::string& binary, std::vector<std::string> args,
                             const std::map<std::string, std::string>& env) {
  std::string port_file = io_.path() + "/port";
  args.push_back("--port-file");
  args.push_back(port_file);
  pid_ = spawn(binary, args, env, io_.path() + "/stdout", io_.path() + "/stderr");
  int64_t deadline = now_ms() + START_TIMEOUT_MS;
  while (now_ms() < deadline) {
    std::string text = read_text_file(port_file);
    if (!text.empty()) {
      port_ = std::atoi(text.c_str());
      return;
    }
    if (!running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error(binary + " did not start; stderr:\n" + stderr_text());
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && running()) stop();
}

bool ServerProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void ServerProcess::signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int ServerProcess::wait(int timeout_ms) {
  if (pid_ <= 0) return -1;
  int code = wait_pid(pid_, timeout_ms);
  if (code != -1) pid_ = -1;
  return code;
}

int ServerProcess::stop(int timeout_ms) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int code = wait_pid(pid_, timeout_ms);
  if (code == -1) {
    kill(pid_, SIGKILL);
    wait_pid(pid_, 5000);
  }
  pid_ = -1;
  return code;
}

std::string ServerProcess::stdout_text() const {
  return read_text_file(io_.path() + "/stdout");
}
std::string ServerProcess::stderr_text() const {
  return read_text_file(io_.path() + "/stderr");
}

int run_socle(const std::vector<std::string>& args, std::string* out,
              const std::map<std::string, std::string>& env) {
  TempDir io;
  pid_t pid = spawn(SOCLE_BINARY, args, env, io.path() + "/stdout", io.path() + "/stderr");
  int code = wait_pid(pid, 30'000);
  if (out) *out = read_text_file(io.path() + "/stdout");
  return code;
}

Connection::Connection(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

bool Connection::send_raw(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool Connection::fill(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  char tmp[16384];
  ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

bool Connection::closed_by_peer(int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  while (now_ms() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return true;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }
  return false;
}

HttpReply Connection::read_reply(int timeout_ms) {
  HttpReply r;
  int64_t deadline = now_ms() + timeout_ms;
  auto left = [deadline] { return static_cast<int>(std::max<int64_t>(0, deadline - now_ms())); };
  size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(left())) return r;
  }
  std::string head = buf_.substr(0, end);
  buf_.erase(0, end + 4);
  std::istringstream lines(head);
  std::string line;
  std::getline(lines, line);
  if (line.size() < 12) return r;
  int status = std::atoi(line.substr(9, 3).c_str());
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ')
      value.erase(0, 1);
    r.headers[name] = value;
  }
  if (r.headers.count("content-length")) {
    size_t len = std::stoul(r.headers["content-length"]);
    while (buf_.size() < len) {
      if (!fill(left())) return r;
    }
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
  } else if (r.headers["transfer-encoding"] == "chunked") {
    while (true) {
      size_t eol;
      while ((eol = buf_.find("\r\n")) == std::string::npos) {
        if (!fill(left())) return r;
      }
      size_t len = std::stoul(buf_.substr(0, eol), nullptr, 16);
      while (buf_.size() < eol + 2 + len + 2) {
        if (!fill(left())) return r;
      }
      r.body += buf_.substr(eol + 2, len);
      buf_.erase(0, eol + 2 + len + 2);
      if (len == 0) break;
    }
  }
  r.status = status;
  return r;
}

HttpReply http_request(int port, const std::string& method, const std::string& path,
                       const std::map<std::string, std::string>& headers, const std::string& body) {
  Connection c(port);
  if (!c.connected()) return {};
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers)
    req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "Connection: close\r\n\r\n" + body;
  if (!c.send_raw(req)) return {};
  return c.read_reply();
}

}  // namespace socle::testing
