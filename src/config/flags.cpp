// `beacon agent` command-line flags, parsed by the shared Go-style FlagSet, and how they override
// config files.
#include <cctype>
#include <charconv>
#include <string>
#include <vector>

#include "beacon/config/flagset.h"
#include "beacon/core/duration.h"
#include "beacon/core/strings.h"
#include "internal.h"

namespace beacon::config {
namespace {

using internal::ApplyOverride;

enum class Kind { kBool, kValue };

struct FlagDef {
  std::string_view name;
  Kind kind;
};

// Flags that become overrides, plus the few that CommandLine keeps itself.
constexpr FlagDef kFlags[] = {
    {"dev", Kind::kBool},
    {"server", Kind::kBool},
    {"bootstrap", Kind::kBool},
    {"ui", Kind::kBool},
    {"enable-script-checks", Kind::kBool},
    {"enable-local-script-checks", Kind::kBool},
    {"bootstrap-expect", Kind::kValue},
    {"node", Kind::kValue},
    {"datacenter", Kind::kValue},
    {"data-dir", Kind::kValue},
    {"config-dir", Kind::kValue},
    {"config-file", Kind::kValue},
    {"config-format", Kind::kValue},
    {"bind", Kind::kValue},
    {"client", Kind::kValue},
    {"advertise", Kind::kValue},
    {"dns-port", Kind::kValue},
    {"http-port", Kind::kValue},
    {"serf-lan-port", Kind::kValue},
    {"server-port", Kind::kValue},
    {"grpc-port", Kind::kValue},
    {"domain", Kind::kValue},
    {"alt-domain", Kind::kValue},
    {"recursor", Kind::kValue},
    {"node-meta", Kind::kValue},
    {"log-level", Kind::kValue},
    {"pid-file", Kind::kValue},
    {"join", Kind::kValue},
    {"retry-join", Kind::kValue},
    {"retry-interval", Kind::kValue},
    {"retry-max", Kind::kValue},
    {"encrypt", Kind::kValue},
    {"catalog-seed", Kind::kValue},
    {"dns-workers", Kind::kValue},
    {"dns-udp-batch-wait", Kind::kValue},
    {"kv-backend", Kind::kValue},
    {"etcd-endpoints", Kind::kValue},
    {"etcd-supervise", Kind::kBool},
    {"etcd-client-port", Kind::kValue},
    {"etcd-peer-port", Kind::kValue},
};

Status SetAgentFlag(const std::string& flag, const std::string& value, CommandLine* cl,
                    AgentConfig* scratch) {
  if (flag == "dev") {
    cl->dev = value == "true";
  } else if (flag == "config-dir") {
    cl->config_dirs.push_back(value);
  } else if (flag == "config-file") {
    cl->config_files.push_back(value);
  } else if (flag == "config-format") {
    if (value != "json" && value != "yaml") {
      return Status::Error("invalid value \"" + value +
                           "\" for flag -config-format: expected json or yaml (HCL is not "
                           "supported)");
    }
    cl->config_format = value;
  } else if (flag == "catalog-seed") {
    cl->catalog_seed = value;
  } else {
    Status st = ApplyOverride(flag, value, scratch);
    if (!st.ok()) return st;
    cl->overrides.emplace_back(flag, value);
  }
  return Status::Ok();
}

}  // namespace

Result<CommandLine> ParseAgentFlags(const std::vector<std::string>& args) {
  CommandLine cl;
  AgentConfig scratch;  // overrides are applied here once, only to validate their values
  Status bad;           // the detailed error of the last rejected value
  FlagSet fs;
  for (const FlagDef& def : kFlags) {
    const std::string flag(def.name);
    const bool is_bool = def.kind == Kind::kBool;
    fs.Func(
        flag,
        [&cl, &scratch, &bad, flag, is_bool](std::string_view v) -> std::string {
          std::string value(v);
          if (is_bool) {
            bool b = true;
            if (!core::ParseGoBool(value, &b)) {
              std::string msg = "invalid value \"";
              msg.append(value).append("\" for flag -").append(flag);
              bad = Status::Error(msg.append(": expected true or false"));
              return "parse error";
            }
            value = b ? "true" : "false";
          }
          bad = SetAgentFlag(flag, value, &cl, &scratch);
          return bad.ok() ? "" : "parse error";
        },
        "", is_bool);
  }
  Status st = fs.Parse(args);
  if (!st.ok()) {
    switch (fs.kind()) {
      case FlagSet::ErrorKind::kNeedsArgument:
        return Status::Error("flag -" + fs.flag() + " needs a value");
      case FlagSet::ErrorKind::kBadValue:
        return bad;
      default:
        return Status::Error("unknown flag -" + fs.flag());
    }
  }
  if (!fs.Args().empty()) return Status::Error("unexpected argument \"" + fs.Args()[0] + "\"");
  return cl;
}

namespace internal {
namespace {

Status BadValue(std::string_view flag, std::string_view value, std::string_view what) {
  return Status::Error("invalid value \"" + std::string(value) + "\" for flag -" +
                       std::string(flag) + ": " + std::string(what));
}

bool ToInt(std::string_view s, int64_t lo, int64_t hi, int64_t* out) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

}  // namespace

Status ApplyOverride(std::string_view flag, std::string_view value, AgentConfig* cfg) {
  const bool on = value == "true";
  int64_t n = 0;
  if (flag == "server") {
    cfg->server = on;
  } else if (flag == "enable-script-checks") {
    cfg->enable_script_checks = on;
  } else if (flag == "enable-local-script-checks") {
    cfg->enable_local_script_checks = on;
  } else if (flag == "ui") {
    cfg->ui = on;
  } else if (flag == "bootstrap") {
    // Accepted for compatibility: a single agent is always its own leader.
  } else if (flag == "bootstrap-expect") {
    if (!ToInt(value, 0, 1000, &n)) return BadValue(flag, value, "expected a number");
    cfg->bootstrap_expect = static_cast<int>(n);
  } else if (flag == "node") {
    if (value.empty()) return BadValue(flag, value, "expected a node name");
    cfg->node_name = std::string(value);
  } else if (flag == "datacenter") {
    std::string dc;
    for (char ch : value) dc += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (dc.empty() ||
        dc.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos) {
      return BadValue(flag, value, "expected letters, digits, '-' and '_'");
    }
    cfg->datacenter = dc;
  } else if (flag == "data-dir") {
    cfg->data_dir = std::string(value);
  } else if (flag == "bind" || flag == "advertise") {
    if (!IsIp(value)) return BadValue(flag, value, "expected an IP address");
    (flag == "bind" ? cfg->bind_addr : cfg->advertise_addr) = std::string(value);
  } else if (flag == "client") {
    std::vector<std::string> addrs = SplitSpaces(value);
    for (const std::string& a : addrs) {
      if (!IsIp(a)) return BadValue(flag, value, "expected space-separated IP addresses");
    }
    if (addrs.empty()) return BadValue(flag, value, "expected one or more IP addresses");
    cfg->client_addrs = std::move(addrs);
  } else if (flag == "dns-port" || flag == "http-port" || flag == "serf-lan-port" ||
             flag == "server-port" || flag == "grpc-port") {
    if (!ToInt(value, -1, 65535, &n)) return BadValue(flag, value, "expected a port number");
    if (flag == "dns-port") cfg->ports.dns = static_cast<int>(n);
    if (flag == "http-port") cfg->ports.http = static_cast<int>(n);
    if (flag == "serf-lan-port") cfg->ports.serf_lan = static_cast<int>(n);
    if (flag == "server-port") cfg->ports.server = static_cast<int>(n);
  } else if (flag == "domain" || flag == "alt-domain") {
    std::string* out = flag == "domain" ? &cfg->dns.domain : &cfg->dns.alt_domain;
    if (!NormalizeDomain(value, out)) return BadValue(flag, value, "expected a domain name");
  } else if (flag == "recursor") {
    std::string why;
    if (!IsRecursor(value, &why)) return BadValue(flag, value, why);
    cfg->dns.recursors.emplace_back(value);
  } else if (flag == "node-meta") {
    size_t colon = value.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return BadValue(flag, value, "expected key:value");
    }
    cfg->node_meta[std::string(value.substr(0, colon))] = std::string(value.substr(colon + 1));
  } else if (flag == "log-level") {
    if (!NormalizeLogLevel(value, &cfg->log_level)) {
      return BadValue(flag, value, "expected trace, debug, info, warn or error");
    }
  } else if (flag == "pid-file") {
    cfg->pid_file = std::string(value);
  } else if (flag == "join" || flag == "retry-join") {
    (flag == "join" ? cfg->start_join : cfg->retry_join).emplace_back(value);
  } else if (flag == "retry-interval") {
    uint64_t ms = 0;
    if (!core::ParseDurationMs(value, &ms) || ms == 0) {
      return BadValue(flag, value, "expected a duration such as 30s");
    }
    cfg->retry_interval_ms = ms;
  } else if (flag == "retry-max") {
    if (!ToInt(value, 0, 1 << 30, &n)) return BadValue(flag, value, "expected a number");
    cfg->retry_max = static_cast<int>(n);
  } else if (flag == "encrypt") {
    if (std::string why = internal::GossipKeyProblem(value); !why.empty()) {
      return BadValue(flag, value, why);
    }
    cfg->encrypt = std::string(value);
  } else if (flag == "dns-workers") {
    if (!ToInt(value, 0, 1024, &n)) return BadValue(flag, value, "expected a number 0..1024");
    cfg->dns_workers = static_cast<int>(n);
  } else if (flag == "dns-udp-batch-wait") {
    if (std::string why = internal::BatchWaitProblem(value, &cfg->dns_udp_batch_wait_ns);
        !why.empty()) {
      return BadValue(flag, value, why);
    }
  } else if (flag == "kv-backend") {
    if (value != "embedded" && value != "etcd") {
      return BadValue(flag, value, "expected embedded or etcd");
    }
    cfg->kv_backend = std::string(value);
  } else if (flag == "etcd-endpoints") {
    Status st = internal::ParseEtcdEndpoints(value, &cfg->etcd.endpoints);
    if (!st.ok()) return BadValue(flag, value, st.message());
  } else if (flag == "etcd-supervise") {
    cfg->etcd.supervise = on;
  } else if (flag == "etcd-client-port" || flag == "etcd-peer-port") {
    if (!ToInt(value, 1, 65535, &n)) return BadValue(flag, value, "expected a port 1..65535");
    (flag == "etcd-client-port" ? cfg->etcd.client_port : cfg->etcd.peer_port) =
        static_cast<int>(n);
  } else {
    return Status::Error("unknown flag -" + std::string(flag));
  }
  return Status::Ok();
}

}  // namespace internal
}  // namespace beacon::config
