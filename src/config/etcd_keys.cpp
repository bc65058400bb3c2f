// Config keys for the etcd KV backend (issue 10): kv_backend, etcd { endpoints, dial_timeout,
// request_timeout, prefix, tls { ca_file, cert_file, key_file }, supervise, client_port,
// peer_port, binary, transport, compaction_interval } and -etcd-endpoints.
#include "internal.h"

namespace beacon::config::internal {
namespace {

Status CheckEndpoint(std::string_view e) {
  if (!(e.starts_with("http://") || e.starts_with("https://")) ||
      e.find(':', e.find("//") + 2) == std::string_view::npos) {
    return Status::Error("expected an endpoint URL such as http://127.0.0.1:2379, got \"" +
                         std::string(e) + "\"");
  }
  return Status::Ok();
}

Status ApplyTls(const Ctx& c, const Value& v, std::string_view path, EtcdConfig* out) {
  Status st = ExpectObject(c, v, path);
  for (const Member& m : v.members) {
    if (!st.ok()) break;
    const std::string k = NormKey(m.key);
    const std::string p = Join(path, m.key);
    if (k == "cafile") {
      st = GetString(c, m.value, p, &out->ca_file);
    } else if (k == "certfile") {
      st = GetString(c, m.value, p, &out->cert_file);
    } else if (k == "keyfile") {
      st = GetString(c, m.value, p, &out->key_file);
    } else {
      st = c.Err(m.value, p, "unknown key (expected ca_file, cert_file or key_file)");
    }
  }
  return st;
}

}  // namespace

Status GetKvBackend(const Ctx& c, const Value& v, std::string_view path, std::string* out) {
  std::string s;
  Status st = GetString(c, v, path, &s);
  if (st.ok() && s != "embedded" && s != "etcd") {
    return c.Err(v, path, "expected \"embedded\" or \"etcd\", got \"" + s + "\"");
  }
  if (st.ok()) *out = s;
  return st;
}

Status ParseEtcdEndpoints(std::string_view list, std::vector<std::string>* out) {
  std::vector<std::string> eps;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view e = list.substr(0, comma);
    while (!e.empty() && e.front() == ' ') e.remove_prefix(1);
    while (!e.empty() && e.back() == ' ') e.remove_suffix(1);
    if (!e.empty()) {
      if (Status st = CheckEndpoint(e); !st.ok()) return st;
      eps.emplace_back(e);
    }
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  if (eps.empty()) return Status::Error("expected a comma-separated list of endpoint URLs");
  *out = std::move(eps);
  return Status::Ok();
}

Status ApplyEtcd(const Ctx& c, const Value& v, std::string_view path, EtcdConfig* out) {
  Status st = ExpectObject(c, v, path);
  for (const Member& m : v.members) {
    if (!st.ok()) break;
    const std::string k = NormKey(m.key);
    const std::string p = Join(path, m.key);
    const Value& x = m.value;
    if (k == "endpoints") {
      std::vector<std::string> eps;
      st = GetStringList(c, x, p, &eps);
      for (const std::string& e : eps) {
        if (!st.ok()) break;
        if (Status bad = CheckEndpoint(e); !bad.ok()) st = c.Err(x, p, bad.message());
      }
      if (st.ok()) out->endpoints = std::move(eps);
    } else if (k == "dialtimeout" || k == "requesttimeout") {
      uint64_t ms = 0;
      st = GetDurationMs(c, x, p, &ms);
      if (st.ok() && ms == 0) st = c.Err(x, p, "expected a positive duration such as 5s");
      (k == "dialtimeout" ? out->dial_timeout_ms : out->request_timeout_ms) = ms;
    } else if (k == "compactioninterval") {
      st = GetDurationMs(c, x, p, &out->compaction_interval_ms);
    } else if (k == "prefix") {
      st = GetString(c, x, p, &out->prefix);
      if (st.ok() && out->prefix.empty()) st = c.Err(x, p, "expected a non-empty key prefix");
    } else if (k == "tls") {
      st = ApplyTls(c, x, p, out);
    } else if (k == "supervise") {
      st = GetBool(c, x, p, &out->supervise);
    } else if (k == "clientport" || k == "peerport") {
      int64_t n = 0;
      st = GetInt(c, x, p, 1, 65535, &n);
      (k == "clientport" ? out->client_port : out->peer_port) = static_cast<int>(n);
    } else if (k == "transport") {
      st = GetString(c, x, p, &out->transport);
      if (st.ok() && out->transport != "grpc" && out->transport != "gateway") {
        st = c.Err(x, p, "expected \"grpc\" or \"gateway\", got \"" + out->transport + "\"");
      }
    } else if (k == "binary") {
      st = GetString(c, x, p, &out->binary);
      if (st.ok() && out->binary.empty()) st = c.Err(x, p, "expected the path of etcd");
    } else {
      st = c.Err(x, p,
                 "unknown key (expected endpoints, dial_timeout, request_timeout, prefix, tls, "
                 "supervise, client_port, peer_port, binary, transport or compaction_interval)");
    }
  }
  return st;
}

Status FinalizeKvBackend(const AgentConfig& cfg) {
  if (cfg.etcd.supervise) {
    if (cfg.kv_backend != "etcd") {
      return Status::Error("etcd.supervise (-etcd-supervise) needs kv_backend \"etcd\"");
    }
    if (!cfg.server) return Status::Error("etcd.supervise (-etcd-supervise) needs -server");
    if (cfg.dev || cfg.data_dir.empty()) {
      return Status::Error("etcd.supervise (-etcd-supervise) needs -data-dir (not -dev)");
    }
    if (cfg.etcd.client_port == cfg.etcd.peer_port) {
      return Status::Error("etcd.client_port and etcd.peer_port must differ");
    }
    return Status::Ok();  // endpoints default to the supervised members' client URLs
  }
  if (cfg.kv_backend == "etcd" && cfg.etcd.endpoints.empty()) {
    return Status::Error("kv_backend \"etcd\" needs etcd.endpoints (or -etcd-endpoints)");
  }
  return Status::Ok();
}

}  // namespace beacon::config::internal
