#include "beacon/agent/agent.h"

#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <random>
#include <thread>

#include "agent_metrics.h"
#include "agent_sessions.h"
#include "beacon/agent/cluster.h"
#include "beacon/agent/config_diff.h"
#include "beacon/agent/etcd_supervisor.h"
#include "beacon/agent/health_sync.h"
#include "beacon/agent/persister.h"
#include "beacon/agent/query_mirror.h"
#include "beacon/api/agent_api.h"
#include "beacon/api/catalog_api.h"
#include "beacon/api/event_api.h"
#include "beacon/api/forward_api.h"
#include "beacon/api/kv_api.h"
#include "beacon/api/operator_api.h"
#include "beacon/api/raft_api.h"
#include "beacon/api/snapshot_api.h"
#include "beacon/api/ui_api.h"
#include "beacon/core/strings.h"
#include "beacon/health/alias.h"
#include "beacon/http/http_metrics.h"
#include "beacon/http/monitor_api.h"
#include "beacon/kv/etcd.h"
#include "local_agent_internal.h"
#include "seed_loader.h"

namespace beacon::agent {

Agent::Agent(config::CommandLine cl, config::AgentConfig cfg, const Logger& log)
    : cl_(std::move(cl)), cfg_(std::move(cfg)), log_(log) {
  std::random_device rd;  // event IDs must differ between agents and runs
  event_ids_.seed((static_cast<uint64_t>(rd()) << 32) ^ rd());
  // 10 s of a server majority before sessions are invalidated on etcd (agent_sessions.h): well
  // past the suspicion and refutation rounds a healed partition needs (about 1-5 s on the LAN).
  server_quorum_ = std::make_shared<ServerQuorum>(10000);
}

Agent::~Agent() {
  query_mirror_.reset();  // no more installs from its thread
  query_value_.reset();   // nor changes of the shared prepared-query set
  if (cluster_) cluster_->Stop();
  if (health_) health_->Stop();  // kills running scripts; no result is submitted after this
  if (http_) http_->Stop();
  kv_cluster_.reset();  // its threads wake the HTTP server; before kv_ (info reads it)
  if (forwarder_) forwarder_->Stop();
  if (dns_) dns_->Stop();
  kv_.reset();  // finishes queued writes; their callbacks find the HTTP server stopped
  if (left_.load() && etcd_) LeaveSupervisedEtcd();
  etcd_.reset();  // -etcd-supervise: stops and reaps the local etcd member
}

namespace {

// Each blocking query holds a connection: lift the soft descriptor limit to the hard one.
void RaiseFileLimit(const Logger& log) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) == 0) {
    BEACON_LOG(log, kDebug, "agent", "open file limit raised from %llu to %llu",
               static_cast<unsigned long long>(before),
               static_cast<unsigned long long>(rl.rlim_cur));
  }
}

}  // namespace

kv::EtcdOptions Agent::EtcdStoreOptions(bool start_unreachable) const {
  const config::EtcdConfig& e = cfg_.etcd;
  return {e.endpoints,
          static_cast<int64_t>(e.dial_timeout_ms),
          static_cast<int64_t>(e.request_timeout_ms),
          e.prefix,
          e.ca_file,
          e.cert_file,
          e.key_file,
          e.transport == "grpc",
          start_unreachable};
}

Status Agent::OpenKv(bool start_unreachable) {
  if (cfg_.kv_backend == "etcd") {
    auto st = kv::OpenEtcdStore(EtcdStoreOptions(start_unreachable), log_);
    if (!st.ok()) return st.status();
    kv_ = std::move(st.value());
    // 3 s of looking lapsed before a node's sessions go (agent_sessions.h): a refutation of a
    // stale "dead" takes a round trip or two; a real failure costs 3 s more lock hold.
    session_nodes_ = std::make_shared<SessionNodes>(clock_, 3000);
    return Status::Ok();
  }
  if (cfg_.dev || cfg_.data_dir.empty()) {
    kv_ = kv::NewMemStore();
    return Status::Ok();
  }
  auto st = kv::OpenLmdbStore(cfg_.data_dir + "/kv", log_);
  if (!st.ok()) return st.status();
  kv_ = std::move(st.value());
  return Status::Ok();
}

