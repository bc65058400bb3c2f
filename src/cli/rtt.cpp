// beacon rtt: the estimated round trip time between two nodes from their network coordinates,
// as `consul rtt` prints it.
#include <cstdio>

#include "beacon/gossip/coordinate.h"
#include "internal.h"

namespace beacon::cli {
namespace {

bool ParseCoord(simdjson::dom::element e, gossip::Coordinate* c) {
  simdjson::dom::element coord;
  if (e["Coord"].get(coord) != simdjson::SUCCESS) return false;
  if (coord["Adjustment"].get_double().get(c->adjustment) != simdjson::SUCCESS) return false;
  if (coord["Error"].get_double().get(c->error) != simdjson::SUCCESS) return false;
  if (coord["Height"].get_double().get(c->height) != simdjson::SUCCESS) return false;
  simdjson::dom::array vec;
  if (coord["Vec"].get_array().get(vec) != simdjson::SUCCESS) return false;
  for (simdjson::dom::element v : vec) {
    double d = 0;
    if (v.get_double().get(d) != simdjson::SUCCESS) return false;
    c->vec.push_back(d);
  }
  return true;
}

}  // namespace

int Rtt(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, false);
  bool wan = false;
  fs.Bool("wan", &wan, "Use WAN coordinates instead of LAN coordinates.");
  constexpr std::string_view kHelp = R"(
Usage: beacon rtt [options] node1 [node2]

  Estimates the round trip time between two nodes using Beacon's network
  coordinate model of the cluster.

  At least one node name is required. If the second node name isn't given, it
  is set to the agent's node name. These are the node names as known to
  Beacon as the "beacon members" command would show, not IP addresses.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  std::vector<std::string> nodes = fs.Args();
  if (nodes.empty() || nodes.size() > 2) {
    io.err << "One or two node names must be specified\n" << kHelp.substr(1);
    return 1;
  }
  if (wan) {
    io.err << "Error: Beacon has no WAN pool; LAN coordinates only\n";
    return 1;
  }
  http::HttpClient client(hf.Options(io));
  simdjson::dom::parser p;
  if (nodes.size() == 1) {
    simdjson::dom::element self;
    if (Status st = GetJson(client, "/v1/agent/self", p, &self); !st.ok()) {
      return Fail(io, "Unable to look up agent info", st);
    }
    simdjson::dom::element cfg;
    std::string name;
    if (self["Config"].get(cfg) == simdjson::SUCCESS) name = GetString(cfg, "NodeName");
    nodes.push_back(name);
  }
  simdjson::dom::parser p2;
  simdjson::dom::array arr;
  if (Status st = GetJson(client, "/v1/coordinate/nodes", p2, &arr); !st.ok()) {
    return Fail(io, "Error getting coordinates", st);
  }
  gossip::Coordinate c[2];
  bool found[2] = {false, false};
  for (simdjson::dom::element e : arr) {
    const std::string node = GetString(e, "Node");
    for (int i = 0; i < 2; ++i) {
      if (!found[i] && node == nodes[i]) found[i] = ParseCoord(e, &c[i]);
    }
  }
  for (int i = 0; i < 2; ++i) {
    if (!found[i]) {
      io.err << "Could not find a coordinate for node \"" << nodes[i] << "\"\n";
      return 1;
    }
  }
  char dist[64];
  std::snprintf(dist, sizeof dist, "%.3f ms", gossip::DistanceSeconds(c[0], c[1]) * 1000.0);
  io.out << "Estimated " << nodes[0] << " <-> " << nodes[1] << " rtt: " << dist
         << " (using LAN coordinates)\n";
  return 0;
}

}  // namespace beacon::cli
