// The snapshot file format (see kv/snapshot.h): writer, verifying reader, inspect statistics.
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_set>

#include "beacon/kv/snapshot.h"

namespace beacon::kv {
namespace {

constexpr char kSnapshotMagic[8] = {'B', 'C', 'N', 'S', 'N', 'A', 'P', '\n'};
constexpr size_t kChunk = size_t{1} << 20;

void PutU32(std::string& b, uint32_t v) {
  char c[4];
  for (int i = 0; i < 4; ++i) c[i] = static_cast<char>(v >> (8 * i));
  b.append(c, 4);
}
void PutU64(std::string& b, uint64_t v) {
  char c[8];
  for (int i = 0; i < 8; ++i) c[i] = static_cast<char>(v >> (8 * i));
  b.append(c, 8);
}
void PutStr(std::string& b, std::string_view s) {
  PutU32(b, static_cast<uint32_t>(s.size()));
  b.append(s);
}

// Bounds-checked little-endian reads over one payload; the first overrun sets bad.
struct Reader {
  std::string_view d;
  bool bad = false;
  bool Need(size_t n) {
    if (bad || d.size() < n) bad = true;
    return !bad;
  }
  uint64_t U(int bytes) {
    if (!Need(static_cast<size_t>(bytes))) return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<unsigned char>(d[i])} << (8 * i);
    d.remove_prefix(static_cast<size_t>(bytes));
    return v;
  }
  uint64_t U64() { return U(8); }
  uint32_t U32() { return static_cast<uint32_t>(U(4)); }
  uint8_t U8() { return static_cast<uint8_t>(U(1)); }
  std::string Str() {
    uint32_t n = U32();
    if (!Need(n)) return {};
    std::string s(d.substr(0, n));
    d.remove_prefix(n);
    return s;
  }
};

Status Corrupt(const std::string& why) {
  return Status::Error("invalid snapshot: " + why);
}

std::string Sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

struct Walked {
  SnapshotHeader header;
  std::vector<std::pair<SnapshotRecord, std::string_view>> records;  // without the End record
};

// Checks magic, version, digest and the record framing; records point into `file`.
Result<Walked> Walk(std::string_view file) {
  if (file.size() < 8 || std::memcmp(file.data(), kSnapshotMagic, 8) != 0) {
    return Corrupt("not a Beacon snapshot file (bad magic)");
  }
  if (file.size() < kSnapshotHeaderBytes + kSnapshotDigestBytes) {
    return Corrupt("file is truncated (" + std::to_string(file.size()) + " bytes)");
  }
  Walked w;
  Reader h{file.substr(8, kSnapshotHeaderBytes - 8)};
  w.header.version = h.U32();
  h.U32();
  w.header.index = h.U64();
  w.header.term = h.U64();
  w.header.created_ms = h.U64();
  if (w.header.version != kSnapshotVersion) {
    return Corrupt("unsupported format version " + std::to_string(w.header.version) +
                   " (this build reads version " + std::to_string(kSnapshotVersion) + ")");
  }
  std::string_view signed_part = file.substr(0, file.size() - kSnapshotDigestBytes);
  if (Sha256(signed_part) != file.substr(signed_part.size())) {
    return Corrupt("checksum mismatch (the file is corrupt or truncated)");
  }
  Reader body{signed_part.substr(kSnapshotHeaderBytes)};
  bool ended = false;
  while (!body.d.empty()) {
    if (ended) return Corrupt("data after the end record");
    uint8_t type = body.U8();
    uint32_t len = body.U32();
    if (!body.Need(len)) return Corrupt("record length past the end of the file");
    std::string_view payload = body.d.substr(0, len);
    body.d.remove_prefix(len);
    if (type > static_cast<uint8_t>(SnapshotRecord::kIndex)) {
      return Corrupt("unknown record type " + std::to_string(type));
    }
    if (type == static_cast<uint8_t>(SnapshotRecord::kEnd)) {
      Reader r{payload};
      if (r.U64() != w.records.size() || !r.d.empty()) return Corrupt("bad end record");
      ended = true;
      continue;
    }
    w.records.emplace_back(static_cast<SnapshotRecord>(type), payload);
  }
  if (body.bad || !ended) return Corrupt("missing end record (truncated)");
  return w;
}

Status Decode(SnapshotRecord type, std::string_view payload, SnapshotData* out) {
  Reader r{payload};
  std::string what = std::string(SnapshotRecordName(type)) + " record";
  switch (type) {
    case SnapshotRecord::kKvs: {
      Entry e;
      e.create_index = r.U64();
      e.modify_index = r.U64();
      e.lock_index = r.U64();
      e.flags = r.U64();
      e.key = r.Str();
      e.session = r.Str();
      if (r.bad) return Corrupt("short " + what);
      e.value = std::string(r.d);
      if (e.key.empty() || e.key.size() > kMaxKeyBytes) return Corrupt("bad key length in " + what);
      if (e.value.size() > kMaxValueBytes) return Corrupt("value too large for key " + e.key);
      out->entries.push_back(std::move(e));
      return Status::Ok();
    }
    case SnapshotRecord::kTombstone: {
      Tombstone t;
      t.index = r.U64();
      if (r.bad) return Corrupt("short " + what);
      t.key = std::string(r.d);
      if (t.key.empty() || t.key.size() > kMaxKeyBytes) return Corrupt("bad key length in " + what);
      out->tombstones.push_back(std::move(t));
      return Status::Ok();
    }
    case SnapshotRecord::kSession: {
      Session s;
      s.create_index = r.U64();
      s.modify_index = r.U64();
      s.lock_delay_ms = r.U64();
      s.ttl_ms = r.U64();
      uint8_t b = r.U8();
      s.id = r.Str();
      s.name = r.Str();
      s.node = r.Str();
      uint32_t n = r.U32();
      for (uint32_t i = 0; i < n && !r.bad; ++i) s.node_checks.push_back(r.Str());
      n = r.U32();
      for (uint32_t i = 0; i < n && !r.bad; ++i) {
        ServiceCheckRef c;
        c.id = r.Str();
        c.ns = r.Str();
        s.service_checks.push_back(std::move(c));
      }
      if (r.bad || !r.d.empty() || b > 1 || s.id.empty()) return Corrupt("bad " + what);
      s.behavior = static_cast<Session::Behavior>(b);
      out->sessions.push_back(std::move(s));
      return Status::Ok();
    }
    case SnapshotRecord::kPreparedQuery:
      out->prepared_queries.emplace_back(payload);
      return Status::Ok();
    case SnapshotRecord::kIndex:
      out->kv_index = r.U64();
      out->sessions_index = r.U64();
      if (r.bad || !r.d.empty()) return Corrupt("bad " + what);
      return Status::Ok();
    case SnapshotRecord::kEnd:
      break;
  }
  return Corrupt("unexpected " + what);
}

}  // namespace

