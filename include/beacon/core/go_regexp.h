// Go (RE2) regular expressions on std::regex: what Consul's prepared-query templates, consul-
// template's regexMatch/regexReplaceAll and the CLI's -status filters accept, translated to the
// ECMAScript grammar std::regex speaks.
//
// Contract:
// - Translated: leading flags (?i) (case-insensitive), (?s) ('.' also matches a newline) and
//   (?m) (^ and $ at line breaks); (?P<name>...) and (?<name>...) become plain groups (numbered
//   as in Go); \A and \z become ^ and $ (without (?m), ECMAScript's ^ and $ match only at the
//   ends of the text, as \A and \z do); \Q...\E quotes its text.
// - Refused with a message naming the construct (rather than compiled into something that
//   silently never matches): Unicode classes (\p, \P), \C, inline flag groups such as (?i:...)
//   or flags after the start, (?U), and \A or \z together with (?m).
// - Everything else is passed through: the two grammars agree on the common syntax (classes,
//   [[:alpha:]], quantifiers, {n,m}, alternation, \d \w \s \b).
// - Pure function, any thread; compiling the result may throw std::regex_error like any
//   std::regex (GoRegexp catches it and returns its message).
#pragma once

#include <regex>
#include <string>
#include <string_view>

#include "beacon/core/status.h"

namespace beacon::core {

struct GoRegexpSyntax {
  std::string ecmascript;
  std::regex::flag_type flags = std::regex::ECMAScript;
};

// The ECMAScript translation of a Go regular expression, or why it cannot be had.
Result<GoRegexpSyntax> TranslateGoRegexp(std::string_view re);

// Translates and compiles. Errors: the translation's, or std::regex's what().
Result<std::regex> GoRegexp(std::string_view re);

}  // namespace beacon::core
