// When a server may invalidate sessions in a shared (etcd) store: ServerQuorum and
// SessionNodes::LapsedFor (src/agent/agent_sessions.h).
#include <doctest.h>

#include <cstdint>

#include "agent_sessions.h"

using beacon::agent::ServerQuorum;
using beacon::agent::SessionNodes;

TEST_CASE("server quorum: without gossip reports a single agent may invalidate") {
  ServerQuorum q(10000);
  CHECK(q.MayInvalidate());
}

TEST_CASE("server quorum: a strict majority alive, held for the settle period") {
  ServerQuorum q(10000);
  q.SetServers(1000, 3, 3);  // all alive since t=1 s
  CHECK_FALSE(q.MayInvalidate());
  q.SetServers(10999, 3, 3);
  CHECK_FALSE(q.MayInvalidate());
  q.SetServers(11000, 3, 3);
  CHECK(q.MayInvalidate());
  // Cut off: the two others turn suspect (not counted alive): 1 of 3 is no majority.
  q.SetServers(12000, 1, 3);
  CHECK_FALSE(q.MayInvalidate());
  // Healed: the majority is back, but the settle period starts again.
  q.SetServers(30000, 3, 3);
  CHECK_FALSE(q.MayInvalidate());
  q.SetServers(39999, 3, 3);
  CHECK_FALSE(q.MayInvalidate());
  q.SetServers(40000, 2, 3);  // one server failed for good: 2 of 3 is still a majority
  CHECK(q.MayInvalidate());
  // Two servers of two known: a split 1/1 has no majority on either side.
  ServerQuorum even(0);
  even.SetServers(0, 1, 2);
  CHECK_FALSE(even.MayInvalidate());
  even.SetServers(1, 2, 2);
  CHECK(even.MayInvalidate());
}

TEST_CASE("server quorum: an agent whose own probes fail may not invalidate") {
  // Cut off before it has probed every server: the others still look alive to it, but its
  // gossip health score (Lifeguard awareness) has risen; the gate closes and, once the score is
  // back down, reopens only after the settle period.
  ServerQuorum q(10000);
  q.SetServers(0, 3, 3, 0);
  q.SetServers(10000, 3, 3, 1);  // a busy agent's occasional missed ack changes nothing
  CHECK(q.MayInvalidate());
  q.SetServers(11000, 3, 3, ServerQuorum::kUnhealthyScore);
  CHECK_FALSE(q.MayInvalidate());
  q.SetServers(40000, 3, 3, 7);
  CHECK_FALSE(q.MayInvalidate());
  q.SetServers(41000, 3, 3, 1);
  CHECK_FALSE(q.MayInvalidate());
  q.SetServers(50999, 3, 3, 0);
  CHECK_FALSE(q.MayInvalidate());
  q.SetServers(51000, 3, 3, 0);
  CHECK(q.MayInvalidate());
  // A lone server decides alone, whatever its score (its only client died: nobody acks).
  ServerQuorum lone(0);
  lone.SetServers(0, 1, 1, 5);
  CHECK(lone.MayInvalidate());
}

TEST_CASE("session nodes: a node lapses only after looking lapsed for the grace period") {
  beacon::core::FakeClock clock(0);
  SessionNodes n(clock, 3000);
  CHECK_FALSE(n.LapsedFor("web-1", true));  // first seen lapsed at t=0
  clock.Advance(2999 - clock.MonotonicMs());
  CHECK_FALSE(n.LapsedFor("web-1", true));
  clock.Advance(3000 - clock.MonotonicMs());
  CHECK(n.LapsedFor("web-1", true));
  // A refutation in between starts the grace again.
  CHECK_FALSE(n.LapsedFor("web-2", true));
  clock.Advance(3100 - clock.MonotonicMs());
  CHECK_FALSE(n.LapsedFor("web-2", false));
  clock.Advance(5000 - clock.MonotonicMs());
  CHECK_FALSE(n.LapsedFor("web-2", true));
  clock.Advance(7999 - clock.MonotonicMs());
  CHECK_FALSE(n.LapsedFor("web-2", true));
  clock.Advance(8000 - clock.MonotonicMs());
  CHECK(n.LapsedFor("web-2", true));
}
