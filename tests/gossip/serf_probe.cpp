// serf_probe: runs a whole gossip::Serf node over real loopback UDP and TCP sockets with plain
// poll(2) I/O, for the interop test against a stock `serf agent` (test_serf_wire.py). Loopback
// test tool, not part of the agent; one thread. Outgoing TCP requests are made blocking (with
// the memberlist TCP timeout), which is fine on loopback.
//
//   serf_probe --bind HOST:PORT --node NAME --join HOST:PORT [--tag K=V]... [--key B64]...
//              [--event NAME=PAYLOAD] [--leave-after MS] [--ms MS]
//
// Prints one line per happening: "join-result joined=N error=...", "member-join name=...
// status=... tags=k=v,..." (and member-leave, member-failed, member-update, member-reap,
// conflict), "user-event name=... payload=... ltime=N", and "left" once a graceful leave is
// done (it then exits 0). --event fires a user event after the join succeeded. --leave-after
// starts Serf's graceful leave that many ms after start. Exits 1 with "error: ..." on a setup
// failure or when --ms (default 30000) passes first.
#include <fcntl.h>

#include <chrono>
#include <map>

#include "beacon/gossip/serf.h"
#include "probe.h"

using namespace probe;

namespace {

struct Opts {
  std::string host = "127.0.0.1", node, join_host, event_name, event_payload;
  std::uint16_t port = 0, join_port = 0;
  Tags tags;
  std::vector<std::string> keys;
  long leave_after = -1, ms = 30000;
};

bool split(const std::string& v, char c, std::string& a, std::string& b) {
  auto at = c == ':' ? v.rfind(c) : v.find(c);
  if (at == std::string::npos) return false;
  a = v.substr(0, at);
  b = v.substr(at + 1);
  return true;
}

std::optional<Opts> parse(int argc, char** argv) {
  Opts o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view f = argv[i];
    std::string v = argv[i + 1], a, b;
    if (f == "--bind" && split(v, ':', a, b)) {
      o.host = a;
      o.port = static_cast<std::uint16_t>(std::stoi(b));
    } else if (f == "--join" && split(v, ':', a, b)) {
      o.join_host = a;
      o.join_port = static_cast<std::uint16_t>(std::stoi(b));
    } else if (f == "--node") {
      o.node = v;
    } else if (f == "--tag" && split(v, '=', a, b)) {
      o.tags[a] = b;
    } else if (f == "--key") {
      o.keys.push_back(v);
    } else if (f == "--event" && split(v, '=', a, b)) {
      o.event_name = a;
      o.event_payload = b;
    } else if (f == "--leave-after") {
      o.leave_after = std::stol(v);
    } else if (f == "--ms") {
      o.ms = std::stol(v);
    } else {
      return std::nullopt;
    }
  }
  if (o.node.empty() || o.port == 0 || o.join_port == 0) return std::nullopt;
  return o;
}

Bytes ip_bytes(const std::string& host) {
  Bytes ip(4);
  inet_pton(AF_INET, host.c_str(), ip.data());
  return ip;
}

sockaddr_in to_sa(const Endpoint& e) {
  return addr_of(ip_string(e.ip), e.port);
}

std::string tags_text(const Tags& t) {
  std::string s;
  for (const auto& [k, v] : t) s += (s.empty() ? "" : ",") + k + "=" + v;
  return s;
}

const char* kind_name(SerfEvent::Kind k) {
  switch (k) {
    case SerfEvent::Kind::kMemberJoin:
      return "member-join";
    case SerfEvent::Kind::kMemberLeave:
      return "member-leave";
    case SerfEvent::Kind::kMemberFailed:
      return "member-failed";
    case SerfEvent::Kind::kMemberUpdate:
      return "member-update";
    case SerfEvent::Kind::kMemberSuspect:
      return "member-suspect";
    case SerfEvent::Kind::kMemberUnsuspect:
      return "member-unsuspect";
    case SerfEvent::Kind::kMemberReap:
      return "member-reap";
    case SerfEvent::Kind::kUser:
      return "user-event";
    case SerfEvent::Kind::kConflict:
      return "conflict";
    case SerfEvent::Kind::kQuery:
      return "query";
  }
  return "?";
}

// Reads one whole stream message from `fd` (blocking, SO_RCVTIMEO bounded); empty on failure.
Bytes read_frame(int fd) {
  Bytes buf;
  std::uint8_t chunk[4096];
  for (;;) {
    auto size = StreamFrameSize(buf);
    if (!size.ok()) return {};
    if (*size > 0 && buf.size() >= *size) {
      buf.resize(*size);
      return buf;
    }
    ssize_t got = recv(fd, chunk, sizeof chunk, 0);
    if (got <= 0) return {};
    buf.insert(buf.end(), chunk, chunk + got);
  }
}

