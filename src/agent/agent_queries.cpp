// Prepared queries in the agent: where a server keeps them, how a client gets them. See
// api/query_api.h and agent/query_mirror.h.
//
// Persistence: a server on the embedded store keeps the whole set in
// <data_dir>/prepared-queries.json, written durably (temp file, fsync, rename) by its own
// Persister thread before a write is acknowledged. Servers on etcd share one set: the same text
// in one etcd key, <prefix>~q/queries (kv::EtcdValue), outside the KV keyspace the store's watch
// follows; every server watches it and writes it with a compare on its revision (api/query_api.h),
// so a query written through any server is answered by all of them and survives any one server.
// Not in the KV store itself: keys there are visible to /v1/kv listings, recursive deletes, txn
// get-tree and the KV index every KV blocking query watches, and hiding a reserved prefix from
// all of those would touch every KV read path; the set is small and rewritten whole.
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "beacon/agent/agent.h"
#include "beacon/agent/cluster.h"
#include "beacon/agent/persister.h"
#include "beacon/agent/query_mirror.h"
#include "beacon/api/query_api.h"
#include "beacon/api/snapshot_api.h"

namespace beacon::agent {

namespace {

std::string QueryFile(const config::AgentConfig& cfg) {
  if (!cfg.server || cfg.dev || cfg.data_dir.empty()) return "";
  return cfg.data_dir + "/prepared-queries.json";
}

}  // namespace

Status Agent::LoadQueries() {
  const std::string file = QueryFile(cfg_);
  if (file.empty()) return Status::Ok();
  auto loaded = http::LoadQueryFile(file, &loaded_query_index_);
  if (!loaded.ok()) return loaded.status();
  loaded_queries_ = std::move(loaded.value());
  std::string err;
  writer_->SetPreparedQueries(loaded_queries_, &err);
  if (!err.empty()) {
    BEACON_LOG(log_, kWarn, "query", "prepared queries skipped: %s", err.c_str());
  }
  BEACON_LOG(log_, kInfo, "query", "%zu prepared queries loaded from %s", loaded_queries_.size(),
             file.c_str());
  return Status::Ok();
}

void Agent::AddQueryApi(http::Router& router, http::SnapshotApiOptions* snap) {
  http::QueryApiOptions qo;
  qo.datacenter = cfg_.datacenter;
  qo.node_name = cfg_.node_name;
  qo.coordinates = &coordinates_;
  qo.pretty = cfg_.dev;
  qo.log = &log_;
  qo.store = cfg_.server;
  qo.submit = [this](catalog::CommandQueue::Command c, std::function<void()> published) {
    Submit(std::move(c), std::move(published));
  };
  const bool shared = cfg_.server && cfg_.kv_backend == "etcd";
  if (shared) {
    qo.shared_put = [this](std::string text, int64_t expected,
                           std::function<void(http::QueryApiOptions::SharedPut)> done) {
      query_value_->Put(
          std::move(text), expected, [done = std::move(done)](kv::EtcdValue::PutResult r) {
            done({r.status, r.conflict, r.now.exists, std::move(r.now.value), r.now.rev});
          });
    };
  }
  if (cfg_.server) {
    qo.file = shared ? "" : QueryFile(cfg_);
    if (!qo.file.empty()) {
      query_persister_ = std::make_unique<Persister>(log_);
      Persister* p = query_persister_.get();
      qo.persist = [p](std::string path, std::string data,
                       const std::function<void(std::string)>& done) {
        p->Enqueue({FileOp{FileOp::Kind::kDurable, std::move(path), std::move(data)}},
                   [done](const std::string& err) { done(err); });
      };
    }
    kv::Store* kv = kv_.get();
    qo.session_exists = [kv](const std::string& id) {
      std::vector<kv::Session> out;
      kv->SessionInfo(id, &out);
      return !out.empty();
    };
    qo.initial = std::move(loaded_queries_);
    if (shared && !qo.initial.empty()) {
      // Retired once etcd holds its queries: the shared set is the truth from then on, and a
      // stale file loaded at a later start would bring back queries deleted meanwhile.
      qo.handed_over = [file = QueryFile(cfg_), log = &log_] {
        const std::string kept = file + ".in-etcd";
        if (std::rename(file.c_str(), kept.c_str()) != 0) {
          BEACON_LOG(*log, kWarn, "query", "renaming %s: %s", file.c_str(), std::strerror(errno));
          return;
        }
        BEACON_LOG(*log, kInfo, "query", "prepared queries handed to etcd; %s renamed to %s",
                   file.c_str(), kept.c_str());
      };
    }
    qo.initial_index = loaded_query_index_;
    qo.post = [this](std::function<void()> fn) {
      if (http_) http_->Post(std::move(fn));
    };
  } else if (forwarder_) {
    http::Forwarder* f = forwarder_.get();
    qo.forward = [this, f](const http::Request& req, http::Response& resp) {
      f->Forward(req, resp, cluster_ ? cluster_->Servers() : std::vector<std::string>{});
    };
    // The servers' set, mirrored into this agent's catalog for DNS and execute.
    query_mirror_ = std::make_unique<QueryMirror>(
        [this] { return cluster_ ? cluster_->Servers() : std::vector<std::string>{}; },
        [this](std::vector<catalog::PreparedQuery> defs) {
          Submit([this, defs = std::move(defs)](catalog::Writer& w) {
            std::string err;
            w.SetPreparedQueries(defs, &err);
            if (!err.empty()) {
              BEACON_LOG(log_, kWarn, "query", "mirrored prepared queries skipped: %s",
                         err.c_str());
            }
          });
        },
        log_);
    query_mirror_->Start();
  }
  http::QueryHooks hooks;
  http::ReplaceQueriesFn replace = http::AddQueryRoutes(router, hub_, std::move(qo), &hooks);
  if (!replace) return;
  drop_orphan_queries_ = std::move(hooks.drop_orphans);
  if (shared) {
    // Started once the HTTP server runs (StartSharedQueries): the watch posts to its loop.
    query_value_ = std::make_unique<kv::EtcdValue>(
        EtcdStoreOptions(true), cfg_.etcd.prefix + "~q/queries", log_,
        [changed = std::move(hooks.shared_changed)](kv::EtcdValue::Seen v) {
          changed(v.exists, std::move(v.value), v.rev);
        });
  }
  // Snapshots carry the published set (every acknowledged write) and restore replaces it.
  snap->prepared_queries = [this] { return http::QueryRecords(*hub_.Current()); };
  snap->restore_prepared_queries = std::move(replace);
}

void Agent::StartSharedQueries() {
  if (query_value_) query_value_->Start();
}

}  // namespace beacon::agent
