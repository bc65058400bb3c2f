// catalog::Writer, part three: /v1/catalog/register-style entries (Apply), lookups in the staged
// catalog and the blocking-query index bookkeeping.
#include <algorithm>
#include <string>

#include "beacon/catalog/writer.h"
#include "beacon/core/hash.h"
#include "beacon/core/strings.h"

namespace beacon::catalog {

bool SameCheck(const Check& a, const Check& b) {
  if (a.status != b.status || a.id != b.id) return false;  // the common difference, cheaply
  Check x = a;
  x.output = b.output;
  x.create_index = b.create_index;
  x.modify_index = b.modify_index;
  return x == b;
}

uint64_t HintIndex::Hash(std::string_view nkey, std::string_view id) {
  const uint64_t h = core::Fnv1a64(nkey);
  const uint64_t x = core::Fnv1a64(id, core::Fnv1a64(std::string_view("\0", 1), h));
  const uint64_t mixed = x ^ (x >> 29);  // FNV's low bits alone pick the slot
  return mixed > kErased ? mixed : mixed + 2;
}

void HintIndex::Grow() {
  // Twice the size when more than half the slots hold live entries, else the same size (only
  // erased slots are dropped).
  size_t live = 0;
  for (const Slot& s : slots_) live += s.hash > kErased;
  size_t n = slots_.empty() ? 64 : slots_.size();
  while (live * 2 >= n) n *= 2;
  std::vector<Slot> old(n);
  old.swap(slots_);
  mask_ = n - 1;
  used_ = live;
  for (Slot& s : old) {
    if (s.hash <= kErased) continue;
    size_t i = s.hash & mask_;
    while (slots_[i].hash != kEmpty) i = (i + 1) & mask_;
    slots_[i].hash = s.hash;
    slots_[i].value = std::move(s.value);
  }
}

void HintIndex::Set(std::string_view nkey, std::string_view id, std::string_view value) {
  if ((used_ + 1) * 4 > slots_.size() * 3) Grow();
  const uint64_t h = Hash(nkey, id);
  size_t i = h & mask_;
  for (; slots_[i].hash != kEmpty; i = (i + 1) & mask_) {
    if (slots_[i].hash == h && slots_[i].value.view() == value) return;
  }
  slots_[i].hash = h;  // erased slots are not reused: a probe chain never breaks early
  slots_[i].value = value;
  ++used_;
}

void HintIndex::Erase(std::string_view nkey, std::string_view id, std::string_view value) {
  if (slots_.empty()) return;
  const uint64_t h = Hash(nkey, id);
  for (size_t i = h & mask_; slots_[i].hash != kEmpty; i = (i + 1) & mask_) {
    if (slots_[i].hash == h && slots_[i].value.view() == value) {
      slots_[i].hash = kErased;
      slots_[i].value = SmallStr();
      return;
    }
  }
}

const Instance* Writer::FindInstance(const std::string& nkey, std::string_view id,
                                     std::string* skey, size_t* pos) const {
  // A node without services (one just created, as in a bulk load) holds no instance: no need to
  // look through the index.
  const NodeServices* ns = staged_.node_services.Find(nkey);
  if (ns == nullptr || ns->service_keys.empty()) return nullptr;
  const Instance* found = nullptr;
  instance_service_.Find(nkey, id, [&](std::string_view k) {
    const ServiceEntry* se = staged_.services.Find(k);
    if (se == nullptr) return false;
    for (size_t i = 0; i < se->instances.size(); ++i) {
      const Instance& in = se->instances[i];
      if (in.service.id != id || !in.node->MatchesKey(nkey)) continue;
      if (skey != nullptr) *skey = std::string(k);
      if (pos != nullptr) *pos = i;
      found = &in;
      return true;
    }
    return false;
  });
  return found;
}

const Instance* Writer::FindService(std::string_view node, std::string_view service_id) const {
  return FindInstance(core::Lower(node), service_id);
}

const Check* Writer::FindCheck(const std::string& nkey, std::string_view id) const {
  const NodeEntry* node = staged_.nodes.Find(nkey);
  if (node == nullptr) return nullptr;
  for (const Check& c : node->checks()) {
    if (c.id == id) return &c;
  }
  const Check* found = nullptr;
  check_service_.Find(nkey, id, [&](std::string_view sid) {
    const Instance* in = FindInstance(nkey, sid);
    if (in == nullptr) return false;
    for (const Check& c : in->checks()) {
      if (c.id == id) found = &c;
    }
    return found != nullptr;
  });
  return found;
}

void Writer::IndexCheckOwners(const std::string& nkey, std::string_view service_id,
                              const std::vector<Check>& checks) {
  for (const Check& c : checks) check_service_.Set(nkey, c.id, service_id);
}

void Writer::UnindexCheckOwners(const std::string& nkey, std::string_view service_id,
                                const std::vector<Check>& checks) {
  for (const Check& c : checks) check_service_.Erase(nkey, c.id, service_id);
}

void Writer::TouchService(const std::string& key, uint64_t idx) {
  ServiceEntry* e = MutableService(key);
  if (e == nullptr) return;
  e->index = std::max(e->index, idx);
  MarkPending(key, e);
}

void Writer::TouchNodeServices(const std::string& nkey, uint64_t idx) {
  const NodeServices* ns = staged_.node_services.Find(nkey);
  if (ns == nullptr) return;
  ns->service_keys.ForEach([&](std::string_view k) { TouchService(std::string(k), idx); });
}

void Writer::TouchNode(const std::string& nkey, uint64_t idx) {
  if (staged_.nodes.Find(nkey) == nullptr) return;
  NodeServices* ns = MutableNodeServices(nkey);
  ns->index = std::max(ns->index, idx);
}

Status Writer::Apply(const Registration& reg) {
  if (reg.node.name.empty()) return Status::Error("Must provide node");
  const std::string nkey = core::Lower(reg.node.name);
  const bool node_exists = staged_.nodes.Find(nkey) != nullptr;
  if (reg.skip_node_update && !node_exists) return Status::Error("Missing node registration");
  // Everything that can fail is checked before anything changes.
  for (const Service& s : reg.services) {
    if (s.name.empty()) return Status::Error("Must provide service name with ID");
    if (s.name.size() > KeyList::kMaxKey) {
      return Status::Error("service name longer than " + std::to_string(KeyList::kMaxKey) +
                           " bytes");
    }
  }
  for (const Check& c : reg.checks) {
    if (c.id.empty()) return Status::Error("Must provide a check ID or name");
    if (c.service_id.empty()) continue;
    const bool in_reg = std::any_of(
        reg.services.begin(), reg.services.end(),
        [&](const Service& s) { return (s.id.empty() ? s.name : s.id) == c.service_id; });
    if (!in_reg && (!node_exists || FindInstance(nkey, c.service_id) == nullptr)) {
      return Status::Error("Missing service registration");
    }
  }
  if (!reg.skip_node_update) UpsertNodeKeyed(reg.node, nkey, staged_.nodes.Find(nkey));
  for (const Service& s : reg.services) {
    const std::string& sid = s.id.empty() ? s.name : s.id;
    // The instance keeps the checks this entry does not mention, in their order.
    std::vector<Check> own;
    if (const Instance* cur = FindInstance(nkey, sid)) own = cur->checks();
    for (const Check& c : reg.checks) {
      if (c.service_id != sid) continue;
      auto it = std::find_if(own.begin(), own.end(), [&](const Check& o) { return o.id == c.id; });
      if (it != own.end()) {
        *it = c;
      } else {
        own.push_back(c);
      }
    }
    Status st = UpsertService(reg.node.name, s, std::move(own));
    if (!st.ok()) return st;
  }
  for (const Check& c : reg.checks) {
    if (!c.service_id.empty() &&
        std::any_of(reg.services.begin(), reg.services.end(), [&](const Service& s) {
          return (s.id.empty() ? s.name : s.id) == c.service_id;
        })) {
      continue;  // registered with its service above
    }
    Status st = UpsertCheck(reg.node.name, c);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace beacon::catalog
