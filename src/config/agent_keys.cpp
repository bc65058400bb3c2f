// Top-level agent keys and dns_config{...}: one parsed document applied to an AgentConfig.
// Scalars replace, lists append, maps merge key by key.
#include <cctype>
#include <string>

#include "beacon/core/base64.h"
#include "beacon/core/duration.h"
#include "beacon/core/strings.h"
#include "internal.h"

namespace beacon::config::internal {
namespace {

constexpr int64_t kU32Max = 4294967295LL;

Status GetU32(const Ctx& c, const Value& v, std::string_view path, uint32_t* out) {
  int64_t n = 0;
  Status st = GetInt(c, v, path, 0, kU32Max, &n);
  if (st.ok()) *out = static_cast<uint32_t>(n);
  return st;
}

Status GetSeconds(const Ctx& c, const Value& v, std::string_view path, uint32_t* out_s) {
  uint64_t ms = 0;
  Status st = GetDurationMs(c, v, path, &ms);
  if (!st.ok()) return st;
  if (ms / 1000 > static_cast<uint64_t>(kU32Max)) return c.Err(v, path, "duration is too long");
  *out_s = static_cast<uint32_t>(ms / 1000);
  return Status::Ok();
}

Status CheckGossipKey(const Ctx& c, const Value& v, std::string_view path, const std::string& key) {
  const std::string why = GossipKeyProblem(key);
  return why.empty() ? Status::Ok() : c.Err(v, path, why);
}

// A short duration (dns_udp_batch_wait): a Go duration string, or the number 0 (off).
Status GetWaitNs(const Ctx& c, const Value& v, std::string_view path, uint64_t* out_ns) {
  if (v.type == Value::Type::kInt && v.i == 0) {
    *out_ns = 0;
    return Status::Ok();
  }
  std::string s;
  if (!GetString(c, v, path, &s).ok()) {
    return c.Err(v, path, "expected a duration such as \"50us\", or 0");
  }
  const std::string why = BatchWaitProblem(s, out_ns);
  return why.empty() ? Status::Ok() : c.Err(v, path, why);
}

Status GetIp(const Ctx& c, const Value& v, std::string_view path, std::string* out) {
  std::string s;
  Status st = GetString(c, v, path, &s);
  if (!st.ok()) return st;
  if (!IsIp(s)) return c.Err(v, path, "expected an IP address, got \"" + s + "\"");
  *out = std::move(s);
  return Status::Ok();
}

Status GetIpList(const Ctx& c, const Value& v, std::string_view path,
                 std::vector<std::string>* out) {
  std::string s;
  Status st = GetString(c, v, path, &s);
  if (!st.ok()) return st;
  std::vector<std::string> addrs = SplitSpaces(s);
  if (addrs.empty()) return c.Err(v, path, "expected one or more IP addresses");
  for (const std::string& a : addrs) {
    if (!IsIp(a)) {
      return c.Err(v, path,
                   "expected space-separated IP addresses, got \"" + a +
                       "\" (go-sockaddr templates are not supported)");
    }
  }
  *out = std::move(addrs);
  return Status::Ok();
}

Status GetDomain(const Ctx& c, const Value& v, std::string_view path, std::string* out) {
  std::string s;
  Status st = GetString(c, v, path, &s);
  if (!st.ok()) return st;
  if (!NormalizeDomain(s, out)) return c.Err(v, path, "expected a domain name, got \"" + s + "\"");
  return Status::Ok();
}

Status ApplyRecursors(const Ctx& c, const Value& v, std::string_view path, DnsConfig* dns) {
  std::vector<std::string> list;
  Status st;
  if (v.type == Value::Type::kString) {
    list.push_back(v.s);  // a single string is accepted as a one-element list
  } else {
    st = GetStringList(c, v, path, &list);
    if (!st.ok()) return st;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    std::string why;
    if (!IsRecursor(list[i], &why)) {
      return c.Err(v.is_array() ? v.items[i] : v, v.is_array() ? Index(path, i) : path,
                   "invalid recursor \"" + list[i] + "\": " + why);
    }
    dns->recursors.push_back(list[i]);
  }
  return Status::Ok();
}

Status ApplySoa(const Ctx& c, const Value& v, std::string_view path, SoaConfig* soa) {
  Status st = ExpectObject(c, v, path);
  for (const Member& m : v.members) {
    if (!st.ok()) break;
    const std::string k = NormKey(m.key);
    const std::string p = Join(path, m.key);
    if (k == "refresh") st = GetU32(c, m.value, p, &soa->refresh);
    if (k == "retry") st = GetU32(c, m.value, p, &soa->retry);
    if (k == "expire") st = GetU32(c, m.value, p, &soa->expire);
    if (k == "minttl") st = GetU32(c, m.value, p, &soa->min_ttl);
  }
  return st;
}

Status ApplyDnsConfig(const Ctx& c, const Value& v, std::string_view path, DnsConfig* dns) {
  Status st = ExpectObject(c, v, path);
  if (!st.ok()) return st;
  for (const Member& m : v.members) {
    if (m.value.is_null()) continue;
    const std::string k = NormKey(m.key);
    const std::string p = Join(path, m.key);
    const Value& x = m.value;
    uint64_t ms = 0;
    if (k == "nodettl") {
      st = GetSeconds(c, x, p, &dns->node_ttl_s);
    } else if (k == "servicettl") {
      st = ExpectObject(c, x, p);
      for (size_t i = 0; st.ok() && i < x.members.size(); ++i) {
        const Member& e = x.members[i];
        st = GetSeconds(c, e.value, Join(p, e.key), &dns->service_ttl_s[e.key]);
      }
    } else if (k == "onlypassing") {
      st = GetBool(c, x, p, &dns->only_passing);
    } else if (k == "enabletruncate") {
      st = GetBool(c, x, p, &dns->enable_truncate);
    } else if (k == "udpanswerlimit") {
      st = GetU32(c, x, p, &dns->udp_answer_limit);
    } else if (k == "arecordlimit") {
      st = GetU32(c, x, p, &dns->a_record_limit);
    } else if (k == "recursortimeout") {
      st = GetDurationMs(c, x, p, &ms);
      if (st.ok() && ms > kU32Max) st = c.Err(x, p, "duration is too long");
      dns->recursor_timeout_ms = static_cast<uint32_t>(ms);
    } else if (k == "recursorstrategy") {
      std::string s;
      st = GetString(c, x, p, &s);
      if (st.ok() && s != "sequential" && s != "random") {
        st = c.Err(x, p, "expected \"sequential\" or \"random\", got \"" + s + "\"");
      }
      dns->recursor_random = s == "random";
    } else if (k == "disablecompression") {
      st = GetBool(c, x, p, &dns->disable_compression);
    } else if (k == "enableadditionalnodemetatxt") {
      st = GetBool(c, x, p, &dns->enable_additional_node_meta_txt);
    } else if (k == "allowstale") {
      st = GetBool(c, x, p, &dns->allow_stale);
    } else if (k == "maxstale" || k == "cachemaxage") {
      st = GetDurationMs(c, x, p, &ms);  // accepted and checked; Beacon never blocks on a leader
    } else if (k == "usecache") {
      bool ignored = false;
      st = GetBool(c, x, p, &ignored);
    } else if (k == "recursionavailable") {
      st = GetBool(c, x, p, &dns->recursion_available);
    } else if (k == "soa") {
      st = ApplySoa(c, x, p, &dns->soa);
    }
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Status ApplyPorts(const Ctx& c, const Value& v, std::string_view path, Ports* ports) {
  Status st = ExpectObject(c, v, path);
  for (const Member& m : v.members) {
    if (!st.ok()) break;
    if (m.value.is_null()) continue;
    int64_t n = 0;
    st = GetInt(c, m.value, Join(path, m.key), -1, 65535, &n);  // -1 disables a listener
    const std::string k = NormKey(m.key);
    if (k == "dns") ports->dns = static_cast<int>(n);
    if (k == "http") ports->http = static_cast<int>(n);
    if (k == "serflan") ports->serf_lan = static_cast<int>(n);
    if (k == "server") ports->server = static_cast<int>(n);
  }
  return st;
}

// telemetry { prometheus_retention_time, disable_hostname, dns_metrics }; Consul's other
// telemetry keys (statsd_address, ...) are accepted and ignored.
Status ApplyTelemetry(const Ctx& c, const Value& v, std::string_view path, Telemetry* t) {
  Status st = ExpectObject(c, v, path);
  for (const Member& m : v.members) {
    if (!st.ok()) break;
    if (m.value.is_null()) continue;
    const std::string k = NormKey(m.key);
    if (k == "prometheusretentiontime") {
      st = GetDurationMs(c, m.value, Join(path, m.key), &t->prometheus_retention_ms);
    } else if (k == "disablehostname") {
      st = GetBool(c, m.value, Join(path, m.key), &t->disable_hostname);
    } else if (k == "dnsmetrics") {
      st = GetBool(c, m.value, Join(path, m.key), &t->dns_metrics);
    }
  }
  return st;
}

Status ApplyAddresses(const Ctx& c, const Value& v, std::string_view path, AgentConfig* cfg) {
  Status st = ExpectObject(c, v, path);
  const Value* http = nullptr;
  const Value* dns = nullptr;
  for (const Member& m : v.members) {
    const std::string k = NormKey(m.key);
    if (k == "http" && !m.value.is_null()) http = &m.value;
    if (k == "dns" && !m.value.is_null()) dns = &m.value;
  }
  // One listener list serves both; the DNS address wins when both are given.
  if (st.ok() && http != nullptr) st = GetIpList(c, *http, Join(path, "http"), &cfg->client_addrs);
  if (st.ok() && dns != nullptr) st = GetIpList(c, *dns, Join(path, "dns"), &cfg->client_addrs);
  return st;
}

// ui_config { enabled, ... }: only `enabled` matters (the assets are built in; dir,
// content_path and metrics_* are accepted and ignored).
Status ApplyUiConfig(const Ctx& c, const Value& v, std::string_view path, AgentConfig* cfg) {
  Status st = ExpectObject(c, v, path);
  for (const Member& m : v.members) {
    if (!st.ok()) break;
    if (NormKey(m.key) == "enabled" && !m.value.is_null()) {
      st = GetBool(c, m.value, Join(path, m.key), &cfg->ui);
    }
  }
  return st;
}

Status ApplyList(const Ctx& c, const Value& v, std::string_view path, bool node_check,
                 AgentConfig* cfg, LoadState* ls) {
  if (!v.is_array()) return c.Err(v, path, "expected a list of objects");
  for (size_t i = 0; i < v.items.size(); ++i) {
    Status st = node_check ? ParseNodeCheck(c, v.items[i], Index(path, i), cfg, ls)
                           : ParseService(c, v.items[i], Index(path, i), cfg, ls);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace

std::string GossipKeyProblem(std::string_view b64) {
  std::string raw, err;
  if (!core::Base64Decode(b64, &raw, &err)) return "Failed to decode key: " + err;
  if (raw.size() != 16 && raw.size() != 24 && raw.size() != 32) {
    return "key size must be 16, 24 or 32 bytes, got " + std::to_string(raw.size());
  }
  return {};
}

std::string BatchWaitProblem(std::string_view s, uint64_t* out_ns) {
  int64_t ns = 0;
  std::string err;
  if (!core::ParseGoDuration(s, &ns, &err)) return err;
  if (ns < 0 || ns > 1'000'000) {
    return "must be between 0 and 1ms, got \"" + std::string(s) + "\"";
  }
  *out_ns = static_cast<uint64_t>(ns);
  return {};
}

Status ApplyDocument(const Ctx& c, const Value& root, AgentConfig* cfg, LoadState* ls) {
  Status st = ExpectObject(c, root, "");
  if (!st.ok()) return st;
  for (const Member& m : root.members) {
    if (m.value.is_null()) continue;
    const std::string k = NormKey(m.key);
    const std::string& p = m.key;
    const Value& x = m.value;
    int64_t n = 0;
    bool ignored = false;
    std::string s;
    if (k == "nodename") {
      st = GetString(c, x, p, &s);
      if (st.ok() && s.empty()) st = c.Err(x, p, "expected a non-empty node name");
      cfg->node_name = s;
    } else if (k == "datacenter") {
      st = GetString(c, x, p, &s);
      core::LowerInPlace(s);
      if (st.ok() && (s.empty() || s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") !=
                                       std::string::npos)) {
        st = c.Err(x, p, "expected a datacenter name of letters, digits, '-' and '_'");
      }
      cfg->datacenter = s;
    } else if (k == "kvbackend") {
      st = GetKvBackend(c, x, p, &cfg->kv_backend);
    } else if (k == "etcd") {
      st = ApplyEtcd(c, x, p, &cfg->etcd);
    } else if (k == "datadir") {
      st = GetString(c, x, p, &cfg->data_dir);
    } else if (k == "clientaddr") {
      st = GetIpList(c, x, p, &cfg->client_addrs);
    } else if (k == "bindaddr") {
      st = GetIp(c, x, p, &cfg->bind_addr);
    } else if (k == "advertiseaddr") {
      st = GetIp(c, x, p, &cfg->advertise_addr);
    } else if (k == "server") {
      st = GetBool(c, x, p, &cfg->server);
    } else if (k == "bootstrap") {
      st = GetBool(c, x, p, &ignored);
    } else if (k == "ui") {  // Consul's older spelling of ui_config.enabled
      st = GetBool(c, x, p, &cfg->ui);
    } else if (k == "uiconfig") {
      st = ApplyUiConfig(c, x, p, cfg);
    } else if (k == "bootstrapexpect") {
      st = GetInt(c, x, p, 0, 1000, &n);
      cfg->bootstrap_expect = static_cast<int>(n);
    } else if (k == "loglevel") {
      st = GetString(c, x, p, &s);
      if (st.ok() && !NormalizeLogLevel(s, &cfg->log_level)) {
        st = c.Err(x, p, "expected one of trace, debug, info, warn, error; got \"" + s + "\"");
      }
    } else if (k == "enablescriptchecks") {
      st = GetBool(c, x, p, &cfg->enable_script_checks);
    } else if (k == "enablelocalscriptchecks") {
      st = GetBool(c, x, p, &cfg->enable_local_script_checks);
    } else if (k == "checkoutputmaxsize") {
      int64_t n = 0;
      st = GetInt(c, x, p, 1, int64_t{1} << 30, &n);
      if (st.ok()) cfg->check_output_max_size = static_cast<uint64_t>(n);
    } else if (k == "nodemeta") {
      st = GetStringMap(c, x, p, &cfg->node_meta);
    } else if (k == "ports") {
      st = ApplyPorts(c, x, p, &cfg->ports);
    } else if (k == "telemetry") {
      st = ApplyTelemetry(c, x, p, &cfg->telemetry);
    } else if (k == "addresses") {
      st = ApplyAddresses(c, x, p, cfg);
    } else if (k == "domain") {
      st = GetDomain(c, x, p, &cfg->dns.domain);
    } else if (k == "altdomain") {
      st = GetDomain(c, x, p, &cfg->dns.alt_domain);
    } else if (k == "recursors") {
      st = ApplyRecursors(c, x, p, &cfg->dns);
    } else if (k == "dnsconfig") {
      st = ApplyDnsConfig(c, x, p, &cfg->dns);
    } else if (k == "dnsworkers") {
      st = GetInt(c, x, p, 0, 1024, &n);
      cfg->dns_workers = static_cast<int>(n);
    } else if (k == "dnsudpbatchwait") {
      st = GetWaitNs(c, x, p, &cfg->dns_udp_batch_wait_ns);
    } else if (k == "pidfile") {
      st = GetString(c, x, p, &cfg->pid_file);
    } else if (k == "retryjoin" || k == "startjoin") {
      std::vector<std::string> addrs;
      st = GetStringList(c, x, p, &addrs);
      auto& to = k == "retryjoin" ? cfg->retry_join : cfg->start_join;
      to.insert(to.end(), addrs.begin(), addrs.end());
    } else if (k == "retryinterval") {
      st = GetDurationMs(c, x, p, &cfg->retry_interval_ms);
    } else if (k == "retrymax") {
      st = GetInt(c, x, p, 0, 1 << 30, &n);
      cfg->retry_max = static_cast<int>(n);
    } else if (k == "encrypt") {
      st = GetString(c, x, p, &cfg->encrypt);
      if (st.ok()) st = CheckGossipKey(c, x, p, cfg->encrypt);
    } else if (k == "encryptverifyincoming") {
      st = GetBool(c, x, p, &cfg->encrypt_verify_incoming);
    } else if (k == "encryptverifyoutgoing") {
      st = GetBool(c, x, p, &cfg->encrypt_verify_outgoing);
    } else if (k == "service") {
      st = ParseService(c, x, p, cfg, ls);
    } else if (k == "services") {
      st = ApplyList(c, x, p, false, cfg, ls);
    } else if (k == "check") {
      st = ParseNodeCheck(c, x, p, cfg, ls);
    } else if (k == "checks") {
      st = ApplyList(c, x, p, true, cfg, ls);
    }
    // Anything else (acl, performance, limits, ...) is accepted and ignored.
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace beacon::config::internal