void Agent::ApplyLocal(const config::AgentConfig& cfg, const config::AgentConfig* old) {
  catalog::Node self;
  self.name = cfg.node_name;
  self.address = cfg.advertise_addr;
  self.datacenter = cfg.datacenter;
  self.id = local_->node_id();
  self.meta = cfg.node_meta;
  self.meta.emplace("consul-network-segment", "");
  self.tagged_addresses["lan"] = cfg.advertise_addr;
  self.tagged_addresses["wan"] = cfg.advertise_addr;
  writer_->Apply(catalog::LocalChange(catalog::op::UpsertNode{self}));  // no-op when unchanged
  // Consul's agents carry a serfHealth check; sessions name it by default (spec 2.7).
  catalog::Check serf;
  serf.id = "serfHealth";
  serf.name = "Serf Health Status";
  serf.status = catalog::Health::kPassing;
  serf.output = "Agent alive and reachable";
  writer_->Apply(catalog::LocalChange(catalog::op::UpsertCheck{cfg.node_name, serf}));
  if (cfg.server && old == nullptr) {
    catalog::Service consul;
    consul.id = consul.name = "consul";
    consul.port = static_cast<uint16_t>(cfg.ports.server);
    writer_->Apply(catalog::LocalChange(catalog::op::UpsertService{cfg.node_name, consul, {}}));
  }
  // Config services and checks as a diff: what did not change is not touched (issue 7).
  const ConfigDiffStats d = ApplyConfigDiff(*writer_, cfg.node_name, cfg, old, log_);
  if (old != nullptr) {
    BEACON_LOG(log_, kInfo, "agent", "reload: %zu added, %zu changed, %zu removed, %zu unchanged",
               d.added, d.changed, d.removed, d.unchanged);
  }
}

