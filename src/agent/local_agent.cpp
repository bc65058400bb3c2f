// The agent's local state: API registrations, TTL checks, maintenance, persistence. See
// local_agent.h.
#include "beacon/agent/local_agent.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <atomic>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "beacon/api/catalog_api.h"
#include "beacon/catalog/writer.h"
#include "beacon/core/duration.h"
#include "beacon/core/file.h"
#include "beacon/core/hash.h"
#include "beacon/core/json_writer.h"
#include "beacon/core/strings.h"
#include "beacon/core/uuid.h"
#include "local_agent_internal.h"

namespace beacon::agent {
namespace {

using catalog::Check;
using catalog::Health;
using catalog::Instance;
using catalog::NodeEntry;
using catalog::Service;
using detail::ForEachLocalInstance;
using detail::LocalChecks;
using detail::SelfNode;
using http::AgentStatus;

// ID -> file name: [A-Za-z0-9_-] kept, other bytes %XX; too long -> "h-<fnv1a64>".
std::string FileName(const std::string& id) {
  std::string out;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : id) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (out.empty() || out.size() > 200) {
    // The basis these names were first made with (one digit short of FNV's own); kept so that
    // files already on disk keep their names.
    const uint64_t h = core::Fnv1a64(id, 1469598103934665603ULL);
    out = "h-";
    for (int i = 60; i >= 0; i -= 4) out += kHex[(h >> i) & 15];
  }
  return out;
}

bool ReadFile(const std::string& path, std::string* out) {
  return core::ReadFile(path, out).ok();
}

// Regular files in dir whose names end in `ext` ("" = any), sorted.
std::vector<std::string> ListDir(const std::string& dir, std::string_view ext) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.' || name.find(".tmp") != std::string::npos) continue;
    if (!ext.empty() && (name.size() <= ext.size() ||
                         name.compare(name.size() - ext.size(), ext.size(), ext) != 0)) {
      continue;
    }
    struct stat st {};
    std::string path = dir;
    path.append("/").append(name);
    if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) out.push_back(name);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string ServiceJson(const Service& s) {
  core::JsonWriter w;
  w.BeginObject().Key("ID").String(s.id).Key("Name").String(s.name).Key("Tags").BeginArray();
  for (const auto& t : s.tags) w.String(t);
  w.EndArray().Key("Address").String(s.address).Key("Port").Uint(s.port).Key("Meta").BeginObject();
  for (const auto& [k, v] : s.meta) w.Key(k).String(v);
  w.EndObject().Key("TaggedAddresses").BeginObject();
  for (const auto& [k, v] : s.tagged_addresses) {
    w.Key(k).BeginObject().Key("Address").String(v.address).Key("Port").Uint(v.port).EndObject();
  }
  w.EndObject().Key("Weights").BeginObject().Key("Passing").Uint(s.weights.passing);
  w.Key("Warning").Uint(s.weights.warning).EndObject();
  w.Key("EnableTagOverride").Bool(s.enable_tag_override);
  if (!s.kind.empty()) w.Key("Kind").String(s.kind);
  w.EndObject();
  return w.Take();
}

