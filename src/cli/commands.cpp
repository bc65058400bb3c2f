// The command table, `beacon help`, sub-command groups, `version` and `validate`.
#include "beacon/cli/commands.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>

#include "beacon/config/config.h"
#include "internal.h"

namespace beacon::cli {
namespace {

int VersionCmd(const Args& /*args*/, Io& io) {
  io.out << "Beacon v" << BEACON_VERSION
         << "\nProtocol compatibility: Consul DNS (legacy) and HTTP API v1\n";
  return 0;
}

int ValidateCmd(const Args& args, Io& io) {
  bool quiet = false;
  config::FlagSet fs;
  fs.Bool("quiet", &quiet, "When given, a successful run will produce no output.");
  constexpr std::string_view kHelp = R"(
Usage: beacon validate [options] FILE_OR_DIRECTORY...

  Performs a thorough sanity test on Beacon configuration files. For each file
  or directory given, the validate command will attempt to parse the contents
  just as the "beacon agent" command would, and catch as many errors as possible.

  This command only validates JSON and YAML configuration files.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (fs.Args().empty()) {
    io.err << "Must specify at least one config file or directory\n";
    return 1;
  }
  auto cfg = config::LoadPaths(fs.Args());
  if (!cfg.ok()) {
    io.err << "Config validation failed: " << cfg.status().message() << "\n";
    return 1;
  }
  if (!quiet) io.out << "Configuration is valid!\n";
  return 0;
}

constexpr Command kCommands[] = {
    {"agent", "Runs a Beacon agent (Consul-compatible flags)", nullptr},
    {"catalog", "Interact with the catalog", nullptr},
    {"catalog datacenters", "Lists all known datacenters", &CatalogDatacenters},
    {"catalog nodes", "Lists all nodes in the given datacenter", &CatalogNodes},
    {"catalog services", "Lists all registered services in a datacenter", &CatalogServices},
    {"event", "Fire a new event", &Event},
    {"force-leave", "Forces a member of the cluster to enter the \"left\" state", &ForceLeave},
    {"info", "Provides debugging information for operators.", &Info},
    {"join", "Tell Beacon agent to join cluster", &Join},
    {"keygen", "Generates a new encryption key", &Keygen},
    {"keyring", "Manages gossip layer encryption keys", &Keyring},
    {"kv", "Interact with the key-value store", nullptr},
    {"kv delete", "Removes data from the KV store", &KvDelete},
    {"kv export", "Exports a tree from the KV store as JSON", &KvExport},
    {"kv get", "Retrieves or lists data from the KV store", &KvGet},
    {"kv import", "Imports a tree stored as JSON to the KV store", &KvImport},
    {"kv put", "Sets or updates data in the KV store", &KvPut},
    {"leave", "Gracefully leaves the Beacon cluster and shuts down", &Leave},
    {"lock", "Execute a command holding a lock", &Lock},
    {"maint", "Controls node or service maintenance mode", &Maint},
    {"members", "Lists the members of a Beacon cluster", &Members},
    {"monitor", "Stream logs from a Beacon agent", &Monitor},
    {"operator", "Provides cluster-level tools for Beacon operators", nullptr},
    {"operator raft", "Provides cluster-level tools for the KV store's consensus", nullptr},
    {"operator raft list-peers", "Display the current Raft peer configuration",
     &OperatorRaftListPeers},
    {"operator raft remove-peer", "Remove a Beacon server from the Raft configuration",
     &OperatorRaftRemovePeer},
    {"reload", "Triggers the agent to reload configuration files", &Reload},
    {"rtt", "Estimates network round trip time between nodes", &Rtt},
    {"services", "Interact with services", nullptr},
    {"services deregister", "Deregister services with the local agent", &ServicesDeregister},
    {"services register", "Register services with the local agent", &ServicesRegister},
    {"snapshot", "Saves, restores and inspects snapshots of Beacon server state", nullptr},
    {"snapshot inspect", "Displays information about a Beacon snapshot file", &SnapshotInspect},
    {"snapshot restore", "Restores snapshot of Beacon server state", &SnapshotRestore},
    {"snapshot save", "Saves snapshot of Beacon server state", &SnapshotSave},
    {"template", "Renders templates from Consul data (consul-template)", &Template},
    {"validate", "Validate config files/directories", &ValidateCmd},
    {"version", "Prints the Beacon version", &VersionCmd},
    {"watch", "Watch for changes in Beacon", &Watch},
};

constexpr std::pair<std::string_view, std::string_view> kGroupHelp[] = {
    {"catalog",
     "Usage: beacon catalog <subcommand> [options] [args]\n\n"
     "  This command has subcommands for interacting with Consul's catalog. The\n"
     "  catalog should not be confused with the agent, although the APIs and\n"
     "  responses may be similar.\n"},
    {"kv",
     "Usage: beacon kv <subcommand> [options] [args]\n\n"
     "  This command has subcommands for interacting with Consul's key-value\n"
     "  store. Here are some simple examples, and more detailed examples are\n"
     "  available in the subcommands or the documentation.\n"},
    {"operator",
     "Usage: beacon operator <subcommand> [options]\n\n"
     "  Provides cluster-level tools for Beacon operators, such as interacting with\n"
     "  the consensus cluster behind the KV store (the etcd members with\n"
     "  -kv-backend etcd).\n"},
    {"operator raft",
     "Usage: beacon operator raft <subcommand> [options]\n\n"
     "  The Raft operator command is used to interact with the consensus behind\n"
     "  Beacon's KV store: the etcd members with -kv-backend etcd, else the server.\n"},
    {"snapshot",
     "Usage: beacon snapshot <subcommand> [options] [args]\n\n"
     "  This command has subcommands for saving, restoring, and inspecting the state\n"
     "  of the Beacon servers for disaster recovery. These are atomic, point-in-time\n"
     "  snapshots which include key/value entries and sessions.\n"},
    {"services",
     "Usage: beacon services <subcommand> [options] [args]\n\n"
     "  This command has subcommands for interacting with services. The subcommands\n"
     "  default to working with services registered with the local agent.\n"},
};

std::string Table(std::string_view prefix) {
  std::vector<std::pair<std::string, std::string_view>> rows;
  for (const Command& c : kCommands) {
    std::string_view name = c.name;
    if (prefix.empty()) {
      if (name.find(' ') != std::string_view::npos) continue;
    } else {
      if (name.substr(0, prefix.size() + 1) != std::string(prefix) + " ") continue;
      name.remove_prefix(prefix.size() + 1);
      if (name.find(' ') != std::string_view::npos) continue;  // a sub-group's own commands
    }
    rows.emplace_back(std::string(name), c.synopsis);
  }
  size_t width = 0;
  for (const auto& r : rows) width = std::max(width, r.first.size());
  std::string out;
  for (const auto& r : rows) {
    out += "    " + r.first + std::string(width - r.first.size(), ' ') + "    " +
           std::string(r.second) + "\n";
  }
  return out;
}

std::string TopHelp() {
  return "Usage: beacon [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n" +
         Table("");
}

std::string GroupHelp(std::string_view group) {
  std::string out;
  for (const auto& [name, text] : kGroupHelp) {
    if (name == group) out = std::string(text);
  }
  return out + "\nSubcommands:\n" + Table(group);
}

bool IsHelpFlag(std::string_view a) {
  return a == "-h" || a == "-help" || a == "--help";
}

}  // namespace

int Main(const std::vector<std::string>& args, Io& io) {
  if (args.empty()) {
    io.err << TopHelp();
    return 1;
  }
  const std::string& cmd = args[0];
  if (IsHelpFlag(cmd) || cmd == "help") {
    io.out << TopHelp();
    return 0;
  }
  if (cmd == "--version" || cmd == "-version" || cmd == "-v") return VersionCmd({}, io);
  // The longest command name matching the leading words wins (as mitchellh/cli).
  const Command* best = nullptr;
  size_t used = 0;
  for (const Command& c : kCommands) {
    std::string_view name = c.name;
    size_t words = 0;
    size_t pos = 0;
    bool match = true;
    while (pos <= name.size()) {
      size_t sp = name.find(' ', pos);
      if (sp == std::string_view::npos) sp = name.size();
      if (words >= args.size() || args[words] != name.substr(pos, sp - pos)) {
        match = false;
        break;
      }
      ++words;
      pos = sp + 1;
    }
    if (match && words > used) {
      best = &c;
      used = words;
    }
  }
  if (best == nullptr) {
    io.err << "Unknown command: \"" << cmd << "\"\n\n" << TopHelp();
    return 1;
  }
  Args rest(args.begin() + static_cast<std::ptrdiff_t>(used), args.end());
  if (best->run == nullptr) {  // a group: `beacon kv` prints its sub-commands
    bool help = !rest.empty() && IsHelpFlag(rest[0]);
    (help ? io.out : io.err) << GroupHelp(best->name);
    return help ? 0 : 1;
  }
  return best->run(rest, io);
}

int Version() {
  Io io{std::cout, std::cerr, std::cin, [](std::string_view) { return std::string(); }};
  return VersionCmd({}, io);
}

int Validate(const std::vector<std::string>& args) {
  Io io{std::cout, std::cerr, std::cin, [](std::string_view) { return std::string(); }};
  return ValidateCmd(args, io);
}

int Usage(const std::string& unknown) {
  Io io{std::cout, std::cerr, std::cin, [](std::string_view) { return std::string(); }};
  return Main(unknown.empty() ? Args{} : Args{unknown}, io);
}

}  // namespace beacon::cli