Status Agent::Start() {
  const auto t0 = std::chrono::steady_clock::now();
  RaiseFileLimit(log_);
  if (!cfg_.etcd.supervise) {  // else once gossip found the etcd members
    if (Status st = OpenKv(); !st.ok()) return st;
  }
  // Record versions start at the boot time in ms << 20, above every version of a previous life.
  const auto boot_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  writer_ = std::make_unique<catalog::Writer>(hub_, cfg_.node_name, cfg_.datacenter, cfg_.dns,
                                              static_cast<uint64_t>(boot_ms) << 20);
  LocalAgentOptions lo;
  lo.node_name = cfg_.node_name;
  lo.datacenter = cfg_.datacenter;
  lo.data_dir = cfg_.dev ? "" : cfg_.data_dir;
  lo.advertise_addr = cfg_.advertise_addr;
  lo.server = cfg_.server;
  lo.serf_lan_port = cfg_.ports.serf_lan;
  lo.server_port = cfg_.ports.server;
  lo.enable_script_checks = cfg_.enable_script_checks;
  local_ = std::make_unique<LocalAgent>(
      lo,
      [this](catalog::CommandQueue::Command c, std::function<void()> p) {
        Submit(std::move(c), std::move(p));
      },
      hub_, log_);
  local_->SetReloadHandler([this](const http::AgentDone& done) {
    Submit([this, done](catalog::Writer&) {
      Status st = Reload();
      done(st.ok() ? http::AgentStatus::Ok() : http::AgentStatus::Error(500, st.message()));
    });
  });
  {
    health::RunnerOptions ho;
    ho.output_max = cfg_.check_output_max_size;
    const std::string node = cfg_.node_name;
    health_ = std::make_unique<health::Runner>(
        ho,
        [this, node](const std::string& id, catalog::Health st, const std::string& out) {
          Submit(catalog::LocalChange(catalog::op::UpdateCheck{node, id, st, out}));
        },
        [this, node](const catalog::Check& c) {
          return health::EvaluateAlias(*hub_.Current(), node, c);
        },
        log_);
    if (Status st = health_->Start(); !st.ok()) return st;
    health_sync_ = std::make_unique<HealthSync>(*health_, core::Lower(cfg_.node_name));
    writer_->TrackChanges(true);
  }
  ApplyLocal(cfg_, nullptr);
  size_t seeded = 0;
  const auto t_seed = std::chrono::steady_clock::now();
  if (!cl_.catalog_seed.empty()) {
    if (Status st = LoadCatalogSeed(cl_.catalog_seed, *writer_, &seeded); !st.ok()) return st;
  }
  local_->Restore();  // services and checks registered over the API before a restart
  if (Status st = LoadQueries(); !st.ok()) return st;
  DrainCommandsOnly();
  const auto t_publish = std::chrono::steady_clock::now();
  PublishNow(true);
  const auto t_done = std::chrono::steady_clock::now();
  auto ms = [](auto d) {
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  BEACON_LOG(log_, kInfo, "agent",
             "catalog loaded: %zu nodes, %zu services, %zu seed entries in %lld ms "
             "(seed %lld ms, first publish %lld ms)",
             writer_->staged().nodes.size(), writer_->staged().services.size(), seeded,
             ms(t_done - t0), ms(t_publish - t_seed), ms(t_done - t_publish));

  net::DnsServerOptions o;
  o.addresses = cfg_.client_addrs;
  o.port = cfg_.ports.dns;
  o.workers = cfg_.dns_workers > 0 ? cfg_.dns_workers
                                   : static_cast<int>(std::thread::hardware_concurrency());
  o.metrics = cfg_.telemetry.dns_metrics;
  o.udp_wait_ns = cfg_.dns_udp_batch_wait_ns;
  if (o.workers <= 0) o.workers = 1;
  dns_ = std::make_unique<net::DnsServer>(hub_, log_, o);
  if (o.port >= 0) {
    Status st = dns_->Start();
    if (!st.ok()) return st;
  }
  if (Status st = StartCluster(); !st.ok()) return st;
  if (cfg_.etcd.supervise) {
    if (Status st = StartSupervisedEtcd(); !st.ok()) return st;
  }
  if (cfg_.ports.http >= 0) {
    BuildHttp();
    if (forwarder_) {
      if (Status st = forwarder_->Start(); !st.ok()) return st;
    }
    Status st = http_->Start();
    if (!st.ok()) return st;
    StartSharedQueries();
    kv_->SetOnCommit([this](bool kv, bool sessions) {
      if (kv) http_->Notify(http::Topic::kKv);
      if (sessions) http_->Notify(http::Topic::kSession);
      if (sessions && drop_orphan_queries_) drop_orphan_queries_();
    });
  }
  BEACON_LOG(log_, kInfo, "agent", "node %s in datacenter %s started (domain %s)",
             cfg_.node_name.c_str(), cfg_.datacenter.c_str(), cfg_.dns.domain.c_str());
  return Status::Ok();
}

Status Agent::Reload() {
  auto next = config::Load(cl_);
  if (!next.ok()) {
    BEACON_LOG(log_, kError, "agent", "reload failed, keeping the running config: %s",
               next.status().message().c_str());
    return next.status();
  }
  config::AgentConfig& n = next.value();
  if (n.node_name != cfg_.node_name || n.datacenter != cfg_.datacenter ||
      n.ports.dns != cfg_.ports.dns || n.client_addrs != cfg_.client_addrs) {
    BEACON_LOG(log_, kWarn, "agent",
               "reload: node_name, datacenter, ports and client_addr need a restart; keeping the "
               "running values");
    n.node_name = cfg_.node_name;
    n.datacenter = cfg_.datacenter;
    n.ports = cfg_.ports;
    n.client_addrs = cfg_.client_addrs;
  }
  local_->SetEnableScriptChecks(n.enable_script_checks);
  if (!(n.dns == cfg_.dns)) writer_->SetDnsConfig(n.dns);  // re-derives every service
  ApplyLocal(n, &cfg_);
  if (writer_->dirty()) PublishNow();  // a no-op reload publishes nothing and wakes no one
  cfg_ = std::move(n);
  BEACON_LOG(log_, kInfo, "agent", "configuration reloaded");
  return Status::Ok();
}

void Agent::BuildHttp() {
  http::Router router;
  http::CatalogApiOptions co;
  co.leader = cfg_.advertise_addr + ":" + std::to_string(cfg_.ports.server);
  co.datacenter = cfg_.datacenter;
  co.node_name = cfg_.node_name;
  co.submit = [this](catalog::CommandQueue::Command c, std::function<void()> published) {
    Submit(std::move(c), std::move(published));
  };
  co.pretty_default = cfg_.dev;
  co.coordinates = &coordinates_;
  http::AddCatalogRoutes(router, hub_, co);
  http::AddCoordinateRoutes(router, coordinates_, {cfg_.datacenter, cfg_.dev});
  http::KvApiOptions ko;
  ko.node_name = cfg_.node_name;
  ko.datacenter = cfg_.datacenter;
  ko.pretty = cfg_.dev;
  // A session needs its node, and none of its checks may be critical (spec 2.7).
  ko.validate_session = [this](const kv::Session& s) -> std::string {
    catalog::SnapshotPtr snap = hub_.Current();
    if (snap->nodes.Find(core::Lower(s.node)) == nullptr) {
      return "Missing node registration";
    }
    return SessionLapsed(*snap, s) ? "Check is in critical state or missing" : "";
  };
  kv_cluster_ = NewKvCluster();
  ko.cluster = kv_cluster_.get();
  ko.ready = [s = kv_.get()] { return s->Ready(); };
  ko.wake = [this] {
    http_->Notify(http::Topic::kKv);
    http_->Notify(http::Topic::kSession);
  };
  http::AddKvRoutes(router, *kv_, ko);
  // Prepared queries (a client agent relays their writes through forwarder_); a server's set
  // also rides in its snapshots. Before AddForwardRoutes: a client's relay of /v1/snapshot
  // takes over the local snapshot routes.
  if (!cfg_.server) forwarder_ = std::make_unique<http::Forwarder>(log_);
  http::SnapshotApiOptions so;
  so.datacenter = cfg_.datacenter;
  AddQueryApi(router, &so);
  http::AddSnapshotRoutes(router, *kv_, so);
  std::function<std::map<std::string, std::string>()> kv_stats;  // servers only
  if (cfg_.server) kv_stats = [this] { return kv_cluster_->Info(); };
  http::AddAgentRoutes(router, *local_, cluster_.get(), kv_stats);
  http::AddOperatorRoutes(router, cluster_.get(), cfg_.datacenter, cfg_.dev);  // keyring
  http::AddRaftRoutes(router, *kv_cluster_, cfg_.dev);  // status, operator raft
  http::AddMonitorRoute(router, log_);                  // GET /v1/agent/monitor
  if (cfg_.ui) http::AddUiRoutes(router);               // /ui/ (and / redirects there)
  http::EventApiOptions eo;
  eo.datacenter = cfg_.datacenter;
  eo.pretty = cfg_.dev;
  eo.fire = [this](gossip::UserEvent* e) { return FireEvent(e); };
  eo.events = &events_;
  http::AddEventRoutes(router, std::move(eo));
  if (!cfg_.server) {  // KV, sessions, txn, status, snapshots live on the servers (gossip)
    http::ForwardApiOptions fo;
    fo.node_name = cfg_.node_name;
    fo.servers = [this]() -> std::vector<std::string> {
      return cluster_ ? cluster_->Servers() : std::vector<std::string>{};
    };
    http::AddForwardRoutes(router, *forwarder_, std::move(fo));
  }
  // Every module's metrics in /v1/agent/metrics (agent_metrics.h); LocalAgent adds the
  // catalog's and its own first. Runs on the HTTP loop thread.
  std::string hostname;
  if (!cfg_.telemetry.disable_hostname) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) hostname = host;
  }
  local_->SetMetricsSource([this, hostname](std::vector<http::Metric>* out) {
    AppendProcessMetrics(out);
    if (dns_) AppendDnsMetrics(*dns_, out);
    if (health_) AppendHealthMetrics(*health_, out);
    if (kv_) AppendKvMetrics(*kv_, out);
    if (http_) http_->metrics().Append(out);
    if (cluster_) AddClusterMetrics(*cluster_, out);
    metrics::PrefixHostname(out, hostname);
  });
  http::HttpServerOptions ho;
  ho.addresses = cfg_.client_addrs;
  ho.port = cfg_.ports.http;
  ho.body_limits = {{"/v1/snapshot", http::kMaxSnapshotBytes}};
  if (cfg_.server && cfg_.ports.server >= 0) {  // client agents forward to bind_addr:server port
    ho.extra_listeners.push_back({cfg_.bind_addr, cfg_.ports.server, http::ServerPortPaths()});
  }
  http_ = std::make_unique<http::HttpServer>(log_, std::move(router), ho);
}

