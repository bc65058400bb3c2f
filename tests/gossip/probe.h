// Shared helpers of the wire_probe test tool (tests/gossip): arguments, sockets, keyrings.
// Loopback test tool code, not part of the agent. One thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/gossip/envelope.h"
#include "beacon/gossip/serf_wire.h"

namespace probe {

using namespace beacon::gossip;
using beacon::Result;

constexpr int kTimeoutMs = 5000;

struct Args {
  std::string cmd, host = "127.0.0.1", node;
  std::uint16_t to_port = 0, port = 0;
  Tags tags;
  std::vector<std::string> keys, recv_keys;
  std::uint8_t enc_version = 1;
  std::string answer_query, answer_payload;  // listen: the query to answer, and with what
  int ms = 20000;                            // listen: how long to run
  std::string dump;                          // ping/join: save the raw answer to this file
  bool nack = false;                         // indirect: ask for a nack on timeout
  bool compress = false;                     // join/leave: LZW-compress what we send
  std::uint64_t ltime = 2;                   // leave: Lamport time of the intent and event
  std::string event_name, event_payload;     // leave: a user event sent along
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

inline int fail(const std::string& msg) {
  std::printf("error: %s\n", msg.c_str());
  return 1;
}

inline std::optional<Keyring> ring_of(const std::vector<std::string>& keys, std::string& err) {
  if (keys.empty()) return std::nullopt;
  std::vector<std::string_view> views(keys.begin(), keys.end());
  auto r = Keyring::FromBase64(views);
  if (!r.ok()) {
    err = r.status().message();
    return std::nullopt;
  }
  return *r;
}

inline Bytes nonce() {
  Bytes n(kNonceSize);
  RAND_bytes(n.data(), static_cast<int>(n.size()));
  return n;
}

inline sockaddr_in addr_of(const std::string& host, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
  return sa;
}

inline bool wait_readable(int fd, int ms = kTimeoutMs) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, ms) == 1;
}

inline std::string ip_string(const Bytes& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ip.size() == 4) return inet_ntop(AF_INET, ip.data(), buf, sizeof buf);
  if (ip.size() == 16) return inet_ntop(AF_INET6, ip.data(), buf, sizeof buf);
  return "?";
}

inline const char* state_name(NodeState s) {
  switch (s) {
    case NodeState::kAlive:
      return "alive";
    case NodeState::kSuspect:
      return "suspect";
    case NodeState::kDead:
      return "dead";
    case NodeState::kLeft:
      return "left";
  }
  return "?";
}

// Sends one UDP packet of `msgs` to `to`, sealed with the ring's primary key when given.
inline bool send_packet(int fd, const sockaddr_in& to, const std::vector<Bytes>& msgs,
                        const Keyring* ring, std::uint8_t enc_version = 1, bool compress = false) {
  Bytes n = nonce();
  auto pkt = PackPacket(msgs, PacketOptions{ring, n, false, enc_version, {}, compress});
  if (!pkt.ok()) return false;
  return sendto(fd, pkt->data(), pkt->size(), 0, reinterpret_cast<const sockaddr*>(&to),
                sizeof to) == static_cast<ssize_t>(pkt->size());
}

// Writes raw bytes to `path` when it is set (captures for test vectors and fuzz seeds).
inline void dump_to(const std::string& path, ByteView data) {
  if (path.empty()) return;
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data.data(), 1, data.size(), f);
    std::fclose(f);
  }
}

int do_listen(const Args& a, const Keyring* send_ring, const Keyring* recv_ring);

}  // namespace probe
