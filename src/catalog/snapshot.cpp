// Small helpers behind the snapshot entry types (snapshot.h).
#include "beacon/catalog/snapshot.h"

namespace beacon::catalog {
namespace {

const std::vector<std::string> kNoStrings;
const std::vector<Check> kNoChecks;

char LowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool EqualsLowerKey(std::string_view name, std::string_view lower_key) {
  if (name.size() != lower_key.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (LowerAscii(name[i]) != lower_key[i]) return false;
  }
  return true;
}

bool KeyList::Contains(std::string_view k) const {
  for (size_t i = 0; i + 2 <= buf_.size();) {
    const size_t n = static_cast<uint8_t>(buf_[i]) << 8 | static_cast<uint8_t>(buf_[i + 1]);
    if (std::string_view(buf_).substr(i + 2, n) == k) return true;
    i += 2 + n;
  }
  return false;
}

void KeyList::Add(std::string_view k) {
  if (Contains(k)) return;
  if (k.size() > 0xffff) k = k.substr(0, 0xffff);
  buf_.push_back(static_cast<char>(k.size() >> 8));
  buf_.push_back(static_cast<char>(k.size() & 0xff));
  buf_.append(k);
}

void KeyList::Remove(std::string_view k) {
  for (size_t i = 0; i + 2 <= buf_.size();) {
    const size_t n = static_cast<uint8_t>(buf_[i]) << 8 | static_cast<uint8_t>(buf_[i + 1]);
    if (std::string_view(buf_).substr(i + 2, n) == k) {
      buf_.erase(i, 2 + n);
      if (buf_.empty()) buf_.shrink_to_fit();
      return;
    }
    i += 2 + n;
  }
}

std::vector<std::string> KeyList::Items() const {
  std::vector<std::string> out;
  for (size_t i = 0; i + 2 <= buf_.size();) {
    const size_t n = static_cast<uint8_t>(buf_[i]) << 8 | static_cast<uint8_t>(buf_[i + 1]);
    out.emplace_back(buf_, i + 2, n);
    i += 2 + n;
  }
  return out;
}

const std::vector<Check>& NodeEntry::checks() const {
  return extras ? extras->checks : kNoChecks;
}

Node NodeEntry::ToNode(std::string_view agent_dc) const {
  Node n;
  n.name = node.name;
  n.address = node.address;
  n.datacenter = std::string(agent_dc);
  if (extras) {
    n.id = extras->id;
    if (!extras->datacenter.empty()) n.datacenter = extras->datacenter;
    n.tagged_addresses = extras->tagged_addresses;
    n.meta = extras->meta;
  }
  return n;
}

const std::vector<std::string>& Instance::tags_lower() const {
  return extras ? extras->tags_lower : kNoStrings;
}

const std::vector<Check>& Instance::checks() const {
  return extras ? extras->checks : kNoChecks;
}

Service Instance::ToService() const {
  Service s;
  s.id = service.id;
  s.name = service.name;
  s.address = service.address;
  s.port = port;
  if (extras) {
    s.tags = extras->tags;
    s.meta = extras->meta;
    s.tagged_addresses = extras->tagged_addresses;
    s.weights = extras->weights;
    s.enable_tag_override = extras->enable_tag_override;
    s.kind = extras->kind;
  }
  return s;
}

PtrOwners PtrEntry::Owners() const {
  if (more) return *more;
  PtrOwners o;
  (is_node ? o.nodes : o.services).push_back(name);
  return o;
}

}  // namespace beacon::catalog
