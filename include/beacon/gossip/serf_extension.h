// SerfExtension: how a component rides on gossip::Serf with messages of its own.
//
// Contract: Serf hands every user message whose first byte is >= kExtensionTypeMin to
// NotifyMsg (whether it came by UDP gossip or a reliable TCP send), and piggybacks what
// GetBroadcasts returns on its gossip. Both are called on the gossip thread only; an extension
// needs no locks of its own for them. Messages are opaque bytes to Serf; the first byte is the
// extension's message type. Sending to one member is Serf::SendToMember(now, node, msg,
// reliable), called by the extension's owner.
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
  // size, and all of them together (with their overhead) must fit in `limit` bytes.
  virtual std::vector<Bytes> GetBroadcasts(std::size_t overhead, std::size_t limit) = 0;
};

}  // namespace beacon::gossip