std::string_view SnapshotRecordName(SnapshotRecord t) {
  switch (t) {
    case SnapshotRecord::kKvs:
      return "KVS";
    case SnapshotRecord::kTombstone:
      return "Tombstone";
    case SnapshotRecord::kSession:
      return "Session";
    case SnapshotRecord::kPreparedQuery:
      return "PreparedQuery";
    case SnapshotRecord::kIndex:
      return "Index";
    case SnapshotRecord::kEnd:
      return "End";
  }
  return "Unknown";
}

struct SnapshotWriter::Digest {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Digest() { EVP_MD_CTX_free(ctx); }
};

SnapshotWriter::SnapshotWriter(const SnapshotHeader& h, SnapshotSink sink)
    : digest_(std::make_unique<Digest>()), sink_(std::move(sink)) {
  if (digest_->ctx == nullptr || EVP_DigestInit_ex(digest_->ctx, EVP_sha256(), nullptr) != 1) {
    status_ = Status::Error("snapshot: cannot initialise SHA-256");
  }
  buf_.append(kSnapshotMagic, 8);
  PutU32(buf_, kSnapshotVersion);
  PutU32(buf_, 0);
  PutU64(buf_, h.index);
  PutU64(buf_, h.term);
  PutU64(buf_, h.created_ms);
  PutU64(buf_, 0);
}

SnapshotWriter::~SnapshotWriter() = default;

Status SnapshotWriter::Record(SnapshotRecord type, std::string_view payload) {
  if (!status_.ok()) return status_;
  buf_.push_back(static_cast<char>(type));
  PutU32(buf_, static_cast<uint32_t>(payload.size()));
  buf_.append(payload);
  ++records_;
  return buf_.size() >= kChunk ? Flush() : Status::Ok();
}

Status SnapshotWriter::Flush() {
  if (!status_.ok()) return status_;
  if (EVP_DigestUpdate(digest_->ctx, buf_.data(), buf_.size()) != 1) {
    status_ = Status::Error("snapshot: SHA-256 failed");
    return status_;
  }
  Status st = sink_(buf_);
  buf_.clear();
  if (!st.ok()) status_ = st;
  return status_;
}

Status SnapshotWriter::Add(const Entry& e) {
  scratch_.clear();
  PutU64(scratch_, e.create_index);
  PutU64(scratch_, e.modify_index);
  PutU64(scratch_, e.lock_index);
  PutU64(scratch_, e.flags);
  PutStr(scratch_, e.key);
  PutStr(scratch_, e.session);
  scratch_.append(e.value);
  return Record(SnapshotRecord::kKvs, scratch_);
}

Status SnapshotWriter::Add(const Tombstone& t) {
  scratch_.clear();
  PutU64(scratch_, t.index);
  scratch_.append(t.key);
  return Record(SnapshotRecord::kTombstone, scratch_);
}

