// The parse tree of a template (internal to src/tmpl): built once by parse.cpp, read-only after.
//
// Contract: every node keeps its byte offset in Tree::src for line:col in errors; text nodes are
// views into Tree::src (which the Tree owns and never moves). Function references are resolved
// at parse time (FuncDef*), so rendering never looks a name up in a table.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/tmpl/template.h"

namespace beacon::tmpl {

struct FuncDef;
struct Pipe;

struct Arg {
  enum Type : uint8_t { kDot, kNil, kBool, kInt, kFloat, kString, kFunc, kField, kVar, kPipe };
  Type type = kDot;
  size_t pos = 0;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string str;                   // kString value, kVar name ("$x"), kFunc name
  std::vector<std::string> chain;    // field names applied after the term (kField: from dot)
  std::shared_ptr<const Pipe> pipe;  // kPipe
  const FuncDef* func = nullptr;     // kFunc
};

struct Cmd {
  size_t pos = 0;
  std::string_view text;  // source of the command, for error context
  std::vector<Arg> args;
};

struct Pipe {
  size_t pos = 0;
  bool is_assign = false;         // `$x = ...` rather than `$x := ...`
  std::vector<std::string> decl;  // declared or assigned variables
  std::vector<Cmd> cmds;
};

struct Node {
  enum Type : uint8_t { kText, kAction, kIf, kRange, kWith, kTemplate, kBreak, kContinue };
  Type type = kText;
  size_t pos = 0;
  std::string_view text;             // kText
  std::shared_ptr<const Pipe> pipe;  // kAction, kIf, kRange, kWith, kTemplate (may be null)
  std::vector<Node> list;            // body
  std::vector<Node> else_list;
  std::string name;  // kTemplate: the template invoked
};

struct Template::Tree {
  std::string name;
  std::string src;
  // Stand-ins for the denied functions (ParseOptions::denied_functions) the calls point at.
  std::vector<std::unique_ptr<FuncDef>> denied;
  std::vector<Node> root;
  std::vector<std::pair<std::string, std::vector<Node>>> defines;  // {{define}} / {{block}}
  const std::vector<Node>* Find(std::string_view n) const {
    for (const auto& [k, v] : defines) {
      if (k == n) return &v;
    }
    return nullptr;
  }
};

}  // namespace beacon::tmpl
