// EtcdClusterAnswers / EtcdJoinCluster / EtcdLeaveCluster (beacon/kv/etcd.h): etcd's
// MemberList/MemberAdd/MemberRemove through the JSON gateway, for supervised members.
#include <algorithm>
#include <string>
#include <vector>

#include "beacon/kv/etcd.h"
#include "etcd_cluster_state.h"
#include "etcd_conn.h"

namespace beacon::kv {
namespace {

using internal::EtcdConn;
using internal::EtcdMember;

Result<std::vector<EtcdMember>> List(EtcdConn& conn) {
  auto r = conn.Call("/v3/cluster/member/list", "{}");
  if (!r.ok()) return r.status();
  std::vector<EtcdMember> members;
  std::string err;
  if (!internal::ParseMemberList(r.value(), &members, &err)) return Status::Error(err);
  return members;
}

bool HasPeerUrl(const EtcdMember& m, const std::string& url) {
  return std::find(m.peer_urls.begin(), m.peer_urls.end(), url) != m.peer_urls.end();
}

// "name=url,...": the unnamed member with `peer_url` (the one being added) gets `name`.
std::string InitialCluster(const std::vector<EtcdMember>& members, const std::string& name,
                           const std::string& peer_url) {
  std::string out;
  for (const EtcdMember& m : members) {
    const bool self = HasPeerUrl(m, peer_url);
    if (m.peer_urls.empty() || (m.name.empty() && !self)) continue;  // another unstarted add
    if (!out.empty()) out += ",";
    out += (self ? name : m.name) + "=" + (self ? peer_url : m.peer_urls.front());
  }
  return out;
}

}  // namespace

bool EtcdClusterAnswers(const EtcdOptions& o) {
  EtcdConn conn(o);
  auto members = List(conn);
  return members.ok() && !members.value().empty();
}

Result<EtcdJoin> EtcdJoinCluster(const EtcdOptions& o, const std::string& name,
                                 const std::string& peer_url) {
  EtcdConn conn(o);
  auto members = List(conn);
  if (!members.ok()) return members.status();
  EtcdJoin j;
  for (const EtcdMember& m : members.value()) {
    if (!HasPeerUrl(m, peer_url)) continue;
    if (m.name == name) {  // in the first configuration: bootstrap with the others
      j.initial_cluster = InitialCluster(members.value(), name, peer_url);
      return j;
    }
    if (!m.name.empty()) {
      return Status::Error("etcd member \"" + m.name + "\" already uses peer URL " + peer_url);
    }
    j.existing = true;  // added before, never started
    j.initial_cluster = InitialCluster(members.value(), name, peer_url);
    return j;
  }
  auto added = conn.Call("/v3/cluster/member/add", "{\"peerURLs\":[\"" + peer_url + "\"]}");
  if (!added.ok()) return Status::Error("etcd member add: " + added.status().message());
  std::vector<EtcdMember> now;
  std::string err;
  if (!internal::ParseMemberList(added.value(), &now, &err)) return Status::Error(err);
  j.existing = true;
  j.initial_cluster = InitialCluster(now, name, peer_url);
  return j;
}

Status EtcdLeaveCluster(const EtcdOptions& o, const std::string& name) {
  EtcdConn conn(o);
  auto members = List(conn);
  if (!members.ok()) return members.status();
  for (const EtcdMember& m : members.value()) {
    if (m.name != name) continue;
    auto r = conn.Call("/v3/cluster/member/remove", "{\"ID\":\"" + std::to_string(m.id) + "\"}");
    if (r.ok()) return Status::Ok();
    // The answer may be lost when the member removed is the one asked: the list decides.
    auto after = List(conn);
    if (after.ok() && std::none_of(after.value().begin(), after.value().end(),
                                   [&](const EtcdMember& x) { return x.id == m.id; })) {
      return Status::Ok();
    }
    return Status::Error("etcd member remove: " + r.status().message());
  }
  return Status::Ok();
}

}  // namespace beacon::kv
