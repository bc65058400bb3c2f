// catalog::Writer: mutations, copy-on-write entry access, deferred service rebuilds, publish.
#include "beacon/catalog/writer.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cassert>
#include <ctime>
#include <string>

#include "beacon/core/strings.h"
#include "build.h"

namespace beacon::catalog {
namespace {

bool SameNode(const Instance& in, std::string_view nkey) {
  return in.node->MatchesKey(nkey);
}

// Fresh extras blocks (null when empty); derived fields are filled on the heap copy, since they
// point into it.
// Whether the text is an IP exactly as inet_ntop would print it (so it need not be kept).
bool CanonicalIp(std::string_view text) {
  const std::string b = IpBytes(text);
  if (b.empty()) return false;
  if (b.size() == 4) return true;  // IPv4 text inet_pton takes is dotted decimal, no leading 0s
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(b.size() == 4 ? AF_INET : AF_INET6, b.data(), buf, sizeof buf);
  return text == buf;
}

RefPtr<NodeExtras> Share(NodeExtras&& x) {
  if (!x.address.empty() && CanonicalIp(x.address)) {  // keep it only alongside other data
    std::string a = std::move(x.address);
    x.address.clear();
    if (!x.empty()) x.address = std::move(a);
  }
  if (x.empty()) return nullptr;
  return MakeRef<NodeExtras>(std::move(x));
}

InstanceExtras::Ptr Share(InstanceExtras&& x) {
  if (x.empty()) return nullptr;
  auto p = MakeRef<InstanceExtras>(std::move(x));
  detail::PrepareExtras(*p);
  return p;
}

}  // namespace

Writer::Writer(SnapshotHub& hub, std::string_view self_node, std::string_view datacenter,
               DnsSettings dns, uint64_t version_base)
    : hub_(hub), local_version_(version_base) {
  staged_.self_node = core::Lower(self_node);
  staged_.datacenter = core::Lower(datacenter);
  staged_.dc_wire = detail::NameToWire(staged_.datacenter);
  staged_.dns = std::move(dns);
  staged_.domain_wire = detail::NameToWire(staged_.dns.domain);
  staged_.alt_domain_wire = detail::NameToWire(staged_.dns.alt_domain);
  staged_.queries = CompileQueries({});
}

uint64_t Writer::Bump() {
  dirty_ = true;
  ++changes_;
  return ++index_;
}

void Writer::MarkPending(const std::string& key, ServiceEntry* e) {
  if (e == nullptr) e = MutableService(key);
  if (e == nullptr || e->pending) return;
  e->pending = true;
  pending_.push_back(key);
}

void Writer::MarkNodeServices(const std::string& nkey) {
  const NodeServices* ns = staged_.node_services.Find(nkey);
  if (ns == nullptr) return;
  ns->service_keys.ForEach([&](std::string_view k) { MarkPending(std::string(k)); });
}

// Copy-on-write access to entries: an entry stamped with the current (unpublished) batch is
// reachable from no published snapshot, so it is changed in place; an older one is copied. The
// node's instances still point at the old copy until their services are rebuilt at Publish().
NodeEntry* Writer::MutableNode(const std::string& key) {
  const NodeEntry* cur = staged_.nodes.Find(key);
  if (cur == nullptr) return nullptr;
  if (cur->stamp == batch_) return const_cast<NodeEntry*>(cur);
  auto copy = MakeRef<NodeEntry>(*cur);
  copy->stamp = batch_;
  NodeEntry* raw = copy.get();
  staged_.nodes.Set(key, copy);
  const std::string ip(raw->IpKey());
  if (!ip.empty()) {  // the reverse map shares node entries: point it at the copy
    const NodeEntry* p = staged_.ptr_nodes.Find(ip);
    if (p != nullptr && p->MatchesKey(key)) staged_.ptr_nodes.Set(ip, std::move(copy));
  }
  MarkNodeServices(key);
  return raw;
}

NodeServices* Writer::MutableNodeServices(const std::string& nkey) {
  const NodeServices* cur = staged_.node_services.Find(nkey);
  if (cur != nullptr && cur->stamp == batch_) return const_cast<NodeServices*>(cur);
  auto copy = cur != nullptr ? MakeRef<NodeServices>(*cur) : MakeRef<NodeServices>();
  copy->key = nkey;
  copy->stamp = batch_;
  NodeServices* raw = copy.get();
  staged_.node_services.Set(nkey, std::move(copy));
  return raw;
}

ServiceEntry* Writer::MutableService(const std::string& key, std::string_view create_as) {
  const ServiceEntry* cur = staged_.services.Find(key);
  if (cur != nullptr && cur->stamp == batch_) return const_cast<ServiceEntry*>(cur);
  if (cur == nullptr && create_as.empty()) return nullptr;
  auto copy = cur != nullptr ? MakeRef<ServiceEntry>(*cur) : MakeRef<ServiceEntry>();
  if (cur == nullptr) copy->name = create_as;
  copy->stamp = batch_;
  ServiceEntry* raw = copy.get();
  staged_.services.Set(key, std::move(copy));
  return raw;
}

InstanceExtras Writer::ExtrasOf(const Instance& in) {
  return in.extras ? *in.extras : InstanceExtras{};
}

void Writer::UpsertNode(const Node& node) {
  const std::string key = core::Lower(node.name);
  UpsertNodeKeyed(node, key, staged_.nodes.Find(key));
}

void Writer::UpsertNodeKeyed(const Node& node, const std::string& key, const NodeEntry* cur) {
  NodeExtras x;
  x.id = node.id;
  if (!node.datacenter.empty() && node.datacenter != staged_.datacenter) {
    x.datacenter = node.datacenter;
  }
  x.tagged_addresses = node.tagged_addresses;
  x.meta = node.meta;
  if (cur) {
    const NodeExtras none;
    const NodeExtras& cx = cur->extras ? *cur->extras : none;
    if (cur->AddressText() == node.address && cx.meta == x.meta &&
        cx.tagged_addresses == x.tagged_addresses && cx.id == x.id &&
        cx.datacenter == x.datacenter) {
      return;  // nothing a reader could see changes
    }
    x.checks = cx.checks;
  }
  NodeEntry* e;
  if (cur) {
    RemoveNodePtr(cur->IpKey(), key);
    e = MutableNode(key);  // queues the node's services for rebuild
  } else {
    auto fresh = MakeRef<NodeEntry>();
    fresh->stamp = batch_;
    e = fresh.get();
    staged_.nodes.Set(key, std::move(fresh));
  }
  e->name_wire = detail::NameToWire(node.name);
  // The wire form drops empty labels and cuts long ones, and only then is it shorter than the
  // name plus one: keep the name as given when the wire form cannot give it back.
  if (e->name_wire.size() != node.name.size() + 1 &&
      detail::WireToDotted(e->name_wire) != node.name) {
    x.name = node.name;
  }
  x.address = node.address;
  detail::PrepareNode(*e, Share(std::move(x)), node.address);
  const uint64_t idx = Bump();
  e->modify_index = idx;
  MutableNodeServices(key)->index = idx;
  if (!cur) e->create_index = idx;
  staged_.nodes_index = idx;
  if (cur) TouchNodeServices(key, idx);  // health/service shows the node
  AddNodePtr(key);
}

bool Writer::RemoveNode(std::string_view name) {
  const std::string key = core::Lower(name);
  auto cur = staged_.nodes.FindShared(key);
  if (!cur) return false;
  RemoveNodePtr(cur->IpKey(), key);
  const uint64_t idx = Bump();
  bool had_checks = !cur->checks().empty();
  const NodeServices* ns = staged_.node_services.Find(key);
  const std::vector<std::string> keys = ns ? ns->service_keys.Items() : std::vector<std::string>{};
  for (const auto& k : keys) {
    const ServiceEntry* se = staged_.services.Find(k);
    if (se == nullptr) continue;
    ServiceEntry* m = MutableService(k);
    std::erase_if(m->instances, [&](const Instance& in) {
      if (!SameNode(in, key)) return false;
      instance_service_.Erase(key, in.service.id, k);
      UnindexCheckOwners(key, in.service.id, in.checks());
      if (!in.address().empty()) RemovePtr(in.address(), in.service.name);
      had_checks |= !in.checks().empty();
      return true;
    });
    m->index = idx;
    MarkPending(k, m);
  }
  if (!keys.empty()) staged_.services_index = idx;
  if (had_checks) staged_.checks_index = idx;
  staged_.nodes_index = idx;
  staged_.nodes.Erase(key);
  staged_.node_services.Erase(key);
  return true;
}

// Removes instance (node, id) from whichever service holds it. Returns the service key ("" when
// absent) and moves the instance to *removed.
std::string Writer::DetachInstance(const std::string& nkey, std::string_view id,
                                   Instance* removed) {
  std::string k;
  size_t i = 0;
  if (FindInstance(nkey, id, &k, &i) == nullptr) return {};
  ServiceEntry* m = MutableService(k);
  *removed = std::move(m->instances[i]);
  m->instances.erase(m->instances.begin() + static_cast<long>(i));
  MarkPending(k);
  instance_service_.Erase(nkey, id, k);
  UnindexCheckOwners(nkey, id, removed->checks());
  return k;
}

void Writer::DropServiceKeyIfUnused(const std::string& nkey, const std::string& skey) {
  if (const ServiceEntry* se = staged_.services.Find(skey)) {
    for (const auto& in : se->instances) {
      if (SameNode(in, nkey)) return;
    }
  }
  if (staged_.nodes.Find(nkey) != nullptr) MutableNodeServices(nkey)->service_keys.Remove(skey);
}

namespace {

// Whether re-registering `svc` (id already defaulted to `id`) over `in` changes its definition.
bool SameDefinition(const Instance& in, const Service& svc, std::string_view id) {
  Service cur = in.ToService();
  if (cur.id != id) return false;
  cur.id = svc.id;  // compare the rest as given
  return cur == svc;
}

// Gives each new check its indexes against the instance's previous checks; returns whether the
// set of checks changes (a check added, removed, redefined or changing status).
bool IndexChecks(std::vector<Check>& checks, const std::vector<Check>& prev, uint64_t idx) {
  bool changed = checks.size() != prev.size();
  for (Check& c : checks) {
    auto it = std::find_if(prev.begin(), prev.end(), [&](const Check& p) { return p.id == c.id; });
    if (it != prev.end() && SameCheck(*it, c)) {
      c.create_index = it->create_index;
      c.modify_index = it->modify_index;
      continue;
    }
    c.create_index = it != prev.end() ? it->create_index : idx;
    c.modify_index = idx;
    changed = true;
  }
  return changed;
}

}  // namespace

Status Writer::UpsertService(std::string_view node, const Service& svc, std::vector<Check> checks) {
  if (svc.name.empty()) return Status::Error("service name is required");
  if (svc.name.size() > KeyList::kMaxKey) {
    return Status::Error("service name longer than " + std::to_string(KeyList::kMaxKey) + " bytes");
  }
  const std::string nkey = core::Lower(node);
  auto nsp = staged_.nodes.FindShared(nkey);
  if (!nsp) {
    Node n;
    n.name = std::string(node);
    UpsertNode(n);
    nsp = staged_.nodes.FindShared(nkey);
  }
  const std::string& id = svc.id.empty() ? svc.name : svc.id;
  for (Check& c : checks) {
    c.service_id = id;
    c.service_name = svc.name;
  }
  const Instance* prev = FindInstance(nkey, id);
  const bool same_def = prev != nullptr && SameDefinition(*prev, svc, id);
  if (same_def && prev->checks().size() == checks.size() &&
      std::equal(checks.begin(), checks.end(), prev->checks().begin(), SameCheck)) {
    return Status::Ok();  // identical re-registration: nothing a reader could see changes
  }
  const uint64_t idx = Bump();
  Instance old;
  std::string old_key;
  if (prev != nullptr) old_key = DetachInstance(nkey, id, &old);
  if (!old_key.empty() && !old.address().empty()) {
    RemovePtr(old.address(), old.service.name);
  }
  const bool checks_changed = IndexChecks(checks, old.checks(), idx);
  const std::string skey = core::Lower(svc.name);
  {
    NodeServices* ns = MutableNodeServices(nkey);    // the node record itself is not touched
    const bool listed = ns->service_keys.Add(skey);  // no-op when present
    assert(listed);                                  // name length checked on entry
    (void)listed;
    ns->index = idx;
  }
  ServiceEntry* e = MutableService(skey, svc.name);
  auto& v = e->instances;
  if (v.size() == v.capacity()) {  // small services stay exact: no slack, no re-fit at rebuild
    v.reserve(v.size() < 8 ? v.size() + 1 : v.size() + v.size() / 2);
  }
  Instance& inst = v.emplace_back();
  instance_service_.Set(nkey, id, skey);
  inst.node = std::move(nsp);
  inst.service.id = id;
  inst.service.name = svc.name;
  inst.port = svc.port;
  InstanceExtras x;
  x.address = svc.address;
  x.tags = svc.tags;
  x.meta = svc.meta;
  x.tagged_addresses = svc.tagged_addresses;
  x.weights = svc.weights;
  x.enable_tag_override = svc.enable_tag_override;
  x.kind = svc.kind;
  IndexCheckOwners(nkey, id, checks);
  x.checks = std::move(checks);
  inst.extras = Share(std::move(x));
  inst.create_index = old_key.empty() ? idx : old.create_index;
  inst.modify_index = same_def ? old.modify_index : idx;
  AddPtr(svc.address, svc.name);
  e->index = idx;
  MarkPending(skey, e);
  if (!same_def) staged_.services_index = idx;
  if (checks_changed) staged_.checks_index = idx;
  if (!old_key.empty() && old_key != skey) {
    TouchService(old_key, idx);
    DropServiceKeyIfUnused(nkey, old_key);
  }
  return Status::Ok();
}

bool Writer::RemoveService(std::string_view node, std::string_view service_id) {
  const std::string nkey = core::Lower(node);
  Instance old;
  const std::string k = DetachInstance(nkey, service_id, &old);
  if (k.empty()) return false;
  const uint64_t idx = Bump();
  TouchService(k, idx);
  staged_.services_index = idx;
  if (!old.checks().empty()) staged_.checks_index = idx;
  if (!old.address().empty()) RemovePtr(old.address(), old.service.name);
  DropServiceKeyIfUnused(nkey, k);
  TouchNode(nkey, idx);
  return true;
}

Status Writer::UpsertCheck(std::string_view node, const Check& check) {
  const std::string nkey = core::Lower(node);
  const NodeEntry* cur = staged_.nodes.Find(nkey);
  if (cur == nullptr) return Status::Error("unknown node \"" + std::string(node) + "\"");
  if (check.id.empty()) return Status::Error("check id is required");
  if (const Check* prev = FindCheck(nkey, check.id); prev != nullptr) {
    if (prev->service_id == check.service_id) {
      Check c = check;
      c.service_name = prev->service_name;
      if (SameCheck(*prev, c)) {  // at most the output changes: no index moves (spec 4.3)
        if (prev->output != check.output) UpdateCheck(node, check.id, check.status, check.output);
        return Status::Ok();
      }
    } else if (check.service_id.empty() || FindInstance(nkey, check.service_id) != nullptr) {
      RemoveCheck(node, check.id);  // a check id names one check per node: it moves
    }
  }
  if (check.service_id.empty()) {
    const uint64_t idx = Bump();
    NodeEntry* n = MutableNode(nkey);
    NodeExtras x = n->extras ? *n->extras : NodeExtras{};
    auto it = std::find_if(x.checks.begin(), x.checks.end(),
                           [&](const Check& c) { return c.id == check.id; });
    Check c = check;
    c.create_index = it != x.checks.end() ? it->create_index : idx;
    c.modify_index = idx;
    if (it != x.checks.end()) {
      *it = std::move(c);
    } else {
      x.checks.push_back(std::move(c));
    }
    const std::string addr = n->AddressText();
    detail::PrepareNode(*n, Share(std::move(x)), addr);
    MutableNodeServices(nkey)->index = idx;
    staged_.checks_index = idx;
    TouchNodeServices(nkey, idx);
    return Status::Ok();
  }
  std::string k;
  size_t pos = 0;
  if (FindInstance(nkey, check.service_id, &k, &pos) == nullptr) {
    return Status::Error("unknown service \"" + check.service_id + "\" on node \"" +
                         std::string(node) + "\"");
  }
  const uint64_t idx = Bump();
  Instance& mi = MutableService(k)->instances[pos];
  Check c = check;
  c.service_name = mi.service.name.str();
  InstanceExtras x = ExtrasOf(mi);
  auto it =
      std::find_if(x.checks.begin(), x.checks.end(), [&](const Check& y) { return y.id == c.id; });
  c.create_index = it != x.checks.end() ? it->create_index : idx;
  c.modify_index = idx;
  if (it != x.checks.end()) {
    *it = std::move(c);
  } else {
    x.checks.push_back(std::move(c));
  }
  mi.extras = Share(std::move(x));
  check_service_.Set(nkey, check.id, check.service_id);
  TouchService(k, idx);
  staged_.checks_index = idx;
  TouchNode(nkey, idx);
  return Status::Ok();
}

// fn(checks, i, idx) changes checks[i] and returns whether a blocking query should see it (a
// status change or a removal); idx is the index the change then gets.
template <typename Fn>
bool Writer::MutateCheck(const std::string& nkey, std::string_view id, Fn&& fn) {
  const NodeEntry* cur = staged_.nodes.Find(nkey);
  if (cur == nullptr) return false;
  const uint64_t next = index_ + 1;
  const auto& nchecks = cur->checks();
  for (size_t i = 0; i < nchecks.size(); ++i) {
    if (nchecks[i].id != id) continue;
    NodeEntry* n = MutableNode(nkey);
    NodeExtras x = *n->extras;
    const bool changed = fn(x.checks, i, next);
    const std::string addr = n->AddressText();
    detail::PrepareNode(*n, Share(std::move(x)), addr);
    if (changed) {
      Bump();
      MutableNodeServices(nkey)->index = next;
      staged_.checks_index = next;
      TouchNodeServices(nkey, next);
    }
    return true;
  }
  std::string k;
  size_t pos = 0;
  const Instance* in = nullptr;
  check_service_.Find(nkey, id, [&](std::string_view sid) {
    in = FindInstance(nkey, sid, &k, &pos);
    return in != nullptr && std::any_of(in->checks().begin(), in->checks().end(),
                                        [&](const Check& c) { return c.id == id; });
  });
  if (in == nullptr) return false;
  const auto& ichecks = in->checks();
  for (size_t j = 0; j < ichecks.size(); ++j) {
    if (ichecks[j].id != id) continue;
    Instance& mi = MutableService(k)->instances[pos];
    InstanceExtras x = ExtrasOf(mi);
    const bool changed = fn(x.checks, j, next);
    if (j >= x.checks.size() || x.checks[j].id != id) {  // removed
      check_service_.Erase(nkey, id, mi.service.id);
    }
    mi.extras = Share(std::move(x));
    if (changed) {
      Bump();
      TouchService(k, next);
      staged_.checks_index = next;
      TouchNode(nkey, next);
    }
    return true;
  }
  return false;
}

bool Writer::RemoveCheck(std::string_view node, std::string_view check_id) {
  return MutateCheck(core::Lower(node), check_id, [](std::vector<Check>& v, size_t i, uint64_t) {
    v.erase(v.begin() + static_cast<long>(i));
    return true;
  });
}

bool Writer::UpdateCheck(std::string_view node, std::string_view check_id, Health status,
                         std::string_view output) {
  const std::string nkey = core::Lower(node);
  const Check* cur = FindCheck(nkey, check_id);
  if (cur == nullptr) return false;
  if (cur->status == status && cur->output == output) return true;  // nothing changes
  const bool found =
      MutateCheck(nkey, check_id, [&](std::vector<Check>& v, size_t i, uint64_t idx) {
        const bool changed = v[i].status != status;
        v[i].status = status;
        v[i].output = std::string(output);
        if (changed) v[i].modify_index = idx;
        return changed;
      });
  // An output-only change moves no index (spec 4.3) but is still published, so
  // /v1/agent/checks and /v1/health show the newest output at once.
  if (found) {
    dirty_ = true;
    ++changes_;
  }
  return found;
}

void Writer::SetDnsConfig(const DnsSettings& dns) {
  staged_.dns = dns;
  staged_.domain_wire = detail::NameToWire(staged_.dns.domain);
  staged_.alt_domain_wire = detail::NameToWire(staged_.dns.alt_domain);
  std::vector<std::string> keys;
  staged_.services.ForEach([&](const ServiceEntry& e) { keys.push_back(core::Lower(e.name)); });
  for (const auto& k : keys) MarkPending(k);
  dirty_ = true;
}

void Writer::SetPreparedQueries(const std::vector<PreparedQuery>& defs, std::string* err) {
  staged_.queries = CompileQueries(defs, err);
  dirty_ = true;
}

// Brings one service up to date: drops instances whose node is gone, points the rest at the
// current node entries, recomputes what DNS needs and re-sorts by health. O(instances).
void Writer::RebuildService(const std::string& k) {
  ServiceEntry* e = MutableService(k);
  if (e == nullptr) return;
  e->pending = false;
  size_t out = 0;
  for (size_t i = 0; i < e->instances.size(); ++i) {
    Instance& in = e->instances[i];
    // A node entry stamped with this batch is the current one (it is replaced only by RemoveNode,
    // which also removes its instances); an older one may have been copied since.
    if (in.node->stamp != batch_) {
      auto n = staged_.nodes.FindShared(core::Lower(in.node->name()));
      if (!n) continue;
      in.node = std::move(n);
    }
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
  if (e->instances.capacity() > e->instances.size() + e->instances.size() / 8) {
    e->instances.shrink_to_fit();
  }
  e->name = e->instances.front().service.name;
  // Within a health class, instances on nodes gossip suspects come last (DNS prefers others).
  auto rank = [](const Instance& in) {
    const int h = in.health == Health::kPassing ? 0 : in.health == Health::kWarning ? 2 : 4;
    return h + (in.node->suspect ? 1 : 0);
  };
  std::stable_sort(e->instances.begin(), e->instances.end(),
                   [&](const Instance& a, const Instance& b) { return rank(a) < rank(b); });
  e->n_passing = 0;
  e->n_ok = 0;
  for (const Instance& in : e->instances) {
    e->n_passing += in.health == Health::kPassing;
    e->n_ok += in.health == Health::kPassing || in.health == Health::kWarning;
  }
  e->ttl_s = detail::ServiceTtl(staged_.dns, k);
}

uint64_t Writer::Publish(bool force) {
  for (const auto& k : pending_) RebuildService(k);
  // The change feed is the list just rebuilt: handed over, not copied (after a bulk load, two
  // copies would sit at the peak); otherwise a bulk load's list is large: give it back.
  if (track_changes_ && changed_.empty()) {
    changed_.swap(pending_);
  } else if (track_changes_) {
    changed_.insert(changed_.end(), pending_.begin(), pending_.end());
  }
  std::vector<std::string>().swap(pending_);
  if (!dirty_ && !force) return staged_.generation;
  staged_.nodes.Seal();
  staged_.node_services.Seal();
  staged_.services.Seal();
  staged_.ptr.Seal();
  staged_.ptr_nodes.Seal();
  ++batch_;  // everything stamped so far is now shared with a published snapshot
  ++staged_.generation;
  staged_.index = index_;
  staged_.soa_serial = static_cast<uint32_t>(std::time(nullptr));
  hub_.Publish(std::make_shared<const Snapshot>(staged_));
  dirty_ = false;
  return staged_.generation;
}

}  // namespace beacon::catalog
