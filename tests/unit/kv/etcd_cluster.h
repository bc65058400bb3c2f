// Test helper: real etcd members (Debian's etcd-server) on 127.0.0.1, free ports, data in a
// temp dir. The destructor SIGKILLs and reaps every member and removes the dir. Members log to
// <dir>/<name>.log. Available() is false when no `etcd` binary is on PATH. With tls=true the
// client URLs are https, with a throw-away CA (openssl CLI) and client-certificate auth: ca(),
// client_cert() and client_key() name the files a client needs.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "beacon/http/client.h"

namespace kvtest {

inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    throw std::runtime_error("no free port");
  }
  close(fd);
  return ntohs(a.sin_port);
}

class EtcdCluster {
 public:
  static bool Available() { return system("command -v etcd >/dev/null 2>&1") == 0; }

  // max_txn_ops: etcd's --max-txn-ops (0: etcd's own default, 128).
  explicit EtcdCluster(int members, bool tls = false, int max_txn_ops = 10000)
      : tls_(tls), max_txn_ops_(max_txn_ops) {
    char tmpl[] = "/tmp/beacon-etcd-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    if (tls_) MakeCerts();
    std::string initial;
    for (int i = 0; i < members; ++i) {
      Member m;
      m.name = "m" + std::to_string(i);
      m.client = (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(FreePort());
      m.peer = "http://127.0.0.1:" + std::to_string(FreePort());
      initial += (i ? "," : "") + m.name + "=" + m.peer;
      m_.push_back(m);
    }
    try {
      for (Member& m : m_) Spawn(m, initial);
      for (Member& m : m_) WaitHealthy(m);
    } catch (...) {
      for (Member& m : m_) Kill(m);  // the destructor does not run for a throwing constructor
      std::filesystem::remove_all(dir_);
      throw;
    }
  }
  ~EtcdCluster() {
    for (Member& m : m_) Kill(m);
    std::filesystem::remove_all(dir_);
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  std::vector<std::string> endpoints() const {
    std::vector<std::string> out;
    for (const Member& m : m_) out.push_back(m.client);
    return out;
  }
  size_t size() const { return m_.size(); }
  bool alive(size_t i) const { return m_[i].pid > 0; }

  // Index of the member that leads (asked from any live member), or -1.
  int Leader() {
    for (const Member& asked : m_) {
      if (asked.pid <= 0) continue;
      beacon::http::HttpClient c(Options(asked.client, 2000));
      auto r = c.Do("POST", "/v3/maintenance/status", "{}");
      if (!r.ok() || r.value().status != 200) continue;
      const std::string& b = r.value().body;
      size_t p = b.find("\"leader\":\"");
      if (p == std::string::npos) continue;
      std::string leader = b.substr(p + 10, b.find('"', p + 10) - p - 10);
      for (size_t i = 0; i < m_.size(); ++i) {
        if (m_[i].pid <= 0) continue;
        beacon::http::HttpClient ci(Options(m_[i].client, 2000));
        auto ri = ci.Do("POST", "/v3/maintenance/status", "{}");
        if (ri.ok() &&
            ri.value().body.find("\"member_id\":\"" + leader + "\"") != std::string::npos) {
          return static_cast<int>(i);
        }
      }
    }
    return -1;
  }

  void Kill(size_t i) { Kill(m_[i]); }
  std::string ca() const { return dir_ + "/ca.crt"; }
  std::string client_cert() const { return dir_ + "/client.crt"; }
  std::string client_key() const { return dir_ + "/client.key"; }

 private:
  struct Member {
    std::string name, client, peer;
    pid_t pid = -1;
  };

  void Spawn(Member& m, const std::string& initial) {
    const std::string data = dir_ + "/" + m.name;
    const std::string log = dir_ + "/" + m.name + ".log";
    std::vector<std::string> args = {"etcd",        "--name",
                                     m.name,        "--data-dir",
                                     data,          "--listen-client-urls",
                                     m.client,      "--advertise-client-urls",
                                     m.client,      "--listen-peer-urls",
                                     m.peer,        "--initial-advertise-peer-urls",
                                     m.peer,        "--initial-cluster",
                                     initial,       "--initial-cluster-state",
                                     "new",         "--initial-cluster-token",
                                     "beacon-test", "--logger",
                                     "zap",         "--log-level",
                                     "error"};
    if (max_txn_ops_ > 0) {
      args.push_back("--max-txn-ops");
      args.push_back(std::to_string(max_txn_ops_));
    }
    if (tls_) {
      for (std::string a : {"--cert-file", "server.crt", "--key-file", "server.key",
                            "--trusted-ca-file", "ca.crt"}) {
        args.push_back(a.ends_with(".crt") || a.ends_with(".key") ? dir_ + "/" + a : a);
      }
      args.push_back("--client-cert-auth");
    }
    std::fflush(nullptr);  // else the child's freopen writes the parent's buffered output again
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      FILE* f = freopen(log.c_str(), "w", stdout);
      (void)f;
      dup2(fileno(stdout), 2);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("etcd", argv.data());
      _exit(127);
    }
    m.pid = pid;
  }

  beacon::http::ClientOptions Options(const std::string& address, int64_t timeout_ms) const {
    beacon::http::ClientOptions co;
    co.address = address;
    co.timeout_ms = timeout_ms;
    if (tls_) {
      co.ca_file = ca();
      co.cert_file = client_cert();
      co.key_file = client_key();
    }
    return co;
  }

  void WaitHealthy(const Member& m) {
    beacon::http::ClientOptions co = Options(m.client, 1000);
    co.connect_timeout_ms = 500;
    beacon::http::HttpClient c(co);
    for (int i = 0; i < 300; ++i) {
      auto r = c.Do("GET", "/health");
      if (r.ok() && r.value().body.find("\"true\"") != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("etcd member " + m.name + " did not become healthy (see " + dir_ +
                             "/" + m.name + ".log)");
  }

  // A CA, a server certificate for IP 127.0.0.1 and a client certificate, all signed by the CA.
  void MakeCerts() {
    const std::string d = dir_;
    const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::string cmd = "(cd " + d + " && openssl req -x509" + key +
                      " -keyout ca.key -out ca.crt -days 1 -subj /CN=beacon-test-ca";
    for (const char* who : {"server", "client"}) {
      std::string w(who);
      cmd += " && openssl req" + key + " -keyout " + w + ".key -out " + w + ".csr -subj /CN=" + w +
             " && printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n'"
             " > " +
             w + ".ext && openssl x509 -req -in " + w +
             ".csr -CA ca.crt -CAkey ca.key"
             " -CAcreateserial -out " +
             w + ".crt -days 1 -extfile " + w + ".ext";
    }
    cmd += ") >/dev/null 2>&1";
    if (system(cmd.c_str()) != 0)
      throw std::runtime_error("openssl could not make test certificates");
  }

  static void Kill(Member& m) {
    if (m.pid <= 0) return;
    kill(m.pid, SIGKILL);
    waitpid(m.pid, nullptr, 0);
    m.pid = -1;
  }

  bool tls_ = false;
  int max_txn_ops_ = 10000;
  std::string dir_;
  std::vector<Member> m_;
};

}  // namespace kvtest
