// transport_probe: one gossip::Membership driven by net::GossipTransport on a loopback port, for
// integration tests against a stock `serf agent` (tests/integration/test_serf_transport.py).
//
//   transport_probe --node NAME [--join HOST:PORT] [--ms N]
//
// Prints "listening port=P" once bound, then every 200 ms "members name:state,..." (state as
// memberlist numbers it: 0 alive, 1 suspect, 2 dead, 3 left), any "stream-error ..." lines, and
// at the end "stats packets_in=... dropped=...". Exits 0 after N ms (default 10000), 2 on bad
// arguments or when the sockets cannot be bound.
#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "beacon/gossip/membership.h"
#include "beacon/net/gossip_transport.h"

namespace {

using beacon::gossip::Bytes;

class ProbeCore : public beacon::net::GossipCore {
 public:
  std::optional<beacon::gossip::Membership> m;

  // The Membership is made on the transport's thread once the port is known; until then every
  // input is ignored.
  void Tick(std::uint64_t now) override {
    if (m) m->Tick(now);
  }
  void OnPacket(std::uint64_t now, const beacon::gossip::Endpoint& from,
                beacon::gossip::ByteView b) override {
    if (m) m->OnPacket(now, from, b);
  }
  Bytes OnStream(std::uint64_t now, const beacon::gossip::Endpoint& from,
                 beacon::gossip::ByteView b) override {
    return m ? m->OnStream(now, from, b) : Bytes{};
  }
  void OnStreamReply(std::uint64_t now, std::uint64_t token, std::optional<Bytes> r) override {
    if (m) m->OnStreamReply(now, token, std::move(r));
  }
  void OnStreamError(std::uint64_t now, std::uint64_t token, std::string error) override {
    std::printf("stream-error token=%llu %s\n", static_cast<unsigned long long>(token),
                error.c_str());
    std::fflush(stdout);
    OnStreamReply(now, token, std::nullopt);
  }
  std::vector<beacon::gossip::OutPacket> TakePackets() override {
    return m ? m->TakePackets() : std::vector<beacon::gossip::OutPacket>{};
  }
  std::vector<beacon::gossip::OutStream> TakeStreams() override {
    return m ? m->TakeStreams() : std::vector<beacon::gossip::OutStream>{};
  }
  std::uint64_t NextDeadline() const override { return m ? m->NextDeadline() : UINT64_MAX; }
  void AfterInput(std::uint64_t) override {
    if (!m) return;
    m->TakeEvents();
    std::string line;
    for (const beacon::gossip::Member& mem : m->Members()) {
      line +=
          (line.empty() ? "" : ",") + mem.name + ":" + std::to_string(static_cast<int>(mem.state));
    }
    std::lock_guard<std::mutex> l(mu_);
    members_ = line;
  }
  std::string members() {
    std::lock_guard<std::mutex> l(mu_);
    return members_;
  }

 private:
  std::mutex mu_;
  std::string members_;
};

bool ParseHostPort(const std::string& s, beacon::gossip::Endpoint* out) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  in_addr a{};
  if (inet_pton(AF_INET, s.substr(0, colon).c_str(), &a) != 1) return false;
  const auto* b = reinterpret_cast<const std::uint8_t*>(&a);
  out->ip.assign(b, b + 4);
  out->port = static_cast<std::uint16_t>(std::atoi(s.c_str() + colon + 1));
  return out->port != 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string node;
  std::optional<beacon::gossip::Endpoint> join;
  long ms = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--node") {
      node = argv[i + 1];
    } else if (k == "--join") {
      beacon::gossip::Endpoint e;
      if (!ParseHostPort(argv[i + 1], &e)) return 2;
      join = e;
    } else if (k == "--ms") {
      ms = std::atol(argv[i + 1]);
    } else {
      return 2;
    }
  }
  if (node.empty()) return 2;

  beacon::Logger log(beacon::LogLevel::kInfo);
  ProbeCore core;
  beacon::net::GossipTransportOptions opts;
  opts.port = 0;
  beacon::net::GossipTransport t(opts, core, log);
  const beacon::Status st = t.Start();
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.message().c_str());
    return 2;
  }
  const auto port = static_cast<std::uint16_t>(t.port());
  t.Post([&core, &node, port, join](std::uint64_t now) {
    core.m.emplace(beacon::gossip::MembershipConfig{}, node, Bytes{127, 0, 0, 1}, port, Bytes{},
                   std::hash<std::string>{}(node), now);
    if (join) core.m->Join(now, {*join});
  });
  std::printf("listening port=%d\n", port);
  std::fflush(stdout);
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::printf("members %s\n", core.members().c_str());
    std::fflush(stdout);
  }
  t.Stop();
  const beacon::net::GossipStats s = t.stats();
  std::printf(
      "stats packets_in=%llu packets_out=%llu streams_in=%llu streams_out=%llu "
      "stream_errors=%llu dropped=%llu\n",
      static_cast<unsigned long long>(s.packets_in), static_cast<unsigned long long>(s.packets_out),
      static_cast<unsigned long long>(s.streams_in), static_cast<unsigned long long>(s.streams_out),
      static_cast<unsigned long long>(s.stream_errors), static_cast<unsigned long long>(s.dropped));
  return 0;
}
