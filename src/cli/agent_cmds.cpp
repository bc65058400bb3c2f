// Agent commands: members, info, maint, reload, join, leave, force-leave, keygen.
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <ostream>
#include <regex>

#include "beacon/core/go_regexp.h"
#include "internal.h"

namespace beacon::cli {
namespace {

// Node name of the agent, as Consul's Agent().NodeName() (from /v1/agent/self).
Status NodeName(http::HttpClient& c, std::string* name) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (Status st = GetJson(c, "/v1/agent/self", p, &doc); !st.ok()) return st;
  simdjson::dom::element cfg;
  if (doc["Config"].get(cfg) == simdjson::SUCCESS) *name = GetString(cfg, "NodeName");
  return Status::Ok();
}

}  // namespace

int Members(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, false);
  bool detailed = false;
  bool wan = false;
  std::string status = ".*";
  std::string segment;
  fs.Bool("detailed", &detailed, "Provides detailed information about nodes.");
  fs.Bool("wan", &wan,
          "If the agent is in server mode, this can be used to return the other peers in the "
          "WAN pool.");
  fs.String("status", &status,
            "If provided, output is filtered to only nodes matching the regular expression for "
            "status.");
  fs.String("segment", &segment,
            "(Enterprise-only) If provided, output is filtered to only "
            "nodes in the given segment.");
  constexpr std::string_view kHelp = R"(
Usage: beacon members [options]

  Outputs the members of a running Beacon agent.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  auto compiled = core::GoRegexp(status);
  if (!compiled.ok()) {
    io.err << "Failed to compile status regexp: " << compiled.status().message() << "\n";
    return 1;
  }
  const std::regex re = std::move(compiled.value());
  http::HttpClient client(hf.Options(io));
  std::string path = "/v1/agent/members";
  if (wan) path += "?wan=1";
  simdjson::dom::parser p;
  simdjson::dom::array arr;
  if (Status st = GetJson(client, path, p, &arr); !st.ok()) {
    return Fail(io, "Error retrieving members", st);
  }
  std::vector<Member> members;
  for (simdjson::dom::element e : arr) {
    Member m;
    m.name = GetString(e, "Name");
    m.addr = GetString(e, "Addr");
    m.port = static_cast<int64_t>(GetUint(e, "Port"));
    m.status = static_cast<int64_t>(GetUint(e, "Status"));
    simdjson::dom::object tags;
    if (e["Tags"].get(tags) == simdjson::SUCCESS) {
      for (auto f : tags) {
        std::string_view v;
        if (f.value.get(v) == simdjson::SUCCESS) m.tags.emplace_back(f.key, v);
      }
    }
    if (!std::regex_search(MemberStatus(m.status), re)) continue;
    members.push_back(std::move(m));
  }
  if (members.empty()) return 2;
  io.out << MembersTable(std::move(members), detailed) << "\n";
  return 0;
}

int Info(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, false);
  constexpr std::string_view kHelp = R"(
Usage: beacon info [options]

	Provides debugging information for operators
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  http::HttpClient client(hf.Options(io));
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (Status st = GetJson(client, "/v1/agent/self", p, &doc); !st.ok()) {
    return Fail(io, "Error querying agent", st);
  }
  std::map<std::string, std::map<std::string, std::string>> stats;
  simdjson::dom::object obj;
  if (doc["Stats"].get(obj) == simdjson::SUCCESS) {
    for (auto section : obj) {
      auto& out = stats[std::string(section.key)];
      simdjson::dom::object kv;
      if (section.value.get(kv) != simdjson::SUCCESS) continue;
      for (auto f : kv) {
        std::string_view v;
        out[std::string(f.key)] =
            f.value.get(v) == simdjson::SUCCESS ? std::string(v) : JsonCompact(f.value);
      }
    }
  }
  for (const auto& [section, kv] : stats) {
    io.out << section << ":\n";
    for (const auto& [k, v] : kv) io.out << "\t" << k << " = " << v << "\n";
  }
  return 0;
}

