#!/usr/bin/env python3
"""Defects found in review, through the real binary: more DNS workers than one block of
snapshot reader slots, and hostile HTTP clients (deep JSON, over-long names, pipelining
without reading).
"""

import json
import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent, build_query, check, parse_message, seed_entry, svc  # noqa: E402


class ManyDnsWorkers(unittest.TestCase):
    def test_65_workers_answer(self):
        seed = [seed_entry("web1", "127.0.0.11", service=svc("web", 80),
                           checks=[check("c", "passing", "web")])]
        agent = Agent(config={}, seed=seed, extra_args=["-dns-workers", "65"]).start()
        try:
            # Each exchange uses a fresh socket (a new source port), so SO_REUSEPORT spreads
            # the queries over the workers; every one of them must answer.
            for i in range(300):
                r = harness.udp_exchange(agent.dns_port,
                                         build_query("web.service.consul", "A", qid=i + 1))
                self.assertIsNotNone(r, "no answer to query %d" % i)
                m = parse_message(r)
                self.assertEqual((m["id"], m["rcode_name"]), (i + 1, "NOERROR"))
                self.assertEqual([x["data"] for x in m["answer"]], ["127.0.0.11"])
            for i in range(20):
                r = harness.tcp_exchange(agent.dns_port,
                                         build_query("web.service.consul", "A", qid=1000 + i))
                self.assertIsNotNone(r)
                self.assertEqual(parse_message(r)["rcode_name"], "NOERROR")
            self.assertTrue(agent.alive(), agent.log_text()[-4000:])
            self.assertIn("65 worker(s)", agent.log_text())
        finally:
            agent.close()


class HostileHttp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(config={}).start()
        cls.port = cls.agent.http_port

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def tearDown(self):
        self.assertTrue(self.agent.alive(), self.agent.log_text()[-4000:])
        r = harness.http_request(self.port, "GET", "/v1/agent/self")
        self.assertEqual(r.status, 200)

    def test_deeply_nested_bodies_are_400(self):
        deep = '{"Name":"x","Meta":' + '{"a":' * 35000 + "1" + "}" * 35000 + "}"
        for path in ("/v1/agent/service/register", "/v1/agent/check/register"):
            r = harness.http_request(self.port, "PUT", path, deep)
            self.assertEqual(r.status, 400, r.body[:200])
            self.assertTrue(r.body.startswith(b"Request decode failed: "), r.body[:200])
            self.assertIn(b"nested deeper than", r.body)

    def test_over_long_names_are_400_and_nothing_leaks(self):
        name = "s" * 70000
        for _ in range(3):
            r = harness.http_request(self.port, "PUT", "/v1/agent/service/register",
                                     {"Name": name, "Port": 1})
            self.assertEqual(r.status, 400)
            self.assertEqual(r.body, b"Invalid service name: longer than 256 bytes\n")
        r = harness.http_request(self.port, "PUT", "/v1/catalog/register",
                                 {"Node": "n1", "Address": "127.0.0.9",
                                  "Service": {"Service": name}})
        self.assertEqual(r.status, 400)
        r = harness.http_request(self.port, "GET", "/v1/agent/services")
        self.assertEqual(r.status, 200)
        self.assertNotIn(b"sss", r.body)
        ok = "s" * 256
        r = harness.http_request(self.port, "PUT", "/v1/agent/service/register",
                                 {"Name": ok, "Port": 1})
        self.assertEqual(r.status, 200)
        r = harness.http_request(self.port, "GET", "/v1/agent/services")
        self.assertIn(ok.encode(), r.body)
        r = harness.http_request(self.port, "PUT", "/v1/agent/service/deregister/" + ok)
        self.assertEqual(r.status, 200)

    def test_connection_close_response_reaches_a_slow_reader_whole(self):
        # A response far larger than the socket buffers, asked for with Connection: close by a
        # client that starts reading only after the server's 1 s drain time: it arrives whole.
        value = b"v" * (512 * 1024 - 1)
        for i in range(12):
            r = harness.http_request(self.port, "PUT", "/v1/kv/big/%02d" % i, value)
            self.assertEqual(r.status, 200)
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            s.sendall(b"GET /v1/kv/big/?recurse HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
            time.sleep(2.5)
            data = b""
            while True:
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head[:100])
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        self.assertGreater(length, 8 * 1024 * 1024)
        self.assertEqual(len(body), length)
        self.assertEqual(len(json.loads(body)), 12)
        r = harness.http_request(self.port, "DELETE", "/v1/kv/big/?recurse")
        self.assertEqual(r.status, 200)


if __name__ == "__main__":
    unittest.main()
