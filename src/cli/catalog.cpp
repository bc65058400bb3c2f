// `beacon catalog datacenters|nodes|services` (Consul's command/catalog/list texts).
#include <algorithm>
#include <map>
#include <ostream>

#include "internal.h"

namespace beacon::cli {
namespace {

// -node-meta key=value, repeatable; becomes ?node-meta=key:value.
void NodeMetaFlag(config::FlagSet* fs, std::vector<std::string>* out) {
  fs->Func(
      "node-meta",
      [out](std::string_view v) -> std::string {
        size_t eq = v.find('=');
        if (eq == std::string_view::npos || eq == 0) return "Missing key";
        out->push_back(std::string(v.substr(0, eq)) + ":" + std::string(v.substr(eq + 1)));
        return "";
      },
      "Metadata to filter nodes with the given `key=value` pairs. This flag may be specified "
      "multiple times to filter on multiple sources of metadata.");
}

void AddNodeMeta(std::string* path, const std::vector<std::string>& meta) {
  for (const std::string& m : meta) AddQuery(path, "node-meta=" + http::UrlEscape(m));
}

// "k=v, k=v" with sorted keys, from a JSON object of strings.
std::string Pairs(simdjson::dom::element obj) {
  std::map<std::string, std::string> m;
  simdjson::dom::object o;
  if (obj.get(o) != simdjson::SUCCESS) return "";
  for (auto f : o) {
    std::string_view v;
    m[std::string(f.key)] =
        f.value.get(v) == simdjson::SUCCESS ? std::string(v) : JsonCompact(f.value);
  }
  std::string out;
  for (const auto& [k, v] : m) {
    if (!out.empty()) out += ", ";
    out.append(k).append("=").append(v);
  }
  return out;
}

}  // namespace

int CatalogDatacenters(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, false);
  constexpr std::string_view kHelp = R"(
Usage: beacon catalog datacenters [options]

  Retrieves the list of all known datacenters. This datacenters are sorted in
  ascending order based on the estimated median round trip time from the servers
  in this datacenter to the servers in the other datacenters.

  To retrieve the list of datacenters:

      $ beacon catalog datacenters
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (!fs.Args().empty()) return TooMany(fs, 0, io);
  http::HttpClient client(hf.Options(io));
  simdjson::dom::parser p;
  simdjson::dom::array arr;
  if (Status st = GetJson(client, "/v1/catalog/datacenters", p, &arr); !st.ok()) {
    return Fail(io, "Error listing datacenters", st);
  }
  if (arr.size() == 0) {
    io.err << "No datacenters found\n";
    return 1;
  }
  for (simdjson::dom::element e : arr) {
    std::string_view dc;
    if (e.get(dc) == simdjson::SUCCESS) io.out << dc << "\n";
  }
  return 0;
}

int CatalogNodes(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, true);
  bool detailed = false;
  std::string near;
  std::string service;
  std::vector<std::string> meta;
  fs.Bool("detailed", &detailed,
          "Output detailed information about the nodes including their "
          "addresses and metadata.");
  fs.String("near", &near,
            "Node name to sort the node list in ascending order based on estimated round-trip "
            "time from that node. Passing \"_agent\" will use this agent's node for sorting.");
  NodeMetaFlag(&fs, &meta);
  fs.String("service", &service,
            "Service `id or name` to filter nodes. Only nodes which are providing the given "
            "service will be returned.");
  constexpr std::string_view kHelp = R"(
