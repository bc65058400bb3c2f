// JSON config text -> document tree, with the line of every value (simdjson On-Demand keeps
// pointers into the input, so the line is computed from the byte offset).
#include <simdjson.h>

#include <algorithm>
#include <string>
#include <vector>

#include "internal.h"

namespace beacon::config::internal {
namespace {

namespace od = simdjson::ondemand;

std::string TooDeep() {
  return "invalid JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " objects/arrays";
}

class JsonBuilder {
 public:
  JsonBuilder(std::string_view name, const simdjson::padded_string& buf) : name_(name), buf_(buf) {
    for (size_t i = 0; i < buf.size(); ++i) {
      if (buf.data()[i] == '\n') newlines_.push_back(i);
    }
  }

  int LineOf(const char* p) const {
    if (p < buf_.data() || p > buf_.data() + buf_.size()) return 0;
    size_t off = static_cast<size_t>(p - buf_.data());
    return static_cast<int>(std::lower_bound(newlines_.begin(), newlines_.end(), off) -
                            newlines_.begin()) +
           1;
  }

  // Line of the token the iterator stopped at after an error (0 if unknown).
  int ErrorLine(od::document& doc) {
    const char* at = nullptr;
    if (doc.current_location().get(at) != simdjson::SUCCESS) return 0;
    return LineOf(at);
  }

  // On failure returns the simdjson error; the caller turns it into a message with a location.
  // `depth` counts the containers around v; past kMaxJsonDepth the walk stops with DEPTH_ERROR
  // so that the recursion (and the tree's) stays shallow whatever the input.
  simdjson::error_code Build(od::value v, Value* out, int depth) {
    if (depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
    out->line = LineOf(v.raw_json_token().data());
    od::json_type t;
    if (auto err = v.type().get(t)) return err;
    switch (t) {
      case od::json_type::object: {
        out->type = Value::Type::kObject;
        od::object obj;
        if (auto err = v.get_object().get(obj)) return err;
        for (auto res : obj) {
          od::field f;
          if (auto err = std::move(res).get(f)) return err;
          std::string_view key;
          if (auto err = f.unescaped_key().get(key)) return err;
          out->members.push_back(Member{std::string(key), Value{}});
          if (auto err = Build(f.value(), &out->members.back().value, depth + 1)) return err;
        }
        return simdjson::SUCCESS;
      }
      case od::json_type::array: {
        out->type = Value::Type::kArray;
        od::array arr;
        if (auto err = v.get_array().get(arr)) return err;
        for (auto res : arr) {
          od::value item;
          if (auto err = res.get(item)) return err;
          out->items.emplace_back();
          if (auto err = Build(item, &out->items.back(), depth + 1)) return err;
        }
        return simdjson::SUCCESS;
      }
      case od::json_type::number: {
        od::number n;
        if (auto err = v.get_number().get(n)) return err;
        switch (n.get_number_type()) {
          case od::number_type::signed_integer:
            out->type = Value::Type::kInt;
            out->i = n.get_int64();
            break;
          case od::number_type::unsigned_integer:
            out->type = Value::Type::kDouble;  // too large for int64; range checks reject it
            out->d = static_cast<double>(n.get_uint64());
            break;
          default:
            out->type = Value::Type::kDouble;
            out->d = n.get_double();
            break;
        }
        return simdjson::SUCCESS;
      }
      case od::json_type::string: {
        std::string_view s;
        if (auto err = v.get_string().get(s)) return err;
        out->type = Value::Type::kString;
        out->s = std::string(s);
        return simdjson::SUCCESS;
      }
      case od::json_type::boolean: {
        out->type = Value::Type::kBool;
        return v.get_bool().get(out->b);
      }
      case od::json_type::null: {
        bool is_null = false;
        if (auto err = v.is_null().get(is_null)) return err;
        if (!is_null) return simdjson::N_ATOM_ERROR;
        out->type = Value::Type::kNull;
        return simdjson::SUCCESS;
      }
    }
    return simdjson::INCORRECT_TYPE;
  }

 private:
  std::string_view name_;
  const simdjson::padded_string& buf_;
  std::vector<size_t> newlines_;
};

}  // namespace

namespace {

simdjson::error_code Walk(JsonBuilder& b, od::document& doc, Value* out) {
  od::object obj;
  if (auto err = doc.get_object().get(obj)) return err;
  out->type = Value::Type::kObject;
  out->line = 1;
  for (auto res : obj) {
    od::field f;
    if (auto err = std::move(res).get(f)) return err;
    std::string_view key;
    if (auto err = f.unescaped_key().get(key)) return err;
    out->members.push_back(Member{std::string(key), Value{}});
    if (auto err = b.Build(f.value(), &out->members.back().value, 1)) return err;
  }
  // After the top-level object the iterator must be at the end of the input.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) return simdjson::TRAILING_CONTENT;
  return simdjson::SUCCESS;
}

}  // namespace

Status ParseJsonTree(std::string_view name, std::string_view text, Value* out) {
  simdjson::padded_string buf(text.data(), text.size());
  // Strict validation first: the DOM parser checks the whole document and names the problem
  // precisely. The On-Demand walk below then builds the tree and knows where it stopped.
  // The DOM parser is iterative and stops at its own depth limit; a document that deep is
  // refused before the (recursive) On-Demand walk ever starts.
  simdjson::dom::parser validator;
  simdjson::dom::element root;
  const simdjson::error_code dom_err = validator.parse(buf).get(root);
  if (!dom_err && !root.is_object()) {
    return Ctx{name}.Err(1, "", "expected a JSON object at the top level");
  }
  if (dom_err == simdjson::DEPTH_ERROR) {
    *out = Value{};
    return Ctx{name}.Err(0, "", TooDeep());
  }
  JsonBuilder b(name, buf);
  od::parser parser;
  od::document doc;
  simdjson::error_code od_err = parser.iterate(buf).get(doc);
  int line = 0;
  if (!od_err) {
    od_err = Walk(b, doc, out);
    if (od_err) line = b.ErrorLine(doc);
  }
  if (!dom_err && !od_err) return Status::Ok();
  *out = Value{};
  if (od_err == simdjson::DEPTH_ERROR) return Ctx{name}.Err(line, "", TooDeep());
  return Ctx{name}.Err(
      line, "",
      std::string("invalid JSON: ") + simdjson::error_message(dom_err ? dom_err : od_err));
}

}  // namespace beacon::config::internal
