// DnsSettings: what the catalog and the DNS answer path need to know about DNS (domains, TTLs,
// limits, recursors, SOA). The catalog owns the type; the agent's config fills it
// (config::DnsConfig is an alias), and each Snapshot carries the settings it was built with, so
// a DNS worker reads them without locks, as it reads the rest of the snapshot.
//
// Contract: plain values, copied freely; no invariants beyond the field comments (the config
// loader guarantees them).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace beacon::catalog {

struct SoaSettings {
  uint32_t refresh = 3600;
  uint32_t retry = 600;
  uint32_t expire = 86400;
  uint32_t min_ttl = 0;
  bool operator==(const SoaSettings&) const = default;
};

// Consul's dns_config{...} plus the DNS keys that live at the top level (the agent config parses
// them: config::DnsConfig is this type). Reloadable: Writer::SetDnsConfig.
struct DnsSettings {
  std::string domain = "consul.";      // always lower-case, always ends with '.'
  std::string alt_domain;              // "" = unset; lower-case, ends with '.'
  std::vector<std::string> recursors;  // "ip" or "ip:port" / "[v6]:port"; 0.0.0.0 rejected
  uint32_t recursor_timeout_ms = 2000;
  bool recursor_random = false;  // recursor_strategy: "sequential" (false) or "random"
  uint32_t node_ttl_s = 0;
  std::map<std::string, uint32_t> service_ttl_s;  // name, "prefix*" or "*" -> seconds
  bool only_passing = false;
  bool enable_truncate = false;
  uint32_t udp_answer_limit = 3;
  uint32_t a_record_limit = 0;  // 0 = unlimited
  bool disable_compression = false;
  bool enable_additional_node_meta_txt = true;
  bool allow_stale = true;
  // Beacon extension (spec 1.16): set RA on every answer so dnsmasq caches our replies.
  bool recursion_available = false;
  SoaSettings soa;
  bool operator==(const DnsSettings&) const = default;
};

}  // namespace beacon::catalog