void Agent::Submit(catalog::Change change) {
  commands_.Push(std::move(change));
}

void Agent::Submit(catalog::CommandQueue::Command c, std::function<void()> published) {
  if (!published) {
    commands_.Push(std::move(c));
    return;
  }
  commands_.Push([this, c = std::move(c), p = std::move(published)](catalog::Writer& w) mutable {
    c(w);
    published_.push_back(std::move(p));
  });
}

void Agent::RunPublished() {
  std::vector<std::function<void()>> done;
  done.swap(published_);
  for (auto& f : done) f();
}

void Agent::PublishNow(bool force) {
  writer_->Publish(force);
  if (cluster_) cluster_->OnLocalChanges(writer_->TakeApplied());  // deltas for gossip
  if (publish_timer_ != nullptr) last_publish_ms_ = uv_now(publish_timer_->loop);
  SyncHealth();
  RunPublished();
  if (http_) http_->Notify(http::Topic::kCatalog);
  // Sessions lapse when their node or one of their node checks is gone or critical (spec 2.7).
  InvalidateLapsedSessions();
}

void Agent::SyncHealth() {
  if (!health_) return;
  catalog::SnapshotPtr snap = hub_.Current();
  // Which config checks may run scripts: compared cheaply on every call (config checks are
  // mostly not scripts; a reload may change the policy).
  ScriptPolicy policy;
  policy.enable_script_checks = cfg_.enable_script_checks;
  policy.enable_local_script_checks = cfg_.enable_local_script_checks;
  for (const catalog::Check& c : cfg_.checks) {
    if (!c.args.empty()) policy.config_scripts.push_back(c);
  }
  health_sync_->Sync(*snap, writer_->TakeChangedServices(), std::move(policy));
  if (health_sync_->has_alias()) health_->CatalogChanged();
}

