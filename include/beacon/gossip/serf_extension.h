// SerfExtension: how a component rides on gossip::Serf with messages of its own.
//
// Contract: Serf hands every user message whose first byte is >= kExtensionTypeMin to
// NotifyMsg (whether it came by UDP gossip or a reliable TCP send), and piggybacks what
// GetBroadcasts returns on its gossip. Both are called on the gossip thread only; an extension
// needs no locks of its own for them. Messages are opaque bytes to Serf; the first byte is the
// extension's message type. Sending to one member is Serf::SendToMember(now, node, msg,
// reliable), called by the extension's owner. An extension may also ride in Serf's push-pull
// state (PushPullState / MergePushPullState): Serf carries those bytes in its push-pull message
// under a key stock Serf does not know ("Beacon"), and stock Serf's decoder skips unknown keys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "beacon/gossip/memberlist_wire.h"

namespace beacon::gossip {

inline constexpr std::uint8_t kExtensionTypeMin = 0x80;  // our messages' first byte is >= this

class SerfExtension {
 public:
  virtual ~SerfExtension() = default;
  // One of our messages arrived (UDP gossip or TCP reliable), type byte included.
  virtual void NotifyMsg(ByteView msg) = 0;
  // Our broadcasts to piggyback: each message costs `overhead` bytes of framing on top of its
  // size, and all of them together (with their overhead) must fit in `limit` bytes. Messages
  // not starting with a byte >= kExtensionTypeMin, or past `limit`, are dropped. The extension
  // counts its own retransmits: Serf sends what it returns once, and nobody relays it.
  virtual std::vector<Bytes> GetBroadcasts(std::size_t overhead, std::size_t limit) = 0;
  // Messages ever queued for GetBroadcasts (only grows): a change makes gossip send early
  // (MembershipDelegate::BroadcastsQueued).
  virtual std::uint64_t BroadcastsQueued() const { return 0; }
  // Bytes to carry in this node's push-pull state (every push-pull, both directions); empty:
  // none (the push-pull message is then exactly Serf's).
  virtual Bytes PushPullState() { return {}; }
  // A peer's PushPullState as its push-pull message carried it (never called for a peer whose
  // message had none, such as stock Serf). join: the push-pull of a join.
  virtual void MergePushPullState(ByteView state, bool join) {
    (void)state;
    (void)join;
  }
};

}  // namespace beacon::gossip
