// DNS query metrics: names and the sum over workers. See include/beacon/net/dns_metrics.h.
#include "beacon/net/dns_metrics.h"

namespace beacon::net {

const char* DnsTypeName(int index) {
  static constexpr const char* kNames[kDnsTypes] = {"A",  "AAAA",  "SRV", "PTR", "TXT", "SOA",
                                                    "NS", "CNAME", "MX",  "ANY", "XFR", "other"};
  return index >= 0 && index < kDnsTypes ? kNames[index] : "other";
}

const char* DnsRcodeName(int index) {
  static constexpr const char* kNames[kDnsRcodes] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                                     "NOTIMP",  "REFUSED", "other"};
  return index >= 0 && index < kDnsRcodes ? kNames[index] : "other";
}

void DnsMetricsTotals::Add(const DnsWorkerMetrics& w) {
  for (int t = 0; t < kDnsTypes; ++t) {
    for (int r = 0; r < kDnsRcodes; ++r) answers[t][r] += w.answers[t][r].Read();
  }
  latency.Add(w.latency.Read());
}

}  // namespace beacon::net