void Agent::DrainCommandsOnly() {
  commands_.Drain(*writer_, [this](const catalog::Change& c, const Status& st) {
    BEACON_LOG(log_, kWarn, "catalog", "%s on %s refused: %s", catalog::OpName(c.op),
               c.origin.c_str(), st.message().c_str());
  });
}

void Agent::DrainCommands() {
  DrainCommandsOnly();
  if (!writer_->dirty()) {
    RunPublished();  // nothing changed: nothing to wait for
    return;
  }
  const uint64_t now = uv_now(publish_timer_->loop);
  if (now >= last_publish_ms_ + kPublishEveryMs) {
    PublishNow();
    return;
  }
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(publish_timer_))) return;
  uv_timer_start(
      publish_timer_, [](uv_timer_t* t) { static_cast<Agent*>(t->data)->PublishNow(); },
      last_publish_ms_ + kPublishEveryMs - now, 0);
  publish_timer_->data = this;
}

void Agent::Tick() {
  if (kv_) kv_->ExpireSessions(clock_.MonotonicMs());
  // On etcd a lapse counts once it has lasted the grace period: look again without a publish.
  if (session_nodes_) InvalidateLapsedSessions();
  if (local_) local_->Tick();
  SyncHealth();  // a reload may have changed which script checks may run
}

void Agent::LogDnsStats(LogLevel level) const {
  if (!dns_ || !log_.Enabled(level)) return;
  const dns::Counters c = dns_->Stats();
  log_.Log(level, "dns",
           "queries=%llu nxdomain=%llu refused=%llu formerr=%llu notimp=%llu dropped=%llu "
           "truncated=%llu forwarded=%llu",
           static_cast<unsigned long long>(c.queries), static_cast<unsigned long long>(c.nxdomain),
           static_cast<unsigned long long>(c.refused), static_cast<unsigned long long>(c.formerr),
           static_cast<unsigned long long>(c.notimp), static_cast<unsigned long long>(c.dropped),
           static_cast<unsigned long long>(c.truncated),
           static_cast<unsigned long long>(c.forwarded));
}

namespace {

struct LoopCtx {
  Agent* agent;
  const Logger* log;
  catalog::SnapshotHub* hub;
  int code = 0;
};

}  // namespace

