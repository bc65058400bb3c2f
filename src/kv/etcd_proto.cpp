// etcd's TxnRequest/TxnResponse in protobuf wire format (see etcd_proto.h).
#include "etcd_proto.h"

namespace beacon::kv::internal {
namespace {

// Wire types.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kBytes = 2;
constexpr uint32_t kFixed32 = 5;

void Varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void Tag(std::string& out, uint32_t field, uint32_t wire) {
  Varint(out, (field << 3) | wire);
}

// int64 fields are varints of the two's complement (proto3 `int64`, not `sint64`).
void Int(std::string& out, uint32_t field, int64_t v) {
  Tag(out, field, kVarint);
  Varint(out, static_cast<uint64_t>(v));
}

void Bytes(std::string& out, uint32_t field, std::string_view b) {
  Tag(out, field, kBytes);
  Varint(out, b.size());
  out.append(b);
}

// etcdserverpb.Compare: result EQUAL (0, the default: left out), target MOD (2), key,
// mod_revision (a oneof member: sent even when 0, "key absent").
std::string CompareMod(std::string_view key, int64_t rev) {
  std::string m;
  Int(m, 2, 2);
  Bytes(m, 3, key);
  Int(m, 6, rev);
  return m;
}

// etcdserverpb.RequestOp: request_range 1 {key 1}, request_put 2 {key 1, value 2, lease 3},
// request_delete_range 3 {key 1}.
std::string RequestOp(const TxnWrite& w) {
  std::string inner;
  Bytes(inner, 1, w.key);
  if (!w.del) {
    if (!w.value.empty()) Bytes(inner, 2, w.value);
    if (w.lease != 0) Int(inner, 3, w.lease);
  }
  std::string op;
  Bytes(op, w.del ? 3 : 2, inner);
  return op;
}

std::string RangeOp(std::string_view key) {
  std::string inner;
  Bytes(inner, 1, key);
  std::string op;
  Bytes(op, 1, inner);
  return op;
}

// A cursor over one message.
struct Reader {
  std::string_view s;
  size_t at = 0;
  bool bad = false;

  bool done() const { return bad || at >= s.size(); }

  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at >= s.size()) break;
      const auto b = static_cast<unsigned char>(s[at++]);
      v |= uint64_t{b & 0x7fU} << shift;
      if ((b & 0x80) == 0) return v;
    }
    bad = true;
    return 0;
  }

  // Reads a field's tag; the caller reads or skips its value.
  bool Next(uint32_t* field, uint32_t* wire) {
    const uint64_t t = Varint();
    *field = static_cast<uint32_t>(t >> 3);
    *wire = static_cast<uint32_t>(t & 7);
    return !bad && *field != 0;
  }

  std::string_view Bytes() {
    const uint64_t n = Varint();
    if (bad || n > s.size() - at) {
      bad = true;
      return {};
    }
    std::string_view b = s.substr(at, n);
    at += n;
    return b;
  }

  void Skip(uint32_t wire) {
    size_t n = 0;
    switch (wire) {
      case kVarint:
        (void)Varint();
        return;
      case kBytes:
        (void)Bytes();
        return;
      case kFixed64:
        n = 8;
        break;
      case kFixed32:
        n = 4;
        break;
      default:
        bad = true;
        return;
    }
    if (n > s.size() - at) bad = true;
    at += n;
  }
};

// mvccpb.KeyValue: key 1, create_revision 2, mod_revision 3, version 4, value 5, lease 6.
bool ReadKv(std::string_view m, EtcdKv* kv) {
  Reader r{m};
  uint32_t f = 0, w = 0;
  while (!r.done() && r.Next(&f, &w)) {
    if (f == 1 && w == kBytes)
      kv->key = std::string(r.Bytes());
    else if (f == 5 && w == kBytes)
      kv->value = std::string(r.Bytes());
    else if (f == 2 && w == kVarint)
      kv->create_rev = static_cast<int64_t>(r.Varint());
    else if (f == 3 && w == kVarint)
      kv->mod_rev = static_cast<int64_t>(r.Varint());
    else if (f == 6 && w == kVarint)
      kv->lease = static_cast<int64_t>(r.Varint());
    else
      r.Skip(w);
  }
  return !r.bad;
}

// ResponseHeader: revision 3.
bool ReadRevision(std::string_view m, int64_t* rev) {
  Reader r{m};
  uint32_t f = 0, w = 0;
  while (!r.done() && r.Next(&f, &w)) {
    if (f == 3 && w == kVarint)
      *rev = static_cast<int64_t>(r.Varint());
    else
      r.Skip(w);
  }
  return !r.bad;
}

// ResponseOp: response_range 1 (RangeResponse: kvs 2).
bool ReadRangeKvs(std::string_view op, std::vector<EtcdKv>* kvs) {
  Reader r{op};
  uint32_t f = 0, w = 0;
  while (!r.done() && r.Next(&f, &w)) {
    if (f != 1 || w != kBytes) {
      r.Skip(w);
      continue;
    }
    Reader range{r.Bytes()};
    while (!r.bad && !range.done() && range.Next(&f, &w)) {
      if (f != 2 || w != kBytes) {
        range.Skip(w);
        continue;
      }
      EtcdKv kv;
      if (!ReadKv(range.Bytes(), &kv)) return false;
      kvs->push_back(std::move(kv));
    }
    if (range.bad) return false;
  }
  return !r.bad;
}

}  // namespace