Usage: beacon catalog nodes [options]

  Retrieves the list nodes registered in a given datacenter. By default, the
  datacenter of the local agent is queried.

  To retrieve the list of nodes:

      $ beacon catalog nodes

  To print detailed information including full node IDs, tagged addresses, and
  metadata information:

      $ beacon catalog nodes -detailed

  To list nodes which are running a particular service:

      $ beacon catalog nodes -service=web

  To filter by node metadata:

      $ beacon catalog nodes -node-meta="foo=bar"

  To sort nodes by estimated round-trip time from node-web:

      $ beacon catalog nodes -near=node-web
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (!fs.Args().empty()) return TooMany(fs, 0, io);
  http::HttpClient client(hf.Options(io));
  std::string path =
      service.empty() ? "/v1/catalog/nodes" : "/v1/catalog/service/" + http::UrlEscape(service);
  AddQuery(&path, hf.Query());
  if (!near.empty()) AddQuery(&path, "near=" + http::UrlEscape(near));
  AddNodeMeta(&path, meta);
  simdjson::dom::parser p;
  simdjson::dom::array arr;
  if (Status st = GetJson(client, path, p, &arr); !st.ok()) {
    return Fail(io, service.empty() ? "Error listing nodes" : "Error listing nodes for service",
                st);
  }
  if (arr.size() == 0) {
    io.err << "No nodes match the given query - try expanding your search.\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  if (detailed) {
    rows.push_back({"Node", "ID", "Address", "DC", "TaggedAddresses", "Meta"});
  } else {
    rows.push_back({"Node", "ID", "Address", "DC"});
  }
  for (simdjson::dom::element e : arr) {
    std::string id = GetString(e, "ID");
    std::vector<std::string> row{GetString(e, "Node"), id, GetString(e, "Address"),
                                 GetString(e, "Datacenter")};
    if (detailed) {
      simdjson::dom::element tagged;
      simdjson::dom::element m;
      row.push_back(e["TaggedAddresses"].get(tagged) == simdjson::SUCCESS ? Pairs(tagged) : "");
      row.push_back(e[service.empty() ? "Meta" : "NodeMeta"].get(m) == simdjson::SUCCESS ? Pairs(m)
                                                                                         : "");
    } else if (size_t dash = id.find('-'); dash != std::string::npos && dash > 0) {
      row[1] = id.substr(0, dash);
    }
    rows.push_back(std::move(row));
  }
  io.out << Columnize(rows) << "\n";
  return 0;
}

int CatalogServices(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, true);
  std::string node;
  std::vector<std::string> meta;
  bool tags = false;
  fs.String("node", &node, "Node `id or name` for which to list services.");
  NodeMetaFlag(&fs, &meta);
  fs.Bool("tags", &tags,
          "Display each service's tags as a comma-separated list beside each "
          "service entry.");
  constexpr std::string_view kHelp = R"(
Usage: beacon catalog services [options]

  Retrieves the list services registered in a given datacenter. By default, the
  datacenter of the local agent is queried.

  To retrieve the list of services:

      $ beacon catalog services

  To include the services' tags in the output:

      $ beacon catalog services -tags

  To list services which run on a particular node:

      $ beacon catalog services -node=web

  To filter services on node metadata:

      $ beacon catalog services -node-meta="foo=bar"
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (!fs.Args().empty()) return TooMany(fs, 0, io);
  http::HttpClient client(hf.Options(io));
  std::string path =
      node.empty() ? "/v1/catalog/services" : "/v1/catalog/node/" + http::UrlEscape(node);
  AddQuery(&path, hf.Query());
  AddNodeMeta(&path, meta);
  http::ClientResponse r;
  std::map<std::string, std::vector<std::string>> services;
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (Status st = GetJson(client, path, p, &doc, !node.empty(), &r); !st.ok()) {
    return Fail(io, node.empty() ? "Error listing services" : "Error listing services for node",
                st);
  }
  auto add_tags = [](simdjson::dom::element arr, std::vector<std::string>* out) {
    simdjson::dom::array a;
    if (arr.get(a) != simdjson::SUCCESS) return;
    for (simdjson::dom::element t : a) {
      std::string_view s;
      if (t.get(s) == simdjson::SUCCESS) out->emplace_back(s);
    }
  };
  if (r.status == 200 && node.empty()) {
    simdjson::dom::object obj;
    if (doc.get(obj) == simdjson::SUCCESS) {
      for (auto f : obj) add_tags(f.value, &services[std::string(f.key)]);
    }
  } else if (r.status == 200 && !doc.is_null()) {
    simdjson::dom::object svcs;
    if (doc["Services"].get(svcs) == simdjson::SUCCESS) {
      for (auto f : svcs) {
        simdjson::dom::element t;
        auto& list = services[GetString(f.value, "Service")];
        if (f.value["Tags"].get(t) == simdjson::SUCCESS) add_tags(t, &list);
      }
    }
  }
  if (services.empty()) {
    io.err << "No services match the given query - try expanding your search.\n";
    return 0;
  }
  if (!tags) {
    for (const auto& [name, t] : services) io.out << name << "\n";
    return 0;
  }
  // text/tabwriter(minwidth 0, tabwidth 2, padding 6), then TrimSpace.
  size_t width = 0;
  for (const auto& [name, t] : services) width = std::max(width, name.size());
  std::string out;
  for (auto& [name, t] : services) {
    std::sort(t.begin(), t.end());
    std::string joined;
    for (const std::string& s : t) joined.append(joined.empty() ? "" : ",").append(s);
    out.append(name).append(width + 6 - name.size(), ' ').append(joined).append("\n");
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  io.out << out << "\n";
  return 0;
}

}  // namespace beacon::cli
