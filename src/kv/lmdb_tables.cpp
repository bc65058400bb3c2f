// Encoding of entries, tombstones, sessions and meta in LMDB (layout in lmdb_tables.h).
#include "lmdb_tables.h"

#include "wal.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>
#include <vector>

namespace beacon::kv::internal {
namespace {

static_assert(std::endian::native == std::endian::little, "on-disk integers are little-endian");

constexpr uint32_t kMetaVersion = 1;
constexpr size_t kEntryHeader = 4 * 8 + 2;

MDB_val Val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
std::string_view View(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T>
char* Store(char* p, T v) {
  std::memcpy(p, &v, sizeof(T));
  return p + sizeof(T);
}

// Calls fn(suffix, blob) for each bucket item until it returns false; false if malformed.
template <typename F>
bool ForItems(std::string_view v, F&& fn) {
  size_t p = 0;
  while (p < v.size()) {
    if (p + 2 > v.size()) return false;
    size_t sl = Load<uint16_t>(v.data() + p);
    p += 2;
    if (p + sl + 4 > v.size()) return false;
    std::string_view suffix = v.substr(p, sl);
    p += sl;
    size_t bl = Load<uint32_t>(v.data() + p);
    p += 4;
    if (p + bl > v.size()) return false;
    if (!fn(suffix, v.substr(p, bl))) return true;
    p += bl;
  }
  return true;
}

bool DecodeEntry(std::string_view key, std::string_view blob, Entry* e) {
  if (blob.size() < kEntryHeader) return false;
  const char* p = blob.data();
  size_t sl = Load<uint16_t>(p + 32);
  if (kEntryHeader + sl > blob.size()) return false;
  e->key.assign(key);
  e->create_index = Load<uint64_t>(p);
  e->modify_index = Load<uint64_t>(p + 8);
  e->lock_index = Load<uint64_t>(p + 16);
  e->flags = Load<uint64_t>(p + 24);
  e->session.assign(p + kEntryHeader, sl);
  e->value.assign(blob.substr(kEntryHeader + sl));
  return true;
}

class Writer {
 public:
  void U64(uint64_t v) { buf_.append(reinterpret_cast<const char*>(&v), 8); }
  void Str(std::string_view s) {
    uint32_t n = static_cast<uint32_t>(s.size());
    buf_.append(reinterpret_cast<const char*>(&n), 4);
    buf_.append(s);
  }
  std::string& buf() { return buf_; }

 private:
  std::string buf_;
};

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool U64(uint64_t* v) {
    if (b_.size() - p_ < 8) return false;
    *v = Load<uint64_t>(b_.data() + p_);
    p_ += 8;
    return true;
  }
  bool Str(std::string* s) {
    if (b_.size() - p_ < 4) return false;
    size_t n = Load<uint32_t>(b_.data() + p_);
    p_ += 4;
    if (b_.size() - p_ < n) return false;
    s->assign(b_.substr(p_, n));
    p_ += n;
    return true;
  }

 private:
  std::string_view b_;
  size_t p_ = 0;
};

std::string EncodeSession(const Session& s) {
  Writer w;
  w.U64(s.create_index);
  w.U64(s.modify_index);
  w.U64(s.lock_delay_ms);
  w.U64(s.ttl_ms);
  w.U64(static_cast<uint64_t>(s.behavior));
  w.Str(s.id);
  w.Str(s.name);
  w.Str(s.node);
  w.U64(s.node_checks.size());
  for (const std::string& c : s.node_checks) w.Str(c);
  w.U64(s.service_checks.size());
  for (const ServiceCheckRef& c : s.service_checks) {
    w.Str(c.id);
    w.Str(c.ns);
  }
  return std::move(w.buf());
}

bool DecodeSession(std::string_view b, Session* s) {
  Reader r(b);
  uint64_t behavior = 0, n = 0;
  if (!r.U64(&s->create_index) || !r.U64(&s->modify_index) || !r.U64(&s->lock_delay_ms) ||
      !r.U64(&s->ttl_ms) || !r.U64(&behavior) || !r.Str(&s->id) || !r.Str(&s->name) ||
      !r.Str(&s->node) || !r.U64(&n) || n > b.size()) {
    return false;
  }
  s->behavior = behavior == 1 ? Session::Behavior::kDelete : Session::Behavior::kRelease;
  s->node_checks.assign(n, std::string());
  for (std::string& c : s->node_checks) {
    if (!r.Str(&c)) return false;
  }
  if (!r.U64(&n) || n > b.size()) return false;
  s->service_checks.assign(n, ServiceCheckRef{});
  for (ServiceCheckRef& c : s->service_checks) {
    if (!r.Str(&c.id) || !r.Str(&c.ns)) return false;
  }
  return true;
}

}  // namespace

uint8_t Tables::Code(MDB_dbi db) const {
  if (db == d_.kv) return kWalKv;
  if (db == d_.tomb) return kWalTomb;
  if (db == d_.sess) return kWalSess;
  return kWalMeta;
}
void Tables::RecPut(MDB_dbi db, const MDB_val& k, const MDB_val& v) {
  if (rec_) WalPut(rec_, Code(db), View(k), View(v));
}
void Tables::RecDel(MDB_dbi db, const MDB_val& k) {
  if (rec_) WalDel(rec_, Code(db), View(k));
}

void Tables::ScanItems(MDB_dbi db, std::string_view prefix,
                       const std::function<bool(std::string_view, std::string_view)>& fn) {
  if (failed()) return;
  std::string_view rp = prefix.substr(0, std::min(prefix.size(), d_.max_key));
  MDB_cursor* cur = nullptr;
  int rc = mdb_cursor_open(txn_, db, &cur);
  if (rc != 0) return Check(rc);
  MDB_val k = Val(rp), v;
  rc = mdb_cursor_get(cur, &k, &v, rp.empty() ? MDB_FIRST : MDB_SET_RANGE);
  bool more = true;
  while (rc == 0 && more) {
    std::string_view rk = View(k);
    if (!rk.starts_with(rp)) break;
    std::string full;
    bool ok = ForItems(View(v), [&](std::string_view suffix, std::string_view blob) {
      std::string_view key = rk;
      if (!suffix.empty()) {
        full.assign(rk);
        full.append(suffix);
        key = full;
      }
      if (key.starts_with(prefix)) more = fn(key, blob);
      return more;
    });
    if (!ok) {
      rc = MDB_CORRUPTED;
      break;
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  Check(rc);
}

bool Tables::GetItem(MDB_dbi db, std::string_view key, std::string_view* blob) {
  if (failed() || key.empty()) return false;
  std::string_view rk = key.substr(0, std::min(key.size(), d_.max_key));
  std::string_view suf = key.substr(rk.size());
  MDB_val k = Val(rk), v;
  int rc = mdb_get(txn_, db, &k, &v);
  if (rc != 0) {
    Check(rc);
    return false;
  }
  bool found = false;
  bool ok = ForItems(View(v), [&](std::string_view s, std::string_view b) {
    if (s != suf) return true;
    *blob = b;
    found = true;
    return false;
  });
  if (!ok) Check(MDB_CORRUPTED);
  return found && ok;
}

void Tables::PutItem(MDB_dbi db, std::string_view key, size_t blob_len,
                     const std::function<void(char*)>& fill) {
  if (failed()) return;
  if (key.empty()) return Check(MDB_BAD_VALSIZE);
  std::string_view rk = key.substr(0, std::min(key.size(), d_.max_key));
  std::string_view suf = key.substr(rk.size());
  MDB_val k = Val(rk);
  if (key.size() < d_.max_key) {  // a record of its own: write in place
    MDB_val v{6 + blob_len, nullptr};
    int rc = mdb_put(txn_, db, &k, &v, MDB_RESERVE);
    if (rc != 0) return Check(rc);
    char* p = static_cast<char*>(v.mv_data);
    p = Store<uint16_t>(p, 0);
    p = Store<uint32_t>(p, static_cast<uint32_t>(blob_len));
    fill(p);
    RecPut(db, k, v);
    return;
  }
  // Long keys share a bucket with keys of the same first max_key bytes.
  std::vector<std::pair<std::string, std::string>> items;
  MDB_val old;
  int rc = mdb_get(txn_, db, &k, &old);
  if (rc == 0) {
    ForItems(View(old), [&](std::string_view s, std::string_view b) {
      if (s != suf) items.emplace_back(s, b);
      return true;
    });
  } else if (rc != MDB_NOTFOUND) {
    return Check(rc);
  }
  std::string blob(blob_len, '\0');
  fill(blob.data());
  items.emplace_back(suf, std::move(blob));
  std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& [s, b] : items) {
    char hdr[6];
    Store<uint16_t>(hdr, static_cast<uint16_t>(s.size()));
    out.append(hdr, 2).append(s);
    Store<uint32_t>(hdr, static_cast<uint32_t>(b.size()));
    out.append(hdr, 4).append(b);
  }
  Put(db, k, out);
}

void Tables::Put(MDB_dbi db, MDB_val k, std::string_view value) {
  MDB_val v = Val(value);
  int rc = mdb_put(txn_, db, &k, &v, 0);
  if (rc == 0) RecPut(db, k, Val(value));
  Check(rc);
}

void Tables::Del(MDB_dbi db, MDB_val k) {
  int rc = mdb_del(txn_, db, &k, nullptr);
  if (rc == 0) RecDel(db, k);
  Check(rc);
}

void Tables::DelItem(MDB_dbi db, std::string_view key) {
  if (failed() || key.empty()) return;
  std::string_view rk = key.substr(0, std::min(key.size(), d_.max_key));
  std::string_view suf = key.substr(rk.size());
  MDB_val k = Val(rk);
  if (key.size() < d_.max_key) return Del(db, k);
  MDB_val old;
  int rc = mdb_get(txn_, db, &k, &old);
  if (rc != 0) return Check(rc);
  std::string out;
  ForItems(View(old), [&](std::string_view s, std::string_view b) {
    if (s == suf) return true;
    char hdr[6];
    Store<uint16_t>(hdr, static_cast<uint16_t>(s.size()));
    out.append(hdr, 2).append(s);
    Store<uint32_t>(hdr, static_cast<uint32_t>(b.size()));
    out.append(hdr, 4).append(b);
    return true;
  });
  if (out.empty()) return Del(db, k);
  Put(db, k, out);
}

bool Tables::GetEntry(std::string_view key, Entry* out) {
  std::string_view blob;
  if (!GetItem(d_.kv, key, &blob)) return false;
  if (DecodeEntry(key, blob, out)) return true;
  Check(MDB_CORRUPTED);
  return false;
}

bool Tables::GetModifyIndex(std::string_view key, uint64_t* modify) {
  std::string_view blob;
  if (!GetItem(d_.kv, key, &blob)) return false;
  if (blob.size() < kEntryHeader) {
    Check(MDB_CORRUPTED);
    return false;
  }
  *modify = Load<uint64_t>(blob.data() + 8);
  return true;
}

void Tables::ScanEntries(std::string_view prefix, const std::function<bool(const Entry&)>& fn) {
  Entry e;
  ScanItems(d_.kv, prefix, [&](std::string_view key, std::string_view blob) {
    if (!DecodeEntry(key, blob, &e)) {
      Check(MDB_CORRUPTED);
      return false;
    }
    return fn(e);
  });
}

void Tables::ScanKeys(std::string_view prefix, const std::function<bool(std::string_view)>& fn) {
  ScanItems(d_.kv, prefix, [&](std::string_view key, std::string_view) { return fn(key); });
}

void Tables::ScanTombstones(std::string_view prefix,
                            const std::function<bool(std::string_view, uint64_t)>& fn) {
  ScanItems(d_.tomb, prefix, [&](std::string_view key, std::string_view blob) {
    return fn(key, blob.size() >= 8 ? Load<uint64_t>(blob.data()) : 0);
  });
}

uint64_t Tables::SubIndex(std::string_view prefix) {
  uint64_t idx = 0;
  auto take = [&](size_t off) {
    return [&idx, off](std::string_view, std::string_view blob) {
      if (blob.size() >= off + 8) idx = std::max(idx, Load<uint64_t>(blob.data() + off));
      return true;
    };
  };
  ScanItems(d_.kv, prefix, take(8));
  ScanItems(d_.tomb, prefix, take(0));
  return idx;
}

void Tables::PutEntry(const Entry& e) {
  PutItem(d_.kv, e.key, kEntryHeader + e.session.size() + e.value.size(), [&](char* p) {
    p = Store<uint64_t>(p, e.create_index);
    p = Store<uint64_t>(p, e.modify_index);
    p = Store<uint64_t>(p, e.lock_index);
    p = Store<uint64_t>(p, e.flags);
    p = Store<uint16_t>(p, static_cast<uint16_t>(e.session.size()));
    p = std::copy(e.session.begin(), e.session.end(), p);
    std::copy(e.value.begin(), e.value.end(), p);
  });
}

void Tables::DelEntry(std::string_view key) {
  DelItem(d_.kv, key);
}

void Tables::PutTombstone(std::string_view key, uint64_t index) {
  PutItem(d_.tomb, key, 8, [&](char* p) { Store<uint64_t>(p, index); });
}

void Tables::DelTombstone(std::string_view key) {
  DelItem(d_.tomb, key);
}

bool Tables::GetSession(std::string_view id, Session* out) {
  if (failed() || id.empty() || id.size() > d_.max_key) return false;
  MDB_val k = Val(id), v;
  int rc = mdb_get(txn_, d_.sess, &k, &v);
  if (rc != 0) {
    Check(rc);
    return false;
  }
  if (DecodeSession(View(v), out)) return true;
  Check(MDB_CORRUPTED);
  return false;
}

void Tables::ScanSessions(const std::function<void(const Session&)>& fn) {
  if (failed()) return;
  MDB_cursor* cur = nullptr;
  int rc = mdb_cursor_open(txn_, d_.sess, &cur);
  if (rc != 0) return Check(rc);
  MDB_val k, v;
  Session s;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (!DecodeSession(View(v), &s)) {
      rc = MDB_CORRUPTED;
      break;
    }
    fn(s);
  }
  mdb_cursor_close(cur);
  Check(rc);
}

void Tables::PutSession(const Session& s) {
  if (failed()) return;
  std::string blob = EncodeSession(s);
  Put(d_.sess, Val(s.id), blob);
}

void Tables::DelSession(std::string_view id) {
  if (failed() || id.empty() || id.size() > d_.max_key) return;
  Del(d_.sess, Val(id));
}

Meta Tables::GetMeta() {
  Meta m;
  if (failed()) return m;
  MDB_val k = Val("meta"), v;
  int rc = mdb_get(txn_, d_.meta, &k, &v);
  if (rc != 0) {
    Check(rc);
    return m;
  }
  std::string_view b = View(v);
  if (b.size() < 28 || Load<uint32_t>(b.data()) != kMetaVersion) {
    Check(MDB_CORRUPTED);
    return m;
  }
  m.index = Load<uint64_t>(b.data() + 4);
  m.kv_index = Load<uint64_t>(b.data() + 12);
  m.sessions_index = Load<uint64_t>(b.data() + 20);
  return m;
}

void Tables::PutMeta(const Meta& m) {
  if (failed()) return;
  char buf[28];
  char* p = Store<uint32_t>(buf, kMetaVersion);
  p = Store<uint64_t>(p, m.index);
  p = Store<uint64_t>(p, m.kv_index);
  Store<uint64_t>(p, m.sessions_index);
  Put(d_.meta, Val("meta"), std::string_view(buf, sizeof(buf)));
}

}  // namespace beacon::kv::internal
