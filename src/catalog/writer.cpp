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

namespace {

bool SameNode(const Instance& in, std::string_view nkey) {
  const std::string& n = in.node->node.name;
  if (n.size() != nkey.size()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != nkey[i]) return false;
  }
  return true;
}

}  // namespace

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

// Copy-on-write access to entries: an entry stamped with the current (unpublished) batch is
// reachable from no published snapshot, so it is changed in place; an older one is copied.
NodeEntry* Writer::MutableNode(const std::string& key) {
  auto cur = staged_.nodes.FindShared(key);
  if (!cur) return nullptr;
  if (cur->stamp == batch_) return const_cast<NodeEntry*>(cur.get());
  auto copy = std::make_shared<NodeEntry>(*cur);
  copy->stamp = batch_;
  NodeEntry* raw = copy.get();
  staged_.nodes.Set(key, std::move(copy));
  node_moved_ = true;
  return raw;
}

ServiceEntry* Writer::MutableService(const std::string& key, bool create) {
  auto cur = staged_.services.FindShared(key);
  if (cur && cur->stamp == batch_) return const_cast<ServiceEntry*>(cur.get());
  if (!cur && !create) return nullptr;
  auto copy = cur ? std::make_shared<ServiceEntry>(*cur) : std::make_shared<ServiceEntry>();
  copy->stamp = batch_;
  ServiceEntry* raw = copy.get();
  staged_.services.Set(key, std::move(copy));
  return raw;
}

