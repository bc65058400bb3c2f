// Precomputation of the DNS-facing fields of snapshot entries. Writer thread only.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "beacon/catalog/dns_settings.h"
#include "beacon/catalog/snapshot.h"

namespace beacon::catalog::detail {

// Installs `x` (fresh, not yet shared; may be null) as the node's extras, filling its derived
// fields (TXT rdata, per-family addresses), then the node's addr (from `address`, the text as
// registered), name_wire, txt and health.
void PrepareNode(NodeEntry& n, RefPtr<NodeExtras> x, std::string_view address);
// Fills the derived fields (tags_lower, addr) of fresh, not yet shared instance extras.
void PrepareExtras(InstanceExtras& x);
// Fills addr, health, weight from the instance's extras and node.
void PrepareInstance(Instance& inst);
// service_ttl lookup: exact name, then the longest "prefix*", else 0 (spec 1.4 step 5).
uint32_t ServiceTtl(const DnsSettings& dns, std::string_view lower_name);
// "a.b.c" -> "\1a\1b\1c" (no terminating zero). Empty labels are skipped; labels are cut at 63.
std::string NameToWire(std::string_view dotted);
// The inverse for names that round-trip: labels joined with dots.
std::string WireToDotted(std::string_view wire);
// Whether wire labels spell lower_key ("a.b") ignoring ASCII case.
bool WireEqualsLowerKey(std::string_view wire, std::string_view lower_key);
// Appends one TXT rdata block ([u16 len][strings...]) for `text` to out.
void AppendTxtRdata(std::string& out, std::string_view text);
// RFC 1464 escaping of a node-meta key/value into the TXT string (spec 1.3).
std::string MetaTxt(std::string_view key, std::string_view value);

}  // namespace beacon::catalog::detail
