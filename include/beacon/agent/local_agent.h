// LocalAgent: the agent's local state API (spec 2.6, 4.3): services and checks registered
// through /v1/agent/*, TTL checks, maintenance mode, and their persistence in the data dir.
//
// Contract:
// - Every change goes through the catalog SubmitFn: the command runs on the writer thread and
//   `done` is called (on the writer thread) after the snapshot containing it is published, so an
//   HTTP reply comes after catalog/health readers and DNS see the change. An error reply (unknown
//   id, ...) changes nothing; it may be sent from inside the command, before the next publish.
// - Reads (Services, Checks, Self) come from the newest published snapshot: this node's services
//   and checks, whether they came from config files, the API or a restore.
// - Persistence (data_dir non-empty; "" in -dev = none), as Consul's agent does it: services and
//   checks registered through the API, and maintenance checks, are written to
//   <data_dir>/services/<id>.json and <data_dir>/checks/<id>.json (write temp, fsync, rename,
//   fsync dir) before the reply, removed on deregistration, and re-registered by Restore().
//   File names are the ID with bytes outside [A-Za-z0-9_-] escaped as %XX (an FNV-1a hash for
//   IDs too long for a file name); the file holds the ID. The last TTL status and output go to
//   <data_dir>/checks/state/<id> (not fsynced: best effort, as Consul) and are restored when
//   younger than the check's TTL. Config-file services are never persisted.
// - TTL checks (config or API) turn critical when not updated within their TTL, with Consul's
//   output "TTL expired" (+ " (last output before timeout follows): <output>"). Services whose
//   check has deregister_critical_service_after (at least 1 min) and has been critical that long
//   are deregistered. Both happen in Tick(), which the agent calls about once a second.
// - Thread safety: every public method may be called from any thread; internal state is under
//   one mutex that is never held while calling submit, done or the logger.
// - The SubmitFn, hub and logger must outlive this object; so must pending `done` callbacks'
//   captures. Destroy it only after the writer thread no longer runs its commands.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "beacon/agent/persister.h"
#include "beacon/api/agent_api.h"
#include "beacon/catalog/commands.h"
#include "beacon/catalog/hub.h"
#include "beacon/core/log.h"
#include "beacon/core/status.h"
#include "beacon/core/thread_annotations.h"

namespace beacon::agent {

struct LocalAgentOptions {
  std::string node_name;
  std::string datacenter = "dc1";
  std::string data_dir;  // "" = no persistence (-dev)
  std::string node_id;   // "" = read <data_dir>/node-id or create one (random in -dev)
  std::string advertise_addr = "127.0.0.1";
  bool server = false;
  int serf_lan_port = 8301;
  int server_port = 8300;
  // enable_script_checks: API registrations may run commands (enable_local_script_checks does
  // not allow that, as in Consul).
  bool enable_script_checks = false;
};

class LocalAgent : public http::AgentApi {
 public:
  using Clock = std::function<uint64_t()>;  // wall-clock milliseconds since the epoch

  // `clock` defaults to the system clock.
  LocalAgent(LocalAgentOptions opts, catalog::SubmitFn submit, const catalog::SnapshotHub& hub,
             const Logger& log, Clock clock = {});
  ~LocalAgent() override = default;
  LocalAgent(const LocalAgent&) = delete;
  LocalAgent& operator=(const LocalAgent&) = delete;

  const std::string& node_id() const { return opts_.node_id; }

  // Re-registers what the data dir holds (after the config-file services are in the catalog).
  // A persisted service whose ID a config file now defines is dropped (config wins, as in
  // Consul), as is a check whose service is gone. Unreadable files are logged and skipped.
  // `done` (optional) runs once everything restored is published. Returns how many services
  // and checks were found.
  size_t Restore(std::function<void()> done = {});

  // TTL expiry and deregister_critical_service_after; `now_ms` from the same clock.
  void Tick(uint64_t now_ms);
  void Tick() { Tick(clock_()); }