void Writer::AddPtr(const std::string& addr, std::string_view name, bool is_node) {
  std::string key = IpBytes(addr);
  if (key.empty()) return;
  auto cur = staged_.ptr.FindShared(key);
  auto e = cur ? std::make_shared<PtrEntry>(*cur) : std::make_shared<PtrEntry>();
  (is_node ? e->nodes : e->services).emplace_back(name);
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

// After a node entry was replaced by a copy, instances still point at the old one.
void Writer::RefreshNodeServices(const std::string& nkey) {
  const NodeEntry* n = staged_.nodes.Find(nkey);
  if (n == nullptr) return;
  const std::vector<std::string> keys = n->service_keys;
  for (const auto& k : keys) RebuildService(k);
}

void Writer::UpsertNode(const Node& node) {
  const std::string key = Lower(node.name);
  const NodeEntry* cur = staged_.nodes.Find(key);
  if (cur && cur->node.address == node.address && cur->node.meta == node.meta &&
      cur->node.tagged_addresses == node.tagged_addresses && cur->node.id == node.id) {
    return;  // nothing a reader could see changes
  }
  NodeEntry* e;
  if (cur) {
    RemovePtr(cur->node.address, cur->node.name, true);
    e = MutableNode(key);
  } else {
    auto fresh = std::make_shared<NodeEntry>();
    fresh->stamp = batch_;
    e = fresh.get();
    staged_.nodes.Set(key, std::move(fresh));
  }
  e->node = node;
  if (e->node.datacenter.empty()) e->node.datacenter = staged_.datacenter;
  detail::PrepareNode(*e);
  e->modify_index = Bump();
  if (!cur) e->create_index = e->modify_index;
  AddPtr(node.address, node.name, true);
  if (cur) RefreshNodeServices(key);
}

bool Writer::RemoveNode(std::string_view name) {
  const std::string key = Lower(name);
  auto cur = staged_.nodes.FindShared(key);
  if (!cur) return false;
  RemovePtr(cur->node.address, cur->node.name, true);
  for (const auto& k : cur->service_keys) {
    const ServiceEntry* se = staged_.services.Find(k);
    if (se == nullptr) continue;
    for (const Instance& in : se->instances) {
      if (SameNode(in, key) && !in.service.address.empty()) {
        RemovePtr(in.service.address, in.service.name, false);
      }
    }
  }
  staged_.nodes.Erase(key);
  Bump();
  for (const auto& k : cur->service_keys) RebuildService(k);
  return true;
}

// Removes instance (node, id) from whichever service holds it. Returns the service key ("" when
// absent) and moves the instance to *removed.
std::string Writer::DetachInstance(const std::string& nkey, std::string_view id,
                                   Instance* removed) {
  const NodeEntry* node = staged_.nodes.Find(nkey);
  if (node == nullptr) return {};
  for (const auto& k : node->service_keys) {
    const ServiceEntry* se = staged_.services.Find(k);
    if (se == nullptr) continue;
    for (size_t i = 0; i < se->instances.size(); ++i) {
      const Instance& in = se->instances[i];
      if (in.service.id != id || !SameNode(in, nkey)) continue;
      ServiceEntry* m = MutableService(k, false);
      *removed = std::move(m->instances[i]);
      m->instances.erase(m->instances.begin() + static_cast<long>(i));
      return k;
    }
  }
  return {};
}

void Writer::DropServiceKeyIfUnused(const std::string& nkey, const std::string& skey) {
  if (const ServiceEntry* se = staged_.services.Find(skey)) {
    for (const auto& in : se->instances) {
      if (SameNode(in, nkey)) return;
    }
  }
  NodeEntry* n = MutableNode(nkey);
  if (n != nullptr) std::erase(n->service_keys, skey);
}

Status Writer::UpsertService(std::string_view node, const Service& svc, std::vector<Check> checks) {
  if (svc.name.empty()) return Status::Error("service name is required");
  const std::string nkey = Lower(node);
  if (staged_.nodes.Find(nkey) == nullptr) {
    Node n;
    n.name = std::string(node);
    UpsertNode(n);
  }
  const uint64_t idx = Bump();
  const std::string id = svc.id.empty() ? svc.name : svc.id;
  Instance old;
  const std::string old_key = DetachInstance(nkey, id, &old);
  if (!old_key.empty() && !old.service.address.empty()) {
    RemovePtr(old.service.address, old.service.name, false);
  }
  const std::string skey = Lower(svc.name);
  {
    const NodeEntry* n = staged_.nodes.Find(nkey);
    if (std::find(n->service_keys.begin(), n->service_keys.end(), skey) == n->service_keys.end()) {
      MutableNode(nkey)->service_keys.push_back(skey);
    }
  }
  ServiceEntry* e = MutableService(skey, true);
  if (e->instances.empty()) e->name = svc.name;
  Instance& inst = e->instances.emplace_back();
  inst.node = staged_.nodes.FindShared(nkey);
  inst.service = svc;
  inst.service.id = id;
  for (Check& c : checks) {
    c.service_id = id;
    c.service_name = svc.name;
  }
  inst.checks = std::move(checks);
  inst.create_index = old_key.empty() ? idx : old.create_index;
  inst.modify_index = idx;
  AddPtr(inst.service.address, inst.service.name, false);
  if (!old_key.empty() && old_key != skey) {
    DropServiceKeyIfUnused(nkey, old_key);
    RebuildService(old_key);
  }
  if (node_moved_) {
    node_moved_ = false;
    RefreshNodeServices(nkey);
  } else {
    RebuildService(skey);
  }
  return Status::Ok();
}

bool Writer::RemoveService(std::string_view node, std::string_view service_id) {
  const std::string nkey = Lower(node);
  Instance old;
  const std::string k = DetachInstance(nkey, service_id, &old);
  if (k.empty()) return false;
  Bump();
  if (!old.service.address.empty()) RemovePtr(old.service.address, old.service.name, false);
  DropServiceKeyIfUnused(nkey, k);
  RefreshNodeServices(nkey);
  RebuildService(k);
  return true;
}

Status Writer::UpsertCheck(std::string_view node, const Check& check) {
  const std::string nkey = Lower(node);
  const NodeEntry* cur = staged_.nodes.Find(nkey);
  if (cur == nullptr) return Status::Error("unknown node \"" + std::string(node) + "\"");
  if (check.id.empty()) return Status::Error("check id is required");
  if (check.service_id.empty()) {
    NodeEntry* n = MutableNode(nkey);
    auto it = std::find_if(n->checks.begin(), n->checks.end(),
                           [&](const Check& c) { return c.id == check.id; });
    if (it != n->checks.end()) {
      *it = check;
    } else {
      n->checks.push_back(check);
    }
    detail::PrepareNode(*n);
    n->modify_index = Bump();
    RefreshNodeServices(nkey);
    return Status::Ok();
  }
  for (const auto& k : cur->service_keys) {
    const ServiceEntry* se = staged_.services.Find(k);
    if (se == nullptr) continue;
    for (size_t i = 0; i < se->instances.size(); ++i) {
      const Instance& in = se->instances[i];
      if (in.service.id != check.service_id || !SameNode(in, nkey)) continue;
      Instance& mi = MutableService(k, false)->instances[i];
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
      RebuildService(k);
      return Status::Ok();
    }
  }
  return Status::Error("unknown service \"" + check.service_id + "\" on node \"" +
                       std::string(node) + "\"");
}

template <typename Fn>
bool Writer::MutateCheck(const std::string& nkey, std::string_view id, Fn&& fn) {
  const NodeEntry* cur = staged_.nodes.Find(nkey);
  if (cur == nullptr) return false;
  for (size_t i = 0; i < cur->checks.size(); ++i) {
    if (cur->checks[i].id != id) continue;
    NodeEntry* n = MutableNode(nkey);
    if (fn(n->checks, i)) {
      detail::PrepareNode(*n);
      RefreshNodeServices(nkey);
    }
    return true;
  }
  for (const auto& k : cur->service_keys) {
    const ServiceEntry* se = staged_.services.Find(k);
    if (se == nullptr) continue;
    for (size_t i = 0; i < se->instances.size(); ++i) {
      const Instance& in = se->instances[i];
      if (!SameNode(in, nkey)) continue;
      for (size_t j = 0; j < in.checks.size(); ++j) {
        if (in.checks[j].id != id) continue;
        if (fn(MutableService(k, false)->instances[i].checks, j)) RebuildService(k);
        return true;
      }
    }
  }
  return false;
}

bool Writer::RemoveCheck(std::string_view node, std::string_view check_id) {
  const bool found = MutateCheck(Lower(node), check_id, [](std::vector<Check>& v, size_t i) {
    v.erase(v.begin() + static_cast<long>(i));
    return true;
  });
  if (found) Bump();
  return found;
}

bool Writer::UpdateCheck(std::string_view node, std::string_view check_id, Health status,
                         std::string_view output) {
  bool changed = false;
  const bool found = MutateCheck(Lower(node), check_id, [&](std::vector<Check>& v, size_t i) {
    changed = v[i].status != status;
    v[i].status = status;
    v[i].output = std::string(output);
    return changed;
  });
  if (changed) Bump();
  return found;
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
  const std::string k(key);
  if (staged_.services.Find(k) == nullptr) return;
  ServiceEntry* e = MutableService(k, false);
  // Drop instances whose node is gone; refresh node pointers; recompute what DNS needs.
  size_t out = 0;
  for (size_t i = 0; i < e->instances.size(); ++i) {
    Instance& in = e->instances[i];
    auto n = staged_.nodes.FindShared(Lower(in.node->node.name));
    if (!n) continue;
    in.node = std::move(n);
    detail::PrepareInstance(in);
    if (out != i) e->instances[out] = std::move(in);
    ++out;
  }
  e->instances.resize(out);
  dirty_ = true;
  if (e->instances.empty()) {
    staged_.services.Erase(k);
    return;
  }
  e->name = e->instances.front().service.name;
  e->name_wire = detail::NameToWire(e->name);
  auto rank = [](Health h) { return h == Health::kPassing ? 0 : h == Health::kWarning ? 1 : 2; };
  std::stable_sort(
      e->instances.begin(), e->instances.end(),
      [&](const Instance& a, const Instance& b) { return rank(a.health) < rank(b.health); });
  e->n_passing = 0;
  e->n_ok = 0;
  for (const Instance& in : e->instances) {
    e->n_passing += in.health == Health::kPassing;
    e->n_ok += in.health == Health::kPassing || in.health == Health::kWarning;
  }
  e->ttl_s = detail::ServiceTtl(staged_.dns, k);
  e->index = index_;
}

uint64_t Writer::Publish(bool force) {
  if (!dirty_ && !force) return staged_.generation;
  staged_.nodes.Seal();
  staged_.services.Seal();
  staged_.ptr.Seal();
  ++batch_;  // everything stamped so far is now shared with a published snapshot
  ++staged_.generation;
  staged_.index = index_;
  staged_.soa_serial = static_cast<uint32_t>(std::time(nullptr));
  hub_.Publish(std::make_shared<const Snapshot>(staged_));
  dirty_ = false;
  return staged_.generation;
}

}  // namespace beacon::catalog
