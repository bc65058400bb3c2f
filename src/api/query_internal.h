// Internals of the prepared-query endpoints (query_api.cpp, query_exec_api.cpp). Loop thread
// only.
#pragma once

#include <map>
#include <memory>
#include <random>
#include <string>

#include "beacon/api/query_api.h"
#include "beacon/core/json_writer.h"

namespace beacon::http::query_detail {

struct State {
  QueryApiOptions opts;
  const catalog::SnapshotHub* hub = nullptr;
  std::string dc_lower;
  std::map<std::string, catalog::PreparedQuery> by_id;  // key: lower-case ID (server only)
  uint64_t index = 1;                                   // the set's index (server only)
  // A shared set (opts.shared_put): the etcd revision the set came from (0: none), and whether
  // the value's watch has reported yet.
  int64_t shared_rev = 0;
  bool shared_seen = false;
  std::mt19937_64 rng;  // IDs and execute's shuffle
};
using StatePtr = std::shared_ptr<State>;

bool Pretty(const State& s, const Request& req);
void Send(const State& s, const Request& req, Response& resp, core::JsonWriter& w);
// ?dc naming another datacenter: 500 "No path to datacenter".
bool ForeignDc(const State& s, const Request& req, Response& resp);

// GET /v1/query/<id-or-name>/execute and /explain: false when the path is neither.
bool HandleExec(const StatePtr& s, const Request& req, Response& resp);

}  // namespace beacon::http::query_detail
