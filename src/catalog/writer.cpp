#include "beacon/catalog/writer.h"

#include <arpa/inet.h>

#include <algorithm>
#include <ctime>

#include "build.h"

namespace beacon::catalog {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string IpBytes(std::string_view text) {
  if (text.empty() || text.size() > 45) return {};
  char buf[64];
  std::copy(text.begin(), text.end(), buf);
  buf[text.size()] = '\0';
  unsigned char out[16];
  if (inet_pton(AF_INET, buf, out) == 1) return std::string(reinterpret_cast<char*>(out), 4);
  if (inet_pton(AF_INET6, buf, out) == 1) return std::string(reinterpret_cast<char*>(out), 16);
  return {};
}

Writer::Writer(SnapshotHub& hub, std::string self_node, std::string datacenter,
               config::DnsConfig dns)
    : hub_(hub) {
  staged_.self_node = Lower(self_node);
  staged_.datacenter = Lower(datacenter);
  staged_.dc_wire = detail::NameToWire(staged_.datacenter);
  staged_.dns = std::move(dns);
  staged_.domain_wire = detail::NameToWire(staged_.dns.domain);
  staged_.alt_domain_wire = detail::NameToWire(staged_.dns.alt_domain);
}

uint64_t Writer::Bump() {
  dirty_ = true;
  return ++index_;
}

void Writer::AddPtr(const std::string& addr, std::string_view name, bool is_node) {
  std::string key = IpBytes(addr);
  if (key.empty()) return;
  auto cur = staged_.ptr.FindShared(key);
  auto e = cur ? std::make_shared<PtrEntry>(*cur) : std::make_shared<PtrEntry>();
  auto& list = is_node ? e->nodes : e->services;
  list.emplace_back(name);
  staged_.ptr.Set(key, std::move(e));
}

void Writer::RemovePtr(const std::string& addr, std::string_view name, bool is_node) {
  std::string key = IpBytes(addr);
  if (key.empty()) return;
  auto cur = staged_.ptr.FindShared(key);
  if (!cur) return;
  auto e = std::make_shared<PtrEntry>(*cur);
  auto& list = is_node ? e->nodes : e->services;
  auto it = std::find(list.begin(), list.end(), name);
  if (it != list.end()) list.erase(it);
  if (e->nodes.empty() && e->services.empty()) {
    staged_.ptr.Erase(key);
  } else {
    staged_.ptr.Set(key, std::move(e));
  }
}

void Writer::UpsertNode(const Node& node) {
  const std::string key = Lower(node.name);
  auto cur = staged_.nodes.FindShared(key);
  auto e = cur ? std::make_shared<NodeEntry>(*cur) : std::make_shared<NodeEntry>();
  if (cur && cur->node.address == node.address && cur->node.meta == node.meta &&
      cur->node.tagged_addresses == node.tagged_addresses && cur->node.id == node.id) {
    return;  // nothing a reader could see changes
  }
  if (cur) RemovePtr(cur->node.address, cur->node.name, true);
  e->node = node;
  if (e->node.datacenter.empty()) e->node.datacenter = staged_.datacenter;
  detail::PrepareNode(*e);
  e->modify_index = Bump();
  if (!cur) e->create_index = e->modify_index;
  AddPtr(node.address, node.name, true);
  std::vector<std::string> keys = e->service_keys;
  staged_.nodes.Set(key, std::move(e));
  for (const auto& k : keys) RebuildService(k);
}

bool Writer::RemoveNode(std::string_view name) {
  const std::string key = Lower(name);
  auto cur = staged_.nodes.FindShared(key);
  if (!cur) return false;
  RemovePtr(cur->node.address, cur->node.name, true);
  staged_.nodes.Erase(key);
  Bump();
  for (const auto& k : cur->service_keys) RebuildService(k);
  return true;
}

// Removes instance (node, id) from whichever service holds it; returns the service key or "".
static std::string DetachInstance(Snapshot& s, const NodeEntry& node, std::string_view id,
                                  std::vector<Instance>* removed) {
  for (const auto& k : node.service_keys) {
    const ServiceEntry* se = s.services.Find(k);
    if (se == nullptr) continue;
    for (size_t i = 0; i < se->instances.size(); ++i) {
      const Instance& in = se->instances[i];
      if (in.service.id == id && Lower(in.node->node.name) == Lower(node.node.name)) {
        auto copy = std::make_shared<ServiceEntry>(*se);
        if (removed) removed->push_back(copy->instances[i]);
        copy->instances.erase(copy->instances.begin() + static_cast<long>(i));
        s.services.Set(k, std::move(copy));
        return k;
      }
    }
  }
  return {};
}

Status Writer::UpsertService(std::string_view node, const Service& svc, std::vector<Check> checks) {
  if (svc.name.empty()) return Status::Error("service name is required");
  const std::string nkey = Lower(node);
  if (staged_.nodes.Find(nkey) == nullptr) {
    Node n;
    n.name = std::string(node);
    UpsertNode(n);
  }
  Service s = svc;
  if (s.id.empty()) s.id = s.name;
  const uint64_t idx = Bump();
  std::vector<Instance> old;
  auto nodeptr = staged_.nodes.FindShared(nkey);
  std::string old_key = DetachInstance(staged_, *nodeptr, s.id, &old);
  if (!old.empty() && !old[0].service.address.empty()) {
    RemovePtr(old[0].service.address, old[0].service.name, false);
  }
  const std::string skey = Lower(s.name);
  auto ncopy = std::make_shared<NodeEntry>(*nodeptr);
  if (std::find(ncopy->service_keys.begin(), ncopy->service_keys.end(), skey) ==
      ncopy->service_keys.end()) {
    ncopy->service_keys.push_back(skey);
  }
  auto cur = staged_.services.FindShared(skey);
  auto e = cur ? std::make_shared<ServiceEntry>(*cur) : std::make_shared<ServiceEntry>();
  if (!cur) e->name = s.name;
  Instance inst;
  inst.node = nodeptr;  // refreshed by RebuildService
  inst.service = std::move(s);
  for (Check& c : checks) {
    c.service_id = inst.service.id;
    c.service_name = inst.service.name;
  }
  inst.checks = std::move(checks);
  inst.create_index = old.empty() ? idx : old[0].create_index;
  inst.modify_index = idx;
  AddPtr(inst.service.address, inst.service.name, false);
  e->instances.push_back(std::move(inst));
  staged_.services.Set(skey, std::move(e));
  if (!old_key.empty() && old_key != skey) {
    bool still = false;
    if (const ServiceEntry* oe = staged_.services.Find(old_key)) {
      for (const auto& in : oe->instances) still |= Lower(in.node->node.name) == nkey;
    }
    if (!still) std::erase(ncopy->service_keys, old_key);
    RebuildService(old_key);
  }
  staged_.nodes.Set(nkey, std::move(ncopy));
  RebuildService(skey);
  return Status::Ok();
}

bool Writer::RemoveService(std::string_view node, std::string_view service_id) {
  const std::string nkey = Lower(node);
  auto nodeptr = staged_.nodes.FindShared(nkey);
  if (!nodeptr) return false;
  std::vector<Instance> old;
  std::string k = DetachInstance(staged_, *nodeptr, service_id, &old);
  if (k.empty()) return false;
  Bump();
  if (!old[0].service.address.empty()) {
    RemovePtr(old[0].service.address, old[0].service.name, false);
  }
  bool still = false;
  if (const ServiceEntry* oe = staged_.services.Find(k)) {
    for (const auto& in : oe->instances) still |= Lower(in.node->node.name) == nkey;
  }
  if (!still) {
    auto ncopy = std::make_shared<NodeEntry>(*nodeptr);
    std::erase(ncopy->service_keys, k);
    staged_.nodes.Set(nkey, std::move(ncopy));
  }
  RebuildService(k);
  return true;
}

Status Writer::UpsertCheck(std::string_view node, const Check& check) {
  const std::string nkey = Lower(node);
  auto nodeptr = staged_.nodes.FindShared(nkey);
  if (!nodeptr) return Status::Error("unknown node \"" + std::string(node) + "\"");
  if (check.id.empty()) return Status::Error("check id is required");
  if (check.service_id.empty()) {
    auto copy = std::make_shared<NodeEntry>(*nodeptr);
    auto it = std::find_if(copy->checks.begin(), copy->checks.end(),
                           [&](const Check& c) { return c.id == check.id; });
    if (it != copy->checks.end()) {
      *it = check;
    } else {
      copy->checks.push_back(check);
    }
    detail::PrepareNode(*copy);
    copy->modify_index = Bump();
    std::vector<std::string> keys = copy->service_keys;
    staged_.nodes.Set(nkey, std::move(copy));
    for (const auto& k : keys) RebuildService(k);
    return Status::Ok();
  }
  for (const auto& k : nodeptr->service_keys) {
    const ServiceEntry* se = staged_.services.Find(k);
    if (se == nullptr) continue;
    for (size_t i = 0; i < se->instances.size(); ++i) {
      const Instance& in = se->instances[i];
      if (in.service.id != check.service_id || Lower(in.node->node.name) != nkey) continue;
      auto copy = std::make_shared<ServiceEntry>(*se);
      Instance& mi = copy->instances[i];
      Check c = check;
      c.service_name = mi.service.name;
      auto it = std::find_if(mi.checks.begin(), mi.checks.end(),
                             [&](const Check& x) { return x.id == c.id; });
      if (it != mi.checks.end()) {
        *it = std::move(c);
      } else {
        mi.checks.push_back(std::move(c));
      }
      mi.modify_index = Bump();
      staged_.services.Set(k, std::move(copy));
      RebuildService(k);
      return Status::Ok();
    }
  }
  return Status::Error("unknown service \"" + check.service_id + "\" on node \"" +
                       std::string(node) + "\"");
}

// Finds a check on node `nkey`. Calls fn(Check&) on a private copy and stores it back.
template <typename Fn>
static bool MutateCheck(Snapshot& s, const std::string& nkey, std::string_view id, Fn&& fn,
                        std::vector<std::string>* rebuild, bool* node_level) {
  auto nodeptr = s.nodes.FindShared(nkey);
  if (!nodeptr) return false;
  for (size_t i = 0; i < nodeptr->checks.size(); ++i) {
    if (nodeptr->checks[i].id != id) continue;
    auto copy = std::make_shared<NodeEntry>(*nodeptr);
    if (!fn(copy->checks, i)) return true;
    detail::PrepareNode(*copy);
    *rebuild = copy->service_keys;
    *node_level = true;
    s.nodes.Set(nkey, std::move(copy));
    return true;
  }
  for (const auto& k : nodeptr->service_keys) {
    const ServiceEntry* se = s.services.Find(k);
    if (se == nullptr) continue;
    for (size_t i = 0; i < se->instances.size(); ++i) {
      const Instance& in = se->instances[i];
      if (Lower(in.node->node.name) != nkey) continue;
      for (size_t j = 0; j < in.checks.size(); ++j) {
        if (in.checks[j].id != id) continue;
        auto copy = std::make_shared<ServiceEntry>(*se);
        if (!fn(copy->instances[i].checks, j)) return true;
        s.services.Set(k, std::move(copy));
        rebuild->push_back(k);
        return true;
      }
    }
  }
  return false;
}

bool Writer::RemoveCheck(std::string_view node, std::string_view check_id) {
  std::vector<std::string> rebuild;
  bool node_level = false;
  bool found = MutateCheck(
      staged_, Lower(node), check_id,
      [](std::vector<Check>& v, size_t i) {
        v.erase(v.begin() + static_cast<long>(i));
        return true;
      },
      &rebuild, &node_level);
  if (!found) return false;
  Bump();
  for (const auto& k : rebuild) RebuildService(k);
  return true;
}

bool Writer::UpdateCheck(std::string_view node, std::string_view check_id, Health status,
                         std::string_view output) {
  std::vector<std::string> rebuild;
  bool node_level = false;
  bool changed = false;
  bool found = MutateCheck(
      staged_, Lower(node), check_id,
      [&](std::vector<Check>& v, size_t i) {
        changed = v[i].status != status;
        v[i].status = status;
        v[i].output = std::string(output);
        return true;
      },
      &rebuild, &node_level);
  if (!found) return false;
  if (changed) Bump();
  for (const auto& k : rebuild) RebuildService(k);
  return true;
}

Status Writer::Apply(const Registration& reg) {
  if (reg.node.name.empty()) return Status::Error("Node is required");
  UpsertNode(reg.node);
  for (const Service& s : reg.services) {
    std::vector<Check> own;
    const std::string sid = s.id.empty() ? s.name : s.id;
    for (const Check& c : reg.checks) {
      if (c.service_id == sid) own.push_back(c);
    }
    Status st = UpsertService(reg.node.name, s, std::move(own));
    if (!st.ok()) return st;
  }
  for (const Check& c : reg.checks) {
    if (!c.service_id.empty()) continue;
    Status st = UpsertCheck(reg.node.name, c);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

void Writer::SetDnsConfig(const config::DnsConfig& dns) {
  staged_.dns = dns;
  staged_.domain_wire = detail::NameToWire(staged_.dns.domain);
  staged_.alt_domain_wire = detail::NameToWire(staged_.dns.alt_domain);
  std::vector<std::string> keys;
  staged_.services.ForEach([&](const std::string& k, const ServiceEntry&) { keys.push_back(k); });
  for (const auto& k : keys) RebuildService(k);
  dirty_ = true;
}

void Writer::RebuildService(std::string_view key) {
  auto cur = staged_.services.FindShared(key);
  if (!cur) return;
  auto e = std::make_shared<ServiceEntry>(*cur);
  // Drop instances whose node is gone; refresh node pointers.
  std::vector<Instance> kept;
  kept.reserve(e->instances.size());
  for (Instance& in : e->instances) {
    auto n = staged_.nodes.FindShared(Lower(in.node ? in.node->node.name : std::string()));
    if (!n) continue;
    in.node = std::move(n);
    detail::PrepareInstance(in);
    kept.push_back(std::move(in));
  }
  if (kept.empty()) {
    staged_.services.Erase(key);
    dirty_ = true;
    return;
  }
  e->instances = std::move(kept);
  e->name = e->instances.front().service.name;
  e->name_wire = detail::NameToWire(e->name);
  e->not_critical.clear();
  e->passing.clear();
  for (uint32_t i = 0; i < e->instances.size(); ++i) {
    Health h = e->instances[i].health;
    if (h == Health::kPassing || h == Health::kWarning) e->not_critical.push_back(i);
    if (h == Health::kPassing) e->passing.push_back(i);
  }
  e->ttl_s = detail::ServiceTtl(staged_.dns, key);
  e->index = index_;
  staged_.services.Set(key, std::move(e));
  dirty_ = true;
}

uint64_t Writer::Publish(bool force) {
  if (!dirty_ && !force) return staged_.generation;
  staged_.nodes.Seal();
  staged_.services.Seal();
  staged_.ptr.Seal();
  ++staged_.generation;
  staged_.index = index_;
  staged_.soa_serial = static_cast<uint32_t>(std::time(nullptr));
  hub_.Publish(std::make_shared<const Snapshot>(staged_));
  dirty_ = false;
  return staged_.generation;
}

}  // namespace beacon::catalog
