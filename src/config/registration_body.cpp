// Catalog register/deregister request bodies. Decoding the register body is the seed parser's
// (seed.cpp); here: Consul's validation and the deregister body.
#include "beacon/config/registration_body.h"

#include <simdjson.h>

#include "beacon/core/uuid.h"
#include "internal.h"

namespace beacon::config {
namespace {

namespace dom = simdjson::dom;

// Consul's ipaddr.IsAny: the unspecified address in any spelling.
bool IsAnyAddress(std::string_view a) {
  return a == "0.0.0.0" || a == "::" || a == "[::]";
}

}  // namespace

Status ValidateCatalogRegister(const catalog::Registration& reg) {
  if (reg.node.name.empty()) return Status::Error("Must provide node");
  if (reg.node.address.empty() && !reg.skip_node_update) {
    return Status::Error("Must provide address if SkipNodeUpdate is not set");
  }
  if (!reg.node.id.empty() && !core::IsUuid(reg.node.id)) {
    return Status::Error("Bad node ID: uuid string is wrong length or improperly formatted");
  }
  for (const catalog::Service& s : reg.services) {
    if (s.name.empty()) {
      return Status::Error(s.id.empty() ? "Must provide service name"
                                        : "Must provide service name with ID");
    }
    if (IsAnyAddress(s.address)) return Status::Error("Invalid service address");
  }
  for (const catalog::Check& c : reg.checks) {
    if (c.id.empty()) return Status::Error("Must provide a check ID or name");
  }
  return Status::Ok();
}

Status DecodeCatalogDeregister(std::string_view json, CatalogDeregister* out) {
  *out = CatalogDeregister();
  const simdjson::padded_string padded(json);
  dom::parser parser;
  dom::element root;
  if (auto err = parser.parse(padded).get(root)) {
    return Status::Error(std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  dom::object obj;
  if (root.get_object().get(obj)) return Status::Error("expected a deregister body object");
  for (dom::key_value_pair kv : obj) {
    if (kv.value.is_null()) continue;
    std::string* field = nullptr;
    if (internal::KeyIs(kv.key, "node")) {
      field = &out->node;
    } else if (internal::KeyIs(kv.key, "serviceid")) {
      field = &out->service_id;
    } else if (internal::KeyIs(kv.key, "checkid")) {
      field = &out->check_id;
    } else if (internal::KeyIs(kv.key, "datacenter")) {
      field = &out->datacenter;
    } else {
      continue;  // unknown fields (WriteRequest, ...) are ignored
    }
    std::string_view v;
    if (kv.value.get_string().get(v)) {
      return Status::Error(std::string(kv.key) + ": expected a string");
    }
    field->assign(v);
  }
  for (char& c : out->datacenter) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return Status::Ok();
}

Status ValidateCatalogDeregister(const CatalogDeregister& d) {
  if (d.node.empty()) return Status::Error("Must provide node");
  return Status::Ok();
}

}  // namespace beacon::config
