// Health read endpoints (spec 2.5): /v1/health/{service,node,checks,state}/... See catalog_api.h.
#include <algorithm>
#include <string>
#include <vector>

#include "beacon/core/strings.h"
#include "catalog_internal.h"

namespace beacon::http::detail {
namespace {

using catalog::Check;
using catalog::Health;
using catalog::Instance;
using catalog::NodeEntry;
using catalog::ServiceEntry;
using catalog::Snapshot;

// One check to list, with what its JSON needs; sorted by (node, check ID) as Consul's checks
// table iterates.
struct CheckRow {
  std::string key;  // lower-case node name, '\0', check ID
  std::string node;
  const Check* check;
  const Instance* in;  // null for a node-level check
};

void AddRow(std::vector<CheckRow>& rows, const std::string& node, const Check& c,
            const Instance* in) {
  std::string key = core::Lower(node);
  key.push_back('\0');
  key.append(c.id);
  rows.push_back(CheckRow{std::move(key), node, &c, in});
}

void WriteRows(JsonWriter& w, std::vector<CheckRow>& rows) {
  std::sort(rows.begin(), rows.end(),
            [](const CheckRow& a, const CheckRow& b) { return a.key < b.key; });
  w.BeginArray();
  for (const CheckRow& r : rows) HealthCheckObject(w, *r.check, r.node, r.in);
  w.EndArray();
}

// Go's strconv.ParseBool, plus "" meaning true (spec 2.1: ?passing is the one boolean that is
// parsed). False when the value is not a boolean.
bool ParsePassing(const std::string* v, bool* out) {
  *out = false;
  if (v == nullptr) return true;
  if (v->empty()) return *out = true;
  return core::ParseGoBool(*v, out);
}

}  // namespace

void AddHealthRoutes(Router& router, const CtxPtr& ctx) {
  router.Handle("GET", "/v1/health/service/", [ctx](const Request& req, Response& resp) {
    const std::string key = core::Lower(std::string_view(req.path).substr(19));
    ReadParams p;
    if (!ParseRead(*ctx, req, resp, &p)) return;
    bool passing = false;
    if (!ParsePassing(req.Query("passing"), &passing)) {
      return ReadError(*ctx, resp, 400, "Invalid value for ?passing");
    }
    if (key.empty()) return ReadError(*ctx, resp, 400, "Missing service name");
    auto index_of = [key](const Snapshot& s) {
      const ServiceEntry* e = s.services.Find(key);
      return e != nullptr ? e->index : s.services_index;
    };
    auto render = [ctx, key, p, passing, tags = TagFilter(req), near = NearNode(*ctx, req)](
                      const Snapshot& s, JsonWriter& w) {
      w.BeginArray();
      std::vector<const Instance*> list = SelectInstances(s.services.Find(key), p, tags);
      SortInstancesNear(*ctx, near, list);
      for (const Instance* in : list) {
        // ?passing drops an entry with any check not passing, warning included (spec 2.5).
        if (passing && in->health != Health::kPassing) continue;
        const std::string node = in->node->name();
        w.BeginObject().Key("Node");
        NodeObject(w, *in->node, s.datacenter);
        w.Key("Service");
        NodeServiceObject(w, *in);
        w.Key("Checks").BeginArray();
        for (const Check& c : in->node->checks()) HealthCheckObject(w, c, node, nullptr);
        for (const Check& c : in->checks()) HealthCheckObject(w, c, node, in);
        w.EndArray().EndObject();
      }
      w.EndArray();
    };
    BlockingRead(ctx, req, resp, std::move(p), index_of, render);
  });

  router.Handle("GET", "/v1/health/node/", [ctx](const Request& req, Response& resp) {
    const std::string key = core::Lower(std::string_view(req.path).substr(16));
    ReadParams p;
    if (!ParseRead(*ctx, req, resp, &p)) return;
    if (key.empty()) return ReadError(*ctx, resp, 400, "Missing node name");
    auto index_of = [key](const Snapshot& s) {
      const uint64_t i = s.NodeIndex(key);
      return i != 0 ? i : s.nodes_index;
    };
    auto render = [key](const Snapshot& s, JsonWriter& w) {
      std::vector<CheckRow> rows;
      if (const NodeEntry* n = s.nodes.Find(key)) {
        const std::string node = n->name();
        for (const Check& c : n->checks()) AddRow(rows, node, c, nullptr);
        s.ForEachNodeService(key, [&](std::string_view k) {
          const ServiceEntry* e = s.services.Find(k);
          if (e == nullptr) return;
          for (const Instance& in : e->instances) {
            if (!in.node->MatchesKey(key)) continue;
            for (const Check& c : in.checks()) AddRow(rows, node, c, &in);
          }
        });
      }
      WriteRows(w, rows);
    };
    BlockingRead(ctx, req, resp, std::move(p), index_of, render);
  });

  router.Handle("GET", "/v1/health/checks/", [ctx](const Request& req, Response& resp) {
    const std::string key = core::Lower(std::string_view(req.path).substr(18));
    ReadParams p;
    if (!ParseRead(*ctx, req, resp, &p)) return;
    if (key.empty()) return ReadError(*ctx, resp, 400, "Missing service name");
    auto index_of = [key](const Snapshot& s) {
      const ServiceEntry* e = s.services.Find(key);
      return e != nullptr ? e->index : s.services_index;
    };
    auto render = [key, p](const Snapshot& s, JsonWriter& w) {
      std::vector<CheckRow> rows;
      for (const Instance* in : SelectInstances(s.services.Find(key), p, {})) {
        const std::string node = in->node->name();
        for (const Check& c : in->checks()) AddRow(rows, node, c, in);
      }
      WriteRows(w, rows);
    };
    BlockingRead(ctx, req, resp, std::move(p), index_of, render);
  });

  router.Handle("GET", "/v1/health/state/", [ctx](const Request& req, Response& resp) {
    const std::string state = std::string(std::string_view(req.path).substr(17));
    ReadParams p;
    if (!ParseRead(*ctx, req, resp, &p)) return;
    if (state.empty()) return ReadError(*ctx, resp, 400, "Missing check state");
    // python-consul and node-consul also allow "unknown", which no check has: [] (spec 2.5).
    if (state != "any" && state != "passing" && state != "warning" && state != "critical" &&
        state != "unknown") {
      return ReadError(
          *ctx, resp, 400,
          "Invalid check state \"" + state + "\": expected any, passing, warning or critical");
    }
    const bool meta = !p.node_meta.empty();
    auto index_of = [meta](const Snapshot& s) {
      return meta ? std::max(s.checks_index, s.nodes_index) : s.checks_index;
    };
    auto render = [state, p](const Snapshot& s, JsonWriter& w) {
      std::vector<CheckRow> rows;
      auto wanted = [&](const Check& c) { return state == "any" || state == HealthText(c.status); };
      s.nodes.ForEach([&](const NodeEntry& n) {
        if (!NodeMetaMatches(n, p) || n.checks().empty()) return;
        const std::string node = n.name();
        for (const Check& c : n.checks()) {
          if (wanted(c)) AddRow(rows, node, c, nullptr);
        }
      });
      s.services.ForEach([&](const ServiceEntry& e) {
        for (const Instance& in : e.instances) {
          if (in.checks().empty() || !NodeMetaMatches(*in.node, p)) continue;
          const std::string node = in.node->name();
          for (const Check& c : in.checks()) {
            if (wanted(c)) AddRow(rows, node, c, &in);
          }
        }
      });
      WriteRows(w, rows);
    };
    BlockingRead(ctx, req, resp, std::move(p), index_of, render);
  });
}

}  // namespace beacon::http::detail