// A check in the form ParsePersistedCheck reads (a check registration body).
std::string CheckJson(const Check& c, bool maintenance) {
  core::JsonWriter w;
  auto str = [&w](const char* k, const std::string& v) {
    if (!v.empty()) w.Key(k).String(v);
  };
  auto dur = [&w](const char* k, uint64_t ms) {
    if (ms != 0) w.Key(k).String(core::GoDuration(ms));
  };
  auto num = [&w](const char* k, uint32_t n) {
    if (n != 0) w.Key(k).Uint(n);
  };
  w.BeginObject().Key("CheckID").String(c.id).Key("Name").String(c.name);
  str("Notes", c.notes);
  str("ServiceID", c.service_id);
  if (maintenance) {
    w.Key("Type").String("maintenance").EndObject();
    return w.Take();
  }
  w.Key("Status").String(catalog::HealthName(c.status));
  if (!c.args.empty()) {
    w.Key("Args").BeginArray();
    for (const auto& a : c.args) w.String(a);
    w.EndArray();
  }
  str("HTTP", c.http);
  str("Method", c.method);
  if (!c.header.empty()) {
    w.Key("Header").BeginObject();
    for (const auto& [k, vs] : c.header) {
      w.Key(k).BeginArray();
      for (const auto& v : vs) w.String(v);
      w.EndArray();
    }
    w.EndObject();
  }
  str("Body", c.body);
  str("TCP", c.tcp);
  str("UDP", c.udp);
  str("GRPC", c.grpc);
  str("Shell", c.shell);
  str("DockerContainerID", c.docker_container_id);
  if (c.tls_skip_verify) w.Key("TLSSkipVerify").Bool(true);
  if (c.disable_redirects) w.Key("DisableRedirects").Bool(true);
  str("TLSServerName", c.tls_server_name);
  if (c.tcp_use_tls) w.Key("TCPUseTLS").Bool(true);
  str("AliasNode", c.alias_node);
  str("AliasService", c.alias_service);
  if (c.output_max_size != 0) w.Key("OutputMaxSize").Uint(c.output_max_size);
  dur("Interval", c.interval_ms);
  dur("Timeout", c.timeout_ms);
  dur("TTL", c.ttl_ms);
  dur("DeregisterCriticalServiceAfter", c.deregister_critical_after_ms);
  num("SuccessBeforePassing", c.success_before_passing);
  num("FailuresBeforeWarning", c.failures_before_warning);
  num("FailuresBeforeCritical", c.failures_before_critical);
  w.EndObject();
  return w.Take();
}

uint64_t SystemMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

LocalAgent::LocalAgent(LocalAgentOptions opts, catalog::SubmitFn submit,
                       const catalog::SnapshotHub& hub, const Logger& log, Clock clock)
    : opts_(std::move(opts)),
      submit_(std::move(submit)),
      hub_(hub),
      log_(log),
      clock_(clock ? std::move(clock) : Clock(SystemMs)),
      started_ms_(clock_()),
      enable_script_checks_(opts_.enable_script_checks) {
  if (!opts_.data_dir.empty()) {
    for (const std::string& d : {opts_.data_dir, opts_.data_dir + "/services",
                                 opts_.data_dir + "/checks", opts_.data_dir + "/checks/state"}) {
      if (mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) {
        BEACON_LOG(log_, kError, "agent", "cannot create %s: %s", d.c_str(), std::strerror(errno));
      }
    }
  }
  if (opts_.node_id.empty()) opts_.node_id = LoadOrCreateNodeId();
  if (!opts_.data_dir.empty()) persister_ = std::make_unique<Persister>(log_);
}

std::string LocalAgent::LoadOrCreateNodeId() const {
  const std::string path = opts_.data_dir.empty() ? "" : opts_.data_dir + "/node-id";
  std::string text;
  if (!path.empty() && ReadFile(path, &text)) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (text.size() == 36) return text;
  }
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ clock_());
  std::string id = core::NewUuidV4(rng);
  if (!path.empty()) WriteDurable(path, id);
  return id;
}

// --- files ---------------------------------------------------------------------------------

std::string LocalAgent::ServicePath(const std::string& id) const {
  return opts_.data_dir + "/services/" + FileName(id) + ".json";
}
std::string LocalAgent::CheckPath(const std::string& id) const {
  return opts_.data_dir + "/checks/" + FileName(id) + ".json";
}
std::string LocalAgent::StatePath(const std::string& id) const {
  return opts_.data_dir + "/checks/state/" + FileName(id);
}

bool LocalAgent::WriteDurable(const std::string& path, const std::string& text) const {
  if (staging_ != nullptr) {
    staging_->push_back(FileOp{FileOp::Kind::kDurable, path, text});
    return true;
  }
  const Status st = core::WriteFileDurable(path, text);
  if (!st.ok()) BEACON_LOG(log_, kError, "agent", "%s", st.message().c_str());
  return st.ok();
}

void LocalAgent::RemoveFile(const std::string& path) const {
  if (staging_ != nullptr) {
    staging_->push_back(FileOp{FileOp::Kind::kRemove, path, {}});
    return;
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    BEACON_LOG(log_, kWarn, "agent", "cannot remove %s: %s", path.c_str(), std::strerror(errno));
  }
}

