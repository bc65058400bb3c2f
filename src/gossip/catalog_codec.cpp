// msgpack encoding of catalog values for the catalog sync messages (see catalog_codec.h).
#include "catalog_codec.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace beacon::gossip::catcodec {
namespace {

using catalog::Check;
using catalog::Health;
using catalog::Node;
using catalog::Service;
using ServiceChecks = std::vector<std::pair<Service, std::vector<Check>>>;

void WriteStrList(mp::Writer& w, const std::vector<std::string>& v) {
  w.array(v.size());
  for (const auto& s : v) w.str(s);
}

void WriteStrMap(mp::Writer& w, const std::map<std::string, std::string>& m) {
  w.map(m.size());
  for (const auto& [k, v] : m) {
    w.str(k);
    w.str(v);
  }
}

bool ReadStrMap(mp::Reader& r, std::map<std::string, std::string>& m) {
  m.clear();
  return ReadMap(r, [&](const std::string& k) { return r.read_str(m[k]); });
}

bool ReadHealth(mp::Reader& r, Health& h) {
  std::uint8_t v = 0;
  if (!r.read_u(v, "status")) return false;
  if (v > static_cast<std::uint8_t>(Health::kMaintenance)) return r.fail("bad check status");
  h = static_cast<Health>(v);
  return true;
}

void WriteServiceChecks(mp::Writer& w, const ServiceChecks& v) {
  w.array(v.size());
  for (const auto& [s, cs] : v) {
    w.array(2);
    WriteService(w, s);
    WriteChecks(w, cs);
  }
}

bool ReadServiceChecks(mp::Reader& r, ServiceChecks& v) {
  v.clear();
  return ReadArray(r, [&] {
    std::size_t n = 0;
    if (!r.read_array(n)) return false;
    if (n != 2) return r.fail("service entry is not [service, checks]");
    auto& e = v.emplace_back();
    return ReadService(r, e.first) && ReadChecks(r, e.second);
  });
}

}  // namespace

bool ReadStrList(mp::Reader& r, std::vector<std::string>& v) {
  v.clear();
  return ReadArray(r, [&] { return r.read_str(v.emplace_back()); });
}

void WriteNode(mp::Writer& w, const Node& n) {
  Fields f;
  f.Str("N", n.name);
  f.Str("I", n.id);
  f.Str("A", n.address);
  f.Str("D", n.datacenter);
  if (!n.tagged_addresses.empty()) WriteStrMap(f.Key("T"), n.tagged_addresses);
  if (!n.meta.empty()) WriteStrMap(f.Key("M"), n.meta);
  f.Finish(w);
}

bool ReadNode(mp::Reader& r, Node& n) {
  n = Node{};
  return ReadMap(r, [&](const std::string& k) {
    if (k == "N") return r.read_str(n.name);
    if (k == "I") return r.read_str(n.id);
    if (k == "A") return r.read_str(n.address);
    if (k == "D") return r.read_str(n.datacenter);
    if (k == "T") return ReadStrMap(r, n.tagged_addresses);
    if (k == "M") return ReadStrMap(r, n.meta);
    return r.skip();
  });
}

void WriteService(mp::Writer& w, const Service& s) {
  Fields f;
  f.Str("I", s.id);
  f.Str("N", s.name);
  if (!s.tags.empty()) WriteStrList(f.Key("T"), s.tags);
  f.Str("A", s.address);
  f.Uint("P", s.port);
  if (!s.meta.empty()) WriteStrMap(f.Key("M"), s.meta);
  if (!s.tagged_addresses.empty()) {
    mp::Writer& t = f.Key("TA");
    t.map(s.tagged_addresses.size());
    for (const auto& [name, ta] : s.tagged_addresses) {
      t.str(name);
      t.array(2);
      t.str(ta.address);
      t.uint(ta.port);
    }
  }
  if (s.weights.passing != 1) f.Key("WP").uint(s.weights.passing);
  if (s.weights.warning != 1) f.Key("WW").uint(s.weights.warning);
  f.Bool("E", s.enable_tag_override);
  f.Str("K", s.kind);
  f.Finish(w);
}