std::string TxnProto(const std::vector<std::pair<std::string, int64_t>>& compares,
                     const std::vector<TxnWrite>& success,
                     const std::vector<std::string>& failure_reads) {
  std::string out;
  for (const auto& [key, rev] : compares) Bytes(out, 1, CompareMod(key, rev));
  for (const TxnWrite& w : success) Bytes(out, 2, RequestOp(w));
  for (const std::string& key : failure_reads) Bytes(out, 3, RangeOp(key));
  return out;
}

// TxnResponse: header 1, succeeded 2, responses 3.
bool ParseTxnProto(std::string_view msg, bool* succeeded, int64_t* rev, std::vector<EtcdKv>* kvs,
                   std::string* err) {
  *succeeded = false;
  *rev = 0;
  std::vector<std::string_view> responses;
  Reader r{msg};
  uint32_t f = 0, w = 0;
  bool ok = true;
  while (ok && !r.done() && r.Next(&f, &w)) {
    if (f == 1 && w == kBytes)
      ok = ReadRevision(r.Bytes(), rev);
    else if (f == 2 && w == kVarint)
      *succeeded = r.Varint() != 0;
    else if (f == 3 && w == kBytes)
      responses.push_back(r.Bytes());
    else
      r.Skip(w);
  }
  if (r.bad || !ok) {
    if (err) *err = "malformed etcd TxnResponse (" + std::to_string(msg.size()) + " bytes)";
    return false;
  }
  if (*succeeded) return true;
  for (std::string_view op : responses) {
    if (!ReadRangeKvs(op, kvs)) {
      if (err) *err = "malformed etcd RangeResponse in a TxnResponse";
      return false;
    }
  }
  return true;
}

std::string BatchTxnProto(const std::vector<const TxnUnit*>& units,
                          const std::vector<TxnWrite>& after) {
  std::string out;
  for (const TxnUnit* u : units) {
    std::string op;
    Bytes(op, 4, TxnProto(u->compares, u->success, u->failure_reads));  // RequestOp.request_txn
    Bytes(out, 2, op);
  }
  for (const TxnWrite& w : after) Bytes(out, 2, RequestOp(w));
  return out;
}

// The outer TxnResponse: header 1, succeeded 2 (always: no compares), responses 3, the first
// units.size() of them ResponseOp.response_txn 4 (a TxnResponse each).
bool ParseBatchTxnProto(std::string_view msg, int64_t* rev, std::vector<UnitAnswer>* units,
                        std::string* err) {
  *rev = 0;
  std::vector<std::string_view> nested;
  Reader r{msg};
  uint32_t f = 0, w = 0;
  bool ok = true;
  while (ok && !r.done() && r.Next(&f, &w)) {
    if (f == 1 && w == kBytes) {
      ok = ReadRevision(r.Bytes(), rev);
    } else if (f == 3 && w == kBytes) {
      Reader op{r.Bytes()};
      while (!op.done() && op.Next(&f, &w)) {
        if (f == 4 && w == kBytes)
          nested.push_back(op.Bytes());
        else
          op.Skip(w);
      }
      ok = !op.bad;
    } else {
      r.Skip(w);
    }
  }
  if (r.bad || !ok || nested.size() != units->size()) {
    if (err)
      *err = "malformed etcd TxnResponse of a group commit (" + std::to_string(msg.size()) +
             " bytes, " + std::to_string(nested.size()) + " nested txns)";
    return false;
  }
  for (size_t i = 0; i < nested.size(); ++i) {
    int64_t inner_rev = 0;
    UnitAnswer& u = (*units)[i];
    if (!ParseTxnProto(nested[i], &u.succeeded, &inner_rev, &u.kvs, err)) return false;
  }
  return true;
}

// WatchRequest: create_request 1 (WatchCreateRequest: key 1, range_end 2, start_revision 3).
std::string WatchProto(std::string_view key, std::string_view range_end, int64_t start_rev) {
  std::string create;
  Bytes(create, 1, key);
  Bytes(create, 2, range_end);
  if (start_rev != 0) Int(create, 3, start_rev);
  std::string out;
  Bytes(out, 1, create);
  return out;
}

// WatchResponse: created 3, canceled 4, compact_revision 5, events 11 (mvccpb.Event: type 1
// (PUT 0, DELETE 1), kv 2).
bool ParseWatchProto(std::string_view msg, std::vector<EtcdKv>* events, bool* created,
                     bool* canceled, int64_t* compact_rev, std::string* err) {
  *created = *canceled = false;
  *compact_rev = 0;
  Reader r{msg};
  uint32_t f = 0, w = 0;
  bool ok = true;
  while (ok && !r.done() && r.Next(&f, &w)) {
    if (f == 3 && w == kVarint) {
      *created = r.Varint() != 0;
    } else if (f == 4 && w == kVarint) {
      *canceled = r.Varint() != 0;
    } else if (f == 5 && w == kVarint) {
      *compact_rev = static_cast<int64_t>(r.Varint());
    } else if (f == 11 && w == kBytes) {
      Reader ev{r.Bytes()};
      EtcdKv kv;
      bool del = false;
      while (ok && !ev.done() && ev.Next(&f, &w)) {
        if (f == 1 && w == kVarint)
          del = ev.Varint() == 1;
        else if (f == 2 && w == kBytes)
          ok = ReadKv(ev.Bytes(), &kv);
        else
          ev.Skip(w);
      }
      ok = ok && !ev.bad;
      kv.deleted = del;
      events->push_back(std::move(kv));
    } else {
      r.Skip(w);
    }
  }
  if (r.bad || !ok) {
    if (err) *err = "malformed etcd WatchResponse (" + std::to_string(msg.size()) + " bytes)";
    return false;
  }
  return true;
}

}  // namespace beacon::kv::internal
