// catalog::Change helpers and Writer::Apply(Change): versions per origin, then the op.
#include "beacon/catalog/change.h"

#include <algorithm>

#include "beacon/catalog/writer.h"
#include "beacon/core/strings.h"

namespace beacon::catalog {
namespace {

template <typename... F>
struct Overload : F... {
  using F::operator()...;
};
template <typename... F>
Overload(F...) -> Overload<F...>;

}  // namespace

const std::string& NodeOf(const Op& o) {
  return std::visit(
      Overload{[](const op::UpsertNode& x) -> const std::string& { return x.node.name; },
               [](const op::Register& x) -> const std::string& { return x.reg.node.name; },
               [](const op::ReplaceNode& x) -> const std::string& { return x.node.name; },
               [](const auto& x) -> const std::string& { return x.node; }},
      o);
}

Change LocalChange(Op o) {
  Change c;
  c.origin = core::Lower(NodeOf(o));
  c.op = std::move(o);
  return c;
}

const char* OpName(const Op& o) {
  return std::visit(Overload{[](const op::UpsertNode&) { return "upsert-node"; },
                             [](const op::RemoveNode&) { return "remove-node"; },
                             [](const op::UpsertService&) { return "upsert-service"; },
                             [](const op::RemoveService&) { return "remove-service"; },
                             [](const op::UpsertCheck&) { return "upsert-check"; },
                             [](const op::RemoveCheck&) { return "remove-check"; },
                             [](const op::UpdateCheck&) { return "update-check"; },
                             [](const op::Register&) { return "register"; },
                             [](const op::ReplaceNode&) { return "replace-node"; },
                             [](const op::SetLiveness&) { return "set-liveness"; }},
                    o);
}

uint64_t Writer::VersionOf(std::string_view node) const {
  return VersionOfKey(core::Lower(node), nullptr);
}

uint64_t Writer::VersionOfKey(const std::string& key, const NodeServices** found) const {
  const NodeServices* ns = staged_.node_services.Find(key);
  if (found != nullptr) *found = ns;
  if (ns != nullptr) return ns->version;
  if (removed_versions_.empty()) return 0;
  auto it = removed_versions_.find(key);
  return it != removed_versions_.end() ? it->second : 0;
}

// A remote change never writes serfHealth (change.h): check ops on it do nothing, and a
// registration drops it. Returns the op to apply, or null for "nothing to do".
namespace {
const Op* WithoutSerfHealth(const Op& o, Op* scratch) {
  auto is_serf = [](std::string_view id) { return id == kSerfHealthId; };
  if (const auto* x = std::get_if<op::UpsertCheck>(&o)) return is_serf(x->check.id) ? nullptr : &o;
  if (const auto* x = std::get_if<op::UpdateCheck>(&o)) return is_serf(x->check_id) ? nullptr : &o;
  if (const auto* x = std::get_if<op::RemoveCheck>(&o)) return is_serf(x->check_id) ? nullptr : &o;
  if (const auto* x = std::get_if<op::Register>(&o)) {
    if (std::none_of(x->reg.checks.begin(), x->reg.checks.end(),
                     [&](const Check& ch) { return is_serf(ch.id) && ch.service_id.empty(); })) {
      return &o;
    }
    op::Register r = *x;
    std::erase_if(r.reg.checks,
                  [&](const Check& ch) { return is_serf(ch.id) && ch.service_id.empty(); });
    *scratch = std::move(r);
    return scratch;
  }
  return &o;
}
}  // namespace

Status Writer::Apply(const Change& c, bool* stale) {
  if (stale != nullptr) *stale = false;
  if (!core::EqualsLower(NodeOf(c.op), c.origin)) {
    return Status::Error("change for node \"" + NodeOf(c.op) + "\" carries origin \"" + c.origin +
                         "\"");
  }
  if (const auto* l = std::get_if<op::SetLiveness>(&c.op)) return ApplyLiveness(*l);
  // The origin's NodeServices entry exists exactly while its node does (UpsertNode creates it,
  // RemoveNode erases both), so one lookup gives the version and whether the node exists.
  const NodeServices* before = nullptr;
  const uint64_t known = VersionOfKey(c.origin, &before);
  uint64_t version = c.version;
  if (version == 0) {
    version = std::max(local_version_, known) + 1;
  } else if (version <= known) {
    if (stale != nullptr) *stale = true;
    return Status::Ok();
  }
  Op scratch;
  const Op* o = c.version == 0 ? &c.op : WithoutSerfHealth(c.op, &scratch);
  const bool existed = before != nullptr;
  const uint64_t changes_before = changes_;
  Status st = Status::Ok();
  if (o != nullptr) {
    st = std::visit(
        Overload{
            [&](const op::UpsertNode& x) {
              UpsertNode(x.node);
              return Status::Ok();
            },
            [&](const op::RemoveNode& x) {
              RemoveNode(x.node);
              return Status::Ok();
            },
            [&](const op::UpsertService& x) { return UpsertService(x.node, x.service, x.checks); },
            [&](const op::RemoveService& x) {
              RemoveService(x.node, x.service_id);
              return Status::Ok();
            },
            [&](const op::UpsertCheck& x) { return UpsertCheck(x.node, x.check); },
            [&](const op::RemoveCheck& x) {
              RemoveCheck(x.node, x.check_id);
              return Status::Ok();
            },
            [&](const op::UpdateCheck& x) {
              UpdateCheck(x.node, x.check_id, x.status, x.output);
              return Status::Ok();
            },
            [&](const op::Register& x) { return Apply(x.reg); },
            [&](const op::ReplaceNode& x) { return ReplaceNode(x); },
            [&](const op::SetLiveness&) { return Status::Ok(); }},  // handled above
        *o);
  }
  if (!st.ok()) return st;
  if (c.version == 0) {
    if (changes_ == changes_before) return st;  // nothing changed: no new version to spread
    local_version_ = version;
    if (track_applied_) applied_.push_back({Change{c.origin, version, c.op}, known});
  }
  if (const NodeServices* now = staged_.node_services.Find(c.origin); now != nullptr) {
    if (now->version != version) {
      MutableNodeServices(c.origin)->version = version;
      dirty_ = true;  // readers (gossip digests) see the version
    }
    if (!removed_versions_.empty()) removed_versions_.erase(c.origin);
  } else if (existed || removed_versions_.count(c.origin) != 0) {
    removed_versions_[c.origin] = version;  // a stale change must not bring the node back
  }
  return st;
}

}  // namespace beacon::catalog