  // The agent's reload (PUT /v1/agent/reload). Without one, reload answers 200 at once.
  void SetReloadHandler(std::function<void(http::AgentDone)> reload);
  // Extra metrics (HTTP, DNS counters) appended to Metrics().
  void SetMetricsSource(std::function<void(std::vector<http::Metric>*)> source);
  void SetEnableScriptChecks(bool on);

  // http::AgentApi
  http::AgentSelf Self() const override;
  std::vector<catalog::Service> Services() const override;
  std::vector<catalog::Check> Checks() const override;
  std::vector<http::Metric> Metrics() const override;
  double UptimeSeconds() const override;
  void RegisterService(config::ServiceBody body, bool replace_existing_checks,
                       http::AgentDone done) override;
  void DeregisterService(std::string id, http::AgentDone done) override;
  void RegisterCheck(config::CheckBody body, http::AgentDone done) override;
  void DeregisterCheck(std::string id, http::AgentDone done) override;
  void UpdateTtlCheck(std::string id, catalog::Health status, std::string output,
                      http::AgentDone done) override;
  void NodeMaintenance(bool enable, std::string reason, http::AgentDone done) override;
  void ServiceMaintenance(std::string id, bool enable, std::string reason,
                          http::AgentDone done) override;
  void Reload(http::AgentDone done) override;

 private:
  struct Ttl {
    uint64_t ttl_ms = 0;
    uint64_t deadline_ms = 0;
    std::string last_output;
    bool expired = false;
    uint64_t seen = 0;  // the last Tick that found the check in the catalog
  };
  struct CriticalSince {
    uint64_t since_ms = 0;
    uint64_t seen = 0;  // as Ttl::seen
  };
  // Runs `cmd` on the writer thread; `done` gets its status once the change is published and the
  // files it staged are written by persister_ (at once for an error). While `cmd` runs, the file
  // helpers below stage their writes instead of doing them, so no fsync runs on the writer
  // thread; a write that then fails answers 500 "failed to persist: <reason>" (the change stays
  // live, as Consul's does).
  void Run(std::function<http::AgentStatus(catalog::Writer&)> cmd, http::AgentDone done);
  bool ScriptChecksEnabled() const EXCLUDES(mu_);

  // Files (all no-ops without a data dir). Errors are logged. Inside Run they are staged (see
  // Run) and report success; elsewhere (start-up) they write at once.
  std::string ServicePath(const std::string& id) const;
  std::string CheckPath(const std::string& id) const;
  std::string StatePath(const std::string& id) const;
  bool WriteDurable(const std::string& path, const std::string& text) const;
  void RemoveFile(const std::string& path) const;
  bool PersistService(const catalog::Service& svc) const;
  bool PersistCheck(const catalog::Check& chk, bool maintenance) const;
  void PersistTtlState(const std::string& id, catalog::Health st, const std::string& out,
                       uint64_t expires_ms) const;
  void ForgetCheck(const std::string& id);  // drops its files and TTL timer
  http::AgentStatus SetMaintenance(catalog::Writer& w, catalog::Check c, bool enable);

  void ExpireTtl(const std::string& id, uint64_t now_ms);
  void ReapService(const std::string& service_id, const std::string& check_id);
  std::string LoadOrCreateNodeId() const;

  LocalAgentOptions opts_;
  std::unique_ptr<Persister> persister_;            // null without a data dir
  mutable std::vector<FileOp>* staging_ = nullptr;  // writer thread, inside Run only
  catalog::SubmitFn submit_;
  const catalog::SnapshotHub& hub_;
  const Logger& log_;
  Clock clock_;
  uint64_t started_ms_ = 0;  // clock_() at construction

  mutable Mutex mu_;
  std::map<std::string, Ttl> ttl_ GUARDED_BY(mu_);                       // check id -> timer
  std::map<std::string, CriticalSince> critical_since_ GUARDED_BY(mu_);  // check id
  uint64_t tick_gen_ GUARDED_BY(mu_) = 0;                                // Tick() count
  std::function<void(http::AgentDone)> reload_ GUARDED_BY(mu_);
  std::function<void(std::vector<http::Metric>*)> extra_metrics_ GUARDED_BY(mu_);
  bool enable_script_checks_ GUARDED_BY(mu_);
};

}  // namespace beacon::agent
