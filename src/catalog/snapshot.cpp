// Small helpers behind the snapshot entry types (snapshot.h).
#include "beacon/catalog/snapshot.h"

#include <arpa/inet.h>

#include "beacon/core/hash.h"
#include "beacon/core/strings.h"
#include "build.h"

namespace beacon::catalog {
namespace {

const std::vector<std::string> kNoStrings;
const std::vector<Check> kNoChecks;
const std::string kNoText;

}  // namespace

namespace {

// The packed form: [u16 length][bytes] per key.
size_t FindIn(std::string_view buf, std::string_view k) {
  for (size_t i = 0; i + 2 <= buf.size();) {
    const size_t n = static_cast<uint8_t>(buf[i]) << 8 | static_cast<uint8_t>(buf[i + 1]);
    if (buf.substr(i + 2, n) == k) return i;
    i += 2 + n;
  }
  return std::string_view::npos;
}

std::string Appended(std::string_view buf, std::string_view k) {
  std::string b;
  b.reserve(buf.size() + 2 + k.size());
  b.append(buf);
  b.push_back(static_cast<char>(k.size() >> 8));
  b.push_back(static_cast<char>(k.size() & 0xff));
  b.append(k);
  return b;
}

std::string Erased(std::string_view buf, size_t at, size_t key_size) {
  std::string b(buf);
  b.erase(at, 2 + key_size);
  return b;
}

}  // namespace

size_t KeyList::BucketOf(std::string_view k) {
  return core::Fnv1a64(k) % kBuckets;
}

bool KeyList::Contains(std::string_view k) const {
  if (!table_) return FindIn(flat_.view(), k) != std::string_view::npos;
  const auto& b = table_->buckets[BucketOf(k)];
  return b && FindIn(b->keys.view(), k) != std::string_view::npos;
}

void KeyList::Spill() {
  auto t = MakeRef<Table>();
  std::array<std::string, kBuckets> parts;
  auto add = [&](std::string_view k) {
    parts[BucketOf(k)] = Appended(parts[BucketOf(k)], k);
    ++t->count;
  };
  ForEachIn(flat_.view(), add);
  for (size_t i = 0; i < kBuckets; ++i) {
    if (parts[i].empty()) continue;
    auto b = MakeRef<Bucket>();
    b->keys = parts[i];
    t->buckets[i] = std::move(b);
  }
  flat_ = std::string_view();
  table_ = std::move(t);
}

bool KeyList::Add(std::string_view k) {
  if (k.size() > kMaxKey) return false;
  if (Contains(k)) return true;
  if (!table_) {
    flat_ = Appended(flat_.view(), k);
    if (flat_.size() > kFlatMax) Spill();
    return true;
  }
  auto t = MakeRef<Table>(*table_);  // 64 pointers; the buckets stay shared
  auto& slot = t->buckets[BucketOf(k)];
  auto b = MakeRef<Bucket>();
  b->keys = Appended(slot ? slot->keys.view() : std::string_view(), k);
  slot = std::move(b);
  ++t->count;
  table_ = std::move(t);
  return true;
}

void KeyList::Remove(std::string_view k) {
  if (!table_) {
    const size_t at = FindIn(flat_.view(), k);
    if (at != std::string_view::npos) flat_ = Erased(flat_.view(), at, k.size());
    return;
  }
  const size_t i = BucketOf(k);
  const auto& cur = table_->buckets[i];
  const size_t at = cur ? FindIn(cur->keys.view(), k) : std::string_view::npos;
  if (at == std::string_view::npos) return;
  if (table_->count == 1) {  // the last key: back to the empty flat form
    table_ = nullptr;
    return;
  }
  auto t = MakeRef<Table>(*table_);
  std::string rest = Erased(cur->keys.view(), at, k.size());
  if (rest.empty()) {
    t->buckets[i] = nullptr;
  } else {
    auto b = MakeRef<Bucket>();
    b->keys = rest;
    t->buckets[i] = std::move(b);
  }
  --t->count;
  table_ = std::move(t);
}

std::vector<std::string> KeyList::Items() const {
  std::vector<std::string> out;
  ForEach([&](std::string_view k) { out.emplace_back(k); });
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
