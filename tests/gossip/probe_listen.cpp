// wire_probe listen: plays one memberlist/Serf node on a UDP port. Acks pings with a Vivaldi
// coordinate, answers one named Serf query (ack + response), prints each decoded message as a
// line ("ping ...", "alive ...", "serf-query ...") and flushes it, so a test can read the file
// while this runs. Any message that fails to decode ends the run with "error: ...".
#include <chrono>
#include <set>
#include <variant>

#include "beacon/gossip/coordinate_wire.h"
#include "probe.h"

namespace probe {

namespace {

struct Listener {
  const Args& a;
  int fd;
  const Keyring* send_ring;
  int pings = 0, queries = 0, answered = 0;
  std::set<std::uint32_t> answered_ids;  // gossip delivers a query several times

  void line(const std::string& text) {
    std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  }

  bool on_ping(const Ping& p, const sockaddr_in& from) {
    line("ping seq=" + std::to_string(p.seq_no) + " node=" + p.node);
    if (!p.node.empty() && p.node != a.node) return true;  // not for us: memberlist ignores it
    sockaddr_in to = from;
    if (p.source_addr.size() == 4 && p.source_port != 0) {
      std::memcpy(&to.sin_addr, p.source_addr.data(), 4);
      to.sin_port = htons(p.source_port);
    }
    ++pings;
    return send_packet(fd, to, {Encode(Ack{p.seq_no, EncodePingPayload(OriginCoordinate())})},
                       send_ring);
  }

  bool on_query(const SerfQuery& q) {
    ++queries;
    line("serf-query name=" + q.name + " id=" + std::to_string(q.id) +
         " ltime=" + std::to_string(q.ltime) + " from=" + q.source_node +
         " reply_to=" + ip_string(q.addr) + ":" + std::to_string(q.port) +
         " flags=" + std::to_string(q.flags) + " timeout_ns=" + std::to_string(q.timeout_ns));
    if (q.name != a.answer_query || q.addr.size() != 4 || !answered_ids.insert(q.id).second)
      return true;
    sockaddr_in to = addr_of(ip_string(q.addr), q.port);
    std::vector<Bytes> replies;
    if (q.flags & 1u)
      replies.push_back(EncodeSerf(SerfQueryResponse{q.ltime, q.id, a.node, 1, {}}));
    Bytes payload(a.answer_payload.begin(), a.answer_payload.end());
    replies.push_back(EncodeSerf(SerfQueryResponse{q.ltime, q.id, a.node, 0, payload}));
    for (const Bytes& r : replies)
      if (!send_packet(fd, to, {Encode(UserMsg{r})}, send_ring)) return false;
    ++answered;
    line("answered query=" + q.name + " responses=" + std::to_string(replies.size()));
    return true;
  }

  // Returns an error text, or "" when the message decoded.
  std::string on_message(const Bytes& m, const sockaddr_in& from) {
    auto d = DecodeMessage(m);
    if (!d.ok()) return d.status().message();
    if (const auto* p = std::get_if<Ping>(&*d)) return on_ping(*p, from) ? "" : "ack send failed";
    if (const auto* al = std::get_if<Alive>(&*d)) {
      auto tags = DecodeTags(al->meta);
      if (!tags.ok()) return tags.status().message();
      line("alive node=" + al->node + " incarnation=" + std::to_string(al->incarnation) +
           " addr=" + ip_string(al->addr) + ":" + std::to_string(al->port) +
           " tags=" + std::to_string(tags->size()));
    } else if (const auto* s = std::get_if<Suspect>(&*d)) {
      line("suspect node=" + s->node + " from=" + s->from);
    } else if (const auto* de = std::get_if<Dead>(&*d)) {
      line("dead node=" + de->node + " from=" + de->from);
    } else if (const auto* ip = std::get_if<IndirectPing>(&*d)) {
      line("indirect-ping seq=" + std::to_string(ip->seq_no) + " node=" + ip->node);
    } else if (const auto* u = std::get_if<UserMsg>(&*d)) {
      auto sm = DecodeSerf(u->payload);
      if (!sm.ok()) return sm.status().message();
      if (const auto* q = std::get_if<SerfQuery>(&*sm)) return on_query(*q) ? "" : "reply failed";
      if (const auto* j = std::get_if<SerfJoin>(&*sm)) {
        line("serf-join node=" + j->node + " ltime=" + std::to_string(j->ltime));
      } else if (const auto* l = std::get_if<SerfLeave>(&*sm)) {
        line("serf-leave node=" + l->node + " ltime=" + std::to_string(l->ltime));
      } else if (const auto* e = std::get_if<SerfUserEvent>(&*sm)) {
        line("serf-event name=" + e->name + " ltime=" + std::to_string(e->ltime));
      } else {
        line("serf-message type=" + std::to_string(u->payload[0]));
      }
    } else {
      line("message type=" + std::to_string(m[0]));
    }
    return "";
  }
};

}  // namespace

int do_listen(const Args& a, const Keyring* send_ring, const Keyring* recv_ring) {
  Fd fd(socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in local = addr_of(a.host, a.port);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
    return fail("bind: " + std::string(std::strerror(errno)));
  Listener l{a, fd.get(), send_ring};
  l.line("listening port=" + std::to_string(a.port));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(a.ms);
  Bytes buf(65536);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !wait_readable(fd.get(), static_cast<int>(left.count()))) break;
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    ssize_t got = recvfrom(fd.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from),
                           &from_len);
    if (got <= 0) return fail("recvfrom failed");
    auto msgs = UnpackPacket(ByteView(buf).first(static_cast<std::size_t>(got)), recv_ring);
    if (!msgs.ok()) return fail(msgs.status().message());
    for (const Bytes& m : *msgs) {
      std::string err = l.on_message(m, from);
      if (!err.empty()) return fail(err);
    }
  }
  l.line("summary pings=" + std::to_string(l.pings) + " queries=" + std::to_string(l.queries) +
         " answered=" + std::to_string(l.answered));
  return 0;
}

}  // namespace probe
