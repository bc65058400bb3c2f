#!/usr/bin/env python3
"""Bursts of UDP queries from a few client sockets, answered in batches.

The DNS worker reads many datagrams per recvmmsg and sends replies of equal length to one client
as one UDP GSO message (UDP_SEGMENT), which the kernel splits back into datagrams. Under load it
also waits dns_udp_batch_wait (default 50us) after a short batch before reading again, so that
batches grow (receive coalescing, include/beacon/net/udp_pacer.h). Whatever the batching, every
query must get exactly one reply, on the socket that asked, that is a whole DNS message and
carries the same answer as the same question asked alone; and a client asking one question at a
time never meets a wait (the beacon.dns.udp_waits counter says when the worker waited).
"""

import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent, build_query, parse_message, seed_entry, svc  # noqa: E402

WAIT = 10.0  # seconds for a whole burst's replies


def udp_waits(agent):
    j = agent.api("GET", "/v1/agent/metrics")
    return [c["Count"] for c in j["Counters"] if c["Name"] == "beacon.dns.udp_waits"][0]


def summary(m):
    """Rcode and each section's records, order ignored: owner, type and, for A/AAAA, the address
    (other rdata may hold compressed names whose bytes depend on the records' shuffled order)."""
    def rrs(section):
        return sorted((r["name"].lower(), str(r["type"]), r.get("data", "")) for r in m[section])
    return (m["rcode_name"], rrs("answer"), rrs("authority"), rrs("additional"))


class DnsBurstCase(unittest.TestCase):
    CONFIG = {}  # the default: receive coalescing on

    @classmethod
    def setUpClass(cls):
        seed = []
        for i in range(1, 4):
            seed.append(seed_entry("web%d" % i, "127.0.1.%d" % i, service=svc("web", 80)))
            seed.append(seed_entry("db%d" % i, "127.0.2.%d" % i, service=svc("db", 5432)))
        cls.agent = Agent(config=cls.CONFIG, seed=seed).start()
        cls.port = cls.agent.dns_port
        # Equal-length replies (the same name and type) and a mix of lengths and rcodes.
        cls.questions = [("web.service.consul", "A"), ("db.service.consul", "A"),
                         ("web.service.consul", "SRV"), ("_db._tcp.service.consul", "SRV"),
                         ("web1.node.consul", "A"), ("missing.service.consul", "A")]
        cls.alone = {}
        for name, qtype in cls.questions:
            r = harness.udp_exchange(cls.port, build_query(name, qtype, qid=1), timeout=3)
            assert r is not None, "no reply to %s %s" % (name, qtype)
            cls.alone[(name, qtype)] = (len(r), summary(parse_message(r)))

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def burst(self, socks, per_sock, pick):
        """Sends per_sock queries on each socket without waiting, then collects the replies."""
        sent = {}  # (socket index, qid) -> question
        for k in range(per_sock):
            for si, s in enumerate(socks):
                qid = (si << 12) | k
                q = pick(k)
                sent[(si, qid)] = q
                s.sendto(build_query(q[0], q[1], qid=qid), (harness.LOOPBACK, self.port))
        got = {}
        deadline = time.monotonic() + WAIT
        for s in socks:
            s.setblocking(False)
        while len(got) < len(sent) and time.monotonic() < deadline:
            idle = True
            for si, s in enumerate(socks):
                try:
                    data = s.recv(65535)
                except BlockingIOError:
                    continue
                idle = False
                m = parse_message(data)
                m["length"] = len(data)
                key = (si, m["id"])
                self.assertIn(key, sent, "reply %#x on socket %d to a query it did not send"
                              % (m["id"], si))
                self.assertNotIn(key, got, "two replies to query %#x on socket %d" % (m["id"], si))
                got[key] = m
            if idle:
                time.sleep(0.005)
        self.assertEqual(len(got), len(sent), "replies missing: %d of %d"
                         % (len(sent) - len(got), len(sent)))
        for key, m in got.items():
            q = sent[key]
            self.assertEqual(m["question"][0][0].rstrip(".").lower(), q[0])
            # The same length as alone: a datagram neither cut nor glued to the next segment.
            self.assertEqual((m["length"], summary(m)), self.alone[q], "%s %s in a burst" % q)

    def sockets(self, n):
        socks = []
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind((harness.LOOPBACK, 0))
            socks.append(s)
            self.addCleanup(s.close)
        return socks

    def test_same_question_from_one_socket(self):
        # Every reply has the same length: the worker may send them as segments of one message.
        self.burst(self.sockets(1), 200, lambda k: ("web.service.consul", "A"))

    def test_mixed_questions_from_several_sockets(self):
        qs = self.questions
        self.burst(self.sockets(3), 150, lambda k: qs[(k * 7) % len(qs)])

    def test_server_still_answers_single_queries(self):
        self.burst(self.sockets(2), 100, lambda k: ("db.service.consul", "A"))
        r = harness.udp_exchange(self.port, build_query("db.service.consul", "A", qid=0x55), 3)
        self.assertIsNotNone(r)
        self.assertEqual(parse_message(r)["id"], 0x55)

    def test_one_question_at_a_time_never_waits(self):
        before = udp_waits(self.agent)
        for k in range(300):
            q = self.questions[k % len(self.questions)]
            r = harness.udp_exchange(self.port, build_query(q[0], q[1], qid=k), timeout=3)
            self.assertIsNotNone(r, "no reply to %s %s" % q)
            self.assertEqual((len(r), summary(parse_message(r))), self.alone[q])
        self.assertEqual(udp_waits(self.agent), before)

    def test_sustained_bursts_wait_and_lose_nothing(self):
        # Each burst is well above the 80,000 queries/s at which a 50us wait gathers 4 more
        # queries; whether a given burst's tail meets a short batch depends on scheduling, so
        # bursts repeat (each checked whole) until one did.
        qs = self.questions
        before = udp_waits(self.agent)
        deadline = time.monotonic() + 30
        while udp_waits(self.agent) == before and time.monotonic() < deadline:
            self.burst(self.sockets(4), 400, lambda k: qs[(k * 5) % len(qs)])
        self.assertGreater(udp_waits(self.agent), before)


class DnsBurstNoCoalescingCase(DnsBurstCase):
    """dns_udp_batch_wait "0": the same bursts, answered without ever waiting."""
    CONFIG = {"dns_udp_batch_wait": "0"}

    def test_sustained_bursts_wait_and_lose_nothing(self):
        qs = self.questions
        for _ in range(3):
            self.burst(self.sockets(4), 400, lambda k: qs[(k * 5) % len(qs)])
        self.assertEqual(udp_waits(self.agent), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
