#!/usr/bin/env python3
"""Hostile input over raw UDP and TCP sockets (spec 1.1: miekg/dns default accept function).

After every test the server must still be running and answer a valid query over UDP and TCP.
"""

import os
import random
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent, build_query, check, parse_header, parse_message, seed_entry, svc  # noqa: E402

SILENCE = 0.5  # how long to wait before concluding "no reply"


def header(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


QUESTION = harness.encode_name("web.service.consul") + struct.pack("!HH", 1, 1)


class MalformedCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        seed = [seed_entry("web%d" % i, "127.0.0.%d" % (10 + i), service=svc("web", 80),
                           checks=[check("c", "passing", "web")]) for i in range(1, 4)]
        cls.agent = Agent(config={}, seed=seed).start()
        cls.port = cls.agent.dns_port
        cls.rng = random.Random(0xBEAC0)

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def tearDown(self):
        self.assertServerHealthy()

    # ---- helpers --------------------------------------------------------------------------------

    def assertServerHealthy(self):
        self.assertTrue(self.agent.alive(), "beacon exited (rc=%s):\n%s"
                        % (self.agent.proc.returncode, self.agent.log_text()[-4000:]))
        q = build_query("web.service.consul", "A", qid=0x7777)
        r = harness.udp_exchange(self.port, q, timeout=2)
        self.assertIsNotNone(r, "no UDP answer to a valid query")
        m = parse_message(r)
        self.assertEqual((m["id"], m["qr"], m["rcode_name"]), (0x7777, True, "NOERROR"))
        self.assertEqual(sorted(x["data"] for x in m["answer"]),
                         ["127.0.0.11", "127.0.0.12", "127.0.0.13"])
        r = harness.tcp_exchange(self.port, build_query("web.service.consul", "A", qid=0x7778))
        self.assertIsNotNone(r, "no TCP answer to a valid query")
        m = parse_message(r)
        self.assertEqual((m["id"], m["qr"], m["rcode_name"]), (0x7778, True, "NOERROR"))
        self.assertEqual(len(m["answer"]), 3)

    def udp(self, payload, timeout=SILENCE):
        return harness.udp_exchange(self.port, payload, timeout=timeout)

    def tcp(self, payload, timeout=3.0):
        """Send one length-prefixed message; return the reply, or None if the server closed."""
        with socket.create_connection((harness.LOOPBACK, self.port), timeout=timeout) as s:
            s.sendall(struct.pack("!H", len(payload)) + payload)
            try:
                return harness.tcp_read_msg(s)
            except (ConnectionResetError, socket.timeout):
                return None

    def assertRcode(self, reply, qid, rcode, opcode=0, what=""):
        self.assertIsNotNone(reply, "no reply, expected %s %s" % (rcode, what))
        h = parse_header(reply)
        self.assertTrue(h["qr"], "QR must be set in the reply %s" % what)
        self.assertEqual(h["id"], qid, "ID must be echoed %s" % what)
        self.assertEqual(h["rcode_name"], rcode, "%s: %r" % (what, h))
        self.assertEqual(h["opcode"], opcode, "opcode must be echoed %s" % what)

    def assertNotNoerrorAnswer(self, reply, what):
        """Bad input may get FORMERR or silence, never a normal answer."""
        if reply is None:
            return
        h = parse_header(reply)
        self.assertTrue(h["qr"], "%s: reply without QR" % what)
        self.assertEqual(h["rcode_name"], "FORMERR", "%s: %r" % (what, h))

    # ---- UDP ------------------------------------------------------------------------------------

    def test_short_garbage_is_dropped(self):
        # fewer than 12 bytes: no header to answer (miekg: "let client hang")
        for n in (0, 1, 2, 5, 11):
            with self.subTest(length=n):
                self.assertIsNone(self.udp(bytes(self.rng.getrandbits(8) for _ in range(n))))

    def test_truncated_header_of_valid_query(self):
        q = build_query("web.service.consul", "A", qid=0x2222)
        for n in (2, 6, 11):
            with self.subTest(length=n):
                self.assertIsNone(self.udp(q[:n]))

    def test_truncated_question(self):
        q = build_query("web.service.consul", "A", qid=0x2223)
        for n in (12, 13, 20, len(q) - 3, len(q) - 1):
            with self.subTest(length=n):
                self.assertNotNoerrorAnswer(self.udp(q[:n]), "question cut at %d" % n)

    def test_qr_set_is_ignored(self):
        q = build_query("web.service.consul", "A", qid=0x3333, qr=True)
        self.assertIsNone(self.udp(q, timeout=1.0), "a packet with QR=1 must be ignored")

    def test_wrong_opcode_notimp(self):
        for opcode in (1, 2, 5, 15):  # IQUERY, STATUS, UPDATE, unassigned
            with self.subTest(opcode=opcode, transport="udp"):
                q = build_query("web.service.consul", "A", qid=0x4400 + opcode, opcode=opcode)
                self.assertRcode(self.udp(q, timeout=2), 0x4400 + opcode, "NOTIMP", opcode)
            with self.subTest(opcode=opcode, transport="tcp"):
                q = build_query("web.service.consul", "A", qid=0x4500 + opcode, opcode=opcode)
                self.assertRcode(self.tcp(q), 0x4500 + opcode, "NOTIMP", opcode)

    def test_qdcount_2_formerr(self):
        q = header(qid=0x5555, qd=2) + QUESTION + QUESTION
        self.assertRcode(self.udp(q, timeout=2), 0x5555, "FORMERR", what="QDCOUNT=2")
        self.assertRcode(self.tcp(q), 0x5555, "FORMERR", what="QDCOUNT=2 over TCP")

    def test_bad_section_counts_formerr(self):
        cases = {"QDCOUNT=0": header(qid=0x5600, qd=0),
                 "ANCOUNT=2": header(qid=0x5601, an=2) + QUESTION,
                 "NSCOUNT=2": header(qid=0x5602, ns=2) + QUESTION,
                 "ARCOUNT=3": header(qid=0x5603, ar=3) + QUESTION}
        for what, q in cases.items():
            with self.subTest(case=what):
                qid = struct.unpack("!H", q[:2])[0]
                self.assertRcode(self.udp(q, timeout=2), qid, "FORMERR", what=what)

    def test_compression_loop_in_question(self):
        loops = {
            "self pointer": header(qid=0x6601) + b"\xc0\x0c" + struct.pack("!HH", 1, 1),
            "two-step loop": header(qid=0x6602) + b"\x03abc\xc0\x12\xc0\x0c" + struct.pack("!HH", 1, 1),
            "pointer past end": header(qid=0x6603) + b"\xc3\xff" + struct.pack("!HH", 1, 1),
            "label past end": header(qid=0x6604) + b"\x3fabc",
            "forward pointer": header(qid=0x6605) + b"\xc0\x0e\x00" + struct.pack("!HH", 1, 1),
            "reserved label type": header(qid=0x6606) + b"\x80abc\x00" + struct.pack("!HH", 1, 1),
        }
        for what, q in loops.items():
            with self.subTest(case=what, transport="udp"):
                self.assertNotNoerrorAnswer(self.udp(q), what)
            with self.subTest(case=what, transport="tcp"):
                self.assertNotNoerrorAnswer(self.tcp(q, timeout=2.0), what + " over TCP")

    def test_long_name(self):
        # 300-byte name (over the 255 limit) built from valid labels
        name = b"".join(b"\x3f" + b"a" * 63 for _ in range(5)) + b"\x00"
        q = header(qid=0x6700) + name + struct.pack("!HH", 1, 1)
        r = self.udp(q)
        if r is not None:
            h = parse_header(r)
            self.assertTrue(h["qr"])
            self.assertIn(h["rcode_name"], ("FORMERR", "NXDOMAIN", "REFUSED"), "%r" % h)

    def test_flood_of_random_packets(self):
        valid = build_query("web.service.consul", "A")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        replies = []
        sent_ids = set()
        try:
            for i in range(1000):
                kind = i % 4
                if kind == 0:  # pure noise
                    pkt = bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(0, 600)))
                elif kind == 1:  # mutated valid query
                    b = bytearray(valid)
                    for _ in range(self.rng.randint(1, 6)):
                        b[self.rng.randrange(len(b))] = self.rng.getrandbits(8)
                    pkt = bytes(b)
                elif kind == 2:  # valid header, random body
                    pkt = header(qid=self.rng.getrandbits(16)) + bytes(
                        self.rng.getrandbits(8) for _ in range(self.rng.randint(0, 100)))
                else:  # truncated valid query
                    pkt = valid[:self.rng.randint(0, len(valid))]
                if len(pkt) >= 2:
                    sent_ids.add(struct.unpack("!H", pkt[:2])[0])
                try:
                    s.sendto(pkt, (harness.LOOPBACK, self.port))
                except BlockingIOError:
                    time.sleep(0.001)
                while True:
                    try:
                        replies.append(s.recv(65535))
                    except (BlockingIOError, ConnectionRefusedError):
                        break
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                try:
                    replies.append(s.recv(65535))
                except (BlockingIOError, ConnectionRefusedError):
                    time.sleep(0.01)
        finally:
            s.close()
        for r in replies:
            h = parse_header(r)
            self.assertTrue(h["qr"], "a reply without QR (reflected packet?): %r" % r[:64])
            self.assertIn(h["id"], sent_ids)

    # ---- TCP ------------------------------------------------------------------------------------

    def test_tcp_pipelined_queries(self):
        qs = [build_query(n, "A", qid=0x7000 + i)
              for i, n in enumerate(("web.service.consul", "web1.node.consul", "nope.service.consul"))]
        with socket.create_connection((harness.LOOPBACK, self.port), timeout=3) as s:
            s.sendall(b"".join(struct.pack("!H", len(q)) + q for q in qs))
            got = {}
            for _ in qs:
                m = parse_message(harness.tcp_read_msg(s))
                got[m["id"]] = m["rcode_name"]
        self.assertEqual(got, {0x7000: "NOERROR", 0x7001: "NOERROR", 0x7002: "NXDOMAIN"})

    def test_oversized_tcp_length_prefix(self):
        # the prefix announces 65535 bytes of junk, all of it sent
        junk = bytes(self.rng.getrandbits(8) for _ in range(65535))
        with socket.create_connection((harness.LOOPBACK, self.port), timeout=3) as s:
            s.sendall(b"\xff\xff" + junk)
            s.settimeout(2)
            try:
                r = harness.tcp_read_msg(s)
            except (ConnectionResetError, socket.timeout):
                r = None
            if r is not None:
                self.assertTrue(parse_header(r)["qr"])
        # prefix 0, then a prefix promising more than is ever sent, then the client hangs up
        for payload in (b"\x00\x00", b"\xff\xff" + b"\x00" * 100, b"\x00\x20" + header()[:5]):
            with socket.create_connection((harness.LOOPBACK, self.port), timeout=3) as s:
                s.sendall(payload)
                time.sleep(0.05)
        # a valid query behind a length prefix bigger than the message: the server must not answer
        # it as if it were complete, and must survive
        q = build_query("web.service.consul", "A", qid=0x7100)
        with socket.create_connection((harness.LOOPBACK, self.port), timeout=3) as s:
            s.sendall(struct.pack("!H", len(q) + 50) + q)
            s.settimeout(0.5)
            try:
                r = s.recv(2)
            except socket.timeout:
                r = None
            self.assertFalse(r, "answered a message before all its announced bytes arrived")

    def test_half_sent_tcp_message_is_closed_after_idle(self):
        s = socket.create_connection((harness.LOOPBACK, self.port), timeout=3)
        try:
            s.sendall(b"\x00\x28" + header(qid=0x7200)[:10])  # announces 40 bytes, sends 10
            t0 = time.monotonic()
            # the server keeps serving others meanwhile
            self.assertIsNotNone(harness.tcp_exchange(self.port, build_query("web.service.consul")))
            s.settimeout(15)
            try:
                data = s.recv(100)
            except ConnectionResetError:
                data = b""
            except socket.timeout:
                self.fail("server did not close an idle half-sent TCP connection within 15 s")
            elapsed = time.monotonic() - t0
            self.assertEqual(data, b"", "expected a close, got data %r" % data)
            self.assertLess(elapsed, 15)
        finally:
            s.close()

    def test_tcp_connection_junk_flood(self):
        for i in range(50):
            with socket.create_connection((harness.LOOPBACK, self.port), timeout=3) as s:
                n = self.rng.randint(0, 300)
                s.sendall(bytes(self.rng.getrandbits(8) for _ in range(n)))
                if i % 2:
                    s.shutdown(socket.SHUT_WR)


if __name__ == "__main__":
    unittest.main(verbosity=2)