bool ReadService(mp::Reader& r, Service& s) {
  s = Service{};
  return ReadMap(r, [&](const std::string& k) {
    if (k == "I") return r.read_str(s.id);
    if (k == "N") return r.read_str(s.name);
    if (k == "T") return ReadStrList(r, s.tags);
    if (k == "A") return r.read_str(s.address);
    if (k == "P") return r.read_u(s.port, "port");
    if (k == "M") return ReadStrMap(r, s.meta);
    if (k == "TA") {
      return ReadMap(r, [&](const std::string& name) {
        std::size_t n = 0;
        if (!r.read_array(n)) return false;
        if (n != 2) return r.fail("tagged address is not [address, port]");
        auto& ta = s.tagged_addresses[name];
        return r.read_str(ta.address) && r.read_u(ta.port, "port");
      });
    }
    if (k == "WP") return r.read_u(s.weights.passing, "weight");
    if (k == "WW") return r.read_u(s.weights.warning, "weight");
    if (k == "E") return r.read_bool(s.enable_tag_override);
    if (k == "K") return r.read_str(s.kind);
    return r.skip();
  });
}

void WriteCheck(mp::Writer& w, const Check& c) {
  Fields f;
  f.Str("I", c.id);
  f.Str("N", c.name);
  f.Str("No", c.notes);
  f.Str("S", c.service_id);
  f.Str("SN", c.service_name);
  f.Key("St").uint(static_cast<std::uint8_t>(c.status));
  f.Str("O", c.output);
  if (!c.args.empty()) WriteStrList(f.Key("Ar"), c.args);
  f.Str("H", c.http);
  f.Str("Me", c.method);
  if (!c.header.empty()) {
    mp::Writer& h = f.Key("He");
    h.map(c.header.size());
    for (const auto& [k, v] : c.header) {
      h.str(k);
      WriteStrList(h, v);
    }
  }
  f.Str("B", c.body);
  f.Str("Tc", c.tcp);
  f.Str("U", c.udp);
  f.Str("G", c.grpc);
  f.Str("Sh", c.shell);
  f.Str("Dk", c.docker_container_id);
  f.Bool("TV", c.tls_skip_verify);
  f.Bool("DR", c.disable_redirects);
  f.Str("TN", c.tls_server_name);
  f.Bool("TT", c.tcp_use_tls);
  f.Str("AN", c.alias_node);
  f.Str("AS", c.alias_service);
  f.Uint("OM", c.output_max_size);
  f.Uint("Iv", c.interval_ms);
  f.Uint("To", c.timeout_ms);
  f.Uint("Tl", c.ttl_ms);
  f.Uint("DA", c.deregister_critical_after_ms);
  f.Uint("SP", c.success_before_passing);
  f.Uint("FW", c.failures_before_warning);
  f.Uint("FC", c.failures_before_critical);
  f.Finish(w);
}

