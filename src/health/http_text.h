// Texts of HTTP checks (internal to src/health): Go's reason phrases and header-name lookup.
//
// Contract:
// - ReasonPhrase(code): Go's text for a status code a check commonly sees, "" for others (used
//   when the server sent no reason phrase).
// - HasHeader(check, name): whether the check's own headers set `name` (ASCII case-insensitive).
#pragma once

#include <string_view>

#include "beacon/catalog/types.h"

namespace beacon::health {

const char* ReasonPhrase(long code);
bool HasHeader(const catalog::Check& c, std::string_view name);

}  // namespace beacon::health
