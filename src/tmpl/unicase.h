// Go's strings.ToLower / strings.ToUpper (internal to src/tmpl): Unicode simple case mapping for
// the scripts configuration values use (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic).
//
// Contract: pure, any thread. Runes outside those blocks are unchanged; an invalid UTF-8 byte
// becomes U+FFFD as Go's strings.Map makes it (ASCII-only input is mapped byte by byte).
#pragma once

#include <string>
#include <string_view>

namespace beacon::tmpl {

std::string GoLower(std::string_view s);
std::string GoUpper(std::string_view s);

}  // namespace beacon::tmpl
