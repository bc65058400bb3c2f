// YAML config text -> document tree. yaml-cpp throws; every exception is caught here and turned
// into a Status with the file and the line of yaml-cpp's Mark.
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "internal.h"

namespace beacon::config::internal {
namespace {

int LineOf(const YAML::Mark& m) {
  return m.line >= 0 ? m.line + 1 : 0;
}

bool IsInt(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  for (size_t j = i; j < s.size(); ++j) {
    if (s[j] < '0' || s[j] > '9') return false;
  }
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

bool IsFloat(const std::string& s, double* out) {
  if (s.empty()) return false;
  bool digit = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c != '.' && c != '-' && c != '+' && c != 'e' && c != 'E') {
      return false;
    }
  }
  if (!digit) return false;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (*end != '\0') return false;
  *out = v;
  return true;
}

// YAML 1.2 core schema for plain scalars: null, booleans, integers, floats; else a string.
void InferPlain(const std::string& s, Value* out) {
  out->plain = true;
  out->s = s;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    out->type = Value::Type::kNull;
  } else if (s == "true" || s == "True" || s == "TRUE") {
    out->type = Value::Type::kBool;
    out->b = true;
  } else if (s == "false" || s == "False" || s == "FALSE") {
    out->type = Value::Type::kBool;
    out->b = false;
  } else if (IsInt(s, &out->i)) {
    out->type = Value::Type::kInt;
  } else if (IsFloat(s, &out->d)) {
    out->type = Value::Type::kDouble;
  } else {
    out->type = Value::Type::kString;
  }
}

Status Convert(const Ctx& c, const YAML::Node& n, Value* out) {
  out->line = LineOf(n.Mark());
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out->type = Value::Type::kNull;
      return Status::Ok();
    case YAML::NodeType::Scalar:
      if (n.Tag() == "?" || n.Tag().empty()) {
        InferPlain(n.Scalar(), out);
      } else {
        out->type = Value::Type::kString;  // quoted or explicitly tagged: keep as text
        out->s = n.Scalar();
      }
      return Status::Ok();
    case YAML::NodeType::Sequence:
      out->type = Value::Type::kArray;
      for (const auto& item : n) {
        out->items.emplace_back();
        Status st = Convert(c, item, &out->items.back());
        if (!st.ok()) return st;
      }
      return Status::Ok();
    case YAML::NodeType::Map:
      out->type = Value::Type::kObject;
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) {
          return c.Err(LineOf(kv.first.Mark()), "", "mapping keys must be plain strings");
        }
        out->members.push_back(Member{kv.first.Scalar(), Value{}});
        Status st = Convert(c, kv.second, &out->members.back().value);
        if (!st.ok()) return st;
      }
      return Status::Ok();
  }
  return c.Err(out->line, "", "unsupported YAML node");
}

}  // namespace

Status ParseYamlTree(std::string_view name, std::string_view text, Value* out) {
  Ctx c{name};
  try {
    YAML::Node root = YAML::Load(std::string(text));
    if (root.IsNull() || !root.IsDefined()) {
      out->type = Value::Type::kObject;  // an empty document configures nothing
      out->line = 1;
      return Status::Ok();
    }
    if (!root.IsMap()) {
      return c.Err(LineOf(root.Mark()), "", "expected a mapping at the top level");
    }
    return Convert(c, root, out);
  } catch (const YAML::Exception& e) {
    return c.Err(LineOf(e.mark), "", "invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return c.Err(0, "", std::string("invalid YAML: ") + e.what());
  }
}

}  // namespace beacon::config::internal
