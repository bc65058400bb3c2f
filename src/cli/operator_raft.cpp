// `beacon operator raft list-peers | remove-peer` (Consul's command/operator/raft): the KV
// backend's consensus members from /v1/operator/raft/configuration and DELETE
// /v1/operator/raft/peer.
#include <string>
#include <vector>

#include "internal.h"

namespace beacon::cli {

int OperatorRaftListPeers(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, true);
  constexpr std::string_view kHelp = R"(
Usage: beacon operator raft list-peers [options]

  Displays the current Raft peer configuration: the members of the consensus
  cluster behind the KV store (the etcd members with -kv-backend etcd, else
  this server alone), their addresses and which one leads.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (!fs.Args().empty()) return TooMany(fs, 0, io);
  http::HttpClient client(hf.Options(io));
  std::string path = "/v1/operator/raft/configuration";
  if (std::string q = hf.Query(); !q.empty()) path += "?" + q;
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (Status st = GetJson(client, path, p, &doc); !st.ok()) {
    return Fail(io, "Error getting peers",
                Status::Error("Failed to retrieve raft configuration: " + st.message()));
  }
  std::vector<std::vector<std::string>> rows{
      {"Node", "ID", "Address", "State", "Voter", "RaftProtocol"}};
  simdjson::dom::array servers;
  if (doc["Servers"].get(servers) == simdjson::SUCCESS) {
    for (simdjson::dom::element s : servers) {
      bool leader = false, voter = false;
      if (s["Leader"].get(leader) != simdjson::SUCCESS) leader = false;
      if (s["Voter"].get(voter) != simdjson::SUCCESS) voter = false;
      std::string proto = GetString(s, "ProtocolVersion");
      rows.push_back({GetString(s, "Node"), GetString(s, "ID"), GetString(s, "Address"),
                      leader ? "leader" : "follower", voter ? "true" : "false",
                      proto.empty() ? "<=1" : proto});
    }
  }
  io.out << Columnize(rows) << "\n";
  return 0;
}

int OperatorRaftRemovePeer(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, true);
  std::string address, id;
  fs.String("address", &address, "The address to remove from the Raft configuration.");
  fs.String("id", &id, "The ID to remove from the Raft configuration.");
  constexpr std::string_view kHelp = R"(
Usage: beacon operator raft remove-peer [options]

  Remove the Beacon server with given -address (its host:port as list-peers
  shows it) or -id from the Raft configuration. With -kv-backend etcd this
  removes the etcd member (etcd's member remove).

  There are rare cases where a peer may be left behind in the Raft quorum even
  though the server is no longer present and known to the cluster. This command
  can be used to remove the failed server so that it is no longer affects the
  Raft quorum. If the server still shows in the output of the "beacon members"
  command, it is preferable to clean up by simply running "beacon force-leave"
  instead of this command.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (!fs.Args().empty()) return TooMany(fs, 0, io);
  if (address.empty() && id.empty()) {
    return Fail(io, "Error removing peer",
                Status::Error("an address or id is required for the peer to remove"));
  }
  if (!address.empty() && !id.empty()) {
    return Fail(io, "Error removing peer", Status::Error("cannot give both an address and id"));
  }
  http::HttpClient client(hf.Options(io));
  std::string path = "/v1/operator/raft/peer";
  AddQuery(&path,
           (address.empty() ? "id=" + http::UrlEscape(id) : "address=" + http::UrlEscape(address)));
  if (std::string q = hf.Query(); !q.empty()) AddQuery(&path, q);
  http::ClientResponse r;
  if (Status st = Call(client, "DELETE", path, {}, &r); !st.ok()) {
    return Fail(io, "Error removing peer", st);
  }
  if (!address.empty()) {
    io.out << "Removed peer with address \"" << address << "\"\n";
  } else {
    io.out << "Removed peer with id \"" << id << "\"\n";
  }
  return 0;
}

}  // namespace beacon::cli
