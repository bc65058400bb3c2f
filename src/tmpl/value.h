// tmpl::Value: the dynamic value a template sees, modelled on the Go values consul-template hands
// to text/template (strings, ints, float64 from JSON, slices, maps with sorted keys, and structs
// such as *dep.KeyPair or *dep.HealthService).
//
// Contract: values are immutable and cheap to copy (containers are shared). kInvalid is Go's
// "no value" (a missing map key, the nil dot); kNil is a nil interface/pointer. Lists and maps
// remember whether they are nil (JSON null) so toJSON prints null as Go does. Map keys are
// strings kept sorted (Go prints and encodes maps in key order). Any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace beacon::tmpl {

struct List;
struct Map;
struct Record;

// A Go struct type: its name (for %T-style messages) and field names in declaration order.
struct RecordType {
  const char* go_name;  // e.g. "*dep.KeyPair" (pointer types print as &{...} at top level)
  std::vector<std::string> fields;
  bool pointer = true;
  int Field(std::string_view name) const;  // -1 when absent
};

enum class Kind : uint8_t { kInvalid, kNil, kBool, kInt, kFloat, kString, kList, kMap, kRecord };

class Value {
 public:
  Value() = default;                                                  // kInvalid
  static Value Nil() { return Value(Kind::kNil, std::monostate{}); }  // a nil interface{}
  // A typed nil pointer (a struct field such as CatalogNode.Node); prints "<nil>" where a nil
  // interface prints "<no value>".
  static Value NilPtr(const RecordType* t) { return Value(Kind::kNil, t); }
  static Value Bool(bool b) { return Value(Kind::kBool, b); }
  static Value Int(int64_t i) { return Value(Kind::kInt, i); }
  static Value Float(double f) { return Value(Kind::kFloat, f); }
  static Value Str(std::string s) { return Value(Kind::kString, std::move(s)); }
  static Value Of(std::shared_ptr<const List> l) { return Value(Kind::kList, std::move(l)); }
  static Value Of(std::shared_ptr<const Map> m) { return Value(Kind::kMap, std::move(m)); }
  static Value Of(std::shared_ptr<const Record> r) { return Value(Kind::kRecord, std::move(r)); }

  Kind kind() const { return kind_; }
  bool valid() const { return kind_ != Kind::kInvalid; }
  bool typed_nil() const { return kind_ == Kind::kNil && v_.index() == 8; }
  bool b() const { return std::get<bool>(v_); }
  int64_t i() const { return std::get<int64_t>(v_); }
  double f() const { return std::get<double>(v_); }
  const std::string& s() const { return std::get<std::string>(v_); }
  const List& list() const { return *std::get<std::shared_ptr<const List>>(v_); }
  const Map& map() const { return *std::get<std::shared_ptr<const Map>>(v_); }
  const Record& rec() const { return *std::get<std::shared_ptr<const Record>>(v_); }

  // Go's type name: "string", "int", "float64", "bool", "[]string", "map[string]string",
  // "*dep.KeyPair", "<nil>" ...
  std::string GoType() const;

 private:
  using Storage =
      std::variant<std::monostate, bool, int64_t, double, std::string, std::shared_ptr<const List>,
                   std::shared_ptr<const Map>, std::shared_ptr<const Record>, const RecordType*>;
  Value(Kind k, Storage v) : kind_(k), v_(std::move(v)) {}
  Kind kind_ = Kind::kInvalid;
  Storage v_;
};

struct List {
  std::vector<Value> items;
  // Go element type name ("string", "*dep.KeyPair", ...); always a string literal.
  std::string_view elem = "interface {}";
  bool is_nil = false;
};

struct Map {
  std::vector<std::pair<std::string, Value>> entries;  // sorted by key, unique
  std::string_view elem = "interface {}";  // a literal; "string": a missing key reads as ""
  bool is_nil = false;
  const Value* Find(std::string_view key) const;
  // A missing key's value: "" for string maps, Go's zero interface (nil) otherwise.
  Value Zero() const;
};

struct Record {
  const RecordType* type;
  std::vector<Value> fields;  // parallel to type->fields
};

// Builders.
// `elem` must be a string literal (it is kept as a view).
Value MakeList(std::vector<Value> items, std::string_view elem = "interface {}");
Value MakeStringList(std::vector<std::string> items);
// entries need not be sorted; later duplicates win.
Value MakeMap(std::vector<std::pair<std::string, Value>> entries,
              std::string_view elem = "interface {}");
Value MakeNilList(std::string_view elem);  // a nil slice (JSON null)
Value MakeNilMap(std::string_view elem);   // a nil map (JSON null)
Value MakeRecord(const RecordType* type, std::vector<Value> fields);

// Go's truth (text/template isTrue): false for no value, nil, false, 0, "", empty list/map.
bool Truth(const Value& v);

// fmt.Sprint(v) of one value (%v). plus: %+v (struct field names).
void AppendGo(std::string& out, const Value& v, bool plus = false, int depth = 0);
std::string GoString(const Value& v);
// strconv.FormatFloat(f, 'g', -1, 64) as %v prints a float64.
std::string FormatFloatG(double f);
// strconv.FormatFloat(f, 'f', -1, 64): the shortest digits in fixed notation (encoding/json).
std::string FormatFloatF(double f);
// strconv.Quote (Go's %q of a string).
std::string GoQuote(std::string_view s);

}  // namespace beacon::tmpl
