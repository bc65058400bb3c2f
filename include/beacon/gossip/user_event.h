// User events (Consul's `consul event`, /v1/event/fire and /v1/event/list): the event value, its
// validation and filters, and the bounded buffer of recent events an agent keeps.
//
// Contract:
// - UserEvent is plain data. ValidateUserEvent gives Consul's error texts. ShouldProcess decides,
//   as each receiving agent does, whether an event is for this node: NodeFilter must match the
//   node name; ServiceFilter must match the id of one of its services, and TagFilter then one of
//   that service's tags (regular expressions, searched anywhere in the text as Go's MatchString
//   does). A filter that does not compile matches nothing.
// - EventBuffer keeps the most recent kCapacity events in arrival order, each with the Lamport
//   time it was received at. Thread-safe (one short mutex); List copies.
// - EventIndex folds an event ID (a UUID) to Consul's blocking index: the first 16 hex digits
//   XOR the last 16; 0 for text that is not a UUID.
// - Events spread by gossip (agent::Cluster) as Serf user events; each agent filters and adds
//   the ones meant for it.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/core/status.h"
#include "beacon/core/thread_annotations.h"

namespace beacon::gossip {

struct UserEvent {
  std::string id;
  std::string name;
  std::string payload;
  bool has_payload = false;  // Consul shows "Payload": null when there is none
  std::string node_filter;
  std::string service_filter;
  std::string tag_filter;
  int version = 1;
  uint64_t ltime = 0;
  bool operator==(const UserEvent&) const = default;
};

constexpr int kUserEventMaxVersion = 1;

// "User event missing name", "Cannot provide tag filter without service filter", "Invalid node
// filter: ..." as Consul's agent words them.
Status ValidateUserEvent(const UserEvent& e);

// A local service as the filters see it.
struct LocalService {
  std::string id;
  std::vector<std::string> tags;
};
bool ShouldProcess(const UserEvent& e, std::string_view node_name,
                   const std::vector<LocalService>& services);

uint64_t EventIndex(std::string_view id);

// Over gossip (Consul's agent/user_event.go): a Serf user event named kConsulEventPrefix + name
// whose payload is the msgpack UserEvent (ID, n, p, nf, sf, tf, v). A Serf event without the
// prefix (a plain `serf event`) is taken as an event of that name with that payload.
inline constexpr std::string_view kConsulEventPrefix = "consul:event:";
std::vector<uint8_t> EncodeConsulUserEvent(const UserEvent& e);
Result<UserEvent> DecodeConsulUserEvent(std::span<const uint8_t> body);

class EventBuffer {
 public:
  static constexpr size_t kCapacity = 256;

  // Appends `e` with the next Lamport time (dropping the oldest past kCapacity); returns it.
  uint64_t Add(UserEvent e);
  // The events, oldest first; only those named `name` when it is not empty.
  std::vector<UserEvent> List(std::string_view name = {}) const;
  // EventIndex of the last event List(name) would return; 1 when it is empty.
  uint64_t Index(std::string_view name = {}) const;

 private:
  mutable Mutex mu_;
  std::deque<UserEvent> events_ GUARDED_BY(mu_);
  uint64_t clock_ GUARDED_BY(mu_) = 0;
};

}  // namespace beacon::gossip
