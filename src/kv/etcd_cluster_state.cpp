// The etcd cluster view's pure part: gateway answers -> state -> Consul's shapes. See
// etcd_cluster_state.h.
#include "etcd_cluster_state.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace beacon::kv::internal {
namespace {

namespace dom = simdjson::dom;

// uint64/int64 fields: JSON strings from the gateway; numbers accepted too.
uint64_t U64(dom::element obj, const char* field) {
  dom::element v;
  if (obj[field].get(v)) return 0;
  if (v.is_string()) return std::strtoull(std::string(v.get_string().value()).c_str(), nullptr, 10);
  if (v.is_uint64()) return v.get_uint64().value();
  if (v.is_int64()) return static_cast<uint64_t>(v.get_int64().value());
  return 0;
}

std::string Str(dom::element obj, const char* field) {
  std::string_view s;
  return obj[field].get(s) ? std::string() : std::string(s);
}

bool Flag(dom::element obj, const char* field) {
  bool b = false;
  return !obj[field].get(b) && b;
}

std::vector<std::string> Strings(dom::element obj, const char* field) {
  std::vector<std::string> out;
  dom::array a;
  if (obj[field].get(a)) return out;
  for (dom::element e : a) {
    std::string_view s;
    if (!e.get(s)) out.emplace_back(s);
  }
  return out;
}

bool Root(dom::parser& p, std::string_view body, dom::element* root, std::string* err) {
  simdjson::padded_string buf(body);
  if (p.parse(buf).get(*root) || !root->is_object()) {
    if (err) *err = "etcd sent a body that is not a JSON object";
    return false;
  }
  std::string_view msg;
  if (!(*root)["error"].get(msg)) {
    if (err) *err = std::string(msg);
    return false;
  }
  return true;
}

const EtcdMemberStatus* StatusOf(const EtcdClusterState& s, uint64_t id) {
  for (const EtcdMemberStatus& st : s.statuses) {
    if (st.reachable && st.member_id == id) return &st;
  }
  return nullptr;
}

}  // namespace

bool ParseMemberStatus(std::string_view body, EtcdMemberStatus* st, std::string* err) {
  dom::parser p;
  dom::element root;
  if (!Root(p, body, &root, err)) return false;
  dom::element h;
  if (!root["header"].get(h)) {
    st->member_id = U64(h, "member_id");
    st->revision = static_cast<int64_t>(U64(h, "revision"));
  }
  st->leader = U64(root, "leader");
  st->raft_term = U64(root, "raftTerm");
  st->raft_index = U64(root, "raftIndex");
  st->db_size = static_cast<int64_t>(U64(root, "dbSize"));
  st->learner = Flag(root, "isLearner");
  st->version = Str(root, "version");
  if (st->member_id == 0) {
    if (err) *err = "etcd status without a member_id";
    return false;
  }
  return true;
}

bool ParseMemberList(std::string_view body, std::vector<EtcdMember>* out, std::string* err) {
  dom::parser p;
  dom::element root;
  if (!Root(p, body, &root, err)) return false;
  out->clear();
  dom::array ms;
  if (root["members"].get(ms)) return true;  // an empty list is left out
  for (dom::element m : ms) {
    EtcdMember e;
    e.id = U64(m, "ID");
    e.name = Str(m, "name");
    e.peer_urls = Strings(m, "peerURLs");
    e.client_urls = Strings(m, "clientURLs");
    e.learner = Flag(m, "isLearner");
    out->push_back(std::move(e));
  }
  std::sort(out->begin(), out->end(),
            [](const EtcdMember& a, const EtcdMember& b) { return a.name < b.name; });
  return true;
}

void Summarize(EtcdClusterState* s) {
  s->leader = 0;
  s->raft_term = 0;
  uint64_t self_term = 0, seen_term = 0, seen = 0;
  const EtcdMemberStatus* freshest = nullptr;
  for (const EtcdMemberStatus& st : s->statuses) {
    if (!st.reachable) continue;
    s->raft_term = std::max(s->raft_term, st.raft_term);
    if (freshest == nullptr || st.revision > freshest->revision) freshest = &st;
    if (st.leader == 0) continue;
    if (st.leader == st.member_id && st.raft_term >= self_term) {  // a leader about itself
      self_term = st.raft_term;
      s->leader = st.leader;
    }
    if (st.raft_term >= seen_term) {
      seen_term = st.raft_term;
      seen = st.leader;
    }
  }
  // The leader's own word first (etcd's CheckQuorum makes a leader that lost its quorum step
  // down within an election timeout); else what the followers at the newest term say.
  if (s->leader == 0) s->leader = seen;
  const EtcdMemberStatus* src = s->leader != 0 ? StatusOf(*s, s->leader) : nullptr;
  if (src == nullptr) src = freshest;
  s->raft_index = src != nullptr ? src->raft_index : 0;
  s->revision = src != nullptr ? src->revision : 0;
  s->db_size = src != nullptr ? src->db_size : 0;
}

