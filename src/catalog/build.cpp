#include "build.h"

#include <arpa/inet.h>

#include <cstring>
#include <type_traits>

#include "beacon/catalog/writer.h"
#include "beacon/core/strings.h"

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

// Fills the per-family choices for `addr`: the address itself, or the tagged lan_ipv4/lan_ipv6
// address when the given one is an IP of the other family (or a hostname). One parse per input.
void FillAddrs(std::array<AddrChoice, 3>& out, std::string_view addr, std::string_view tagged_v4,
               std::string_view tagged_v6, bool from_service) {
  const AddrChoice base = Classify(addr, from_service);
  out[kFamAny] = base;
  out[kFamA] = base;
  out[kFamAAAA] = base;
  if (addr.empty()) return;
  if (base.kind != AddrChoice::kV4 && !tagged_v4.empty())
    out[kFamA] = Classify(tagged_v4, from_service);
  if (base.kind != AddrChoice::kV6 && !tagged_v6.empty())
    out[kFamAAAA] = Classify(tagged_v6, from_service);
}

bool Same(const AddrChoice& a, const AddrChoice& b) {
  return a.kind == b.kind && a.from_service == b.from_service && a.ip == b.ip;
}

// One choice for every family, or (when they differ) all three in `storage`.
void FillAddrSet(AddrSet& set, std::array<AddrChoice, 3>* storage, std::string_view addr,
                 std::string_view tagged_v4, std::string_view tagged_v6, bool from_service) {
  std::array<AddrChoice, 3> fam;
  FillAddrs(fam, addr, tagged_v4, tagged_v6, from_service);
  set.one = fam[kFamAny];
  set.per_family = nullptr;
  if (storage != nullptr && (!Same(fam[kFamA], set.one) || !Same(fam[kFamAAAA], set.one))) {
    *storage = fam;
    set.per_family = storage;
  }
}

template <typename M>
std::string_view Tagged(const M* m, const char* key) {
  if (m == nullptr) return {};
  auto it = m->find(key);
  if (it == m->end()) return {};
  if constexpr (std::is_same_v<typename M::mapped_type, std::string>) {
    return it->second;
  } else {
    return it->second.address;
  }
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

std::string WireToDotted(std::string_view wire) {
  std::string out;
  for (size_t i = 0; i < wire.size();) {
    const size_t l = static_cast<uint8_t>(wire[i]);
    if (!out.empty()) out.push_back('.');
    out.append(wire.substr(i + 1, l));
    i += 1 + l;
  }
  return out;
}

bool WireEqualsLowerKey(std::string_view wire, std::string_view key) {
  size_t k = 0;
  for (size_t i = 0; i < wire.size();) {
    const size_t l = static_cast<uint8_t>(wire[i]);
    if (i != 0) {
      if (k >= key.size() || key[k] != '.') return false;
      ++k;
    }
    if (key.size() - k < l) return false;
    for (size_t j = 0; j < l; ++j) {
      if (core::LowerChar(wire[i + 1 + j]) != key[k + j]) return false;
    }
    k += l;
    i += 1 + l;
  }
  return k == key.size();
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
  std::string lk = core::Lower(key);
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

void PrepareNode(NodeEntry& n, RefPtr<NodeExtras> x, std::string_view address) {
  n.txt_count = 0;
  if (x != nullptr) {
    x->txt_rdata.clear();
    for (const auto& [k, v] : x->meta) {
      AppendTxtRdata(x->txt_rdata, MetaTxt(k, v));
      ++n.txt_count;
    }
    x->txt_rdata.shrink_to_fit();
  }
  FillAddrSet(n.addr, x ? &x->per_family : nullptr, address,
              Tagged(x ? &x->tagged_addresses : nullptr, "lan_ipv4"),
              Tagged(x ? &x->tagged_addresses : nullptr, "lan_ipv6"), false);
  n.txt_rdata.s = x && !x->txt_rdata.empty() ? &x->txt_rdata : nullptr;
  n.health = x ? Aggregate(x->checks, Health::kPassing) : Health::kPassing;
  n.extras = std::move(x);
}

void PrepareExtras(InstanceExtras& x) {
  x.tags_lower.clear();
  for (const auto& t : x.tags) x.tags_lower.push_back(core::Lower(t));
  FillAddrSet(x.addr, &x.per_family, x.address, Tagged(&x.tagged_addresses, "lan_ipv4"),
              Tagged(&x.tagged_addresses, "lan_ipv6"), true);
}

void PrepareInstance(Instance& inst) {
  const NodeEntry& node = *inst.node;
  const InstanceExtras* x = inst.extras.get();
  inst.health = x ? Aggregate(x->checks, node.health) : node.health;
  const Weights w = x ? x->weights : Weights{};
  inst.weight = inst.health == Health::kWarning ? w.warning : w.passing;
}

uint32_t ServiceTtl(const DnsSettings& dns, std::string_view lower_name) {
  if (dns.service_ttl_s.empty()) return 0;
  for (const auto& [k, v] : dns.service_ttl_s) {
    if (k.empty() || k.back() == '*') continue;
    if (core::Lower(k) == lower_name) return v;
  }
  size_t best_len = 0;
  bool found = false;
  uint32_t best = 0;
  for (const auto& [k, v] : dns.service_ttl_s) {
    if (k.empty() || k.back() != '*') continue;
    std::string prefix = core::Lower(std::string_view(k).substr(0, k.size() - 1));
    if (lower_name.substr(0, prefix.size()) == prefix && (!found || prefix.size() >= best_len)) {
      best_len = prefix.size();
      best = v;
      found = true;
    }
  }
  return best;
}

}  // namespace beacon::catalog::detail
