// Pure output formatting shared by commands and unit tests: members table, KV detail.
#include <algorithm>

#include "internal.h"

namespace beacon::cli {

std::string Member::Tag(std::string_view k) const {
  for (const auto& [key, v] : tags) {
    if (key == k) return v;
  }
  return "";
}

std::string MemberStatus(int64_t status) {
  switch (status) {
    case 0:
      return "none";
    case 1:
      return "alive";
    case 2:
      return "leaving";
    case 3:
      return "left";
    case 4:
      return "failed";
    default:
      return "unknown";
  }
}

namespace {

std::string HostPort(const Member& m) {
  std::string host = m.addr.find(':') != std::string::npos ? "[" + m.addr + "]" : m.addr;
  return host + ":" + std::to_string(m.port);
}

}  // namespace

std::string MembersTable(std::vector<Member> members, bool detailed) {
  for (Member& m : members) {
    if (m.Tag("segment").empty() || m.Tag("role") == "consul") {
      std::string seg = m.Tag("role") == "consul" ? "<all>" : "<default>";
      bool found = false;
      for (auto& [k, v] : m.tags) {
        if (k == "segment") {
          v = seg;
          found = true;
        }
      }
      if (!found) m.tags.emplace_back("segment", seg);
    }
  }
  std::stable_sort(members.begin(), members.end(), [](const Member& a, const Member& b) {
    const bool sa = a.Tag("role") == "consul";
    const bool sb = b.Tag("role") == "consul";
    if (sa != sb) return sa;
    const std::string ga = a.Tag("segment");
    const std::string gb = b.Tag("segment");
    if (ga != gb) return ga < gb;
    return a.name < b.name;
  });
  std::vector<std::vector<std::string>> rows;
  if (detailed) {
    rows.push_back({"Node", "Address", "Status", "Tags"});
    for (Member& m : members) {
      std::sort(m.tags.begin(), m.tags.end());
      std::string tags;
      for (const auto& [k, v] : m.tags) {
        if (!tags.empty()) tags += ",";
        tags.append(k).append("=").append(v);
      }
      rows.push_back({m.name, HostPort(m), MemberStatus(m.status), tags});
    }
    return Columnize(rows);
  }
  rows.push_back({"Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Segment"});
  for (const Member& m : members) {
    std::string build = m.Tag("build");
    if (build.empty()) {
      build = "< 0.3";
    } else if (size_t c = build.find(':'); c != std::string::npos) {
      build.resize(c);
    }
    const std::string role = m.Tag("role");
    if (role == "consul" || role == "node") {
      rows.push_back({m.name, HostPort(m), MemberStatus(m.status),
                      role == "consul" ? "server" : "client", build, m.Tag("vsn"), m.Tag("dc"),
                      m.Tag("segment")});
    } else {
      rows.push_back({m.name, HostPort(m), MemberStatus(m.status), "unknown", "", "", "", ""});
    }
  }
  return Columnize(rows);
}

std::string KvDetailed(const KvPair& p, bool base64) {
  // text/tabwriter(minwidth 0, tabwidth 2, padding 6): the name column padded to the widest
  // name ("ModifyIndex", 11) plus 6.
  const std::pair<std::string, std::string> rows[] = {
      {"CreateIndex", std::to_string(p.create_index)},
      {"Flags", std::to_string(p.flags)},
      {"Key", p.key},
      {"LockIndex", std::to_string(p.lock_index)},
      {"ModifyIndex", std::to_string(p.modify_index)},
      {"Session", p.session.empty() ? "-" : p.session},
      {"Value", base64 ? Base64Encode(p.value) : p.value},
  };
  std::string out;
  for (const auto& [k, v] : rows) {
    out.append(k).append(11 + 6 - k.size(), ' ').append(v).append("\n");
  }
  out.pop_back();  // the Value line has no newline of its own
  return out;
}

}  // namespace beacon::cli
