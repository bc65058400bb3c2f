// Request bodies of the agent API (spec 2.6): service and check registrations, check updates.
//
// Contract:
// - The bodies are parsed by the same code as config-file services and checks (the config
//   module's ParseService / ParseNodeCheck), so the API accepts exactly what a config file
//   accepts: keys case-insensitive, CamelCase or snake_case, unknown keys ignored, `script` as a
//   string (run as `sh -c`). API-only forms on top: durations may also be integer nanoseconds
//   (Consul's JSON encoding of time.Duration), and an empty or null `Check` object means "no
//   check".
// - Defaults as Consul's agent applies them: service ID = Name; check IDs `service:<id>` or
//   `service:<id>:<n>`; check name `Service '<name>' check`; node check ID = Name; status
//   critical unless given. Services with an IP address get `lan_ipv4`/`wan_ipv4` (or `_ipv6`)
//   tagged addresses unless they set them.
// - Every error is an HTTP 400 message in Consul's wording: `Request decode failed: <path>:
//   <what>`, `Missing service name`, `Missing check name`, `Invalid check: <why>`,
//   `Invalid Service Meta: <why>`, `Invalid check status: '<s>'`.
// - Pure functions, any thread. The persisted form written by agent::LocalAgent is read back
//   with ParsePersistedCheck (which also accepts the internal maintenance checks).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "beacon/catalog/types.h"
#include "beacon/core/status.h"

namespace beacon::config {

// PUT /v1/agent/service/register.
struct ServiceBody {
  catalog::Service service;
  std::vector<catalog::Check> checks;  // service_id/service_name set, ids defaulted
  bool has_script_check = false;       // a check runs a command (args, script, docker)
};
Result<ServiceBody> ParseServiceBody(std::string_view json);

// PUT /v1/agent/check/register. `check.service_id` may name a service; service_name is left
// for the agent to fill.
struct CheckBody {
  catalog::Check check;
  bool has_script_check = false;
};
Result<CheckBody> ParseCheckBody(std::string_view json);

// A check as agent::LocalAgent persists it: a check body, or an internal check (maintenance)
// marked with `"Type":"maintenance"`, which has no check type. `*maintenance` tells which.
Result<CheckBody> ParsePersistedCheck(std::string_view json, bool* maintenance);

// PUT /v1/agent/check/update/<id>: {"Status": "passing|warning|critical", "Output": "..."}.
struct CheckUpdateBody {
  catalog::Health status = catalog::Health::kPassing;
  std::string output;
};
Result<CheckUpdateBody> ParseCheckUpdateBody(std::string_view json);

}  // namespace beacon::config
