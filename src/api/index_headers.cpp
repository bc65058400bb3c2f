#include "beacon/api/index_headers.h"

#include <string>

namespace beacon::http {

void SetIndexHeaders(Response& resp, uint64_t index, const char* consistency) {
  resp.SetHeader("X-Consul-Index", std::to_string(index == 0 ? 1 : index));
  resp.SetHeader("X-Consul-KnownLeader", "true");
  resp.SetHeader("X-Consul-LastContact", "0");
  if (consistency != nullptr) resp.SetHeader("X-Consul-Effective-Consistency", consistency);
  resp.SetHeader("X-Consul-Default-ACL-Policy", "allow");
  if (consistency != nullptr) resp.SetHeader("X-Consul-Query-Backend", "blocking-query");
}

}  // namespace beacon::http
