// Helpers shared by the socket-free DNS tests: build a query packet, render answers with ldns.
#pragma once

#include <arpa/inet.h>
#include <ldns/ldns.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace beacon::golden {

// Collapses runs of blanks and tabs to one space and trims both ends.
inline std::string Fold(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// A DNS query for `name` (case kept) of `type` (mnemonic), RD set. edns < 0: no OPT record.
// ecs: "a.b.c.d/N" adds an EDNS Client Subnet option (requires edns >= 0).
inline std::vector<uint8_t> BuildQuery(const std::string& name, const std::string& type,
                                       int edns = -1, const std::string& ecs = "",
                                       uint16_t id = 0x1234) {
  std::vector<uint8_t> p = {static_cast<uint8_t>(id >> 8),
                            static_cast<uint8_t>(id),
                            0x01,
                            0x00,
                            0,
                            1,
                            0,
                            0,
                            0,
                            0,
                            0,
                            static_cast<uint8_t>(edns >= 0 ? 1 : 0)};
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    if (dot > start) {
      p.push_back(static_cast<uint8_t>(dot - start));
      p.insert(p.end(), name.begin() + static_cast<long>(start),
               name.begin() + static_cast<long>(dot));
    }
    start = dot + 1;
  }
  p.push_back(0);
  const uint16_t t = ldns_get_rr_type_by_name(type.c_str());
  p.push_back(static_cast<uint8_t>(t >> 8));
  p.push_back(static_cast<uint8_t>(t));
  p.push_back(0);
  p.push_back(1);
  if (edns >= 0) {
    std::vector<uint8_t> opt;
    if (!ecs.empty()) {
      const size_t slash = ecs.find('/');
      const int bits = std::atoi(ecs.c_str() + slash + 1);
      uint8_t addr[4] = {};
      inet_pton(AF_INET, ecs.substr(0, slash).c_str(), addr);
      const size_t n = static_cast<size_t>((bits + 7) / 8);
      opt = {0, 8, 0, static_cast<uint8_t>(4 + n), 0, 1, static_cast<uint8_t>(bits), 0};
      opt.insert(opt.end(), addr, addr + n);
    }
    const uint8_t hdr[] = {
        0, 0, 41, static_cast<uint8_t>(edns >> 8), static_cast<uint8_t>(edns), 0, 0,
        0, 0, 0,  static_cast<uint8_t>(opt.size())};
    p.insert(p.end(), hdr, hdr + sizeof hdr);
    p.insert(p.end(), opt.begin(), opt.end());
  }
  return p;
}

inline std::vector<std::string> RenderSection(const ldns_rr_list* list) {
  std::vector<std::string> out;
  for (size_t i = 0; list != nullptr && i < ldns_rr_list_rr_count(list); ++i) {
    char* s = ldns_rr2str(ldns_rr_list_rr(list, i));
    out.push_back(Fold(s));
    free(s);
  }
  return out;
}

}  // namespace beacon::golden
