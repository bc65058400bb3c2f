// beacon keyring: lists, installs, uses and removes gossip encryption keys through the agent's
// /v1/operator/keyring (Consul's `consul keyring`: same flags, texts and exit codes).
#include "beacon/core/json_writer.h"
#include "internal.h"

namespace beacon::cli {
namespace {

// "\n<dc> (LAN):\n  ===> node: message\n  <key> [n/m]" as Consul's formatResponse.
template <typename T>
T Field(simdjson::dom::object o, const char* key, T fallback) {
  T v;
  return o[key].get(v) == simdjson::SUCCESS ? v : fallback;
}

std::string FormatList(simdjson::dom::object r, const char* counts) {
  const std::string_view dc = Field<std::string_view>(r, "Datacenter", "");
  const std::string_view segment = Field<std::string_view>(r, "Segment", "");
  const bool wan = Field<bool>(r, "WAN", false);
  const int64_t num_nodes = Field<int64_t>(r, "NumNodes", 0);
  std::string out = "\n";
  out += wan ? std::string("WAN") : std::string(dc) + " (LAN)";
  if (!segment.empty()) out += " [" + std::string(segment) + "]";
  out += ":\n";
  simdjson::dom::object msgs, keys;
  if (r["Messages"].get(msgs) == simdjson::SUCCESS) {
    for (auto kv : msgs) {
      std::string_view m;
      if (kv.value.get(m) != simdjson::SUCCESS) continue;
      out += "  ===> " + std::string(kv.key) + ": " + std::string(m) + "\n";
    }
  }
  if (r[counts].get(keys) == simdjson::SUCCESS) {
    for (auto kv : keys) {
      int64_t n = 0;
      if (kv.value.get(n) != simdjson::SUCCESS) continue;
      out += "  " + std::string(kv.key) + " [" + std::to_string(n) + "/" +
             std::to_string(num_nodes) + "]\n";
    }
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string KeyBody(const std::string& key) {
  std::string body = "{\"Key\":";
  core::JsonWriter::AppendQuoted(body, key);
  return body + "}";
}

}  // namespace

int Keyring(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, false);
  bool list = false, list_primary = false;
  std::string install, use, remove;
  fs.Bool("list", &list, "List all keys currently in use within the cluster.");
  fs.Bool("list-primary", &list_primary,
          "List all primary keys currently in use within the cluster.");
  fs.String("install", &install,
            "Install a new encryption key. This will broadcast the new key to all members in "
            "the cluster.");
  fs.String("use", &use,
            "Change the primary encryption key, which is used to encrypt messages. The key must "
            "already be installed before this operation can succeed.");
  fs.String("remove", &remove,
            "Remove the given key from the cluster. This operation may only be performed on "
            "keys which are not currently the primary key.");
  constexpr std::string_view kHelp = R"(
Usage: beacon keyring [options]

  Manages encryption keys used for gossip messages. Gossip encryption is
  optional. When enabled, this command may be used to examine active encryption
  keys in the cluster, add new keys, and remove old ones. When combined, this
  functionality provides the ability to perform key rotation cluster-wide,
  without disrupting the cluster.

  All operations performed by this command can only be run against server nodes
  in Consul; Beacon runs them against the agent's LAN pool.

  All variations of the keyring command return 0 if all nodes reply and there
  are no errors. If any node fails to reply or reports failure, the exit code
  will be 1.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  bool found = list || list_primary;
  for (const std::string* arg : {&install, &use, &remove}) {
    if (found && !arg->empty()) {
      io.err << "Only a single action is allowed\n";
      return 1;
    }
    found = found || !arg->empty();
  }
  if (!found) {
    io.err << HelpText(kHelp, fs);
    return 1;
  }
  http::HttpClient client(hf.Options(io));
  http::ClientResponse r;
  if (list || list_primary) {
    io.out << (list ? "==> Gathering installed encryption keys...\n"
                    : "==> Gathering installed primary encryption keys...\n");
    simdjson::dom::parser p;
    simdjson::dom::array arr;
    if (Status st = GetJson(client, "/v1/operator/keyring", p, &arr); !st.ok()) {
      return Fail(io, "error", st);
    }
    for (simdjson::dom::element e : arr) {
      simdjson::dom::object o;
      if (e.get(o) == simdjson::SUCCESS) {
        io.out << FormatList(o, list ? "Keys" : "PrimaryKeys") << "\n";
      }
    }
    return 0;
  }
  const struct {
    const std::string* key;
    const char* method;
    const char* info;
  } ops[] = {{&install, "POST", "Installing new gossip encryption key..."},
             {&use, "PUT", "Changing primary gossip encryption key..."},
             {&remove, "DELETE", "Removing gossip encryption key..."}};
  for (const auto& op : ops) {
    if (op.key->empty()) continue;
    io.out << "==> " << op.info << "\n";
    if (Status st = Call(client, op.method, "/v1/operator/keyring", KeyBody(*op.key), &r);
        !st.ok()) {
      return Fail(io, "error", st);
    }
    return 0;
  }
  return 0;
}

}  // namespace beacon::cli
