// /v1/operator/keyring (Consul's operator_endpoint.go keyring handlers). See operator_api.h.
#include "beacon/api/operator_api.h"

#include <simdjson.h>

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/api/json_in.h"
#include "beacon/core/json_writer.h"
#include "beacon/core/strings.h"

namespace beacon::http {
using core::JsonWriter;

namespace {

bool Blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// {"Key": "..."}; false with a 400 text.
bool ParseKeyBody(std::string_view body, std::string* key, std::string* err) {
  if (Blank(body)) return true;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string buf(body);
  if (auto e = parser.parse(buf).get(doc)) {
    *err = json_in::DecodeFailed(e);
    return false;
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) {
    *err = json_in::DecodeFailed("expected a JSON object");
    return false;
  }
  std::string why;
  for (simdjson::dom::key_value_pair f : obj) {
    if (core::NormKey(f.key) == "key" && !json_in::GetString(f.value, "Key", key, &why)) {
      *err = json_in::DecodeFailed(why);
      return false;
    }
  }
  return true;
}

void CountsJson(JsonWriter& w, const std::map<std::string, int>& m) {
  w.BeginObject();
  for (const auto& [k, n] : m) w.Key(k).Int(n);
  w.EndObject();
}

std::string ListJson(const KeyringResult& r, const std::string& dc, bool pretty) {
  JsonWriter w;
  w.BeginArray().BeginObject();
  w.Key("WAN").Bool(false).Key("Datacenter").String(dc).Key("Segment").String("");
  if (!r.messages.empty()) {
    w.Key("Messages").BeginObject();
    for (const auto& [node, msg] : r.messages) w.Key(node).String(msg);
    w.EndObject();
  }
  w.Key("Keys");
  CountsJson(w, r.keys);
  w.Key("PrimaryKeys");
  CountsJson(w, r.primary_keys);
  w.Key("NumNodes").Int(r.num_nodes);
  w.EndObject().EndArray();
  return pretty ? JsonWriter::Pretty(w.str()) : w.Take();
}

}  // namespace

std::string KeyringErrors(const KeyringResult& r, const std::string& datacenter) {
  if (r.error.empty()) return "";
  std::string first = datacenter;
  first += " (LAN) error: ";
  first += r.error;
  std::vector<std::string> errs{std::move(first)};
  for (const auto& [node, msg] : r.messages) {
    std::string& e = errs.emplace_back(node);
    e += ": ";
    e += msg;
  }
  if (errs.size() == 1) return "1 error occurred:\n\t* " + errs[0] + "\n\n";
  std::string out = std::to_string(errs.size()) + " errors occurred:";
  for (const std::string& e : errs) out += "\n\t* " + e;
  return out + "\n\n";
}

void AddOperatorRoutes(Router& router, KeyringApi* keyring, const std::string& datacenter,
                       bool pretty) {
  using Op = KeyringApi::Op;
  const std::pair<const char*, Op> methods[] = {
      {"GET", Op::kList}, {"POST", Op::kInstall}, {"PUT", Op::kUse}, {"DELETE", Op::kRemove}};
  for (const auto& [method, op] : methods) {
    router.Handle(
        method, "/v1/operator/keyring",
        [keyring, op = op, datacenter, pretty](const Request& req, Response& resp) {
          if (keyring == nullptr) {
            resp.Text(500, "gossip is not enabled on this agent");
            return;
          }
          std::string key, err;
          if (op != Op::kList && !ParseKeyBody(req.body, &key, &err)) {
            resp.Text(400, err);
            return;
          }
          const bool pp = pretty || req.HasQuery("pretty");
          DeferredPtr d = resp.Defer();
          keyring->KeyringOp(op, std::move(key), [d, op, datacenter, pp](const KeyringResult& r) {
            Response out;
            if (!r.request_error.empty()) {
              out.Text(500, r.request_error);
            } else if (std::string errs = KeyringErrors(r, datacenter); !errs.empty()) {
              out.Text(500, errs);
            } else if (op == Op::kList) {
              out.Json(ListJson(r, datacenter, pp));
            }
            d->Reply(std::move(out));
          });
        });
  }
}

}  // namespace beacon::http
