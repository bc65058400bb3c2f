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
                             [](const op::Register&) { return "register"; }},
                    o);
}

uint64_t Writer::VersionOf(std::string_view node) const {
  const std::string key = core::Lower(node);
  if (const NodeServices* ns = staged_.node_services.Find(key)) return ns->version;
  auto it = removed_versions_.find(key);
  return it != removed_versions_.end() ? it->second : 0;
}

Status Writer::Apply(const Change& c, bool* stale) {
  if (stale != nullptr) *stale = false;
  if (core::Lower(NodeOf(c.op)) != c.origin) {
    return Status::Error("change for node \"" + NodeOf(c.op) + "\" carries origin \"" + c.origin +
                         "\"");
  }
  const uint64_t known = VersionOf(c.origin);
  uint64_t version = c.version;
  if (version == 0) {
    version = std::max(local_version_, known) + 1;
  } else if (version <= known) {
    if (stale != nullptr) *stale = true;
    return Status::Ok();
  }
  const bool existed = staged_.nodes.Find(c.origin) != nullptr;
  const uint64_t changes_before = changes_;
  Status st = std::visit(
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
          [&](const op::Register& x) { return Apply(x.reg); }},
      c.op);
  if (!st.ok()) return st;
  if (c.version == 0) {
    if (changes_ == changes_before) return st;  // nothing changed: no new version to spread
    local_version_ = version;
  }
  if (staged_.nodes.Find(c.origin) != nullptr) {
    NodeServices* ns = MutableNodeServices(c.origin);
    if (ns->version != version) {
      ns->version = version;
      dirty_ = true;  // readers (gossip digests) see the version
    }
    removed_versions_.erase(c.origin);
  } else if (existed || removed_versions_.count(c.origin) != 0) {
    removed_versions_[c.origin] = version;  // a stale change must not bring the node back
  }
  return st;
}

}  // namespace beacon::catalog
