// JsonWriter: builds one JSON text that is valid by construction.
//
// Contract:
// - Object/array nesting is tracked: a key is only accepted inside an object and must be followed
//   by exactly one value; a value inside an object needs a key first. Misuse (a value without a
//   key, a closing call that does not match, a second top-level value) does not emit anything and
//   sets error(); once in error every further call is ignored.
// - Strings and keys are escaped per RFC 8259: '"', '\\' and control characters (< 0x20, as
//   \b \f \n \r \t or \u00XX); invalid UTF-8 is replaced by U+FFFD (one per bad byte).
// - Numbers are integers (signed/unsigned 64-bit) or finite doubles (Go's encoding/json layout:
//   shortest round-trip digits, exponent form below 1e-6 and from 1e21; NaN and infinities are
//   written as 0, which JSON cannot carry); also bools and null.
// - Not thread-safe; one writer per thread. Take() moves the text out; it is complete JSON only
//   when done() (every container closed, one top-level value, no error).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::core {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view k);
  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t v);
  JsonWriter& Uint(uint64_t v);
  JsonWriter& Double(double v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();

  // True on misuse (see contract); the text is then not to be sent.
  bool error() const { return error_; }
  // One complete top-level value and no error.
  bool done() const { return !error_ && stack_.empty() && top_done_; }
  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

  // Go's json.MarshalIndent(v, "", "    ") layout plus a trailing newline (Consul's ?pretty):
  // REQUIRES: `compact` is JSON without insignificant whitespace (as this writer produces).
  static std::string Pretty(std::string_view compact);

  // Appends s to out as a quoted, escaped JSON string.
  static void AppendQuoted(std::string& out, std::string_view s);

 private:
  enum class Ctx : uint8_t { kObjectKey, kObjectValue, kArray };
  JsonWriter& Open(char bracket, Ctx ctx);
  JsonWriter& Close(char bracket, Ctx ctx);
  // Checks that a value may start here and writes the separator. False: error set.
  bool BeforeValue();
  void AfterValue();

  std::string out_;
  std::vector<Ctx> stack_;
  bool first_ = true;  // nothing written yet in the innermost container
  bool top_done_ = false;
  bool error_ = false;
};

}  // namespace beacon::core
