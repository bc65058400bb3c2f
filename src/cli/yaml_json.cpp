// YAML documents as JSON text, for the CLI's config readers (services definitions, template
// configs) that then parse JSON with simdjson. See YamlToJson in internal.h.
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <string>

#include "internal.h"

namespace beacon::cli {

std::string YamlToJson(const YAML::Node& n, YamlScalars scalars) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      std::string out = "{";
      for (const auto& kv : n) {
        if (out.size() > 1) out += ",";
        out += JsonQuote(kv.first.as<std::string>()) + ":" + YamlToJson(kv.second, scalars);
      }
      return out + "}";
    }
    case YAML::NodeType::Sequence: {
      std::string out = "[";
      for (const auto& v : n) {
        if (out.size() > 1) out += ",";
        out += YamlToJson(v, scalars);
      }
      return out + "]";
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() != "!") {  // a plain (unquoted) scalar
        if (s == "true" || s == "false") return s;
        if (scalars == YamlScalars::kNumbersStay) {
          char* end = nullptr;
          (void)std::strtod(s.c_str(), &end);
          if (!s.empty() && end != nullptr && *end == '\0' &&
              s.find_first_not_of("0123456789.-+eE") == std::string::npos) {
            return s;
          }
        }
      }
      return JsonQuote(s);
    }
    default:
      return "null";
  }
}

}  // namespace beacon::cli