int Agent::Run() {
  uv_loop_t loop;
  uv_loop_init(&loop);
  LoopCtx ctx{this, &log_, &hub_};
  loop.data = &ctx;
  uv_signal_t sigint, sigterm, sighup;
  uv_timer_t reclaim, stats, publish, tick;
  uv_async_t wake;
  for (uv_signal_t* s : {&sigint, &sigterm, &sighup}) uv_signal_init(&loop, s);
  // Producers on other threads: drain their commands here, publish at most every 10 ms so a
  // flapping check cannot cause a rebuild storm.
  uv_timer_init(&loop, &publish);
  publish_timer_ = &publish;
  uv_async_init(&loop, &wake, [](uv_async_t* a) {
    static_cast<LoopCtx*>(a->loop->data)->agent->DrainCommands();
  });
  commands_.SetWake([&wake] { uv_async_send(&wake); });
  DrainCommands();
  auto stop = [](uv_signal_t* s, int signum) {
    auto* c = static_cast<LoopCtx*>(s->loop->data);
    BEACON_LOG(*c->log, kInfo, "agent", "caught signal %d, shutting down", signum);
    uv_stop(s->loop);
  };
  uv_signal_start(&sigint, stop, SIGINT);
  uv_signal_start(&sigterm, stop, SIGTERM);
  uv_signal_start(
      &sighup,
      [](uv_signal_t* s, int) {
        // Reload() logs its outcome; a bad file keeps the running config.
        (void)static_cast<LoopCtx*>(s->loop->data)->agent->Reload();
      },
      SIGHUP);
  // Old snapshots pinned by a reader during a publish are freed here once released.
  uv_timer_init(&loop, &reclaim);
  uv_timer_start(
      &reclaim, [](uv_timer_t* t) { static_cast<LoopCtx*>(t->loop->data)->hub->Reclaim(); }, 100,
      100);
  // Counters once a minute at debug level (malformed packets are counted, not logged one by one).
  uv_timer_init(&loop, &stats);
  uv_timer_start(
      &stats,
      [](uv_timer_t* t) {
        static_cast<LoopCtx*>(t->loop->data)->agent->LogDnsStats(LogLevel::kDebug);
      },
      60000, 60000);
  // Once a second: session TTLs (spec 2.7).
  uv_timer_init(&loop, &tick);
  uv_timer_start(
      &tick, [](uv_timer_t* t) { static_cast<LoopCtx*>(t->loop->data)->agent->Tick(); }, 1000,
      1000);
  uv_run(&loop, UV_RUN_DEFAULT);
  ctx.code = exit_code_;
  // Clients leave gracefully on SIGINT/SIGTERM (Consul's leave_on_terminate and
  // skip_leave_on_interrupt defaults for clients); servers just stop and are seen failed.
  if (cluster_ && !cfg_.server && exit_code_ == 0) {
    if (Status st = cluster_->LeaveAndWait(3000); !st.ok()) {
      BEACON_LOG(log_, kWarn, "gossip", "graceful leave: %s", st.message().c_str());
    }
  }
  if (cluster_) cluster_->Stop();
  // Producers (the HTTP thread) may still push: once SetWake returns no one touches `wake`, and
  // later commands just wait in the queue (they never run once the loop is gone).
  commands_.SetWake(nullptr);
  for (uv_handle_t* h :
       {reinterpret_cast<uv_handle_t*>(&sigint), reinterpret_cast<uv_handle_t*>(&sigterm),
        reinterpret_cast<uv_handle_t*>(&sighup), reinterpret_cast<uv_handle_t*>(&reclaim),
        reinterpret_cast<uv_handle_t*>(&stats), reinterpret_cast<uv_handle_t*>(&publish),
        reinterpret_cast<uv_handle_t*>(&tick), reinterpret_cast<uv_handle_t*>(&wake)}) {
    uv_close(h, nullptr);
  }
  publish_timer_ = nullptr;
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  LogDnsStats(LogLevel::kInfo);
  if (http_) http_->Stop();
  if (forwarder_) forwarder_->Stop();
  if (dns_) dns_->Stop();
  BEACON_LOG(log_, kInfo, "agent", "stopped");
  return ctx.code;
}

}  // namespace beacon::agent

namespace beacon::agent {

void Agent::RequestStop(int code) {
  Submit([this, code](catalog::Writer&) {
    exit_code_ = code;
    if (publish_timer_ != nullptr) uv_stop(publish_timer_->loop);
  });
}

}  // namespace beacon::agent
