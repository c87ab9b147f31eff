// Test support: start the real socle binary on an ephemeral loopback port with a temporary
// data directory, and talk to it over plain sockets (so tests can send malformed, slow or
// oversized requests that a real client library would refuse to produce).
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace socle::testing {

// A temporary directory removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  bool ok() const { return status != 0; }
};

// Runs `socle serve` (or any subcommand) as a child process.
class ServerProcess {
 public:
  // Starts `socle serve --listen 127.0.0.1:0 --data DATA --port-file ... EXTRA` with `env`
  // added to this process's environment, and waits (bounded) for the port file.
  ServerProcess(const std::string& data_dir, const std::map<std::string, std::string>& env = {},
                const std::vector<std::string>& extra_args = {});
  // Any program that takes `--port-file FILE` (appended to `args`) and writes its port there.
  struct Program {};
  ServerProcess(Program, const std::string& binary, std::vector<std::string> args,
                const std::map<std::string, std::string>& env = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  bool running();
  // Sends SIGTERM and waits up to `timeout_ms`; returns the exit status, or -1 on timeout
  // (the process is then killed).
  int stop(int timeout_ms = 10'000);
  void signal(int sig);
  int wait(int timeout_ms);
  std::string stdout_text() const;
  std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  TempDir io_;
};

// Runs the socle binary with `args` to completion; returns its exit status and stdout.
int run_socle(const std::vector<std::string>& args, std::string* out,
              const std::map<std::string, std::string>& env = {});

// A blocking loopback client connection.
class Connection {
 public:
  explicit Connection(int port);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send_raw(const std::string& bytes);
  // Reads one HTTP/1.1 response (Content-Length or chunked). Empty reply on EOF/timeout.
  HttpReply read_reply(int timeout_ms = 10'000);
  // True if the peer closed the connection within `timeout_ms`.
  bool closed_by_peer(int timeout_ms);

 private:
  bool fill(int timeout_ms);
  int fd_ = -1;
  std::string buf_;
};

// One request on a fresh connection.
HttpReply http_request(int port, const std::string& method, const std::string& path,
                       const std::map<std::string, std::string>& headers = {},
                       const std::string& body = {});

std::string read_text_file(const std::string& path);

// `s` without trailing newlines and spaces (a key file's contents, a command's output).
std::string trim(std::string s);

}  // namespace socle::testing