bool ReadCheck(mp::Reader& r, Check& c) {
  c = Check{};
  return ReadMap(r, [&](const std::string& k) {
    if (k == "I") return r.read_str(c.id);
    if (k == "N") return r.read_str(c.name);
    if (k == "No") return r.read_str(c.notes);
    if (k == "S") return r.read_str(c.service_id);
    if (k == "SN") return r.read_str(c.service_name);
    if (k == "St") return ReadHealth(r, c.status);
    if (k == "O") return r.read_str(c.output);
    if (k == "Ar") return ReadStrList(r, c.args);
    if (k == "H") return r.read_str(c.http);
    if (k == "Me") return r.read_str(c.method);
    if (k == "He") {
      return ReadMap(r, [&](const std::string& name) { return ReadStrList(r, c.header[name]); });
    }
    if (k == "B") return r.read_str(c.body);
    if (k == "Tc") return r.read_str(c.tcp);
    if (k == "U") return r.read_str(c.udp);
    if (k == "G") return r.read_str(c.grpc);
    if (k == "Sh") return r.read_str(c.shell);
    if (k == "Dk") return r.read_str(c.docker_container_id);
    if (k == "TV") return r.read_bool(c.tls_skip_verify);
    if (k == "DR") return r.read_bool(c.disable_redirects);
    if (k == "TN") return r.read_str(c.tls_server_name);
    if (k == "TT") return r.read_bool(c.tcp_use_tls);
    if (k == "AN") return r.read_str(c.alias_node);
    if (k == "AS") return r.read_str(c.alias_service);
    if (k == "OM") return r.read_uint(c.output_max_size);
    if (k == "Iv") return r.read_uint(c.interval_ms);
    if (k == "To") return r.read_uint(c.timeout_ms);
    if (k == "Tl") return r.read_uint(c.ttl_ms);
    if (k == "DA") return r.read_uint(c.deregister_critical_after_ms);
    if (k == "SP") return r.read_u(c.success_before_passing, "count");
    if (k == "FW") return r.read_u(c.failures_before_warning, "count");
    if (k == "FC") return r.read_u(c.failures_before_critical, "count");
    return r.skip();
  });
}

void WriteChecks(mp::Writer& w, const std::vector<Check>& cs) {
  w.array(cs.size());
  for (const Check& c : cs) WriteCheck(w, c);
}

bool ReadChecks(mp::Reader& r, std::vector<Check>& cs) {
  cs.clear();
  return ReadArray(r, [&] { return ReadCheck(r, cs.emplace_back()); });
}

void WriteOp(mp::Writer& w, const catalog::Op& o) {
  namespace op = catalog::op;
  Fields f;
  f.Key("K").uint(o.index());
  if (const auto* x = std::get_if<op::UpsertNode>(&o)) {
    WriteNode(f.Key("N"), x->node);
  } else if (const auto* x = std::get_if<op::RemoveNode>(&o)) {
    f.Key("n").str(x->node);
  } else if (const auto* x = std::get_if<op::UpsertService>(&o)) {
    f.Key("n").str(x->node);
    WriteService(f.Key("Sv"), x->service);
    if (!x->checks.empty()) WriteChecks(f.Key("C"), x->checks);
  } else if (const auto* x = std::get_if<op::RemoveService>(&o)) {
    f.Key("n").str(x->node);
    f.Key("I").str(x->service_id);
  } else if (const auto* x = std::get_if<op::UpsertCheck>(&o)) {
    f.Key("n").str(x->node);
    WriteCheck(f.Key("Ck"), x->check);
  } else if (const auto* x = std::get_if<op::RemoveCheck>(&o)) {
    f.Key("n").str(x->node);
    f.Key("I").str(x->check_id);
  } else if (const auto* x = std::get_if<op::UpdateCheck>(&o)) {
    f.Key("n").str(x->node);
    f.Key("I").str(x->check_id);
    f.Key("St").uint(static_cast<std::uint8_t>(x->status));
    f.Str("Out", x->output);
  } else if (const auto* x = std::get_if<op::Register>(&o)) {
    WriteNode(f.Key("N"), x->reg.node);
    if (!x->reg.services.empty()) {
      mp::Writer& s = f.Key("Ss");
      s.array(x->reg.services.size());
      for (const Service& svc : x->reg.services) WriteService(s, svc);
    }
    if (!x->reg.checks.empty()) WriteChecks(f.Key("C"), x->reg.checks);
    f.Bool("Sk", x->reg.skip_node_update);
  } else if (const auto* x = std::get_if<op::ReplaceNode>(&o)) {
    WriteNode(f.Key("N"), x->node);
    if (!x->services.empty()) WriteServiceChecks(f.Key("SC"), x->services);
    if (!x->node_checks.empty()) WriteChecks(f.Key("C"), x->node_checks);
  } else if (const auto* x = std::get_if<op::SetLiveness>(&o)) {
    f.Key("n").str(x->node);
    f.Key("L").uint(static_cast<std::uint8_t>(x->state));
  }
  f.Finish(w);
}

