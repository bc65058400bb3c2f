// QueryMirror: a client agent's copy of the servers' prepared queries, so `<name>.query` DNS
// lookups and /v1/query/<name>/execute answer locally (spec 1.6: nothing on the DNS path waits
// for a server).
//
// Contract:
// - One thread ("beacon-qmirror") runs a blocking GET /v1/query?index=N&wait=60s against the
//   first live server (servers(), called on that thread: must be thread-safe), and whenever the
//   answer's X-Consul-Index moves, hands the whole list to install() (on that thread; the agent
//   submits it to the catalog writer). A failed request or no server: wait 1 s, try again; the
//   last set stays installed. An index below the last one (a restarted server) is taken as is.
// - Stop() (or the destructor) cancels the request in flight within about a second and joins.
// - Gossip was the other way: it would put every query into every agent's Serf traffic; the
//   watch costs one parked request per client and moves only when a query changes.
#pragma once

#include <condition_variable>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "beacon/catalog/prepared_query.h"
#include "beacon/core/log.h"
#include "beacon/core/thread_annotations.h"

namespace beacon::agent {

class QueryMirror {
 public:
  using Install = std::function<void(std::vector<catalog::PreparedQuery>)>;
  QueryMirror(std::function<std::vector<std::string>()> servers, Install install,
              const Logger& log);
  ~QueryMirror();
  QueryMirror(const QueryMirror&) = delete;
  QueryMirror& operator=(const QueryMirror&) = delete;

  void Start();
  void Stop();

 private:
  void Loop();
  bool Stopping();

  std::function<std::vector<std::string>()> servers_;
  Install install_;
  const Logger& log_;
  Mutex mu_;
  std::condition_variable cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace beacon::agent
