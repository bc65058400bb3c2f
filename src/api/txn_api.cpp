// PUT /v1/txn, KV operations only (spec 2.8). See kv_api.h.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/api/index_headers.h"
#include "beacon/api/json_in.h"
#include "beacon/api/kv_api.h"
#include "beacon/core/base64.h"
#include "beacon/core/strings.h"

namespace beacon::http::kvapi {

namespace {

namespace dom = simdjson::dom;

// The documented limit (Consul 1.16's code accepts 128).
constexpr size_t kMaxTxnOps = 64;
// Consul's txn_max_req_len default: the cumulative size of the values.
constexpr size_t kMaxTxnValueBytes = size_t{512} * 1024;

struct VerbName {
  std::string_view name;
  kv::Verb verb;
  bool write;
};
constexpr VerbName kVerbs[] = {
    {"set", kv::Verb::kSet, true},
    {"cas", kv::Verb::kCas, true},
    {"lock", kv::Verb::kLock, true},
    {"unlock", kv::Verb::kUnlock, true},
    {"get", kv::Verb::kGet, false},
    {"get-tree", kv::Verb::kGetTree, false},
    {"check-index", kv::Verb::kCheckIndex, false},
    {"check-session", kv::Verb::kCheckSession, false},
    {"check-not-exists", kv::Verb::kCheckNotExists, false},
    {"delete", kv::Verb::kDelete, true},
    {"delete-tree", kv::Verb::kDeleteTree, true},
    {"delete-cas", kv::Verb::kDeleteCas, true},
};

struct TxnError {
  size_t op_index;
  std::string what;
};

// What parsing the body produced: ops to apply, or an HTTP error (400/413), or per-op errors
// that roll the transaction back before it reaches the store (409).
struct Parsed {
  std::vector<kv::Op> ops;
  size_t writes = 0;
  int code = 0;  // != 0: answer with `text`
  std::string text;
  std::vector<TxnError> errors;
};

bool Fail(Parsed* p, int code, std::string text) {
  p->code = code;
  p->text = std::move(text);
  return false;
}

bool ParseKvOp(dom::element kvop, size_t i, Parsed* p) {
  const std::string at = "operation " + std::to_string(i) + ": ";
  dom::object obj;
  if (kvop.get_object().get(obj) != simdjson::SUCCESS) {
    return Fail(p, 400, "Failed to parse body: " + at + "KV must be an object");
  }
  kv::Op op;
  std::string verb, value_b64, why;
  bool ok = true;
  for (dom::key_value_pair f : obj) {
    const std::string k = core::NormKey(f.key);
    if (k == "verb") ok = json_in::GetString(f.value, "Verb", &verb, &why);
    if (k == "key") ok = json_in::GetString(f.value, "Key", &op.key, &why);
    if (k == "value") ok = json_in::GetString(f.value, "Value", &value_b64, &why);
    if (k == "flags") ok = json_in::GetUint(f.value, "Flags", &op.flags, &why);
    if (k == "index") ok = json_in::GetUint(f.value, "Index", &op.index, &why);
    if (k == "session") ok = json_in::GetString(f.value, "Session", &op.session, &why);
    if (ok && k == "value" && !core::Base64Decode(value_b64, &op.value, &why)) {
      why.insert(0, "Value: ");
      ok = false;
    }
    if (!ok) return Fail(p, 400, std::string("Failed to parse body: ").append(at).append(why));
  }
  if (op.value.size() > kv::kMaxValueBytes) {
    return Fail(p, 413,
                "Value for key \"" + op.key + "\" is too large (" +
                    std::to_string(op.value.size()) + " > " + std::to_string(kv::kMaxValueBytes) +
                    " bytes)");
  }
  const VerbName* vn = nullptr;
  for (const VerbName& v : kVerbs) {
    if (v.name == verb) vn = &v;
  }
  if (vn == nullptr) {
    p->errors.push_back({i, "unknown KV verb \"" + verb + "\""});
  } else {
    op.verb = vn->verb;
    p->writes += vn->write ? 1 : 0;
    if (op.key.empty() && op.verb != kv::Verb::kDeleteTree) {
      p->errors.push_back({i, "Must provide key"});
    } else if (std::string problem = KeyProblem(op.key); !problem.empty()) {
      p->errors.push_back({i, std::move(problem)});
    }
  }
  p->ops.push_back(std::move(op));
  return true;
}

bool ParseTxn(std::string_view body, Parsed* p) {
  dom::parser parser;
  dom::element doc;
  simdjson::padded_string buf(body);
  if (auto err = parser.parse(buf).get(doc)) {
    return Fail(p, 400, std::string("Failed to parse body: ") + simdjson::error_message(err));
  }
  dom::array arr;
  if (doc.get_array().get(arr) != simdjson::SUCCESS) {
    return Fail(p, 400, "Failed to parse body: expected a JSON array of operations");
  }
  if (arr.size() > kMaxTxnOps) {
    return Fail(p, 413,
                "Transaction contains too many operations (" + std::to_string(arr.size()) + " > " +
                    std::to_string(kMaxTxnOps) + ")");
  }
  size_t i = 0, total = 0;
  for (dom::element item : arr) {
    dom::object obj;
    if (item.get_object().get(obj) != simdjson::SUCCESS) {
      return Fail(p, 400,
                  "Failed to parse body: operation " + std::to_string(i) + " must be an object");
    }
    bool have_kv = false;
    for (dom::key_value_pair f : obj) {
      const std::string k = core::NormKey(f.key);
      if (k == "kv" && !f.value.is_null()) {
        if (!ParseKvOp(f.value, i, p)) return false;
        total += p->ops.back().value.size();
        have_kv = true;
      } else if ((k == "node" || k == "service" || k == "check") && !f.value.is_null()) {
        return Fail(p, 400,
                    "Failed to parse body: operation " + std::to_string(i) + ": " +
                        std::string(f.key) + " operations are not supported (KV only)");
      }
    }
    if (!have_kv) {
      return Fail(p, 400,
                  "Failed to parse body: operation " + std::to_string(i) + " has no KV operation");
    }
    ++i;
  }
  if (total > kMaxTxnValueBytes) {
    return Fail(p, 413,
                "Cumulative size of key data is too large (" + std::to_string(total) + " > " +
                    std::to_string(kMaxTxnValueBytes) + " bytes)");
  }
  return true;
}

void ErrorsReply(Response& out, const std::vector<TxnError>& errors, bool pretty) {
  JsonWriter w;
  w.BeginObject().Key("Results").Null().Key("Errors").BeginArray();
  for (const TxnError& e : errors) {
    w.BeginObject().Key("OpIndex").Uint(e.op_index).Key("What").String(e.what).EndObject();
  }
  w.EndArray().EndObject();
  SendJson(out, w, pretty, 409);
}

void ResultsReply(Response& out, const std::vector<kv::Entry>& results, bool pretty) {
  JsonWriter w;
  w.BeginObject().Key("Results");
  if (results.empty()) {
    w.Null();
  } else {
    w.BeginArray();
    for (const kv::Entry& e : results) {
      w.BeginObject().Key("KV");
      DirEntryObject(w, e);
      w.EndObject();
    }
    w.EndArray();
  }
  w.Key("Errors").Null().EndObject();
  SendJson(out, w, pretty);
}

}  // namespace

void AddTxnRoutes(Router& router, kv::Store& store, const KvApiOptions& opts) {
  kv::Store* st = &store;
  router.Handle("PUT", "/v1/txn", [st, opts](const Request& req, Response& resp) {
    if (!CheckCommon(req, resp, opts, false)) return;
    const bool pretty = Pretty(req, opts);
    Parsed p;
    if (!ParseTxn(req.body, &p)) {
      resp.Text(p.code, p.text);
      return;
    }
    if (!p.errors.empty()) {
      ErrorsReply(resp, p.errors, pretty);
      return;
    }
    const bool read_only = p.writes == 0;
    if (p.ops.empty()) {
      ResultsReply(resp, {}, pretty);
      SetIndexHeaders(resp, st->KvIndex());
      return;
    }
    DeferredPtr d = resp.Defer();
    st->Apply(std::move(p.ops), [d, pretty, read_only](kv::WriteResult r) {
      if (!r.status.ok()) {
        d->Reply(ErrorResponse(500, r.status.message()));
        return;
      }
      Response out;
      if (r.ok) {
        ResultsReply(out, r.results, pretty);
      } else {
        std::vector<TxnError> errors;
        for (kv::OpError& e : r.errors) errors.push_back({e.op_index, std::move(e.what)});
        if (errors.empty()) errors.push_back({0, "transaction failed"});
        ErrorsReply(out, errors, pretty);
      }
      // A read-only transaction is a read: it reports the index like other reads.
      if (read_only) SetIndexHeaders(out, r.index);
      d->Reply(std::move(out));
    });
  });
}

}  // namespace beacon::http::kvapi
