// Test fixtures for kv::Store: the same suites run against the in-memory, the LMDB and the etcd
// store (KV_STORES). Each fixture owns a fake clock (ms) the store reads for TTLs and
// lock-delays; the LMDB one owns a temp dir under /tmp removed at the end and can reopen the
// store; the etcd one starts a fresh single-member etcd (127.0.0.1 free ports, temp data dir,
// killed and reaped with the fixture) unless given endpoints, and uses its own key prefix. Without
// an etcd binary at build time, meson says so and KV_STORES leaves the etcd variant out.
#pragma once

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "beacon/core/log.h"
#include "beacon/kv/etcd.h"
#include "beacon/kv/store.h"
#include "etcd_cluster.h"

namespace kvtest {

using beacon::kv::Entry;
using beacon::kv::Op;
using beacon::kv::Session;
using beacon::kv::SessionResult;
using beacon::kv::Store;
using beacon::kv::StoreOptions;
using beacon::kv::Verb;
using beacon::kv::WriteResult;

struct Base {
  std::shared_ptr<std::atomic<uint64_t>> clock = std::make_shared<std::atomic<uint64_t>>(1000);
  std::unique_ptr<Store> s;

  StoreOptions Opts() const {
    StoreOptions o;
    auto c = clock;
    o.now_ms = [c] { return c->load(); };
    return o;
  }
};

struct MemFx : Base {
  static constexpr bool kDurable = false;
  MemFx() { s = beacon::kv::NewMemStore(Opts()); }
  void Reopen() {}
};

struct LmdbFx : Base {
  static constexpr bool kDurable = true;
  std::string dir;
  beacon::Logger log{beacon::LogLevel::kWarn};
  LmdbFx() {
    char tmpl[] = "/tmp/beacon-kv-test-XXXXXX";
    dir = mkdtemp(tmpl);
    Open();
  }
  ~LmdbFx() {
    s.reset();
    std::filesystem::remove_all(dir);
  }
  void Open() {
    auto r = beacon::kv::OpenLmdbStore(dir + "/kv", log, Opts());
    if (!r.ok()) throw std::runtime_error(r.status().message());
    s = std::move(r.value());
  }
  void Reopen() {
    s.reset();
    Open();
  }
};

struct EtcdFx : Base {
  static constexpr bool kDurable = true;
  std::unique_ptr<EtcdCluster> own;  // a fresh single member unless endpoints are given
  beacon::Logger log{beacon::LogLevel::kWarn};
  beacon::kv::EtcdOptions eo;
  explicit EtcdFx(std::vector<std::string> endpoints = {}, bool grpc = true) {
    eo.grpc = grpc;
    static std::atomic<int> n{0};
    if (endpoints.empty()) {
      own = std::make_unique<EtcdCluster>(1);
      endpoints = own->endpoints();
    }
    eo.endpoints = std::move(endpoints);
    eo.prefix = "/beacon-test-" + std::to_string(getpid()) + "-" + std::to_string(++n) + "/";
    Open();
  }
  ~EtcdFx() { s.reset(); }  // the store closes before its etcd goes
  void Open() {
    auto r = beacon::kv::OpenEtcdStore(eo, log, Opts());
    if (!r.ok()) throw std::runtime_error(r.status().message());
    s = std::move(r.value());
  }
  void Reopen() {
    s.reset();
    Open();
  }
};

// The same store through etcd's JSON gateway only (etcd { transport: gateway }, and the path
// https endpoints take).
struct EtcdGatewayFx : EtcdFx {
  EtcdGatewayFx() : EtcdFx({}, false) {}
};

#ifdef BEACON_HAVE_ETCD
#define KV_STORES MemFx, LmdbFx, EtcdFx, EtcdGatewayFx
#else
#define KV_STORES MemFx, LmdbFx
#endif

// Synchronous wrappers over the asynchronous writes.
inline WriteResult Do(Store& s, std::vector<Op> ops) {
  std::promise<WriteResult> p;
  auto f = p.get_future();
  s.Apply(std::move(ops), [&p](WriteResult r) { p.set_value(std::move(r)); });
  return f.get();
}

template <typename Call>
SessionResult SessionCall(Call call) {
  std::promise<SessionResult> p;
  auto f = p.get_future();
  call([&p](SessionResult r) { p.set_value(std::move(r)); });
  return f.get();
}

inline std::string NewSession(Store& s, const std::string& node = "n1",
                              Session::Behavior b = Session::Behavior::kRelease,
                              uint64_t ttl_ms = 0, uint64_t lock_delay_ms = 15000) {
  Session in;
  in.name = "test";
  in.node = node;
  in.node_checks = {"serfHealth"};
  in.behavior = b;
  in.ttl_ms = ttl_ms;
  in.lock_delay_ms = lock_delay_ms;
  auto r = SessionCall([&](auto cb) { s.CreateSession(in, cb); });
  return r.session.id;
}

inline size_t Expire(Store& s, uint64_t now) {
  std::promise<size_t> p;
  auto f = p.get_future();
  s.ExpireSessions(now, [&p](size_t n) { p.set_value(n); });
  return f.get();
}

inline Op MakeOp(Verb v, std::string key, std::string value = "", uint64_t index = 0,
                 std::string session = "", uint64_t flags = 0) {
  Op op;
  op.verb = v;
  op.key = std::move(key);
  op.value = std::move(value);
  op.index = index;
  op.session = std::move(session);
  op.flags = flags;
  return op;
}
inline Op SetOp(std::string key, std::string value, uint64_t flags = 0) {
  return MakeOp(Verb::kSet, std::move(key), std::move(value), 0, "", flags);
}

inline WriteResult Set(Store& s, std::string key, std::string value, uint64_t flags = 0) {
  return Do(s, {SetOp(std::move(key), std::move(value), flags)});
}

inline Entry MustGet(Store& s, const std::string& key) {
  Entry e;
  if (!s.Get(key, &e, nullptr)) throw std::runtime_error("missing key " + key);
  return e;
}

inline bool Has(Store& s, const std::string& key) {
  Entry e;
  return s.Get(key, &e, nullptr);
}

}  // namespace kvtest
