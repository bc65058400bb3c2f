// catalog::Writer, part four: whole-record replacement (op::ReplaceNode, gossip's full-record
// repair) and gossip liveness (op::SetLiveness: serfHealth, suspect flag, left).
#include <algorithm>
#include <string>
#include <vector>

#include "beacon/catalog/writer.h"
#include "beacon/core/strings.h"

namespace beacon::catalog {
namespace {

bool IsSerf(std::string_view id) {
  return id == kSerfHealthId;
}

Check SerfHealth(Health status) {
  Check c;
  c.id = kSerfHealthId;
  c.name = "Serf Health Status";
  c.status = status;
  c.output =
      status == Health::kPassing ? "Agent alive and reachable" : "Agent not live or unreachable";
  return c;
}

}  // namespace

Status Writer::ReplaceNode(const op::ReplaceNode& r) {
  if (r.node.name.empty()) return Status::Error("Must provide node");
  // Everything that can fail is checked before anything changes.
  for (const auto& [svc, checks] : r.services) {
    if (svc.name.empty()) return Status::Error("Must provide service name with ID");
    if (svc.name.size() > KeyList::kMaxKey) {
      return Status::Error("service name longer than " + std::to_string(KeyList::kMaxKey) +
                           " bytes");
    }
    for (const Check& c : checks) {
      if (c.id.empty()) return Status::Error("Must provide a check ID or name");
    }
  }
  for (const Check& c : r.node_checks) {
    if (c.id.empty()) return Status::Error("Must provide a check ID or name");
  }
  const std::string nkey = core::Lower(r.node.name);
  auto in_record = [&](std::string_view sid) {
    return std::any_of(r.services.begin(), r.services.end(), [&](const auto& p) {
      return (p.first.id.empty() ? p.first.name : p.first.id) == sid;
    });
  };
  std::vector<std::string> drop_services;
  std::vector<std::string> drop_checks;
  if (const NodeEntry* cur = staged_.nodes.Find(nkey)) {
    staged_.ForEachNodeService(nkey, [&](std::string_view skey) {
      const ServiceEntry* se = staged_.services.Find(skey);
      if (se == nullptr) return;
      for (const Instance& in : se->instances) {
        if (in.node->MatchesKey(nkey) && !in_record(in.service.id.view())) {
          drop_services.push_back(in.service.id.str());
        }
      }
    });
    for (const Check& c : cur->checks()) {
      const bool kept = IsSerf(c.id) || std::any_of(r.node_checks.begin(), r.node_checks.end(),
                                                    [&](const Check& k) { return k.id == c.id; });
      if (!kept) drop_checks.push_back(c.id);
    }
  }
  for (const auto& id : drop_services) RemoveService(nkey, id);
  for (const auto& id : drop_checks) RemoveCheck(nkey, id);
  UpsertNode(r.node);
  for (Check c : r.node_checks) {
    if (IsSerf(c.id)) continue;
    c.service_id.clear();
    c.service_name.clear();
    Status st = UpsertCheck(r.node.name, c);
    if (!st.ok()) return st;
  }
  for (const auto& [svc, checks] : r.services) {
    Status st = UpsertService(r.node.name, svc, checks);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

void Writer::SetSuspect(const std::string& nkey, bool suspect) {
  const NodeEntry* cur = staged_.nodes.Find(nkey);
  if (cur == nullptr || cur->suspect == suspect) return;
  MutableNode(nkey)->suspect = suspect;  // re-points the node's instances at the copy
  dirty_ = true;
}

Status Writer::ApplyLiveness(const op::SetLiveness& l) {
  const std::string nkey = core::Lower(l.node);
  if (staged_.nodes.Find(nkey) == nullptr) return Status::Ok();
  switch (l.state) {
    case Liveness::kAlive:
      SetSuspect(nkey, false);
      return UpsertCheck(l.node, SerfHealth(Health::kPassing));
    case Liveness::kSuspect:
      SetSuspect(nkey, true);
      return Status::Ok();
    case Liveness::kFailed:
      SetSuspect(nkey, false);
      return UpsertCheck(l.node, SerfHealth(Health::kCritical));
    case Liveness::kLeft: {
      const uint64_t version = VersionOf(nkey);
      RemoveNode(nkey);
      if (version != 0) removed_versions_[nkey] = version;  // only a newer record brings it back
      return Status::Ok();
    }
  }
  return Status::Ok();
}

}  // namespace beacon::catalog