bool LocalAgent::PersistService(const Service& svc) const {
  return opts_.data_dir.empty() || WriteDurable(ServicePath(svc.id), ServiceJson(svc));
}

bool LocalAgent::PersistCheck(const Check& chk, bool maintenance) const {
  return opts_.data_dir.empty() || WriteDurable(CheckPath(chk.id), CheckJson(chk, maintenance));
}

void LocalAgent::PersistTtlState(const std::string& id, Health st, const std::string& out,
                                 uint64_t expires_ms) const {
  if (opts_.data_dir.empty()) return;
  // Best effort (no fsync), like Consul's check state: status, expiry, then the output.
  const std::string text =
      std::string(catalog::HealthName(st)) + "\n" + std::to_string(expires_ms) + "\n" + out;
  if (staging_ != nullptr) {
    staging_->push_back(FileOp{FileOp::Kind::kAtomic, StatePath(id), text});
    return;
  }
  (void)core::WriteFileAtomic(StatePath(id), text);
}

void LocalAgent::ForgetCheck(const std::string& id) {
  {
    MutexLock lock(&mu_);
    ttl_.erase(id);
    critical_since_.erase(id);
  }
  if (opts_.data_dir.empty()) return;
  RemoveFile(CheckPath(id));
  RemoveFile(StatePath(id));
}

// --- plumbing ------------------------------------------------------------------------------

void LocalAgent::Run(std::function<AgentStatus(catalog::Writer&)> cmd, http::AgentDone done) {
  // Answered once both the publish and the file writes are done (or at once on an error).
  struct Op {
    AgentStatus status;
    std::string persist_error;    // set by the persister before it counts down
    std::atomic<int> pending{1};  // the publish, plus the files when there are any
    std::atomic<bool> answered{false};
  };
  auto op = std::make_shared<Op>();
  auto d = std::make_shared<http::AgentDone>(std::move(done));
  auto answer = [op, d] {
    if (op->answered.exchange(true)) return;
    AgentStatus st = op->status;
    if (st.ok() && !op->persist_error.empty()) {
      st = AgentStatus::Error(500, "failed to persist: " + op->persist_error);
    }
    if (*d) (*d)(st);
  };
  auto count_down = [op, answer] {
    if (op->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) answer();
  };
  submit_(
      [this, op, cmd = std::move(cmd), answer, count_down](catalog::Writer& w) {
        std::vector<FileOp> files;
        staging_ = &files;
        op->status = cmd(w);
        staging_ = nullptr;
        if (!op->status.ok()) {  // errors change nothing: answer now, write nothing
          answer();
          return;
        }
        if (files.empty() || !persister_) return;
        op->pending.fetch_add(1, std::memory_order_relaxed);
        persister_->Enqueue(std::move(files), [op, count_down](const std::string& err) {
          op->persist_error = err;
          count_down();
        });
      },
      count_down);
}

// --- reads ---------------------------------------------------------------------------------

http::AgentSelf LocalAgent::Self() const {
  http::AgentSelf s;
  s.node_name = opts_.node_name;
  s.node_id = opts_.node_id;
  s.datacenter = opts_.datacenter;
  s.address = opts_.advertise_addr;
  s.server = opts_.server;
  s.serf_lan_port = opts_.serf_lan_port;
  s.server_port = opts_.server_port;
  if (catalog::SnapshotPtr snap = hub_.Current()) {
    if (const NodeEntry* n = SelfNode(*snap, core::Lower(opts_.node_name))) {
      catalog::Node node = n->ToNode(opts_.datacenter);
      s.meta = std::move(node.meta);
      if (!node.address.empty()) s.address = node.address;
    }
  }
  return s;
}

std::vector<Service> LocalAgent::Services() const {
  std::vector<Service> out;
  catalog::SnapshotPtr snap = hub_.Current();
  if (!snap) return out;
  // The `consul` service of a server is the catalog's, not the agent's (as in Consul).
  ForEachLocalInstance(*snap, core::Lower(opts_.node_name), [&](const Instance& in) {
    if (!(opts_.server && in.service.id == "consul")) out.push_back(in.ToService());
  });
  std::sort(out.begin(), out.end(), [](const Service& a, const Service& b) { return a.id < b.id; });
  return out;
}

