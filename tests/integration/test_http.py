"""The HTTP API as a Python client sees it: shapes, headers, keep-alive, limits.

The agent does not serve HTTP yet, so this drives tests/unit/api/http_demo_server (a fixed
catalog behind the same router and server); it is found in the build tree next to $BEACON.
"""

import http.client
import json
import os
import subprocess
import unittest

BEACON = os.environ.get("BEACON", "/work/main/build/beacon")
DEMO = os.path.join(os.path.dirname(BEACON), "tests", "unit", "api", "http_demo_server")


class TestHttp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc = subprocess.Popen([DEMO], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        cls.port = int(cls.proc.stdout.readline())

    @classmethod
    def tearDownClass(cls):
        cls.proc.stdin.close()
        cls.proc.wait(timeout=10)

    def get(self, path, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        if conn is None:
            c.close()
        return r, body

    def test_status(self):
        r, body = self.get("/v1/status/leader")
        self.assertEqual(r.status, 200)
        self.assertEqual(json.loads(body), "127.0.0.1:8300")
        self.assertEqual(json.loads(self.get("/v1/status/peers")[1]), ["127.0.0.1:8300"])

    def test_catalog_services_and_service(self):
        r, body = self.get("/v1/catalog/services")
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        self.assertGreaterEqual(int(r.getheader("X-Consul-Index")), 1)
        self.assertEqual(r.getheader("X-Consul-KnownLeader"), "true")
        self.assertEqual(sorted(json.loads(body)["web"]), ["primary", "v1"])
        r, body = self.get("/v1/catalog/service/web?tag=primary")
        nodes = json.loads(body)
        self.assertEqual(len(nodes), 1)
        self.assertEqual(nodes[0]["ServiceID"], "web1")
        self.assertEqual(nodes[0]["ServicePort"], 8080)
        self.assertEqual(nodes[0]["Address"], "10.0.0.1")
        self.assertEqual(nodes[0]["NodeMeta"], {"rack": "r1"})
        self.assertEqual(json.loads(self.get("/v1/catalog/service/nope")[1]), [])

    def test_health_service_passing(self):
        entries = json.loads(self.get("/v1/health/service/web")[1])
        self.assertEqual(len(entries), 2)
        entries = json.loads(self.get("/v1/health/service/web?passing")[1])
        self.assertEqual([e["Service"]["ID"] for e in entries], ["web1"])
        check = entries[0]["Checks"][0]
        self.assertEqual(check["Status"], "passing")
        self.assertEqual(check["Interval"], "10s")
        self.assertEqual(check["Type"], "http")

    def test_keep_alive_and_errors(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        for _ in range(3):
            r, _ = self.get("/v1/catalog/nodes", conn=c)
            self.assertEqual(r.status, 200)
        r, body = self.get("/v1/catalog/bogus", conn=c)
        self.assertEqual(r.status, 404)
        self.assertIsNotNone(r.getheader("X-Consul-Index"))
        c.request("PUT", "/v1/status/leader", body=b"")
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 405)
        self.assertEqual(r.getheader("Allow"), "OPTIONS,GET")
        c.request("PUT", "/v1/status/leader", body=b"x" * (600 * 1024))
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 413)
        c.close()


if __name__ == "__main__":
    unittest.main()