bool ReadOp(mp::Reader& r, catalog::Op& o) {
  namespace op = catalog::op;
  // Every field any kind has; the kind picks which are used.
  std::uint64_t kind = ~std::uint64_t{0};
  std::string name, id, output;
  Node node;
  Service svc;
  Check check;
  std::vector<Check> checks;
  std::vector<Service> services;
  ServiceChecks pairs;
  Health status = Health::kCritical;
  bool skip = false;
  std::uint8_t live = 0;
  const bool ok = ReadMap(r, [&](const std::string& k) {
    if (k == "K") return r.read_uint(kind);
    if (k == "n") return r.read_str(name);
    if (k == "I") return r.read_str(id);
    if (k == "N") return ReadNode(r, node);
    if (k == "Sv") return ReadService(r, svc);
    if (k == "Ck") return ReadCheck(r, check);
    if (k == "C") return ReadChecks(r, checks);
    if (k == "Ss") {
      services.clear();
      return ReadArray(r, [&] { return ReadService(r, services.emplace_back()); });
    }
    if (k == "SC") return ReadServiceChecks(r, pairs);
    if (k == "St") return ReadHealth(r, status);
    if (k == "Out") return r.read_str(output);
    if (k == "Sk") return r.read_bool(skip);
    if (k == "L") return r.read_u(live, "liveness");
    return r.skip();
  });
  if (!ok) return false;
  switch (kind) {
    case 0:
      o = op::UpsertNode{std::move(node)};
      return true;
    case 1:
      o = op::RemoveNode{std::move(name)};
      return true;
    case 2:
      o = op::UpsertService{std::move(name), std::move(svc), std::move(checks)};
      return true;
    case 3:
      o = op::RemoveService{std::move(name), std::move(id)};
      return true;
    case 4:
      o = op::UpsertCheck{std::move(name), std::move(check)};
      return true;
    case 5:
      o = op::RemoveCheck{std::move(name), std::move(id)};
      return true;
    case 6:
      o = op::UpdateCheck{std::move(name), std::move(id), status, std::move(output)};
      return true;
    case 7: {
      catalog::Registration reg;
      reg.node = std::move(node);
      reg.services = std::move(services);
      reg.checks = std::move(checks);
      reg.skip_node_update = skip;
      o = op::Register{std::move(reg)};
      return true;
    }
    case 8:
      o = op::ReplaceNode{std::move(node), std::move(pairs), std::move(checks)};
      return true;
    case 9:
      if (live > static_cast<std::uint8_t>(catalog::Liveness::kLeft)) return r.fail("bad liveness");
      o = op::SetLiveness{std::move(name), static_cast<catalog::Liveness>(live)};
      return true;
    default:
      return r.fail("unknown op kind");
  }
}

void WriteRecord(mp::Writer& w, const catalog::NodeRecord& rec) {
  Fields f;
  f.Uint("V", rec.version);
  WriteNode(f.Key("N"), rec.node);
  if (!rec.services.empty()) WriteServiceChecks(f.Key("SC"), rec.services);
  if (!rec.node_checks.empty()) WriteChecks(f.Key("C"), rec.node_checks);
  f.Finish(w);
}

bool ReadRecord(mp::Reader& r, catalog::NodeRecord& rec) {
  rec = catalog::NodeRecord{};
  const bool ok = ReadMap(r, [&](const std::string& k) {
    if (k == "V") return r.read_uint(rec.version);
    if (k == "N") return ReadNode(r, rec.node);
    if (k == "SC") return ReadServiceChecks(r, rec.services);
    if (k == "C") return ReadChecks(r, rec.node_checks);
    return r.skip();
  });
  if (ok && rec.node.name.empty()) return r.fail("record without a node name");
  return ok;
}

}  // namespace beacon::gossip::catcodec