std::vector<Check> LocalAgent::Checks() const {
  catalog::SnapshotPtr snap = hub_.Current();
  if (!snap) return {};
  std::vector<Check> out = LocalChecks(*snap, core::Lower(opts_.node_name));
  // serfHealth belongs to the catalog (the leader adds it), not to the agent's local state.
  out.erase(
      std::remove_if(out.begin(), out.end(), [](const Check& c) { return c.id == "serfHealth"; }),
      out.end());
  std::sort(out.begin(), out.end(), [](const Check& a, const Check& b) { return a.id < b.id; });
  return out;
}

std::vector<http::Metric> LocalAgent::Metrics() const {
  std::vector<http::Metric> out;
  auto gauge = [&out](std::string name, size_t v, const char* help) {
    out.push_back(metrics::Gauge(std::move(name), static_cast<double>(v), help));
  };
  if (catalog::SnapshotPtr snap = hub_.Current()) {
    size_t instances = 0;
    snap->services.ForEach(
        [&instances](const catalog::ServiceEntry& e) { instances += e.instances.size(); });
    gauge("consul.state.nodes", snap->nodes.size(), "Nodes in the catalog.");
    gauge("consul.state.services", snap->services.size(), "Services (names) in the catalog.");
    gauge("consul.state.service_instances", instances, "Service instances in the catalog.");
    gauge("beacon.catalog.index", snap->index,
          "The catalog index (X-Consul-Index of a full read).");
  }
  gauge("beacon.agent.local_services", Services().size(), "Services registered with this agent.");
  const std::vector<catalog::Check> checks = Checks();
  gauge("beacon.agent.local_checks", checks.size(), "Checks registered with this agent.");
  size_t by_status[4] = {};
  for (const catalog::Check& c : checks) {
    const auto i = static_cast<size_t>(c.status);
    if (i < 4) ++by_status[i];
  }
  for (size_t i = 0; i < 4; ++i) {
    http::Metric m = metrics::Gauge("beacon.agent.checks", static_cast<double>(by_status[i]),
                                    "This agent's checks by status.");
    m.labels["status"] = std::string(catalog::HealthName(static_cast<catalog::Health>(i)));
    out.push_back(std::move(m));
  }
  std::function<void(std::vector<http::Metric>*)> extra;
  {
    MutexLock lock(&mu_);
    gauge("beacon.agent.ttl_checks", ttl_.size(), "TTL checks with a running timer.");
    extra = extra_metrics_;
  }
  if (extra) extra(&out);
  return out;
}

double LocalAgent::UptimeSeconds() const {
  const uint64_t now = clock_();
  return now > started_ms_ ? static_cast<double>(now - started_ms_) / 1000.0 : 0;
}

void LocalAgent::SetReloadHandler(std::function<void(http::AgentDone)> reload) {
  MutexLock lock(&mu_);
  reload_ = std::move(reload);
}

void LocalAgent::SetMetricsSource(std::function<void(std::vector<http::Metric>*)> source) {
  MutexLock lock(&mu_);
  extra_metrics_ = std::move(source);
}

void LocalAgent::SetEnableScriptChecks(bool on) {
  MutexLock lock(&mu_);
  enable_script_checks_ = on;
}

void LocalAgent::Reload(http::AgentDone done) {
  std::function<void(http::AgentDone)> reload;
  {
    MutexLock lock(&mu_);
    reload = reload_;
  }
  if (reload) {
    reload(std::move(done));
  } else {
    done(AgentStatus::Ok());
  }
}

// --- restore -------------------------------------------------------------------------------

