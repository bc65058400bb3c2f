// libFuzzer target: any bytes as a DNS query, through parsing and the whole answer path, over
// UDP and TCP budgets, against a small catalog. Must never crash, hang, or write out of bounds.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "beacon/catalog/hub.h"
#include "beacon/catalog/writer.h"
#include "beacon/dns/answer.h"
#include "beacon/dns/wire.h"

namespace {

struct Fixture {
  beacon::catalog::SnapshotHub hub;
  beacon::catalog::SnapshotPtr snap;
  beacon::dns::Scratch scratch{1};
  std::vector<uint8_t> out = std::vector<uint8_t>(beacon::dns::kMaxMessage);

  Fixture() {
    using namespace beacon::catalog;
    beacon::catalog::DnsSettings dns;
    dns.alt_domain = "alt.";
    dns.enable_truncate = true;
    Writer w(hub, "server1", "dc1", dns);
    const char* addrs[] = {"127.0.0.1", "::1", "host.example.com", "", "10.0.0.5"};
    for (int i = 0; i < 20; ++i) {
      Node n;
      n.name = "node" + std::to_string(i);
      n.address = addrs[i % 5];
      n.meta["k"] = "v`=" + std::to_string(i);
      w.UpsertNode(n);
      Service s;
      s.name = i % 2 ? "web" : "db";
      s.id = s.name + std::to_string(i);
      s.port = static_cast<uint16_t>(80 + i);
      s.tags = {"primary", "v1.x"};
      s.address = addrs[(i + 2) % 5];
      (void)w.UpsertService(n.name, s, {});
    }
    w.Publish(true);
    snap = hub.Current();
  }
};

// A failed expectation aborts the run, which the fuzzer (and the replay test) report as a crash.
void Expect(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* f = new Fixture();  // built once per fuzzing process
  beacon::dns::Counters c;
  for (auto t : {beacon::dns::Transport::kUdp, beacon::dns::Transport::kTcp}) {
    // Copy into an exact-size buffer so ASan sees any read past the end.
    std::vector<uint8_t> pkt(data, data + size);
    const size_t cap = t == beacon::dns::Transport::kUdp ? 4096 : f->out.size();
    auto r =
        beacon::dns::Answer(*f->snap, pkt.data(), pkt.size(), t, f->out.data(), cap, f->scratch, c);
    if (r.action != beacon::dns::AnswerResult::kReply) continue;
    // Every reply is a response to this query: a whole header, QR set, the ID echoed, in bounds.
    Expect(r.len >= 12 && r.len <= cap);
    Expect((f->out[2] & 0x80) != 0);
    Expect(size >= 2 && f->out[0] == data[0] && f->out[1] == data[1]);
  }
  return 0;
}
