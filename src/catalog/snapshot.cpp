// Small helpers behind the snapshot entry types (snapshot.h).
#include "beacon/catalog/snapshot.h"

#include <arpa/inet.h>

#include "beacon/core/strings.h"
#include "build.h"

namespace beacon::catalog {
namespace {

const std::vector<std::string> kNoStrings;
const std::vector<Check> kNoChecks;
const std::string kNoText;

}  // namespace

bool KeyList::Contains(std::string_view k) const {
  for (size_t i = 0; i + 2 <= buf_.size();) {
    const size_t n =
        static_cast<uint8_t>(buf_.data()[i]) << 8 | static_cast<uint8_t>(buf_.data()[i + 1]);
    if (buf_.view().substr(i + 2, n) == k) return true;
    i += 2 + n;
  }
  return false;
}

bool KeyList::Add(std::string_view k) {
  if (k.size() > kMaxKey) return false;
  if (Contains(k)) return true;
  std::string b(buf_.view());
  b.push_back(static_cast<char>(k.size() >> 8));
  b.push_back(static_cast<char>(k.size() & 0xff));
  b.append(k);
  buf_ = b;
  return true;
}

void KeyList::Remove(std::string_view k) {
  for (size_t i = 0; i + 2 <= buf_.size();) {
    const size_t n =
        static_cast<uint8_t>(buf_.data()[i]) << 8 | static_cast<uint8_t>(buf_.data()[i + 1]);
    if (buf_.view().substr(i + 2, n) == k) {
      std::string b(buf_.view());
      b.erase(i, 2 + n);
      buf_ = b;
      return;
    }
    i += 2 + n;
  }
}

std::vector<std::string> KeyList::Items() const {
  std::vector<std::string> out;
  for (size_t i = 0; i + 2 <= buf_.size();) {
    const size_t n =
        static_cast<uint8_t>(buf_.data()[i]) << 8 | static_cast<uint8_t>(buf_.data()[i + 1]);
    out.emplace_back(buf_.view().substr(i + 2, n));
    i += 2 + n;
  }
  return out;
}

TxtRef::operator const std::string&() const {
  return s ? *s : kNoText;
}

bool NodeEntry::MatchesKey(std::string_view key) const {
  if (extras && !extras->name.empty()) return core::EqualsLower(extras->name, key);
  return detail::WireEqualsLowerKey(name_wire, key);
}

std::string NodeEntry::name() const {
  if (extras && !extras->name.empty()) return extras->name;
  return detail::WireToDotted(name_wire);
}

std::string NodeEntry::AddressText() const {
  if (extras && !extras->address.empty()) return extras->address;
  const AddrChoice& a = addr.one;
  if (a.kind != AddrChoice::kV4 && a.kind != AddrChoice::kV6) return {};
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(a.kind == AddrChoice::kV4 ? AF_INET : AF_INET6, a.ip.data(), buf, sizeof buf);
  return buf;
}

std::string_view NodeEntry::IpKey() const {
  const AddrChoice& a = addr.one;
  if (a.kind != AddrChoice::kV4 && a.kind != AddrChoice::kV6) return {};
  return {reinterpret_cast<const char*>(a.ip.data()), a.kind == AddrChoice::kV4 ? 4u : 16u};
}

const std::vector<Check>& NodeEntry::checks() const {
  return extras ? extras->checks : kNoChecks;
}

Node NodeEntry::ToNode(std::string_view agent_dc) const {
  Node n;
  n.name = name();
  n.address = AddressText();
  n.datacenter = std::string(agent_dc);
  if (extras) {
    n.id = extras->id;
    if (!extras->datacenter.empty()) n.datacenter = extras->datacenter;
    n.tagged_addresses = extras->tagged_addresses;
    n.meta = extras->meta;
  }
  return n;
}

std::string_view Instance::address() const {
  return extras ? std::string_view(extras->address) : std::string_view();
}

const std::vector<std::string>& Instance::tags() const {
  return extras ? extras->tags : kNoStrings;
}

const std::vector<std::string>& Instance::tags_lower() const {
  return extras ? extras->tags_lower : kNoStrings;
}

const std::vector<Check>& Instance::checks() const {
  return extras ? extras->checks : kNoChecks;
}

Service Instance::ToService() const {
  Service s;
  s.id = service.id.str();
  s.name = service.name.str();
  s.port = port;
  if (extras) {
    s.address = extras->address;
    s.tags = extras->tags;
    s.meta = extras->meta;
    s.tagged_addresses = extras->tagged_addresses;
    s.weights = extras->weights;
    s.enable_tag_override = extras->enable_tag_override;
    s.kind = extras->kind;
  }
  return s;
}

std::vector<std::string> PtrEntry::Owners() const {
  if (more) return *more;
  return {name.str()};
}

}  // namespace beacon::catalog
