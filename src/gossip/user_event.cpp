#include "beacon/gossip/user_event.h"

#include <regex>

#include "beacon/core/uuid.h"

namespace beacon::gossip {
namespace {

// Compiles `re` (ECMAScript; Consul's filters are RE2, which agrees on the usual filters).
bool Compile(const std::string& re, std::regex* out, std::string* err) {
  try {
    *out = std::regex(re);
    return true;
  } catch (const std::regex_error& e) {
    if (err != nullptr) *err = e.what();
    return false;
  }
}

bool Search(const std::regex& re, const std::string& text) {
  return std::regex_search(text, re);
}

}  // namespace

Status ValidateUserEvent(const UserEvent& e) {
  if (e.name.empty()) return Status::Error("User event missing name");
  if (!e.tag_filter.empty() && e.service_filter.empty()) {
    return Status::Error("Cannot provide tag filter without service filter");
  }
  std::regex re;
  std::string err;
  if (!e.node_filter.empty() && !Compile(e.node_filter, &re, &err)) {
    return Status::Error("Invalid node filter: " + err);
  }
  if (!e.service_filter.empty() && !Compile(e.service_filter, &re, &err)) {
    return Status::Error("Invalid service filter: " + err);
  }
  if (!e.tag_filter.empty() && !Compile(e.tag_filter, &re, &err)) {
    return Status::Error("Invalid tag filter: " + err);
  }
  return Status::Ok();
}

bool ShouldProcess(const UserEvent& e, std::string_view node_name,
                   const std::vector<LocalService>& services) {
  if (e.version > kUserEventMaxVersion) return false;
  std::regex re;
  if (!e.node_filter.empty()) {
    if (!Compile(e.node_filter, &re, nullptr) || !Search(re, std::string(node_name))) return false;
  }
  if (e.service_filter.empty()) return true;
  if (!Compile(e.service_filter, &re, nullptr)) return false;
  std::regex tag_re;
  const bool by_tag = !e.tag_filter.empty();
  if (by_tag && !Compile(e.tag_filter, &tag_re, nullptr)) return false;
  for (const LocalService& s : services) {
    if (!Search(re, s.id)) continue;
    if (!by_tag) return true;
    for (const std::string& t : s.tags) {
      if (Search(tag_re, t)) return true;
    }
  }
  return false;
}

uint64_t EventIndex(std::string_view id) {
  return core::FoldUuid(id);
}

uint64_t EventBuffer::Add(UserEvent e) {
  MutexLock lock(&mu_);
  e.ltime = ++clock_;
  events_.push_back(std::move(e));
  if (events_.size() > kCapacity) events_.pop_front();
  return clock_;
}

std::vector<UserEvent> EventBuffer::List(std::string_view name) const {
  MutexLock lock(&mu_);
  std::vector<UserEvent> out;
  for (const UserEvent& e : events_) {
    if (name.empty() || e.name == name) out.push_back(e);
  }
  return out;
}

uint64_t EventBuffer::Index(std::string_view name) const {
  MutexLock lock(&mu_);
  for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
    if (name.empty() || it->name == name) {
      const uint64_t i = EventIndex(it->id);
      return i != 0 ? i : 1;
    }
  }
  return 1;
}

}  // namespace beacon::gossip
