// Prepared-query definitions as JSON (spec 2.8): the body of POST /v1/query and PUT
// /v1/query/<id>, the objects GET /v1/query lists, and the file a server keeps them in.
//
// Contract:
// - DecodePreparedQuery reads Consul's PreparedQuery object (keys case-insensitive, snake_case
//   too, unknown keys ignored, null = absent). Wrong types fail with "Request decode failed:
//   <path>: <what>" (HTTP 400). Semantic checks are catalog::CheckQuery's.
// - WritePreparedQuery prints every field Consul prints, in its order, so what a client PUTs
//   back round-trips. DecodePreparedQueryList reads an array of them (the persisted file, a
//   server's GET /v1/query) including ID and the indexes.
// - Pure functions, any thread.
#pragma once

#include <string_view>
#include <vector>

#include "beacon/catalog/prepared_query.h"
#include "beacon/core/json_writer.h"
#include "beacon/core/status.h"

namespace beacon::config {

Result<catalog::PreparedQuery> DecodePreparedQuery(std::string_view json);
Result<std::vector<catalog::PreparedQuery>> DecodePreparedQueryList(std::string_view json);
void WritePreparedQuery(core::JsonWriter& w, const catalog::PreparedQuery& q);

}  // namespace beacon::config
