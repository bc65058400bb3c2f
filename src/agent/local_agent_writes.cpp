// LocalAgent's writes (registrations, TTL updates, maintenance) and timers (TTL expiry,
// deregister_critical_service_after). See local_agent.h.
#include <algorithm>
#include <memory>
#include <utility>

#include "beacon/agent/local_agent.h"
#include "beacon/catalog/writer.h"
#include "beacon/core/strings.h"
#include "local_agent_internal.h"

namespace beacon::agent {

using catalog::Check;
using catalog::Health;
using catalog::Instance;
using catalog::Service;
using detail::FindCheck;
using detail::ForEachLocalCheck;
using detail::IsMaintenance;
using detail::kMinDeregisterMs;
using detail::kNodeMaint;
using detail::kOutputMax;
using detail::kServiceMaintPrefix;
using detail::TtlExpiredOutput;
using detail::UnknownCheck;
using http::AgentStatus;

// --- writes --------------------------------------------------------------------------------

namespace {

AgentStatus ScriptsDisabled() {
  return AgentStatus::Error(500,
                            "Scripts are disabled on this agent from remote calls; to enable, "
                            "configure 'enable_script_checks' to true");
}

}  // namespace

bool LocalAgent::ScriptChecksEnabled() const {
  MutexLock lock(&mu_);
  return enable_script_checks_;
}

void LocalAgent::RegisterService(config::ServiceBody body, bool replace_existing_checks,
                                 http::AgentDone done) {
  if (body.has_script_check && !ScriptChecksEnabled()) {
    done(ScriptsDisabled());  // outside mu_: `done` may call back into this agent
    return;
  }
  auto b = std::make_shared<config::ServiceBody>(std::move(body));
  Run(
      [this, b, replace_existing_checks](catalog::Writer& w) {
        Service& svc = b->service;
        std::vector<Check> checks = std::move(b->checks);
        std::vector<std::string> dropped;
        if (const Instance* old = w.FindService(opts_.node_name, svc.id)) {
          for (const Check& prev : old->checks()) {
            auto it = std::find_if(checks.begin(), checks.end(),
                                   [&](const Check& c) { return c.id == prev.id; });
            if (it != checks.end()) {  // re-registered: keep its current state
              it->status = prev.status;
              it->output = prev.output;
            } else if (!replace_existing_checks || IsMaintenance(prev.id)) {
              checks.push_back(prev);
            } else {
              dropped.push_back(prev.id);
            }
          }
        }
        if (!PersistService(svc)) {
          return AgentStatus::Error(500, "failed to persist service \"" + svc.id + "\"");
        }
        for (const Check& c : checks) {
          if (!IsMaintenance(c.id) && !PersistCheck(c, false)) {
            return AgentStatus::Error(500, "failed to persist check \"" + c.id + "\"");
          }
        }
        Status st =
            w.Apply(catalog::LocalChange(catalog::op::UpsertService{opts_.node_name, svc, checks}));
        if (!st.ok()) return AgentStatus::Error(500, st.message());
        for (const std::string& id : dropped) ForgetCheck(id);
        const uint64_t now = clock_();
        MutexLock lock(&mu_);
        for (const Check& c : checks) {
          if (c.ttl_ms != 0 && (!ttl_.count(c.id) || ttl_[c.id].ttl_ms != c.ttl_ms)) {
            ttl_[c.id] = Ttl{c.ttl_ms, now + c.ttl_ms, c.output, false};
          }
        }
        return AgentStatus::Ok();
      },
      std::move(done));
}

void LocalAgent::DeregisterService(std::string id, http::AgentDone done) {
  Run(
      [this, id](catalog::Writer& w) {
        const Instance* in = w.FindService(opts_.node_name, id);
        if (in == nullptr) {
          return AgentStatus::Error(404, "Unknown service ID \"" + id +
                                             "\". Ensure that the service ID is passed, not "
                                             "the service name.");
        }
        std::vector<std::string> checks;
        for (const Check& c : in->checks()) checks.push_back(c.id);
        w.Apply(catalog::LocalChange(catalog::op::RemoveService{opts_.node_name, id}));
        for (const std::string& c : checks) ForgetCheck(c);
        if (!opts_.data_dir.empty()) RemoveFile(ServicePath(id));
        return AgentStatus::Ok();
      },
      std::move(done));
}

void LocalAgent::RegisterCheck(config::CheckBody body, http::AgentDone done) {
  if (body.has_script_check && !ScriptChecksEnabled()) {
    done(ScriptsDisabled());  // outside mu_: `done` may call back into this agent
    return;
  }
  auto chk = std::make_shared<Check>(std::move(body.check));
  Run(
      [this, chk](catalog::Writer& w) {
        if (!chk->service_id.empty()) {
          const Instance* in = w.FindService(opts_.node_name, chk->service_id);
          if (in == nullptr) {
            return AgentStatus::Error(404, "ServiceID \"" + chk->service_id + "\" does not exist");
          }
          chk->service_name = in->service.name.str();
        }
        if (!PersistCheck(*chk, false)) {
          return AgentStatus::Error(500, "failed to persist check \"" + chk->id + "\"");
        }
        Status st = w.Apply(catalog::LocalChange(catalog::op::UpsertCheck{opts_.node_name, *chk}));
        if (!st.ok()) return AgentStatus::Error(500, st.message());
        MutexLock lock(&mu_);
        if (chk->ttl_ms != 0) {
          ttl_[chk->id] = Ttl{chk->ttl_ms, clock_() + chk->ttl_ms, chk->output, false};
        } else {
          ttl_.erase(chk->id);
        }
        return AgentStatus::Ok();
      },
      std::move(done));
}

void LocalAgent::DeregisterCheck(std::string id, http::AgentDone done) {
  Run(
      [this, id](catalog::Writer& w) {
        if (FindCheck(w.staged(), core::Lower(opts_.node_name), id) == nullptr) {
          return UnknownCheck(id);
        }
        w.Apply(catalog::LocalChange(catalog::op::RemoveCheck{opts_.node_name, id}));
        ForgetCheck(id);
        return AgentStatus::Ok();
      },
      std::move(done));
}

void LocalAgent::UpdateTtlCheck(std::string id, Health status, std::string output,
                                http::AgentDone done) {
  if (output.size() > kOutputMax) {
    const size_t total = output.size();
    output.resize(kOutputMax);
    output +=
        " ... (captured " + std::to_string(kOutputMax) + " of " + std::to_string(total) + " bytes)";
  }
  Run(
      [this, id, status, output](catalog::Writer& w) {
        const Check* c = FindCheck(w.staged(), core::Lower(opts_.node_name), id);
        if (c == nullptr) return UnknownCheck(id);
        if (c->ttl_ms == 0) {
          return AgentStatus::Error(500, "CheckID \"" + id + "\" does not have associated TTL");
        }
        const uint64_t ttl = c->ttl_ms, expires = clock_() + ttl;
        w.Apply(
            catalog::LocalChange(catalog::op::UpdateCheck{opts_.node_name, id, status, output}));
        {
          MutexLock lock(&mu_);
          ttl_[id] = Ttl{ttl, expires, output, false};
        }
        PersistTtlState(id, status, output, expires);
        return AgentStatus::Ok();
      },
      std::move(done));
}

// Adds the critical maintenance check `c` (persisted, so maintenance survives a restart) or
// removes it; a no-op when it is already in the wanted state. Writer thread.
http::AgentStatus LocalAgent::SetMaintenance(catalog::Writer& w, Check c, bool enable) {
  const bool on = FindCheck(w.staged(), core::Lower(opts_.node_name), c.id) != nullptr;
  if (enable && !on) {
    c.status = Health::kCritical;
    if (!PersistCheck(c, true)) return AgentStatus::Error(500, "failed to persist " + c.id);
    Status st = w.Apply(catalog::LocalChange(catalog::op::UpsertCheck{opts_.node_name, c}));
    if (!st.ok()) return AgentStatus::Error(500, st.message());
  } else if (!enable && on) {
    w.Apply(catalog::LocalChange(catalog::op::RemoveCheck{opts_.node_name, c.id}));
    ForgetCheck(c.id);
  }
  return AgentStatus::Ok();
}

void LocalAgent::NodeMaintenance(bool enable, std::string reason, http::AgentDone done) {
  if (reason.empty()) {
    reason =
        "Maintenance mode is enabled for this node, but no reason was provided. This is a default "
        "message.";
  }
  Run(
      [this, enable, reason](catalog::Writer& w) {
        Check c;
        c.id = kNodeMaint;
        c.name = "Node Maintenance Mode";
        c.notes = reason;
        return SetMaintenance(w, std::move(c), enable);
      },
      std::move(done));
}

void LocalAgent::ServiceMaintenance(std::string id, bool enable, std::string reason,
                                    http::AgentDone done) {
  if (reason.empty()) {
    reason =
        "Maintenance mode is enabled for this service, but no reason was provided. This is a "
        "default message.";
  }
  Run(
      [this, id, enable, reason](catalog::Writer& w) {
        const Instance* in = w.FindService(opts_.node_name, id);
        if (in == nullptr) {
          return AgentStatus::Error(404, "No service registered with ID \"" + id + "\"");
        }
        Check c;
        c.id = kServiceMaintPrefix + id;
        c.name = "Service Maintenance Mode";
        c.notes = reason;
        c.service_id = id;
        c.service_name = in->service.name.str();
        return SetMaintenance(w, std::move(c), enable);
      },
      std::move(done));
}

// --- timers --------------------------------------------------------------------------------

// Once a second on the agent loop: walks this node's checks by reference (no copies) and updates
// the TTL and critical-since timers in place; O(local checks) compares, no rebuilt maps.
void LocalAgent::Tick(uint64_t now_ms) {
  catalog::SnapshotPtr snap = hub_.Current();
  if (!snap) return;
  // Pointers into `snap`, which this function holds: only the checks with a timer.
  std::vector<const Check*> timed;
  ForEachLocalCheck(*snap, core::Lower(opts_.node_name), [&](const Check& c) {
    if (c.ttl_ms != 0 || c.deregister_critical_after_ms != 0) timed.push_back(&c);
  });
  std::vector<std::string> expire;
  std::vector<std::pair<std::string, std::string>> reap;  // service id, check id
  {
    MutexLock lock(&mu_);
    const uint64_t gen = ++tick_gen_;
    for (const Check* cp : timed) {
      const Check& c = *cp;
      if (c.ttl_ms != 0) {
        auto [it, fresh] = ttl_.try_emplace(c.id, Ttl{c.ttl_ms, now_ms + c.ttl_ms, {}, false});
        Ttl& t = it->second;
        if (!fresh && t.ttl_ms != c.ttl_ms)
          t = Ttl{c.ttl_ms, now_ms + c.ttl_ms, t.last_output, false};
        t.seen = gen;
        if (!t.expired && now_ms >= t.deadline_ms) {
          t.expired = true;
          expire.push_back(c.id);
        }
      }
      if (c.deregister_critical_after_ms != 0 && !c.service_id.empty() &&
          c.status == Health::kCritical) {
        auto [it, fresh] = critical_since_.try_emplace(c.id, CriticalSince{now_ms, 0});
        it->second.seen = gen;
        if (now_ms - it->second.since_ms >=
            std::max(c.deregister_critical_after_ms, kMinDeregisterMs)) {
          reap.emplace_back(c.service_id, c.id);
          critical_since_.erase(it);
        }
      }
    }
    // Timers armed by a registration that is not published yet survive until it is.
    std::erase_if(ttl_, [&](const auto& kv) {
      return kv.second.seen != gen && now_ms >= kv.second.deadline_ms;
    });
    std::erase_if(critical_since_, [&](const auto& kv) { return kv.second.seen != gen; });
  }
  for (const std::string& id : expire) ExpireTtl(id, now_ms);
  for (const auto& [sid, cid] : reap) ReapService(sid, cid);
}

void LocalAgent::ExpireTtl(const std::string& id, uint64_t now_ms) {
  Run(
      [this, id, now_ms](catalog::Writer& w) {
        std::string output;
        {
          MutexLock lock(&mu_);
          auto it = ttl_.find(id);
          // An update since Tick() moved the deadline: nothing expired.
          if (it == ttl_.end() || it->second.deadline_ms > now_ms) return AgentStatus::Ok();
          output = TtlExpiredOutput(it->second.last_output);
        }
        const Check* c = FindCheck(w.staged(), core::Lower(opts_.node_name), id);
        if (c == nullptr || c->ttl_ms == 0) return AgentStatus::Ok();
        BEACON_LOG(log_, kWarn, "agent", "check %s missed its TTL, is now critical", id.c_str());
        w.Apply(catalog::LocalChange(
            catalog::op::UpdateCheck{opts_.node_name, id, Health::kCritical, output}));
        return AgentStatus::Ok();
      },
      {});
}

void LocalAgent::ReapService(const std::string& service_id, const std::string& check_id) {
  BEACON_LOG(log_, kInfo, "agent",
             "check %s has been critical for too long; deregistering service %s", check_id.c_str(),
             service_id.c_str());
  DeregisterService(service_id, {});
}

}  // namespace beacon::agent
