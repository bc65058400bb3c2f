// Literals in template actions (internal to src/tmpl): Go's strconv.Unquote for "..." and '...'
// and Go's number constants (decimal, 0x, 0o, 0b, leading-0 octal, '_' separators, floats).
//
// Contract: pure functions, any thread. Integers must fit int64 (-9223372036854775808 included);
// a constant with '.', 'e' or 'E' (not hex) is a float64.
#pragma once

#include <string>
#include <string_view>

#include "ast.h"

namespace beacon::tmpl {

// `q` includes its quotes. False on a bad escape.
bool Unquote(std::string_view q, std::string* out);

// Sets a->type (kInt or kFloat) and the value. False: bad number syntax.
bool ParseNumber(std::string_view text, Arg* a);

}  // namespace beacon::tmpl