size_t LocalAgent::Restore(std::function<void()> done) {
  if (opts_.data_dir.empty()) {
    if (done) done();
    return 0;
  }
  struct Loaded {
    std::vector<std::pair<Service, std::string>> services;  // with their file
    std::vector<std::pair<Check, std::string>> checks;
  };
  auto l = std::make_shared<Loaded>();
  const uint64_t now = clock_();
  std::string text;
  for (const std::string& f : ListDir(opts_.data_dir + "/services", ".json")) {
    const std::string path = opts_.data_dir + "/services/" + f;
    auto body = ReadFile(path, &text) ? config::ParseServiceBody(text)
                                      : Result<config::ServiceBody>(Status::Error("unreadable"));
    if (!body.ok()) {
      BEACON_LOG(log_, kError, "agent", "skipping persisted service %s: %s", path.c_str(),
                 body.status().message().c_str());
      continue;
    }
    l->services.emplace_back(std::move(body->service), path);
  }
  for (const std::string& f : ListDir(opts_.data_dir + "/checks", ".json")) {
    const std::string path = opts_.data_dir + "/checks/" + f;
    bool maint = false;
    auto body = ReadFile(path, &text) ? config::ParsePersistedCheck(text, &maint)
                                      : Result<config::CheckBody>(Status::Error("unreadable"));
    if (!body.ok()) {
      BEACON_LOG(log_, kError, "agent", "skipping persisted check %s: %s", path.c_str(),
                 body.status().message().c_str());
      continue;
    }
    Check& c = body->check;
    // TTL state younger than its expiry comes back (spec 4.3); older state is dropped.
    const std::string state = StatePath(c.id);
    if (c.ttl_ms != 0 && ReadFile(state, &text)) {
      const size_t a = text.find('\n'), b = a == std::string::npos ? a : text.find('\n', a + 1);
      Health h;
      if (b != std::string::npos && catalog::ParseHealth(text.substr(0, a), &h) &&
          std::strtoull(text.c_str() + a + 1, nullptr, 10) > now) {
        c.status = h;
        c.output = text.substr(b + 1);
      } else {
        RemoveFile(state);
      }
    }
    l->checks.emplace_back(std::move(c), path);
  }
  const size_t found = l->services.size() + l->checks.size();
  submit_(
      [this, l, now](catalog::Writer& w) {
        std::set<std::string> restored;
        // Each service's checks by index, so restoring is linear in what the data dir holds.
        std::unordered_map<std::string, std::vector<size_t>> by_service;
        for (size_t i = 0; i < l->checks.size(); ++i) {
          by_service[l->checks[i].first.service_id].push_back(i);
        }
        for (auto& [svc, path] : l->services) {
          if (w.FindService(opts_.node_name, svc.id) != nullptr) {
            BEACON_LOG(log_, kInfo, "agent",
                       "service %s is defined in the configuration; dropping its persisted copy",
                       svc.id.c_str());
            RemoveFile(path);
            continue;
          }
          std::vector<Check> own;
          if (auto it = by_service.find(svc.id); it != by_service.end()) {
            for (size_t i : it->second) own.push_back(l->checks[i].first);
          }
          Status st =
              w.Apply(catalog::LocalChange(catalog::op::UpsertService{opts_.node_name, svc, own}));
          if (!st.ok()) continue;
          restored.insert(svc.id);
        }
        for (size_t i = 0; i < l->checks.size(); ++i) {
          Check& c = l->checks[i].first;
          if (!c.service_id.empty() && !restored.count(c.service_id)) {
            const Instance* in = w.FindService(opts_.node_name, c.service_id);
            if (in == nullptr) {
              BEACON_LOG(log_, kInfo, "agent", "dropping persisted check %s: no service %s",
                         c.id.c_str(), c.service_id.c_str());
              RemoveFile(l->checks[i].second);
              RemoveFile(StatePath(c.id));
              continue;
            }
            c.service_name = in->service.name.str();
            if (!w.Apply(catalog::LocalChange(catalog::op::UpsertCheck{opts_.node_name, c})).ok())
              continue;
          } else if (c.service_id.empty() &&
                     !w.Apply(catalog::LocalChange(catalog::op::UpsertCheck{opts_.node_name, c}))
                          .ok()) {
            continue;
          }
          MutexLock lock(&mu_);
          if (c.ttl_ms != 0) ttl_[c.id] = Ttl{c.ttl_ms, now + c.ttl_ms, c.output, false};
        }
      },
      std::move(done));
  BEACON_LOG(log_, kInfo, "agent", "restoring %zu services and %zu checks from %s",
             l->services.size(), l->checks.size(), opts_.data_dir.c_str());
  return found;
}

}  // namespace beacon::agent
