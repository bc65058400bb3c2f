// catalog::Writer, part two: address helpers and the reverse-lookup (PTR) bookkeeping.
#include <arpa/inet.h>

#include <algorithm>

#include "beacon/catalog/writer.h"
#include "beacon/core/strings.h"

namespace beacon::catalog {

namespace {

// Dotted-quad IPv4 as inet_pton accepts it (four decimal octets, no leading zeros beyond a lone
// 0); false for anything else, which then takes the general path.
bool ParseIpv4(std::string_view t, unsigned char out[4]) {
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= t.size() || t[i] != '.') return false;
      ++i;
    }
    const size_t start = i;
    unsigned v = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9' && i - start < 3) {
      v = v * 10 + static_cast<unsigned>(t[i] - '0');
      ++i;
    }
    if (i == start || v > 255 || (t[start] == '0' && i - start > 1)) return false;
    out[part] = static_cast<unsigned char>(v);
  }
  return i == t.size();
}

}  // namespace

std::string IpBytes(std::string_view text) {
  if (text.empty() || text.size() > 45) return {};
  unsigned char v4[4];
  if (ParseIpv4(text, v4)) return std::string(reinterpret_cast<char*>(v4), 4);
  char buf[64];
  std::copy(text.begin(), text.end(), buf);
  buf[text.size()] = '\0';
  unsigned char out[16];
  if (inet_pton(AF_INET, buf, out) == 1) return std::string(reinterpret_cast<char*>(out), 4);
  if (inet_pton(AF_INET6, buf, out) == 1) return std::string(reinterpret_cast<char*>(out), 16);
  return {};
}

namespace {

// A PTR entry for the services holding an address, or null when none does.
std::shared_ptr<const PtrEntry> MakePtr(const std::string& key, std::vector<std::string>&& owners) {
  if (owners.empty()) return nullptr;
  auto e = std::make_shared<PtrEntry>();
  e->key = key;
  e->name = owners.front();
  if (owners.size() > 1) {
    e->more = std::make_unique<const std::vector<std::string>>(std::move(owners));
  }
  return e;
}

}  // namespace

void Writer::AddPtr(std::string_view addr, std::string_view name) {
  std::string key = IpBytes(addr);
  if (key.empty()) return;
  const PtrEntry* cur = staged_.ptr.Find(key);
  if (cur == nullptr) {  // the common case: a fresh address
    auto e = std::make_shared<PtrEntry>();
    e->key = key;
    e->name = name;
    staged_.ptr.Set(key, std::move(e));
    return;
  }
  // Shared address: the first holder stays the PTR answer; later ones only queue behind it.
  PtrOwners& owners = ptr_owners_[key];
  if (owners.order.empty()) owners.Add(cur->name.view());
  owners.Add(name);
}

void Writer::RemovePtr(std::string_view addr, std::string_view name) {
  std::string key = IpBytes(addr);
  if (key.empty()) return;
  const PtrEntry* cur = staged_.ptr.Find(key);
  if (cur == nullptr) return;
  auto shared = ptr_owners_.find(key);
  if (shared == ptr_owners_.end()) {  // the only holder
    if (cur->name == name) staged_.ptr.Erase(key);
    return;
  }
  PtrOwners& owners = shared->second;
  auto named = owners.seqs.find(std::string(name));
  if (named == owners.seqs.end()) return;
  const uint64_t first = owners.order.begin()->first;
  const uint64_t seq = *named->second.begin();  // its earliest registration goes
  named->second.erase(named->second.begin());
  if (named->second.empty()) owners.seqs.erase(named);
  owners.order.erase(seq);
  if (seq == first) {  // the PTR answer changes to the next holder
    std::vector<std::string> next{owners.order.begin()->second};
    staged_.ptr.Set(key, MakePtr(key, std::move(next)));
  }
  if (owners.order.size() == 1) ptr_owners_.erase(shared);
}

void Writer::AddNodePtr(const std::string& nkey) {
  auto n = staged_.nodes.FindShared(nkey);
  const std::string ip(n->IpKey());
  if (ip.empty()) return;
  const NodeEntry* cur = staged_.ptr_nodes.Find(ip);
  if (cur == nullptr) {
    staged_.ptr_nodes.Set(ip, std::move(n));
    return;
  }
  if (cur->MatchesKey(nkey)) return;
  auto& list = shared_node_addrs_[ip];
  if (list.empty()) list.push_back(core::Lower(cur->name()));
  if (std::find(list.begin(), list.end(), nkey) == list.end()) list.push_back(nkey);
}

// REQUIRES: the node entry for nkey still has address `ip` (called before it changes).
void Writer::RemoveNodePtr(std::string_view ip_view, const std::string& nkey) {
  if (ip_view.empty()) return;
  const std::string ip(ip_view);
  const NodeEntry* cur = staged_.ptr_nodes.Find(ip);
  if (cur == nullptr) return;
  auto it = shared_node_addrs_.find(ip);
  if (it == shared_node_addrs_.end()) {
    if (cur->MatchesKey(nkey)) staged_.ptr_nodes.Erase(ip);
    return;
  }
  std::erase(it->second, nkey);
  const std::string holder = it->second.empty() ? std::string() : it->second.front();
  if (it->second.size() <= 1) shared_node_addrs_.erase(it);
  if (holder.empty()) {
    staged_.ptr_nodes.Erase(ip);
  } else if (!cur->MatchesKey(holder)) {
    staged_.ptr_nodes.Set(ip, staged_.nodes.FindShared(holder));
  }
}

namespace {

// Lower-cases a short key into buf (no allocation); empty when it does not fit.
std::string_view LowerInto(std::string_view s, char (&buf)[128]) {
  if (s.size() > sizeof buf) return {};
  for (size_t i = 0; i < s.size(); ++i) buf[i] = core::LowerChar(s[i]);
  return {buf, s.size()};
}

}  // namespace

void Writer::Prefetch(const Registration& reg, int stage) const {
  char nbuf[128];
  const std::string_view nkey = LowerInto(reg.node.name, nbuf);
  if (nkey.empty()) return;
  const int pmap_stage = stage == 0 ? 1 : 2;  // PMap: 1 = the leaf, 2 = the matching value
  const uint64_t nh = HashKey(nkey);
  staged_.nodes.Prefetch(nh, pmap_stage);
  staged_.node_services.Prefetch(nh, pmap_stage);
  if (stage == 0 && !reg.node.address.empty()) {
    const std::string ip = IpBytes(reg.node.address);
    if (!ip.empty()) staged_.ptr_nodes.Prefetch(HashKey(ip), 1);
  }
  for (const Service& s : reg.services) {
    char sbuf[128];
    const std::string_view skey = LowerInto(s.name, sbuf);
    if (skey.empty()) continue;
    staged_.services.Prefetch(HashKey(skey), pmap_stage);
    if (stage == 0) instance_service_.Prefetch(nkey, s.id.empty() ? s.name : s.id);
  }
}

}  // namespace beacon::catalog
