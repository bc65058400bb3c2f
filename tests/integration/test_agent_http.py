#!/usr/bin/env python3
"""The agent's HTTP API reads the same catalog DNS answers from (read-only endpoints so far)."""

import http.client
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, check, dig, seed_entry, svc  # noqa: E402


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        conn.close()


class TestAgentHttp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        seed = [
            seed_entry("n1", "127.0.0.21", svc("web", 80, tags=["rails"]),
                       checks=[check("web-ok", "passing", "web")]),
            seed_entry("n2", "127.0.0.22", svc("web", 80, tags=["rails"]),
                       checks=[check("web-bad", "critical", "web")]),
        ]
        cls.agent = Agent(seed=seed)
        cls.agent.start()
        cls.port = cls.agent.http_port

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()

    def test_catalog_services_lists_tags_with_index_headers(self):
        status, headers, body = get(self.port, "/v1/catalog/services")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertGreaterEqual(int(headers["x-consul-index"]), 1)
        self.assertEqual(headers["x-consul-knownleader"], "true")
        self.assertEqual(json.loads(body)["web"], ["rails"])

    def test_health_passing_matches_dns(self):
        status, _, body = get(self.port, "/v1/health/service/web?passing")
        self.assertEqual(status, 200)
        nodes = sorted(e["Node"]["Node"] for e in json.loads(body))
        self.assertEqual(nodes, ["n1"])
        r = dig(self.agent.dns_port, "web.service.consul", "A")
        self.assertEqual([a["data"] for a in r.answer], ["127.0.0.21"])

    def test_unknown_path_is_404_with_an_index(self):
        status, headers, _ = get(self.port, "/v1/no/such/thing")
        self.assertEqual(status, 404)
        status, headers, body = get(self.port, "/v1/catalog/service/nosuch")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), [])
        self.assertGreaterEqual(int(headers["x-consul-index"]), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
