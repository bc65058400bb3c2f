// tmpl lexer: splits a template into text and action tokens the way Go's text/template/parse
// lexer does (delimiters, `{{-`/`-}}` trim markers, comments, strings, numbers, fields, vars).
//
// Contract: Lex returns every token up to kEOF, or the first lexical error with its byte offset.
// Trim markers are applied here (text tokens already lost the trimmed whitespace). Each token
// records whether whitespace preceded it inside the action (Go's itemSpace). Pure, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::tmpl {

enum class Tok : uint8_t {
  kText,
  kLeftDelim,
  kRightDelim,
  kIdentifier,
  kField,
  kVariable,
  kDot,
  kString,
  kRawString,
  kChar,
  kNumber,
  kBool,
  kNil,
  kPipe,
  kLeftParen,
  kRightParen,
  kDeclare,
  kAssign,
  kComma,
  kIf,
  kElse,
  kEnd,
  kRange,
  kWith,
  kDefine,
  kTemplate,
  kBlock,
  kBreak,
  kContinue,
  kEOF
};

struct Token {
  Tok type;
  size_t pos;             // byte offset in the source
  std::string_view text;  // a view into the source (kText: after trimming)
  bool space_before = false;
};

struct LexResult {
  std::vector<Token> tokens;
  std::string error;  // empty: ok
  size_t error_pos = 0;
};

LexResult Lex(std::string_view src, std::string_view left, std::string_view right);

// "line:col" (1-based) of a byte offset.
std::string LineCol(std::string_view src, size_t pos);

}  // namespace beacon::tmpl