Status SnapshotWriter::Add(const Session& s) {
  scratch_.clear();
  PutU64(scratch_, s.create_index);
  PutU64(scratch_, s.modify_index);
  PutU64(scratch_, s.lock_delay_ms);
  PutU64(scratch_, s.ttl_ms);
  scratch_.push_back(static_cast<char>(s.behavior));
  PutStr(scratch_, s.id);
  PutStr(scratch_, s.name);
  PutStr(scratch_, s.node);
  PutU32(scratch_, static_cast<uint32_t>(s.node_checks.size()));
  for (const std::string& c : s.node_checks) PutStr(scratch_, c);
  PutU32(scratch_, static_cast<uint32_t>(s.service_checks.size()));
  for (const ServiceCheckRef& c : s.service_checks) {
    PutStr(scratch_, c.id);
    PutStr(scratch_, c.ns);
  }
  return Record(SnapshotRecord::kSession, scratch_);
}

Status SnapshotWriter::AddPreparedQuery(std::string_view json) {
  return Record(SnapshotRecord::kPreparedQuery, json);
}

Status SnapshotWriter::AddIndex(uint64_t kv_index, uint64_t sessions_index) {
  scratch_.clear();
  PutU64(scratch_, kv_index);
  PutU64(scratch_, sessions_index);
  return Record(SnapshotRecord::kIndex, scratch_);
}

Status SnapshotWriter::Finish() {
  scratch_.clear();
  PutU64(scratch_, records_);
  Status st = Record(SnapshotRecord::kEnd, scratch_);
  if (st.ok()) st = Flush();
  if (!st.ok()) return st;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(digest_->ctx, md, &len) != 1) {
    status_ = Status::Error("snapshot: SHA-256 failed");
    return status_;
  }
  status_ = sink_(std::string_view(reinterpret_cast<char*>(md), len));
  return status_;
}

Result<SnapshotData> ParseSnapshot(std::string_view file) {
  Result<Walked> w = Walk(file);
  if (!w.ok()) return w.status();
  SnapshotData out;
  out.header = w->header;
  for (const auto& [type, payload] : w->records) {
    Status st = Decode(type, payload, &out);
    if (!st.ok()) return st;
  }
  std::unordered_set<std::string_view> ids, keys;
  for (const Session& s : out.sessions) {
    if (!ids.insert(s.id).second) return Corrupt("session " + s.id + " appears twice");
  }
  for (const Entry& e : out.entries) {
    if (!keys.insert(e.key).second) return Corrupt("key " + e.key + " appears twice");
    if (!e.session.empty() && ids.count(e.session) == 0) {
      return Corrupt("key " + e.key + " is locked by session " + e.session +
                     ", which the snapshot does not hold");
    }
    if (e.modify_index > out.header.index) {
      return Corrupt("key " + e.key + " has ModifyIndex above the snapshot index");
    }
  }
  return out;
}

Result<SnapshotStats> InspectSnapshot(std::string_view file, int kv_depth,
                                      std::string_view kv_filter) {
  Result<SnapshotData> parsed = ParseSnapshot(file);  // full verification first
  if (!parsed.ok()) return parsed.status();
  Result<Walked> w = Walk(file);
  if (!w.ok()) return w.status();
  SnapshotStats st;
  st.header = w->header;
  st.size = file.size();
  std::map<std::string, SnapshotTypeStats> types, kv;
  for (const auto& [type, payload] : w->records) {
    const uint64_t bytes = 5 + payload.size();
    SnapshotTypeStats& t = types[std::string(SnapshotRecordName(type))];
    t.count++;
    t.bytes += bytes;
    st.total += bytes;
    if (kv_depth <= 0 || type != SnapshotRecord::kKvs) continue;
    Reader r{payload.substr(32)};
    std::string key = r.Str();
    if (!key.starts_with(kv_filter)) continue;
    size_t cut = 0;
    for (int parts = 0; parts < kv_depth && cut != std::string::npos; ++parts) {
      cut = key.find('/', parts == 0 ? 0 : cut + 1);
    }
    SnapshotTypeStats& k = kv[key.substr(0, cut)];
    k.count++;
    k.bytes += bytes;
    st.kv_total += bytes;
  }
  auto sorted = [](std::map<std::string, SnapshotTypeStats>& m) {
    std::vector<SnapshotTypeStats> v;
    for (auto& [name, s] : m) {
      s.name = name;
      v.push_back(s);
    }
    std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
      return a.bytes != b.bytes ? a.bytes > b.bytes : a.name < b.name;
    });
    return v;
  };
  st.types = sorted(types);
  st.kv = sorted(kv);
  return st;
}

std::string SnapshotId(const SnapshotHeader& h) {
  return std::to_string(h.term) + "-" + std::to_string(h.index) + "-" +
         std::to_string(h.created_ms);
}

}  // namespace beacon::kv