int Maint(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, false);
  bool enable = false;
  bool disable = false;
  std::string reason;
  std::string service;
  fs.Bool("enable", &enable, "Enable maintenance mode.");
  fs.Bool("disable", &disable, "Disable maintenance mode.");
  fs.String("reason", &reason, "Text describing the maintenance reason.");
  fs.String("service", &service, "Control maintenance mode for a specific service ID.");
  constexpr std::string_view kHelp = R"(
Usage: beacon maint [options]

  Places a node or service into maintenance mode. During maintenance mode,
  the node or service will be excluded from all queries through the DNS
  or API interfaces, effectively taking it out of the pool of available
  nodes. This is done by registering an additional critical health check.

  When enabling maintenance mode for a node or service, you may optionally
  specify a reason string. This string will appear in the "Notes" field
  of the critical health check which is registered against the node or
  service. If no reason is provided, a default value will be used.

  Maintenance mode is persistent, and will be restored in the event of an
  agent restart. It is therefore required to disable maintenance mode on
  a given node or service before it will be placed back into the pool.

  By default, we operate on the node as a whole. By specifying the
  "-service" argument, this behavior can be changed to enable or disable
  only a specific service.

  If no arguments are given, the agent's maintenance status will be shown.
  This will return blank if nothing is currently under maintenance.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (enable && disable) {
    io.err << "Only one of -enable or -disable may be provided\n";
    return 1;
  }
  if (!enable && !reason.empty()) {
    io.err << "Reason may only be provided with -enable\n";
    return 1;
  }
  if (!enable && !disable && !service.empty()) {
    io.err << "Service requires either -enable or -disable\n";
    return 1;
  }
  http::HttpClient client(hf.Options(io));
  std::string node;
  if (Status st = NodeName(client, &node); !st.ok()) {
    return Fail(io, "Error querying Consul agent", st);
  }
  http::ClientResponse r;
  if (!enable && !disable) {
    simdjson::dom::parser p;
    simdjson::dom::object checks;
    if (Status st = GetJson(client, "/v1/agent/checks", p, &checks); !st.ok()) {
      return Fail(io, "Error getting checks", st);
    }
    for (auto f : checks) {
      std::string id(f.key);
      if (id == "_node_maintenance") {
        io.out << "Node:\n  Name:   " << node << "\n  Reason: " << GetString(f.value, "Notes")
               << "\n\n";
      } else if (id.rfind("_service_maintenance:", 0) == 0) {
        io.out << "Service:\n  ID:     " << GetString(f.value, "ServiceID")
               << "\n  Reason: " << GetString(f.value, "Notes") << "\n\n";
      }
    }
    return 0;
  }
  std::string path = service.empty() ? "/v1/agent/maintenance"
                                     : "/v1/agent/service/maintenance/" + http::UrlEscape(service);
  path += enable ? "?enable=true" : "?enable=false";
  if (enable) path += "&reason=" + http::UrlEscape(reason);
  Status st = Call(client, "PUT", path, {}, &r);
  const char* verb = enable ? "enabl" : "disabl";
  if (!st.ok()) {
    io.err << "Error " << verb << "ing " << (service.empty() ? "node" : "service")
           << " maintenance: " << st.message() << "\n";
    return 1;
  }
  if (service.empty()) {
    io.out << "Node maintenance is now " << verb << "ed\n";
  } else {
    io.out << "Service maintenance is now " << verb << "ed for " << JsonQuote(service) << "\n";
  }
  return 0;
}

int Reload(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, false);
  constexpr std::string_view kHelp = R"(
Usage: beacon reload [options]

  Causes the agent to reload configurations. This can be used instead
  of sending the SIGHUP signal to the agent.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  http::HttpClient client(hf.Options(io));
  http::ClientResponse r;
  if (Status st = Call(client, "PUT", "/v1/agent/reload", {}, &r); !st.ok()) {
    return Fail(io, "Error reloading", st);
  }
  io.out << "Configuration reload triggered\n";
  return 0;
}

