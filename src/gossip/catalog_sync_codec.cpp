// The catalog sync messages on the wire (catalog_sync_wire.h): a type byte, then a msgpack map.
#include <string>
#include <utility>

#include "beacon/core/hash.h"
#include "beacon/core/strings.h"
#include "beacon/gossip/catalog_sync_wire.h"
#include "catalog_codec.h"

namespace beacon::gossip::catsync {
namespace {

using catcodec::Fields;
using catcodec::ReadArray;
using catcodec::ReadMap;

using Versions = std::vector<std::pair<std::string, std::uint64_t>>;

void WriteVersions(mp::Writer& w, const Versions& v) {
  w.map(v.size());
  for (const auto& [origin, version] : v) {
    w.str(origin);
    w.uint(version);
  }
}

bool ReadVersions(mp::Reader& r, Versions& v) {
  return ReadMap(r, [&](const std::string& origin) {
    auto& e = v.emplace_back(origin, 0);
    return r.read_uint(e.second);
  });
}

MsgType TypeOf(const Message& m) {
  return static_cast<MsgType>(static_cast<std::uint8_t>(MsgType::kDelta) + m.index());
}

}  // namespace

std::uint64_t SumOf(const Versions& sorted_versions) {
  std::uint64_t h = core::kFnv64Offset;
  for (const auto& [origin, version] : sorted_versions) {
    h = core::Fnv1a64(origin, h);
    std::uint8_t v[9] = {0};  // a 0 separator, then the version little-endian
    for (int i = 0; i < 8; ++i) v[i + 1] = static_cast<std::uint8_t>(version >> (8 * i));
    h = core::Fnv1a64(v, sizeof v, h);
  }
  return h;
}

Bytes Encode(const Message& m) {
  Bytes out;
  out.push_back(static_cast<std::uint8_t>(TypeOf(m)));
  mp::Writer w(out);
  Fields f;
  if (const auto* x = std::get_if<Delta>(&m)) {
    f.Str("S", x->sender);
    f.Uint("F", x->from_version);
    f.Uint("V", x->change.version);
    catcodec::WriteOp(f.Key("Op"), x->change.op);
  } else if (const auto* x = std::get_if<RecordMsg>(&m)) {
    f.Str("S", x->sender);
    catcodec::WriteRecord(f.Key("R"), x->record);
  } else if (const auto* x = std::get_if<Announce>(&m)) {
    f.Str("S", x->sender);
    f.Str("O", x->origin);
    f.Uint("V", x->version);
  } else if (const auto* x = std::get_if<Digest>(&m)) {
    f.Str("S", x->sender);
    WriteVersions(f.Key("D"), x->versions);
  } else if (const auto* x = std::get_if<Pull>(&m)) {
    f.Str("S", x->sender);
    mp::Writer& o = f.Key("O");
    o.array(x->origins.size());
    for (const auto& s : x->origins) o.str(s);
  } else if (const auto* x = std::get_if<Records>(&m)) {
    f.Str("S", x->sender);
    mp::Writer& rs = f.Key("R");
    rs.array(x->records.size());
    for (const auto& rec : x->records) catcodec::WriteRecord(rs, rec);
    if (!x->removed.empty()) WriteVersions(f.Key("T"), x->removed);
  } else if (const auto* x = std::get_if<DigestSum>(&m)) {
    f.Str("S", x->sender);
    f.Uint("H", x->hash);
    f.Uint("N", x->count);
  }
  f.Finish(w);
  return out;
}

Result<Message> Decode(ByteView msg) {
  if (msg.empty()) return Status::Error("catalog sync: empty message");
  const std::uint8_t type = msg[0];
  mp::Reader r(msg.subspan(1));
  Message m;
  bool ok = false;
  switch (static_cast<MsgType>(type)) {
    case MsgType::kDelta: {
      Delta d;
      bool has_op = false;
      ok = ReadMap(r, [&](const std::string& k) {
        if (k == "S") return r.read_str(d.sender);
        if (k == "F") return r.read_uint(d.from_version);
        if (k == "V") return r.read_uint(d.change.version);
        if (k == "Op") return has_op = catcodec::ReadOp(r, d.change.op);
        return r.skip();
      });
      if (ok && !has_op) ok = r.fail("delta without an op");
      if (ok) d.change.origin = core::Lower(catalog::NodeOf(d.change.op));
      m = std::move(d);
      break;
    }
    case MsgType::kRecord: {
      RecordMsg x;
      bool has = false;
      ok = ReadMap(r, [&](const std::string& k) {
        if (k == "S") return r.read_str(x.sender);
        if (k == "R") return has = catcodec::ReadRecord(r, x.record);
        return r.skip();
      });
      if (ok && !has) ok = r.fail("record message without a record");
      m = std::move(x);
      break;
    }
    case MsgType::kAnnounce: {
      Announce x;
      ok = ReadMap(r, [&](const std::string& k) {
        if (k == "S") return r.read_str(x.sender);
        if (k == "O") return r.read_str(x.origin);
        if (k == "V") return r.read_uint(x.version);
        return r.skip();
      });
      m = std::move(x);
      break;
    }
    case MsgType::kDigest: {
      Digest x;
      ok = ReadMap(r, [&](const std::string& k) {
        if (k == "S") return r.read_str(x.sender);
        if (k == "D") return ReadVersions(r, x.versions);
        return r.skip();
      });
      m = std::move(x);
      break;
    }
    case MsgType::kPull: {
      Pull x;
      ok = ReadMap(r, [&](const std::string& k) {
        if (k == "S") return r.read_str(x.sender);
        if (k == "O") return catcodec::ReadStrList(r, x.origins);
        return r.skip();
      });
      m = std::move(x);
      break;
    }
    case MsgType::kRecords: {
      Records x;
      ok = ReadMap(r, [&](const std::string& k) {
        if (k == "S") return r.read_str(x.sender);
        if (k == "R") {
          return ReadArray(r, [&] { return catcodec::ReadRecord(r, x.records.emplace_back()); });
        }
        if (k == "T") return ReadVersions(r, x.removed);
        return r.skip();
      });
      m = std::move(x);
      break;
    }
    case MsgType::kDigestSum: {
      DigestSum x;
      ok = ReadMap(r, [&](const std::string& k) {
        if (k == "S") return r.read_str(x.sender);
        if (k == "H") return r.read_uint(x.hash);
        if (k == "N") return r.read_uint(x.count);
        return r.skip();
      });
      m = std::move(x);
      break;
    }
    default:
      return Status::Error("catalog sync: unknown message type " + std::to_string(type));
  }
  if (!ok) {
    return Status::Error("catalog sync: " +
                         (r.error().empty() ? std::string("bad value") : r.error()));
  }
  if (r.remaining() != 0) return Status::Error("catalog sync: trailing bytes");
  return m;
}

}  // namespace beacon::gossip::catsync
