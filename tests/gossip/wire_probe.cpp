// wire_probe: speaks memberlist/Serf to a real peer with Beacon's gossip codec, for the interop
// test (tests/integration/test_serf_wire.py). Loopback test tool, not part of the agent.
//
//   wire_probe ping --to HOST:PORT --node NAME [--key B64]... [--recv-key B64]... [--enc-version V]
//   wire_probe join --to HOST:PORT --node NAME --port P [--tag K=V]... [--key B64]...
//                   [--recv-key B64]... [--enc-version V]
//   wire_probe indirect --to HOST:PORT --node TARGET --port TARGET_PORT [--nack 1]
//   wire_probe leave --to HOST:PORT --node NAME [--ltime N] [--event NAME=PAYLOAD] [--compress 1]
//   wire_probe listen --bind HOST:PORT --node NAME [--answer-query NAME=PAYLOAD] [--ms N]
//                     [--key B64]...
//
// `ping` sends a UDP ping and prints the decoded ack; `join` sends a join push-pull carrying one
// alive node and prints the decoded answer, one "node ..." line per node and one "serf ..." line;
// `indirect` asks the peer to probe a node on 127.0.0.1 for us and prints its ack or nack.
// --key encrypts (first key is the primary); --recv-key, when given, replaces the keyring used to
// decode the answer; --enc-version 0 seals with memberlist's legacy padded format. Every wait
// times out after 5 s. `listen` plays node NAME on a UDP port for --ms milliseconds: it acks
// pings (with a Vivaldi coordinate), prints every message it decodes and answers the named Serf
// query (probe_listen.cpp). `leave` sends, in one packet, a Serf user event, Serf's leave intent
// and memberlist's dead-by-itself message. --compress 1 LZW-compresses what join/leave send. Exit 0
// on success, 1 with "error: ..." else.
#include <chrono>
#include <thread>

#include "beacon/gossip/coordinate_wire.h"
#include "probe.h"

using namespace probe;

