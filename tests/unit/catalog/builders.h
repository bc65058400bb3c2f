// Small builders the catalog tests share: a check, a node, a service, with only what they name.
#pragma once

#include <cstdint>
#include <string>

#include "beacon/catalog/types.h"

namespace beacon::catalog::testing {

inline Check MakeCheck(const std::string& id, Health h, const std::string& svc = "") {
  Check c;
  c.id = id;
  c.name = id;
  c.status = h;
  c.service_id = svc;
  return c;
}

inline Node MakeNode(const std::string& name, const std::string& addr) {
  Node n;
  n.name = name;
  n.address = addr;
  return n;
}

inline Service MakeService(const std::string& name, const std::string& id, uint16_t port) {
  Service s;
  s.name = name;
  s.id = id;
  s.port = port;
  return s;
}

}  // namespace beacon::catalog::testing