std::string HostPort(std::string_view url) {
  if (size_t at = url.find("://"); at != std::string_view::npos) url.remove_prefix(at + 3);
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return std::string(url);
}

std::string MemberIdHex(uint64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(id));  // NOLINT
  return buf;
}

std::string MemberAddress(const EtcdMember& m) {
  return m.peer_urls.empty() ? std::string() : HostPort(m.peer_urls.front());
}

RaftConfiguration ToConfiguration(const EtcdClusterState& s) {
  RaftConfiguration c;
  c.index = s.raft_index;
  for (const EtcdMember& m : s.members) {
    RaftServer r;
    r.id = MemberIdHex(m.id);
    r.node = m.name.empty() ? r.id : m.name;  // a member added but not yet started has no name
    r.address = MemberAddress(m);
    r.leader = m.id == s.leader;
    r.voter = !m.learner;
    c.servers.push_back(std::move(r));
  }
  return c;
}

std::vector<std::string> PeerAddresses(const EtcdClusterState& s) {
  std::vector<std::string> out;
  for (const EtcdMember& m : s.members) {
    if (!m.learner && !m.peer_urls.empty()) out.push_back(MemberAddress(m));
  }
  return out;
}

std::string LeaderAddress(const EtcdClusterState& s) {
  for (const EtcdMember& m : s.members) {
    if (m.id == s.leader && s.leader != 0) return MemberAddress(m);
  }
  return "";
}

Result<uint64_t> FindMember(const std::vector<EtcdMember>& members, std::string_view address,
                            std::string_view id) {
  if (address.empty() && id.empty()) {
    return Status::Error(
        "Must specify either ?id with the server's ID or ?address with IP:port of "
        "peer to remove");
  }
  if (!address.empty() && !id.empty()) {
    return Status::Error("Must specify only one of ?id or ?address");
  }
  for (const EtcdMember& m : members) {
    if (!id.empty()) {
      if (MemberIdHex(m.id) == id || std::to_string(m.id) == id) return m.id;
      continue;
    }
    for (const auto* urls : {&m.peer_urls, &m.client_urls}) {
      for (const std::string& u : *urls) {
        if (HostPort(u) == HostPort(address)) return m.id;
      }
    }
  }
  if (!id.empty()) {
    return Status::Error("id \"" + std::string(id) + "\" was not found in the Raft configuration");
  }
  return Status::Error("address \"" + std::string(address) +
                       "\" was not found in the Raft configuration");
}

std::map<std::string, std::string> InfoFields(const EtcdClusterState& s,
                                              const std::vector<std::string>& endpoints) {
  std::map<std::string, std::string> f;
  size_t up = 0;
  std::string version;
  for (const EtcdMemberStatus& st : s.statuses) {
    if (!st.reachable) continue;
    ++up;
    if (version.empty()) version = st.version;
  }
  std::string eps;
  for (const std::string& e : endpoints) eps += (eps.empty() ? "" : ",") + e;
  f["backend"] = "etcd";
  f["endpoints"] = eps;
  f["endpoints_reachable"] = std::to_string(up) + "/" + std::to_string(endpoints.size());
  f["known_leader"] = s.leader != 0 ? "true" : "false";
  std::string leader;
  for (const EtcdMember& m : s.members) {
    if (m.id == s.leader && s.leader != 0) leader = m.name + " (" + MemberAddress(m) + ")";
  }
  f["leader"] = leader;
  f["members"] = std::to_string(s.members.size());
  f["raft_index"] = std::to_string(s.raft_index);
  f["raft_term"] = std::to_string(s.raft_term);
  f["revision"] = std::to_string(s.revision);
  f["db_size"] = std::to_string(s.db_size);
  f["etcd_version"] = version;
  return f;
}

}  // namespace beacon::kv::internal
