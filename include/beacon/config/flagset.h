// FlagSet: command-line flags with the rules of Go's `flag` package, shared by `beacon agent` and
// every CLI command.
//
// Contract: flags are `-name`, `--name`, `-name value` or `-name=value`; a boolean flag takes no
// separate value (`-b`, `-b=true|false` only). Parsing stops at the first non-flag argument, at
// a lone `-`, or after `--` (consumed); what follows is Args(). Errors carry Go's texts:
// `flag provided but not defined: -x`, `flag needs an argument: -x`,
// `invalid value "v" for flag -x: parse error`, `invalid boolean value "v" for -x: parse error`,
// `bad flag syntax: ---x`. `-h`/`-help` that are not defined give ErrorKind::kHelp.
// Targets are pointers owned by the caller and must outlive Parse. Not thread-safe; one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/core/status.h"

namespace beacon::config {

class FlagSet {
 public:
  enum class ErrorKind { kNone, kHelp, kUndefined, kNeedsArgument, kBadValue, kBadSyntax };

  // A setter returns an error text (Go's err.Error()) or "" on success.
  using Setter = std::function<std::string(std::string_view)>;

  void Bool(std::string name, bool* out, std::string usage);
  void String(std::string name, std::string* out, std::string usage);
  void Int(std::string name, int64_t* out, std::string usage);
  void Uint(std::string name, uint64_t* out, std::string usage);
  // Go duration ("1s", "1m30s"); stored as milliseconds.
  void Duration(std::string name, int64_t* out_ms, std::string usage);
  // Repeatable: each occurrence appends.
  void StringList(std::string name, std::vector<std::string>* out, std::string usage);
  // Custom flag; `is_bool` makes it take no separate value (the setter gets "true"/"false").
  void Func(std::string name, Setter set, std::string usage, bool is_bool = false,
            std::string default_text = "");

  // Parses args (argv after the command name). On error, kind() and flag() say what went wrong
  // and the returned Status holds Go's message.
  Status Parse(const std::vector<std::string>& args);

  ErrorKind kind() const { return kind_; }
  const std::string& flag() const { return err_flag_; }
  const std::string& value() const { return err_value_; }
  const std::vector<std::string>& Args() const { return args_; }
  bool Has(std::string_view name) const;  // set on the command line

  // Consul's flag usage: "  -name=<value>\n     usage (wrapped)\n\n" per flag, sorted by name;
  // `include` (optional) picks the flags to list.
  std::string Defaults(const std::function<bool(std::string_view)>& include = nullptr) const;

 private:
  struct Def {
    std::string name;
    bool is_bool = false;
    Setter set;
    std::string usage;
    std::string default_text;
    std::string value_name;
  };
  const Def* Find(std::string_view name) const;
  Status Fail(ErrorKind kind, std::string flag, std::string msg);

  std::vector<Def> defs_;
  std::vector<std::string> args_;
  std::vector<std::string> seen_;
  ErrorKind kind_ = ErrorKind::kNone;
  std::string err_flag_;
  std::string err_value_;
};

}  // namespace beacon::config
