#include "beacon/gossip/envelope.h"

#include <array>

#include "struct_codec.h"

namespace beacon::gossip {

namespace {
constexpr int kMaxNesting = 4;  // wrappers inside wrappers (compress in compound in CRC ...)
constexpr std::size_t kMaxStream = 20u << 20;  // memberlist's maxPushStateBytes

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = make_crc_table();

void put_be32(Bytes& out, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint32_t get_be32(ByteView b) {
  return static_cast<std::uint32_t>(b[0]) << 24 | static_cast<std::uint32_t>(b[1]) << 16 |
         static_cast<std::uint32_t>(b[2]) << 8 | b[3];
}

Status unpack_into(ByteView msg, int depth, std::vector<Bytes>& out) {
  if (depth > kMaxNesting) return Status::Error("packet: wrappers nested too deep");
  if (msg.empty()) return Status::Error("packet: empty message");
  switch (static_cast<MsgType>(msg[0])) {
    case MsgType::kHasCrc: {
      Result<ByteView> inner = CheckCrc(msg);
      if (!inner.ok()) return inner.status();
      return unpack_into(*inner, depth + 1, out);
    }
    case MsgType::kCompress: {
      Result<Bytes> inner = Decompress(msg.subspan(1));
      if (!inner.ok()) return inner.status();
      return unpack_into(*inner, depth + 1, out);
    }
    case MsgType::kCompound: {
      Result<CompoundParts> parts = SplitCompound(msg.subspan(1));
      if (!parts.ok()) return parts.status();
      for (ByteView p : parts->parts) {
        Status st = unpack_into(p, depth + 1, out);
        if (!st.ok()) return st;
      }
      return Status::Ok();
    }
    case MsgType::kEncrypt:
      return Status::Error("packet: nested encryption");
    default:
      out.emplace_back(msg.begin(), msg.end());
      return Status::Ok();
  }
}
}  // namespace

Result<Bytes> MakeCompound(const std::vector<Bytes>& msgs) {
  if (msgs.size() > 255) return Status::Error("compound: more than 255 messages");
  Bytes out{static_cast<std::uint8_t>(MsgType::kCompound), static_cast<std::uint8_t>(msgs.size())};
  for (const Bytes& m : msgs) {
    if (m.size() > 0xffff) return Status::Error("compound: a message exceeds 65535 bytes");
    out.push_back(static_cast<std::uint8_t>(m.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(m.size()));
  }
  for (const Bytes& m : msgs) out.insert(out.end(), m.begin(), m.end());
  return out;
}

Result<CompoundParts> SplitCompound(ByteView body) {
  if (body.empty()) return Status::Error("compound: missing length byte");
  std::size_t count = body[0];
  body = body.subspan(1);
  if (body.size() < 2 * count) return Status::Error("compound: truncated length table");
  CompoundParts out;
  ByteView rest = body.subspan(2 * count);
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t len = static_cast<std::size_t>(body[2 * i]) << 8 | body[2 * i + 1];
    if (rest.size() < len) {
      out.truncated = count - i;
      break;
    }
    out.parts.push_back(rest.first(len));
    rest = rest.subspan(len);
  }
  return out;
}

std::uint32_t Crc32Ieee(ByteView data) {
  std::uint32_t c = 0xffffffffu;
  for (std::uint8_t b : data) c = kCrcTable[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

Bytes AddCrc(ByteView msg) {
  Bytes out{static_cast<std::uint8_t>(MsgType::kHasCrc)};
  put_be32(out, Crc32Ieee(msg));
  out.insert(out.end(), msg.begin(), msg.end());
  return out;
}

Result<ByteView> CheckCrc(ByteView packet) {
  if (packet.size() < 5 || packet[0] != static_cast<std::uint8_t>(MsgType::kHasCrc))
    return Status::Error("crc: not a CRC-wrapped message");
  ByteView inner = packet.subspan(5);
  if (Crc32Ieee(inner) != get_be32(packet.subspan(1, 4)))
    return Status::Error("crc: checksum mismatch");
  return inner;
}

Bytes compress(ByteView msg) {
  Bytes out{static_cast<std::uint8_t>(MsgType::kCompress)};
  mp::Writer w(out);
  w.map(2);
  w.key("Algo").uint(0);
  w.key("Buf").bytes(LzwEncode(msg));
  return out;
}

Result<Bytes> Decompress(ByteView body) {
  mp::Reader r(body);
  std::uint64_t algo = 0;
  Bytes buf;
  Status st = mp::read_struct(r, "compress", [&](const std::string& k) {
    if (k == "Algo") return r.read_uint(algo);
    if (k == "Buf") return r.read_bytes(buf);
    return r.skip();
  });
  if (!st.ok()) return st;
  if (algo != 0) return Status::Error("compress: unknown algorithm " + std::to_string(algo));
  Result<Bytes> plain = LzwDecode(buf, kMaxStream);
  if (!plain.ok()) return plain.status();
  if (plain->empty()) return Status::Error("compress: empty payload");
  return plain;
}

Result<Bytes> AddLabel(std::string_view label, ByteView data) {
  if (label.size() > 255) return Status::Error("label: longer than 255 bytes");
  Bytes out;
  if (!label.empty()) {
    out = {kHasLabel, static_cast<std::uint8_t>(label.size())};
    out.insert(out.end(), label.begin(), label.end());
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Result<Labeled> StripLabel(ByteView data) {
  if (data.empty() || data[0] != kHasLabel) return Labeled{"", data};
  if (data.size() < 2) return Status::Error("label: truncated header");
  std::size_t n = data[1];
  if (n == 0) return Status::Error("label: empty label in a label header");
  if (data.size() < 2 + n) return Status::Error("label: truncated label");
  return Labeled{std::string(data.begin() + 2, data.begin() + 2 + static_cast<std::ptrdiff_t>(n)),
                 data.subspan(2 + n)};
}

namespace {
Result<ByteView> expect_label(ByteView data, std::string_view want, Labeled& holder) {
  Result<Labeled> l = StripLabel(data);
  if (!l.ok()) return l.status();
  if (l->label != want)
    return Status::Error("label: got \"" + l->label + "\", want \"" + std::string(want) + "\"");
  holder = std::move(*l);
  return holder.rest;
}

ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
}  // namespace

Result<Bytes> PackPacket(const std::vector<Bytes>& msgs, const PacketOptions& opt) {
  if (msgs.empty()) return Status::Error("packet: no messages");
  Bytes msg;
  if (msgs.size() == 1) {
    msg = msgs.front();
  } else {
    Result<Bytes> c = MakeCompound(msgs);
    if (!c.ok()) return c.status();
    msg = std::move(*c);
  }
  if (opt.compress) msg = compress(msg);
  if (opt.crc) msg = AddCrc(msg);
  if (opt.keyring != nullptr) {
    Result<Bytes> sealed =
        encrypt(opt.version, opt.keyring->primary(), msg, as_bytes(opt.label), opt.nonce);
    if (!sealed.ok()) return sealed.status();
    msg = std::move(*sealed);
  }
  return AddLabel(opt.label, msg);
}

Result<std::vector<Bytes>> UnpackPacket(ByteView packet, const Keyring* keyring,
                                        std::string_view label, bool verify_incoming) {
  Labeled holder;
  Result<ByteView> body = expect_label(packet, label, holder);
  if (!body.ok()) return body.status();
  packet = *body;
  Bytes plain;
  if (keyring != nullptr) {
    Result<Bytes> d = decrypt(*keyring, packet, as_bytes(label));
    if (d.ok()) {
      plain = std::move(*d);
      packet = plain;
    } else if (verify_incoming) {
      return d.status();
    }  // else: memberlist reads it as plaintext (a rolling upgrade to encryption)
  }
  std::vector<Bytes> out;
  Status st = unpack_into(packet, 0, out);
  if (!st.ok()) return st;
  return out;
}

Result<Bytes> SealStream(ByteView msg, const Keyring* keyring, ByteView nonce, std::uint8_t version,
                         std::string_view label) {
  if (keyring == nullptr) return AddLabel(label, msg);
  // The header announces the sealed length (version + nonce + ciphertext [+ padding] + tag).
  std::size_t padding = version == 0 ? 16 - msg.size() % 16 : 0;
  Bytes head{static_cast<std::uint8_t>(MsgType::kEncrypt)};
  put_be32(head, static_cast<std::uint32_t>(1 + kNonceSize + msg.size() + padding + 16));
  // Additional data: the 5-byte header, then the label.
  Bytes aad = head;
  aad.insert(aad.end(), label.begin(), label.end());
  Result<Bytes> sealed = encrypt(version, keyring->primary(), msg, aad, nonce);
  if (!sealed.ok()) return sealed.status();
  head.insert(head.end(), sealed->begin(), sealed->end());
  return AddLabel(label, head);
}

Result<Bytes> OpenStream(ByteView stream, const Keyring* keyring, std::string_view label,
                         bool verify_incoming) {
  Labeled holder;
  Result<ByteView> body = expect_label(stream, label, holder);
  if (!body.ok()) return body.status();
  stream = *body;
  if (stream.empty()) return Status::Error("stream: empty");
  Bytes plain;
  if (stream[0] == static_cast<std::uint8_t>(MsgType::kEncrypt)) {
    if (keyring == nullptr)
      return Status::Error("stream: remote state is encrypted and encryption is not configured");
    if (stream.size() < 5) return Status::Error("stream: truncated encryption header");
    std::uint32_t len = get_be32(stream.subspan(1, 4));
    if (len > kMaxStream) return Status::Error("stream: encrypted state larger than the limit");
    if (stream.size() - 5 < len)
      return Status::Error("stream: truncated (" + std::to_string(stream.size() - 5) + " of " +
                           std::to_string(len) + " bytes)");
    Bytes aad(stream.begin(), stream.begin() + 5);
    aad.insert(aad.end(), label.begin(), label.end());
    Result<Bytes> d = decrypt(*keyring, stream.subspan(5, len), aad);
    if (!d.ok()) return d.status();
    if (d->empty()) return Status::Error("stream: empty decrypted message");
    plain = std::move(*d);
  } else if (keyring != nullptr && verify_incoming) {
    return Status::Error("stream: encryption is configured but remote state is not encrypted");
  } else {
    plain.assign(stream.begin(), stream.end());
  }
  if (plain[0] == static_cast<std::uint8_t>(MsgType::kCompress))
    return Decompress(ByteView(plain).subspan(1));
  return plain;
}

namespace {
// Size of one plain stream message (type byte first); 0 when truncated.
Result<std::size_t> plain_frame_size(ByteView m) {
  mp::Reader r(m.subspan(1));
  auto outcome = [&](bool ok, std::uint64_t tail) -> Result<std::size_t> {
    if (!ok) {
      if (r.truncated()) return std::size_t{0};
      return Status::Error("stream frame: " + r.error());
    }
    if (tail > r.remaining()) return std::size_t{0};
    return 1 + r.pos() + static_cast<std::size_t>(tail);
  };
  switch (static_cast<MsgType>(m[0])) {
    case MsgType::kPushPull: {
      std::uint64_t nodes = 0, user_len = 0;
      bool join = false;
      Status st = mp::read_struct(r, "push-pull header", [&](const std::string& k) {
        if (k == "Nodes") return r.read_uint(nodes);
        if (k == "UserStateLen") return r.read_uint(user_len);
        if (k == "Join") return r.read_bool(join);
        return r.skip();
      });
      bool ok = st.ok();
      if (ok && nodes > kMaxStream) return Status::Error("stream frame: node count over limit");
      for (std::uint64_t i = 0; ok && i < nodes; ++i) ok = r.skip();
      if (ok && user_len > kMaxStream) return Status::Error("stream frame: user state over limit");
      return outcome(ok, user_len);
    }
    case MsgType::kUser: {
      std::uint64_t len = 0;
      Status st = mp::read_struct(r, "user message header", [&](const std::string& k) {
        if (k == "UserMsgLen") return r.read_uint(len);
        return r.skip();
      });
      if (st.ok() && len > kMaxStream)
        return Status::Error("stream frame: user message over limit");
      return outcome(st.ok(), len);
    }
    case MsgType::kPing:
    case MsgType::kAck:
    case MsgType::kErr:
    case MsgType::kCompress:
      return outcome(r.skip(), 0);
    default:
      return Status::Error("stream frame: message type " + std::to_string(m[0]) +
                           " is not sent over a stream");
  }
}
}  // namespace

Result<std::size_t> StreamFrameSize(ByteView buffered) {
  std::size_t off = 0;
  if (buffered.empty()) return std::size_t{0};
  if (buffered[0] == kHasLabel) {
    if (buffered.size() < 2) return std::size_t{0};
    if (buffered[1] == 0) return Status::Error("label: empty label in a label header");
    off = 2 + std::size_t{buffered[1]};
    if (buffered.size() <= off) return std::size_t{0};
  }
  ByteView m = buffered.subspan(off);
  if (m[0] == static_cast<std::uint8_t>(MsgType::kEncrypt)) {
    if (m.size() < 5) return std::size_t{0};
    std::uint32_t len = get_be32(m.subspan(1, 4));
    if (len > kMaxStream) return Status::Error("stream: encrypted state larger than the limit");
    return m.size() - 5 < len ? std::size_t{0} : off + 5 + len;
  }
  Result<std::size_t> n = plain_frame_size(m);
  if (!n.ok() || *n == 0) return n;
  return off + *n;
}

}  // namespace beacon::gossip
