// Service and check definitions from config files, with Consul's defaults and validation.
#include <string>
#include <utility>
#include <vector>

#include "internal.h"

namespace beacon::config::internal {
namespace {

constexpr int64_t kU32Max = 4294967295LL;

std::string Loc(const Ctx& c, const Value& v, std::string_view path) {
  std::string s(c.file);
  if (v.line > 0) s += ":" + std::to_string(v.line);
  s += ": ";
  s.append(path);
  return s;
}

Status GetU32(const Ctx& c, const Value& v, std::string_view path, uint32_t* out) {
  int64_t n = 0;
  Status st = GetInt(c, v, path, 0, kU32Max, &n);
  if (st.ok()) *out = static_cast<uint32_t>(n);
  return st;
}

Status GetHeader(const Ctx& c, const Value& v, std::string_view path,
                 std::map<std::string, std::vector<std::string>>* out) {
  Status st = ExpectObject(c, v, path);
  if (!st.ok()) return st;
  for (const Member& m : v.members) {
    std::vector<std::string> vals;
    st = GetStringList(c, m.value, Join(path, m.key), &vals);
    if (!st.ok()) return st;
    (*out)[m.key] = std::move(vals);
  }
  return Status::Ok();
}

// Fills chk from the keys of one check object. Type validation happens in ValidateCheck.
Status ParseCheckFields(const Ctx& c, const Value& v, std::string_view path, catalog::Check* chk,
                        std::string* unsupported) {
  Status st = ExpectObject(c, v, path);
  if (!st.ok()) return st;
  for (const Member& m : v.members) {
    if (m.value.is_null()) continue;
    const std::string k = NormKey(m.key);
    const std::string p = Join(path, m.key);
    const Value& x = m.value;
    if (k == "id" || k == "checkid") {
      st = GetString(c, x, p, &chk->id);
    } else if (k == "name") {
      st = GetString(c, x, p, &chk->name);
    } else if (k == "notes") {
      st = GetString(c, x, p, &chk->notes);
    } else if (k == "serviceid") {
      st = GetString(c, x, p, &chk->service_id);
    } else if (k == "status") {
      std::string s;
      st = GetString(c, x, p, &s);
      if (st.ok() && (!catalog::ParseHealth(s, &chk->status) ||
                      chk->status == catalog::Health::kMaintenance)) {
        st = c.Err(x, p,
                   "expected one of \"passing\", \"warning\", \"critical\", got \"" + s + "\"");
      }
    } else if (k == "args" || k == "scriptargs") {
      st = GetStringList(c, x, p, &chk->args);
    } else if (k == "script") {
      std::string s;
      st = GetString(c, x, p, &s);
      chk->args = {"sh", "-c", s};
    } else if (k == "http") {
      st = GetString(c, x, p, &chk->http);
    } else if (k == "method") {
      st = GetString(c, x, p, &chk->method);
    } else if (k == "header") {
      st = GetHeader(c, x, p, &chk->header);
    } else if (k == "body") {
      st = GetString(c, x, p, &chk->body);
    } else if (k == "tcp") {
      st = GetString(c, x, p, &chk->tcp);
    } else if (k == "udp") {
      st = GetString(c, x, p, &chk->udp);
    } else if (k == "grpc") {
      st = GetString(c, x, p, &chk->grpc);
    } else if (k == "shell") {
      st = GetString(c, x, p, &chk->shell);
    } else if (k == "dockercontainerid") {
      st = GetString(c, x, p, &chk->docker_container_id);
    } else if (k == "tlsskipverify") {
      st = GetBool(c, x, p, &chk->tls_skip_verify);
    } else if (k == "disableredirects") {
      st = GetBool(c, x, p, &chk->disable_redirects);
    } else if (k == "tlsservername") {
      st = GetString(c, x, p, &chk->tls_server_name);
    } else if (k == "tcpusetls") {
      st = GetBool(c, x, p, &chk->tcp_use_tls);
    } else if (k == "aliasnode") {
      st = GetString(c, x, p, &chk->alias_node);
    } else if (k == "aliasservice") {
      st = GetString(c, x, p, &chk->alias_service);
    } else if (k == "outputmaxsize") {
      int64_t n = 0;
      st = GetInt(c, x, p, 0, int64_t{1} << 30, &n);
      chk->output_max_size = static_cast<uint64_t>(n);
    } else if (k == "interval") {
      st = GetDurationMs(c, x, p, &chk->interval_ms);
    } else if (k == "timeout") {
      st = GetDurationMs(c, x, p, &chk->timeout_ms);
    } else if (k == "ttl") {
      st = GetDurationMs(c, x, p, &chk->ttl_ms);
    } else if (k == "deregistercriticalserviceafter") {
      st = GetDurationMs(c, x, p, &chk->deregister_critical_after_ms);
    } else if (k == "successbeforepassing") {
      st = GetU32(c, x, p, &chk->success_before_passing);
    } else if (k == "failuresbeforewarning") {
      st = GetU32(c, x, p, &chk->failures_before_warning);
    } else if (k == "failuresbeforecritical") {
      st = GetU32(c, x, p, &chk->failures_before_critical);
    } else if (k == "h2ping" || k == "osservice") {
      *unsupported = m.key;
    }
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Status ValidateCheck(const Ctx& c, const Value& v, std::string_view path, const catalog::Check& chk,
                     const std::string& unsupported, LoadState* st) {
  if (!unsupported.empty()) {
    return c.Err(v, Join(path, unsupported), "this check type is not supported by beacon");
  }
  std::vector<std::string_view> kinds;
  const bool docker = !chk.docker_container_id.empty();
  if (!chk.args.empty() && !docker) kinds.push_back("args/script");
  if (docker) kinds.push_back("docker_container_id");
  if (!chk.http.empty()) kinds.push_back("http");
  if (!chk.tcp.empty()) kinds.push_back("tcp");
  if (!chk.udp.empty()) kinds.push_back("udp");
  if (!chk.grpc.empty()) kinds.push_back("grpc");
  if (chk.ttl_ms > 0) kinds.push_back("ttl");
  if (!chk.alias_node.empty() || !chk.alias_service.empty()) kinds.push_back("alias");
  if (kinds.empty()) {
    return c.Err(v, path,
                 "check has no type: set exactly one of args, script, http, tcp, udp, grpc, ttl, "
                 "alias_node/alias_service or docker_container_id");
  }
  if (kinds.size() > 1) {
    return c.Err(v, path,
                 "a check may set only one of args/script, http, tcp, udp, grpc, ttl, alias or "
                 "docker_container_id; found " +
                     std::string(kinds[0]) + " and " + std::string(kinds[1]));
  }
  if (docker && chk.args.empty()) {
    return c.Err(v, Join(path, "args"), "docker checks need args (the command to run)");
  }
  if (kinds[0] != "ttl" && kinds[0] != "alias" && chk.interval_ms == 0) {
    return c.Err(v, Join(path, "interval"),
                 "missing required key: " + std::string(kinds[0]) + " checks need an interval");
  }
  if (!chk.args.empty()) st->script_checks.push_back(Loc(c, v, path));
  return Status::Ok();
}

template <typename T>
void Upsert(std::vector<T>* list, T item) {
  for (T& existing : *list) {
    if (existing.id == item.id) {
      existing = std::move(item);  // a later definition with the same id replaces the earlier
      return;
    }
  }
  list->push_back(std::move(item));
}

Status ParseTaggedAddresses(const Ctx& c, const Value& v, std::string_view path,
                            std::map<std::string, catalog::TaggedAddress>* out) {
  Status st = ExpectObject(c, v, path);
  if (!st.ok()) return st;
  for (const Member& m : v.members) {
    const std::string p = Join(path, m.key);
    st = ExpectObject(c, m.value, p);
    if (!st.ok()) return st;
    catalog::TaggedAddress ta;
    for (const Member& f : m.value.members) {
      const std::string fk = NormKey(f.key);
      if (fk == "address") {
        st = GetString(c, f.value, Join(p, f.key), &ta.address);
      } else if (fk == "port") {
        int64_t port = 0;
        st = GetInt(c, f.value, Join(p, f.key), 0, 65535, &port);
        ta.port = static_cast<uint16_t>(port);
      }
      if (!st.ok()) return st;
    }
    (*out)[m.key] = std::move(ta);
  }
  return Status::Ok();
}

Status ParseWeights(const Ctx& c, const Value& v, std::string_view path, catalog::Weights* w) {
  Status st = ExpectObject(c, v, path);
  if (!st.ok()) return st;
  for (const Member& m : v.members) {
    const std::string k = NormKey(m.key);
    int64_t n = 0;
    if (k == "passing") {
      st = GetInt(c, m.value, Join(path, m.key), 1, kU32Max, &n);
      w->passing = static_cast<uint32_t>(n);
    } else if (k == "warning") {
      st = GetInt(c, m.value, Join(path, m.key), 0, kU32Max, &n);
      w->warning = static_cast<uint32_t>(n);
    }
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace

Status ParseService(const Ctx& c, const Value& v, std::string_view path, AgentConfig* cfg,
                    LoadState* ls) {
  Status st = ExpectObject(c, v, path);
  if (!st.ok()) return st;
  catalog::Service svc;
  std::vector<std::pair<std::string, const Value*>> check_defs;
  for (const Member& m : v.members) {
    if (m.value.is_null()) continue;
    const std::string k = NormKey(m.key);
    const std::string p = Join(path, m.key);
    const Value& x = m.value;
    if (k == "id") {
      st = GetString(c, x, p, &svc.id);
    } else if (k == "name") {
      st = GetString(c, x, p, &svc.name);
    } else if (k == "tags") {
      st = GetStringList(c, x, p, &svc.tags);
    } else if (k == "address") {
      st = GetString(c, x, p, &svc.address);
    } else if (k == "port") {
      int64_t port = 0;
      st = GetInt(c, x, p, 0, 65535, &port);
      svc.port = static_cast<uint16_t>(port);
    } else if (k == "meta") {
      st = GetStringMap(c, x, p, &svc.meta);
    } else if (k == "taggedaddresses") {
      st = ParseTaggedAddresses(c, x, p, &svc.tagged_addresses);
    } else if (k == "weights") {
      st = ParseWeights(c, x, p, &svc.weights);
    } else if (k == "enabletagoverride") {
      st = GetBool(c, x, p, &svc.enable_tag_override);
    } else if (k == "kind") {
      st = GetString(c, x, p, &svc.kind);
    } else if (k == "check") {
      check_defs.emplace_back(p, &x);
    } else if (k == "checks") {
      if (!x.is_array()) {
        st = c.Err(x, p, "expected a list of check objects");
      } else {
        for (size_t i = 0; i < x.items.size(); ++i)
          check_defs.emplace_back(Index(p, i), &x.items[i]);
      }
    }
    if (!st.ok()) return st;
  }
  if (svc.name.empty()) return c.Err(v, Join(path, "name"), "missing required key: name");
  if (svc.id.empty()) svc.id = svc.name;

  std::vector<catalog::Check> checks;
  for (size_t i = 0; i < check_defs.size(); ++i) {
    const auto& [cpath, cv] = check_defs[i];
    catalog::Check chk;
    std::string unsupported;
    st = ParseCheckFields(c, *cv, cpath, &chk, &unsupported);
    if (!st.ok()) return st;
    st = ValidateCheck(c, *cv, cpath, chk, unsupported, ls);
    if (!st.ok()) return st;
    chk.service_id = svc.id;
    chk.service_name = svc.name;
    if (chk.id.empty()) {
      chk.id = "service:" + svc.id;
      if (check_defs.size() > 1) chk.id += ":" + std::to_string(i + 1);
    }
    if (chk.name.empty()) chk.name = "Service '" + svc.name + "' check";
    checks.push_back(std::move(chk));
  }
  Upsert(&cfg->services, std::move(svc));
  for (catalog::Check& chk : checks) Upsert(&cfg->checks, std::move(chk));
  return Status::Ok();
}

Status ParseNodeCheck(const Ctx& c, const Value& v, std::string_view path, AgentConfig* cfg,
                      LoadState* ls) {
  catalog::Check chk;
  std::string unsupported;
  Status st = ParseCheckFields(c, v, path, &chk, &unsupported);
  if (!st.ok()) return st;
  if (chk.name.empty()) return c.Err(v, Join(path, "name"), "missing required key: name");
  st = ValidateCheck(c, v, path, chk, unsupported, ls);
  if (!st.ok()) return st;
  if (chk.id.empty()) chk.id = chk.name;
  if (!chk.service_id.empty()) {
    ls->service_refs.emplace_back(chk.service_id, Loc(c, v, Join(path, "service_id")));
  }
  Upsert(&cfg->checks, std::move(chk));
  return Status::Ok();
}

Status CheckScriptPolicy(const AgentConfig& cfg, const LoadState& ls) {
  if (!ls.script_checks.empty() && !cfg.enable_script_checks && !cfg.enable_local_script_checks) {
    return Status::Error(ls.script_checks.front() +
                         ": Scripts are disabled on this agent; to enable, configure "
                         "'enable_script_checks' or 'enable_local_script_checks' to true");
  }
  return Status::Ok();
}

Status FinalizeChecks(AgentConfig* cfg, const LoadState& ls) {
  Status st = CheckScriptPolicy(*cfg, ls);
  if (!st.ok()) return st;
  for (catalog::Check& chk : cfg->checks) {
    if (chk.service_id.empty() || !chk.service_name.empty()) continue;
    for (const catalog::Service& svc : cfg->services) {
      if (svc.id == chk.service_id) chk.service_name = svc.name;
    }
    if (chk.service_name.empty()) {
      std::string where;
      for (const auto& [id, loc] : ls.service_refs) {
        if (id == chk.service_id) where = loc;
      }
      return Status::Error(where + ": no service with id \"" + chk.service_id + "\"");
    }
  }
  return Status::Ok();
}

}  // namespace beacon::config::internal
