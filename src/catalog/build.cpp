#include "build.h"

#include <arpa/inet.h>

#include <cstring>

#include "beacon/catalog/writer.h"

namespace beacon::catalog::detail {
namespace {

AddrChoice Classify(std::string_view text, bool from_service) {
  AddrChoice c;
  c.from_service = from_service;
  if (text.empty()) return c;
  std::string bytes = IpBytes(text);
  if (bytes.size() == 4) {
    c.kind = AddrChoice::kV4;
    std::memcpy(c.ip.data(), bytes.data(), 4);
  } else if (bytes.size() == 16) {
    c.kind = AddrChoice::kV6;
    std::memcpy(c.ip.data(), bytes.data(), 16);
  } else {
    c.kind = AddrChoice::kHost;
  }
  return c;
}

// The address text to use for a family: the given address, or the tagged lan_ipv4/lan_ipv6
// address when the given one is an IP of the other family.
std::string_view ForFamily(std::string_view addr, Family f, std::string_view tagged_v4,
                           std::string_view tagged_v6) {
  if (f == kFamAny || addr.empty()) return addr;
  const size_t n = IpBytes(addr).size();
  if (f == kFamA && n != 4 && !tagged_v4.empty()) return tagged_v4;
  if (f == kFamAAAA && n != 16 && !tagged_v6.empty()) return tagged_v6;
  return addr;
}

std::string_view Tagged(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? std::string_view() : std::string_view(it->second);
}

std::string_view Tagged(const std::map<std::string, TaggedAddress>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? std::string_view() : std::string_view(it->second.address);
}

Health Aggregate(const std::vector<Check>& checks, Health start) {
  Health h = start;
  for (const Check& c : checks) h = Worse(h, c.status);
  return h;
}

}  // namespace

std::string NameToWire(std::string_view dotted) {
  std::string out;
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string_view::npos) dot = dotted.size();
    std::string_view label = dotted.substr(start, dot - start);
    if (!label.empty()) {
      if (label.size() > 63) label = label.substr(0, 63);
      out.push_back(static_cast<char>(label.size()));
      out.append(label);
    }
    start = dot + 1;
  }
  return out;
}

void AppendTxtRdata(std::string& out, std::string_view text) {
  std::string rdata;
  do {
    std::string_view chunk = text.substr(0, 255);
    rdata.push_back(static_cast<char>(chunk.size()));
    rdata.append(chunk);
    text.remove_prefix(chunk.size());
  } while (!text.empty());
  out.push_back(static_cast<char>(rdata.size() >> 8));
  out.push_back(static_cast<char>(rdata.size() & 0xff));
  out.append(rdata);
}

std::string MetaTxt(std::string_view key, std::string_view value) {
  std::string lk = Lower(key);
  if (lk.rfind("rfc1035-", 0) == 0) return std::string(value);
  std::string out;
  size_t lead = 0;
  while (lead < key.size() && key[lead] == ' ') ++lead;
  size_t trail = 0;
  while (trail < key.size() - lead && key[key.size() - 1 - trail] == ' ') ++trail;
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (i < lead || i >= key.size() - trail) {
      out += "` ";
    } else if (c == '`') {
      out += "``";
    } else if (c == '=') {
      out += "`=";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('=');
  for (char c : value) {
    if (c == '`') out.push_back('`');
    out.push_back(c);
  }
  return out;
}

void PrepareNode(NodeEntry& n) {
  const auto v4 = Tagged(n.node.tagged_addresses, "lan_ipv4");
  const auto v6 = Tagged(n.node.tagged_addresses, "lan_ipv6");
  for (Family f : {kFamA, kFamAAAA, kFamAny}) {
    n.addr[f] = Classify(ForFamily(n.node.address, f, v4, v6), false);
  }
  n.name_wire = NameToWire(n.node.name);
  n.txt_rdata.clear();
  n.txt_count = 0;
  for (const auto& [k, v] : n.node.meta) {
    AppendTxtRdata(n.txt_rdata, MetaTxt(k, v));
    ++n.txt_count;
  }
  n.health = Aggregate(n.checks, Health::kPassing);
}

void PrepareInstance(Instance& inst) {
  const Service& s = inst.service;
  const NodeEntry& node = *inst.node;
  const auto sv4 = Tagged(s.tagged_addresses, "lan_ipv4");
  const auto sv6 = Tagged(s.tagged_addresses, "lan_ipv6");
  for (Family f : {kFamA, kFamAAAA, kFamAny}) {
    AddrChoice svc = Classify(ForFamily(s.address, f, sv4, sv6), true);
    inst.addr[f] = svc.kind != AddrChoice::kNone ? svc : node.addr[f];
  }
  inst.tags_lower.clear();
  for (const auto& t : s.tags) inst.tags_lower.push_back(Lower(t));
  inst.health = Aggregate(inst.checks, node.health);
  inst.weight = inst.health == Health::kWarning ? s.weights.warning : s.weights.passing;
  inst.port = s.port;
}

uint32_t ServiceTtl(const config::DnsConfig& dns, std::string_view lower_name) {
  if (dns.service_ttl_s.empty()) return 0;
  for (const auto& [k, v] : dns.service_ttl_s) {
    if (k.empty() || k.back() == '*') continue;
    if (Lower(k) == lower_name) return v;
  }
  size_t best_len = 0;
  bool found = false;
  uint32_t best = 0;
  for (const auto& [k, v] : dns.service_ttl_s) {
    if (k.empty() || k.back() != '*') continue;
    std::string prefix = Lower(std::string_view(k).substr(0, k.size() - 1));
    if (lower_name.substr(0, prefix.size()) == prefix && (!found || prefix.size() >= best_len)) {
      best_len = prefix.size();
      best = v;
      found = true;
    }
  }
  return best;
}

}  // namespace beacon::catalog::detail