int Join(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, false);
  bool wan = false;
  fs.Bool("wan", &wan, "Joins a server to another server in the WAN pool.");
  constexpr std::string_view kHelp = R"(
Usage: beacon join [options] address ...

  Tells a running Beacon agent (with "beacon agent") to join the cluster
  by specifying at least one existing member.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (fs.Args().empty()) {
    io.err << "At least one address to join must be specified.\n\n" << HelpText(kHelp, fs);
    return 1;
  }
  http::HttpClient client(hf.Options(io));
  int joined = 0;
  for (const std::string& addr : fs.Args()) {
    http::ClientResponse r;
    Status st = Call(client, "PUT",
                     "/v1/agent/join/" + http::UrlEscape(addr) + (wan ? "?wan=1" : ""), {}, &r);
    if (!st.ok()) {
      io.err << "Error joining address '" << addr << "': " << st.message() << "\n";
    } else {
      ++joined;
    }
  }
  if (joined == 0) {
    io.err << "Failed to join any nodes.\n";
    return 1;
  }
  io.out << "Successfully joined cluster by contacting " << joined << " nodes.\n";
  return 0;
}

int Leave(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, false);
  constexpr std::string_view kHelp = R"(
Usage: beacon leave [options]

  Causes the agent to gracefully leave the Beacon cluster and shutdown.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (!fs.Args().empty()) {
    io.err << "Error found unexpected args: [";
    for (size_t i = 0; i < fs.Args().size(); ++i) io.err << (i ? " " : "") << fs.Args()[i];
    io.err << "]\n";
    io.out << HelpText(kHelp, fs);
    return 1;
  }
  http::HttpClient client(hf.Options(io));
  http::ClientResponse r;
  if (Status st = Call(client, "PUT", "/v1/agent/leave", {}, &r); !st.ok()) {
    return Fail(io, "Error leaving", st);
  }
  io.out << "Graceful leave complete\n";
  return 0;
}

int ForceLeave(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, false);
  bool prune = false;
  bool wan = false;
  fs.Bool("prune", &prune, "Remove agent completely from list of members");
  fs.Bool("wan", &wan, "Exclusively leave the agent from the WAN serf pool.");
  constexpr std::string_view kHelp = R"(
Usage: beacon force-leave [options] name

  Forces an agent to enter the "left" state. This can be used to
  eject nodes which have failed and will not rejoin the cluster.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (fs.Args().size() != 1) {
    io.err << "A single node name must be specified to force leave.\n\n" << HelpText(kHelp, fs);
    return 1;
  }
  http::HttpClient client(hf.Options(io));
  http::ClientResponse r;
  std::string path = "/v1/agent/force-leave/" + http::UrlEscape(fs.Args()[0]);
  if (prune) AddQuery(&path, "prune=1");
  if (wan) AddQuery(&path, "wan=1");
  if (Status st = Call(client, "PUT", path, {}, &r); !st.ok()) {
    return Fail(io, "Error force leaving", st);
  }
  return 0;
}

int Keygen(const Args& args, Io& io) {
  config::FlagSet fs;
  constexpr std::string_view kHelp = R"(
Usage: beacon keygen

  Generates a new encryption key that can be used to configure the
  agent to encrypt traffic. The output of this command is already
  in the proper format that the agent expects.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  std::string key(32, '\0');
  size_t got = 0;
  while (got < key.size()) {
    ssize_t n = getrandom(key.data() + got, key.size() - got, 0);
    if (n <= 0) {
      io.err << "Error reading random data: short read\n";
      return 1;
    }
    got += static_cast<size_t>(n);
  }
  io.out << Base64Encode(key) << "\n";
  return 0;
}

}  // namespace beacon::cli
