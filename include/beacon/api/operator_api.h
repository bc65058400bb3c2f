// /v1/operator/keyring: list, install, use and remove gossip encryption keys across the cluster
// (Consul's operator keyring endpoint, LAN pool only: Beacon runs one datacenter, no WAN).
//
// Contract:
// - AddOperatorRoutes registers GET (list), POST (install), PUT (use) and DELETE (remove) on
//   /v1/operator/keyring. Writes take a JSON body {"Key": "<base64>"}; a body that does not
//   decode is 400 "Request decode failed: ...".
// - GET answers 200 with Consul's JSON array of one KeyringResponse ({WAN: false, Datacenter,
//   Segment: "", Keys: {key: nodes}, PrimaryKeys: {key: nodes}, NumNodes, Messages when any}).
//   Writes answer 200 with an empty body. When any node failed or some did not answer, the
//   answer is 500 with Consul's multierror text ("2 errors occurred:\n\t* dc1 (LAN) error: 1/3
//   nodes reported failure\n\t* n2: Removing the primary key is not allowed\n\n"); a request
//   that could not start (a key that is not base64, no gossip) is 500 with the reason.
// - `keyring` (nullptr: no gossip, every call is 500 "gossip is not enabled on this agent") must
//   outlive the server; KeyringOp is called on the HTTP loop thread, must not block, and calls
//   `done` exactly once from any thread (the query takes up to Serf's query timeout).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "beacon/http/server.h"

namespace beacon::http {

// Serf's KeyResponse, plus Consul's wrapping.
struct KeyringResult {
  std::string request_error;  // the operation did not start: 500 with this text alone
  std::map<std::string, std::string> messages;  // node -> its message (errors, warnings)
  std::map<std::string, int> keys;              // base64 key -> nodes that have it
  std::map<std::string, int> primary_keys;      // base64 key -> nodes using it as primary
  int num_nodes = 0, num_resp = 0, num_err = 0;
  // Serf's error: "%d/%d nodes reported failure" or "%d/%d nodes reported success"; "" = ok.
  std::string error;
};
using KeyringDone = std::function<void(KeyringResult)>;

class KeyringApi {
 public:
  enum class Op { kList, kInstall, kUse, kRemove };
  virtual ~KeyringApi() = default;
  // `key` is base64 (ignored for kList).
  virtual void KeyringOp(Op op, std::string key, KeyringDone done) = 0;
};

// Consul's keyringErrorsOrNil text for one LAN pool ("" when `r` has no error).
std::string KeyringErrors(const KeyringResult& r, const std::string& datacenter);

void AddOperatorRoutes(Router& router, KeyringApi* keyring, const std::string& datacenter,
                       bool pretty);

}  // namespace beacon::http
