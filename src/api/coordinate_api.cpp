// /v1/coordinate/* and the coordinate store behind them. See coordinate_api.h.
#include "beacon/api/coordinate_api.h"

#include <strings.h>

#include <simdjson.h>

#include "beacon/api/index_headers.h"
#include "beacon/core/json_writer.h"
#include "beacon/core/strings.h"

namespace beacon::http {
namespace {

using core::JsonWriter;

void CoordJson(JsonWriter& w, const gossip::Coordinate& c) {
  w.BeginObject();
  w.Key("Adjustment").Double(c.adjustment);
  w.Key("Error").Double(c.error);
  w.Key("Height").Double(c.height);
  w.Key("Vec").BeginArray();
  for (double d : c.vec) w.Double(d);
  w.EndArray().EndObject();
}

void EntryJson(JsonWriter& w, std::string_view node, const gossip::Coordinate& c) {
  w.BeginObject().Key("Node").String(node).Key("Segment").String("").Key("Coord");
  CoordJson(w, c);
  w.EndObject();
}

void Send(Response& resp, JsonWriter& w, bool pretty, uint64_t index) {
  if (!w.done()) return resp.Text(500, "internal error: response encoding");
  resp.Json(pretty ? JsonWriter::Pretty(w.str()) : w.Take());
  SetIndexHeaders(resp, index, "leader");
}

bool OtherDc(const Request& req, Response& resp, const CoordinateApiOptions& o) {
  const std::string* dc = req.Query("dc");
  if (dc != nullptr && !dc->empty() && strcasecmp(dc->c_str(), o.datacenter.c_str()) != 0) {
    resp.Text(500, "No path to datacenter");
    return true;
  }
  return false;
}

// {"Adjustment", "Error", "Height", "Vec"} (any key case); false with a reason.
bool ParseCoord(simdjson::dom::element e, gossip::Coordinate* c, std::string* err) {
  simdjson::dom::object obj;
  if (e.get_object().get(obj) != simdjson::SUCCESS) {
    *err = "Coord: expected an object";
    return false;
  }
  for (simdjson::dom::key_value_pair f : obj) {
    const std::string k = core::Lower(f.key);
    double* target = k == "adjustment" ? &c->adjustment
                     : k == "error"    ? &c->error
                     : k == "height"   ? &c->height
                                       : nullptr;
    if (target != nullptr) {
      if (f.value.is_null()) continue;
      if (f.value.get_double().get(*target) != simdjson::SUCCESS) {
        *err = "Coord." + std::string(f.key) + ": expected a number";
        return false;
      }
    } else if (k == "vec") {
      simdjson::dom::array a;
      if (f.value.get_array().get(a) != simdjson::SUCCESS) {
        *err = "Coord.Vec: expected an array of numbers";
        return false;
      }
      c->vec.clear();
      for (simdjson::dom::element v : a) {
        double d = 0;
        if (v.get_double().get(d) != simdjson::SUCCESS) {
          *err = "Coord.Vec: expected an array of numbers";
          return false;
        }
        c->vec.push_back(d);
      }
    }
  }
  return true;
}

}  // namespace

const NodeCoordinate* CoordinateSet::Find(std::string_view node) const {
  const std::string key = core::Lower(node);
  auto it = std::lower_bound(
      nodes.begin(), nodes.end(), key,
      [](const NodeCoordinate& n, const std::string& k) { return core::Lower(n.node) < k; });
  if (it == nodes.end() || core::Lower(it->node) != key) return nullptr;
  return &*it;
}

CoordinateStore::CoordinateStore() : current_(std::make_shared<const CoordinateSet>()) {}

void CoordinateStore::Rebuild() {
  auto set = std::make_shared<CoordinateSet>();
  std::map<std::string, NodeCoordinate> by_key;
  for (const auto& [node, c] : gossip_) by_key[core::Lower(node)] = NodeCoordinate{node, c, false};
  for (auto it = written_.begin(); it != written_.end();) {
    auto g = gossip_.find(it->first);
    // Gossip brought a newer coordinate for that node since it was written: gossip wins.
    if (g != gossip_.end() && (!it->second.gossip_then || g->second != *it->second.gossip_then)) {
      it = written_.erase(it);
      continue;
    }
    by_key[core::Lower(it->first)] = NodeCoordinate{it->first, it->second.coord, false};
    ++it;
  }
  for (const std::string& s : servers_) {
    if (auto it = by_key.find(core::Lower(s)); it != by_key.end()) it->second.server = true;
  }
  const CoordinateSetPtr old = current_.load(std::memory_order_acquire);
  set->nodes.reserve(by_key.size());
  for (auto& [k, v] : by_key) set->nodes.push_back(std::move(v));
  bool same = old->nodes.size() == set->nodes.size();
  for (std::size_t i = 0; same && i < set->nodes.size(); ++i) {
    same = old->nodes[i].node == set->nodes[i].node && old->nodes[i].coord == set->nodes[i].coord &&
           old->nodes[i].server == set->nodes[i].server;
  }
  if (same) return;
  set->index = ++index_;
  current_.store(std::move(set), std::memory_order_release);
}

void CoordinateStore::Publish(const std::map<std::string, gossip::Coordinate>& gossip,
                              const std::vector<std::string>& servers) {
  uint64_t before = 0, after = 0;
  {
    MutexLock l(&mu_);
    before = index_;
    gossip_ = gossip;
    servers_ = servers;
    Rebuild();
    after = index_;
  }
  if (after != before && on_change_) on_change_();
}

Status CoordinateStore::Update(const std::string& node, const gossip::Coordinate& c) {
  if (node.empty()) return Status::Error("Missing node");
  if (!gossip::IsValid(c)) return Status::Error("invalid coordinate");
  if (c.vec.size() != gossip::CoordinateConfig{}.dimensionality)
    return Status::Error("incompatible coordinate");
  {
    MutexLock l(&mu_);
    Written w{c, std::nullopt};
    if (auto g = gossip_.find(node); g != gossip_.end()) w.gossip_then = g->second;
    written_[node] = std::move(w);
    Rebuild();
  }
  if (on_change_) on_change_();
  return Status::Ok();
}

void AddCoordinateRoutes(Router& router, CoordinateStore& store, CoordinateApiOptions opts) {
  auto o = std::make_shared<const CoordinateApiOptions>(std::move(opts));
  CoordinateStore* st = &store;
  router.Handle("GET", "/v1/coordinate/datacenters", [o, st](const Request& req, Response& resp) {
    const CoordinateSetPtr set = st->Current();
    JsonWriter w;
    w.BeginArray().BeginObject();
    w.Key("Datacenter").String(o->datacenter);
    w.Key("AreaID").String("wan");
    w.Key("Coordinates").BeginArray();
    for (const NodeCoordinate& n : set->nodes) {
      if (n.server) EntryJson(w, n.node + "." + o->datacenter, n.coord);
    }
    w.EndArray().EndObject().EndArray();
    if (!w.done()) return resp.Text(500, "internal error: response encoding");
    resp.Json(o->pretty_default || req.HasQuery("pretty") ? JsonWriter::Pretty(w.str()) : w.Take());
  });

  // Blocking reads of the whole set (nodes) or one node's entry.
  auto read = [o, st](const Request& req, Response& resp, const std::string& node) {
    if (OtherDc(req, resp, *o)) return;
    BlockingParams bp;
    if (!ParseBlocking(req, resp, &bp)) return;
    const bool pretty = o->pretty_default || req.HasQuery("pretty");
    Block(
        req, resp, Topic::kCoordinates, [st] { return st->Current()->index; }, bp.index, bp.wait_ms,
        [st, pretty, node](const Request&, Response& out) {
          const CoordinateSetPtr set = st->Current();
          JsonWriter w;
          w.BeginArray();
          if (node.empty()) {
            for (const NodeCoordinate& n : set->nodes) EntryJson(w, n.node, n.coord);
          } else if (const NodeCoordinate* n = set->Find(node)) {
            EntryJson(w, n->node, n->coord);
          } else {
            out.status = 404;  // Consul: an empty 404
            SetIndexHeaders(out, set->index, "leader");
            return;
          }
          w.EndArray();
          Send(out, w, pretty, set->index);
        });
  };
  router.Handle("GET", "/v1/coordinate/nodes",
                [read](const Request& req, Response& resp) { read(req, resp, {}); });
  router.Handle("GET", "/v1/coordinate/node/", [read](const Request& req, Response& resp) {
    std::string node = req.path.substr(std::string_view("/v1/coordinate/node/").size());
    if (node.empty()) return resp.Text(400, "Missing node name");
    read(req, resp, node);
  });

  router.Handle("PUT", "/v1/coordinate/update", [o, st](const Request& req, Response& resp) {
    if (OtherDc(req, resp, *o)) return;
    simdjson::dom::parser parser;
    simdjson::padded_string buf(req.body);
    simdjson::dom::object obj;
    if (auto e = parser.parse(buf).get_object().get(obj); e != simdjson::SUCCESS) {
      return resp.Text(400, std::string("Request decode failed: ") + simdjson::error_message(e));
    }
    std::string node, err;
    gossip::Coordinate c;
    bool has_coord = false;
    for (simdjson::dom::key_value_pair f : obj) {
      const std::string k = core::Lower(f.key);
      if (k == "node") {
        std::string_view s;
        if (!f.value.is_null() && f.value.get_string().get(s) != simdjson::SUCCESS)
          return resp.Text(400, "Request decode failed: Node: expected a string");
        node.assign(s);
      } else if (k == "coord" && !f.value.is_null()) {
        if (!ParseCoord(f.value, &c, &err)) return resp.Text(400, "Request decode failed: " + err);
        has_coord = true;
      }
    }
    if (!has_coord) return resp.Text(400, "invalid coordinate");
    if (Status s = st->Update(node, c); !s.ok()) return resp.Text(400, s.message());
    resp.status = 200;  // Consul answers an empty body
  });
}

}  // namespace beacon::http