namespace {

std::optional<Args> parse(int argc, char** argv) {
  if (argc < 2) return std::nullopt;
  Args a;
  a.cmd = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string_view f = argv[i];
    std::string v = argv[i + 1];
    if (f == "--to") {
      auto colon = v.rfind(':');
      if (colon == std::string::npos) return std::nullopt;
      a.host = v.substr(0, colon);
      a.to_port = static_cast<std::uint16_t>(std::stoi(v.substr(colon + 1)));
    } else if (f == "--node") {
      a.node = v;
    } else if (f == "--port") {
      a.port = static_cast<std::uint16_t>(std::stoi(v));
    } else if (f == "--tag") {
      auto eq = v.find('=');
      if (eq == std::string::npos) return std::nullopt;
      a.tags[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (f == "--key") {
      a.keys.push_back(v);
    } else if (f == "--enc-version") {
      a.enc_version = static_cast<std::uint8_t>(std::stoi(v));
    } else if (f == "--bind") {
      auto colon = v.rfind(':');
      if (colon == std::string::npos) return std::nullopt;
      a.host = v.substr(0, colon);
      a.port = static_cast<std::uint16_t>(std::stoi(v.substr(colon + 1)));
    } else if (f == "--answer-query") {
      auto eq = v.find('=');
      if (eq == std::string::npos) return std::nullopt;
      a.answer_query = v.substr(0, eq);
      a.answer_payload = v.substr(eq + 1);
    } else if (f == "--nack") {
      a.nack = v == "1";
    } else if (f == "--compress") {
      a.compress = v == "1";
    } else if (f == "--ltime") {
      a.ltime = std::stoull(v);
    } else if (f == "--event") {
      auto eq = v.find('=');
      if (eq == std::string::npos) return std::nullopt;
      a.event_name = v.substr(0, eq);
      a.event_payload = v.substr(eq + 1);
    } else if (f == "--dump") {
      a.dump = v;
    } else if (f == "--ms") {
      a.ms = std::stoi(v);
    } else if (f == "--recv-key") {
      a.recv_keys.push_back(v);
    } else {
      return std::nullopt;
    }
  }
  return a;
}

int do_ping(const Args& a, const Keyring* send_ring, const Keyring* recv_ring) {
  Fd fd(socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in local = addr_of("127.0.0.1", 0);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
    return fail("bind: " + std::string(std::strerror(errno)));
  const std::uint32_t seq = 4242;
  Bytes n = nonce();
  // `indirect`: ask the peer to probe node --node at 127.0.0.1:--port for us.
  Bytes msg = a.cmd == "indirect"
                  ? Encode(IndirectPing{seq, {127, 0, 0, 1}, a.port, a.node, a.nack, {}, 0, ""})
                  : Encode(Ping{seq, a.node, {}, 0, ""});
  auto pkt = PackPacket({msg}, PacketOptions{send_ring, n, false, a.enc_version});
  if (!pkt.ok()) return fail(pkt.status().message());
  sockaddr_in to = addr_of(a.host, a.to_port);
  if (sendto(fd.get(), pkt->data(), pkt->size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) <
      0)
    return fail("sendto: " + std::string(std::strerror(errno)));
  Bytes buf(65536);
  while (wait_readable(fd.get())) {
    ssize_t got = recv(fd.get(), buf.data(), buf.size(), 0);
    if (got <= 0) return fail("recv failed");
    dump_to(a.dump, ByteView(buf).first(static_cast<std::size_t>(got)));
    auto msgs = UnpackPacket(ByteView(buf).first(static_cast<std::size_t>(got)), recv_ring);
    if (!msgs.ok()) return fail(msgs.status().message());
    for (const Bytes& m : *msgs) {
      auto d = DecodeMessage(m);
      if (!d.ok()) return fail(d.status().message());
      if (const Nack* nack = std::get_if<Nack>(&*d); nack != nullptr && nack->seq_no == seq) {
        std::printf("nack seq=%u\n", nack->seq_no);
        return 0;
      }
      if (const Ack* ack = std::get_if<Ack>(&*d);
          ack != nullptr && ack->seq_no == seq && ack->payload.empty()) {
        std::printf("ack seq=%u payload_bytes=0 packet_messages=%zu\n", ack->seq_no, msgs->size());
        return 0;
      }
      if (const Ack* ack = std::get_if<Ack>(&*d); ack != nullptr && ack->seq_no == seq) {
        auto coord = DecodePingPayload(ack->payload);
        if (!coord.ok()) return fail(coord.status().message());
        std::printf(
            "ack seq=%u payload_bytes=%zu payload_version=%d coordinate_dims=%zu "
            "coordinate_error=%g packet_messages=%zu\n",
            ack->seq_no, ack->payload.size(), int(ack->payload[0]), coord->vec.size(), coord->error,
            msgs->size());
        return 0;
      }
    }
  }
  return fail("timed out waiting for the ack or nack");
}

// Reads one whole stream message, sized by StreamFrameSize (not by the peer closing).
Bytes read_frame(int fd, std::string& err) {
  Bytes out, buf(65536);
  for (;;) {
    auto size = StreamFrameSize(out);
    if (!size.ok()) {
      err = size.status().message();
      return out;
    }
    if (*size > 0) {
      out.resize(*size);
      return out;
    }
    if (!wait_readable(fd)) {
      err = "timed out reading the answer";
      return out;
    }
    ssize_t got = recv(fd, buf.data(), buf.size(), 0);
    if (got < 0) {
      err = std::string("recv: ") + std::strerror(errno);
      return out;
    }
    if (got == 0) {
      err = "stream closed before a whole message (" + std::to_string(out.size()) + " bytes)";
      return out;
    }
    out.insert(out.end(), buf.begin(), buf.begin() + got);
  }
}

int do_join(const Args& a, const Keyring* send_ring, const Keyring* recv_ring) {
  PushNodeState self{a.node, {127, 0, 0, 1},    a.port,    EncodeTags(a.tags),
                     1,      NodeState::kAlive, Versions{}};
  SerfPushPull sp;
  sp.ltime = 1;
  sp.status_ltimes = {{a.node, 1}};
  sp.event_ltime = 1;
  sp.query_ltime = 1;
  Bytes n = nonce();
  auto stream =
      SealStream(Encode(PushPull{true, {self}, EncodeSerf(sp)}), send_ring, n, a.enc_version);
  if (!stream.ok()) return fail(stream.status().message());

  Fd fd(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in to = addr_of(a.host, a.to_port);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0)
    return fail("connect: " + std::string(std::strerror(errno)));
  if (send(fd.get(), stream->data(), stream->size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(stream->size()))
    return fail("send failed");
  std::string err;
  Bytes answer = read_frame(fd.get(), err);
  if (!err.empty()) return fail(err);
  dump_to(a.dump, answer);
  auto plain = OpenStream(answer, recv_ring);
  if (!plain.ok()) return fail(plain.status().message());
  // What framing the peer chose: encrypted (10) or not, and whether it compressed (9).
  const bool encrypted = answer[0] == static_cast<std::uint8_t>(MsgType::kEncrypt);
  Result<Bytes> inner =
      encrypted ? decrypt(*recv_ring, ByteView(answer).subspan(5), ByteView(answer).first(5))
                : Result<Bytes>(answer);
  std::printf("answer bytes=%zu encrypted=%d version=%d compressed=%d\n", answer.size(), encrypted,
              encrypted ? int(answer[5]) : -1,
              inner.ok() && (*inner)[0] == static_cast<std::uint8_t>(MsgType::kCompress));
  if ((*plain)[0] == static_cast<std::uint8_t>(MsgType::kErr)) {
    auto e = DecodeErr(ByteView(*plain).subspan(1));
    return fail("remote error: " + (e.ok() ? e->error : e.status().message()));
  }
  if ((*plain)[0] != static_cast<std::uint8_t>(MsgType::kPushPull))
    return fail("unexpected message type " + std::to_string((*plain)[0]));
  auto pp = DecodePushPull(ByteView(*plain).subspan(1));
  if (!pp.ok()) return fail(pp.status().message());
  for (const PushNodeState& s : pp->nodes) {
    auto tags = DecodeTags(s.meta);
    if (!tags.ok()) return fail(tags.status().message());
    std::string tag_text;
    for (const auto& [k, v] : *tags) {
      if (!tag_text.empty()) tag_text += ',';
      tag_text.append(k).append("=").append(v);
    }
    std::printf(
        "node name=%s addr=%s port=%u state=%s incarnation=%u vsn=%d,%d,%d,%d,%d,%d tags=%s\n",
        s.name.c_str(), ip_string(s.addr).c_str(), s.port, state_name(s.state), s.incarnation,
        s.vsn.pmin, s.vsn.pmax, s.vsn.pcur, s.vsn.dmin, s.vsn.dmax, s.vsn.dcur, tag_text.c_str());
  }
  if (pp->user_state.empty() ||
      pp->user_state[0] != static_cast<std::uint8_t>(SerfMsgType::kPushPull))
    return fail("answer carries no Serf push-pull state");
  auto serf = DecodeSerfPushPull(ByteView(pp->user_state).subspan(1));
  if (!serf.ok()) return fail(serf.status().message());
  std::string members;
  for (const auto& [name, t] : serf->status_ltimes) {
    if (!members.empty()) members += ',';
    members.append(name).append(":").append(std::to_string(t));
  }
  std::size_t filled = 0;
  for (const auto& e : serf->events) filled += e.has_value() ? 1 : 0;
  std::printf(
      "serf join=%d ltime=%llu event_ltime=%llu query_ltime=%llu members=%s left=%zu "
      "event_slots=%zu events=%zu\n",
      pp->join, static_cast<unsigned long long>(serf->ltime),
      static_cast<unsigned long long>(serf->event_ltime),
      static_cast<unsigned long long>(serf->query_ltime), members.c_str(),
      serf->left_members.size(), serf->events.size(), filled);
  return 0;
}

// A graceful leave the way Serf does it: its leave intent (with a user event, when asked) in one
// packet, then, after a pause like Serf's LeavePropagateDelay, memberlist's dead message sent by
// the node about itself (which peers record as "left").
int do_leave(const Args& a, const Keyring* send_ring) {
  Fd fd(socket(AF_INET, SOCK_DGRAM, 0));
  std::vector<Bytes> intent;
  if (!a.event_name.empty()) {
    Bytes payload(a.event_payload.begin(), a.event_payload.end());
    intent.push_back(
        Encode(UserMsg{EncodeSerf(SerfUserEvent{a.ltime, a.event_name, payload, false})}));
  }
  intent.push_back(Encode(UserMsg{EncodeSerf(SerfLeave{a.ltime, a.node, false})}));
  const sockaddr_in to = addr_of(a.host, a.to_port);
  if (!send_packet(fd.get(), to, intent, send_ring, a.enc_version, a.compress))
    return fail("sendto failed");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  if (!send_packet(fd.get(), to, {Encode(Dead{1, a.node, a.node})}, send_ring, a.enc_version,
                   a.compress))
    return fail("sendto failed");
  std::printf("sent leave node=%s intent_messages=%zu compressed=%d\n", a.node.c_str(),
              intent.size(), a.compress);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Args> a = parse(argc, argv);
  const bool usable =
      a && ((a->cmd == "ping" && a->to_port != 0) ||
            (a->cmd == "join" && a->to_port != 0 && !a->node.empty() && a->port != 0) ||
            (a->cmd == "listen" && !a->node.empty() && a->port != 0) ||
            (a->cmd == "leave" && a->to_port != 0 && !a->node.empty()) ||
            (a->cmd == "indirect" && a->to_port != 0 && !a->node.empty() && a->port != 0));
  if (!usable) {
    std::fprintf(stderr,
                 "usage: wire_probe ping|join --to HOST:PORT --node NAME [--port P] "
                 "[--tag K=V] [--key B64] [--recv-key B64] [--enc-version V]\n"
                 "       wire_probe listen --bind HOST:PORT --node NAME "
                 "[--answer-query NAME=PAYLOAD] [--ms N] [--key B64]\n"
                 "       wire_probe indirect --to HOST:PORT --node NAME --port P [--nack 1]\n"
                 "       wire_probe leave --to HOST:PORT --node NAME [--ltime N] "
                 "[--event NAME=PAYLOAD] [--compress 1] [--key B64]\n");
    return 2;
  }
  std::string err;
  std::optional<Keyring> send_ring = ring_of(a->keys, err);
  std::optional<Keyring> recv_ring = ring_of(a->recv_keys.empty() ? a->keys : a->recv_keys, err);
  if (!err.empty()) return fail(err);
  const Keyring* s = send_ring ? &*send_ring : nullptr;
  const Keyring* r = recv_ring ? &*recv_ring : nullptr;
  if (a->cmd == "listen") return do_listen(*a, s, r);
  if (a->cmd == "leave") return do_leave(*a, s);
  return a->cmd == "join" ? do_join(*a, s, r) : do_ping(*a, s, r);
}