void set_timeouts(int fd, long ms) {
  timeval tv{ms / 1000, static_cast<suseconds_t>((ms % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool write_all(int fd, const Bytes& b) {
  std::size_t off = 0;
  while (off < b.size()) {
    ssize_t n = send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Makes one outgoing stream request; feeds its reply (or failure) back to Serf.
void do_stream(Serf& serf, std::uint64_t now, const OutStream& s, long timeout_ms) {
  Fd fd(socket(AF_INET, SOCK_STREAM, 0));
  set_timeouts(fd.get(), timeout_ms);
  sockaddr_in sa = to_sa(s.to);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    serf.OnStreamError(now, s.token,
                       "dial tcp " + to_string(s.to) + ": connect: " + std::strerror(errno));
    return;
  }
  if (!write_all(fd.get(), s.bytes)) {
    serf.OnStreamError(now, s.token, std::string("write: ") + std::strerror(errno));
    return;
  }
  if (s.kind == OutStream::Kind::kUser) return;  // one-way
  Bytes reply = read_frame(fd.get());
  if (reply.empty()) {
    serf.OnStreamReply(now, s.token, std::nullopt);
  } else {
    serf.OnStreamReply(now, s.token, std::move(reply));
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  if (!o) {
    std::printf(
        "usage: serf_probe --bind HOST:PORT --node NAME --join HOST:PORT [--tag K=V]... "
        "[--key B64]... [--event NAME=PAYLOAD] [--leave-after MS] [--ms MS]\n");
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string err;
  SerfConfig cfg;
  cfg.memberlist.keyring = ring_of(o->keys, err);
  if (!err.empty()) return fail("key: " + err);
  Fd udp(socket(AF_INET, SOCK_DGRAM, 0)), tcp(socket(AF_INET, SOCK_STREAM, 0));
  int one = 1;
  setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in self = addr_of(o->host, o->port);
  if (bind(udp.get(), reinterpret_cast<sockaddr*>(&self), sizeof self) != 0 ||
      bind(tcp.get(), reinterpret_cast<sockaddr*>(&self), sizeof self) != 0 ||
      listen(tcp.get(), 16) != 0) {
    return fail(std::string("bind: ") + std::strerror(errno));
  }
  const auto start = std::chrono::steady_clock::now();
  auto now_ms = [&] {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - start)
                                          .count()) +
           1;
  };
  Serf serf(cfg, o->node, ip_bytes(o->host), o->port, o->tags, now_ms(), now_ms());
  serf.Join(now_ms(), {Endpoint{ip_bytes(o->join_host), o->join_port}}, true);
  std::printf("listening\n");
  bool fired = o->event_name.empty(), leaving = false;
  for (;;) {
    const std::uint64_t now = now_ms();
    // Outputs first: datagrams, stream requests, events, join results.
    for (bool more = true; more;) {
      more = false;
      for (const OutPacket& p : serf.TakePackets()) {
        sockaddr_in to = to_sa(p.to);
        sendto(udp.get(), p.bytes.data(), p.bytes.size(), 0, reinterpret_cast<sockaddr*>(&to),
               sizeof to);
      }
      for (const OutStream& s : serf.TakeStreams()) {
        do_stream(serf, now_ms(), s, static_cast<long>(cfg.memberlist.tcp_timeout_ms));
        more = true;
      }
    }
    for (const SerfEvent& e : serf.TakeEvents()) {
      if (e.kind == SerfEvent::Kind::kUser) {
        std::printf("user-event name=%s payload=%s ltime=%llu\n", e.name.c_str(),
                    std::string(e.payload.begin(), e.payload.end()).c_str(),
                    static_cast<unsigned long long>(e.ltime));
      } else {
        std::printf("%s name=%s addr=%s:%u status=%s tags=%s\n", kind_name(e.kind),
                    e.member.name.c_str(), ip_string(e.member.addr).c_str(), e.member.port,
                    to_string(e.member.status), tags_text(e.member.tags).c_str());
      }
    }
    for (const JoinResult& r : serf.TakeJoinResults()) {
      std::string text = r.error;
      for (char& c : text) c = (c == '\n' || c == '\t') ? ' ' : c;
      std::printf("join-result joined=%zu error=%s\n", r.joined, text.c_str());
      if (r.joined > 0 && !fired) {
        Bytes payload(o->event_payload.begin(), o->event_payload.end());
        beacon::Status st = serf.UserEvent(now_ms(), o->event_name, payload, false);
        if (!st.ok()) return fail("user event: " + st.message());
        fired = true;
      }
    }
    if (leaving && serf.leave_done()) {
      std::printf("left\n");
      return 0;
    }
    if (now > static_cast<std::uint64_t>(o->ms)) return fail("timed out");
    if (!leaving && o->leave_after >= 0 && now >= static_cast<std::uint64_t>(o->leave_after)) {
      leaving = true;
      serf.Leave(now);
      continue;
    }
    // Wait for a datagram, a connection or the next deadline.
    const std::uint64_t deadline = std::min<std::uint64_t>(serf.NextDeadline(), now + 100);
    pollfd fds[2] = {{udp.get(), POLLIN, 0}, {tcp.get(), POLLIN, 0}};
    poll(fds, 2, static_cast<int>(deadline > now ? deadline - now : 0));
    if (fds[0].revents & POLLIN) {
      Bytes buf(65536);
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t got =
          recvfrom(udp.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (got > 0) {
        Bytes ip(4);
        std::memcpy(ip.data(), &from.sin_addr, 4);
        serf.OnPacket(now_ms(), Endpoint{ip, ntohs(from.sin_port)},
                      ByteView(buf).first(static_cast<std::size_t>(got)));
      }
    }
    if (fds[1].revents & POLLIN) {
      sockaddr_in from{};
      socklen_t len = sizeof from;
      Fd conn(accept(tcp.get(), reinterpret_cast<sockaddr*>(&from), &len));
      if (conn.get() >= 0) {
        set_timeouts(conn.get(), 2000);
        Bytes req = read_frame(conn.get());
        Bytes ip(4);
        std::memcpy(ip.data(), &from.sin_addr, 4);
        if (!req.empty()) {
          Bytes reply = serf.OnStream(now_ms(), Endpoint{ip, ntohs(from.sin_port)}, req);
          if (!reply.empty()) write_all(conn.get(), reply);
        }
      }
    }
    serf.Tick(now_ms());
  }
}
