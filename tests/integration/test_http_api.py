#!/usr/bin/env python3
"""Every HTTP endpoint family end to end against the real binary, the way curl + jq users see it:
status codes, index headers, error texts, blocking, and registrations showing up in DNS at once.

Python 3 stdlib only; one -dev agent for the whole file (each test uses its own names).
"""

import base64
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, wait_for, watchdog  # noqa: E402

watchdog(150)


def b64(s):
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(node="itest", config={"datacenter": "dc1"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def req(self, method, path, body=None, headers=None, timeout=10.0):
        return self.agent.http(method, path, body, headers, timeout)

    def ok_json(self, method, path, body=None):
        r = self.req(method, path, body)
        self.assertEqual(r.status, 200, "%s %s: %r" % (method, path, r))
        return r.json() if r.body else None

    def assertIndexHeaders(self, r):
        self.assertIn("x-consul-index", r.headers, r)
        self.assertGreaterEqual(int(r.headers["x-consul-index"]), 1)
        self.assertEqual(r.headers.get("x-consul-knownleader"), "true")
        int(r.headers["x-consul-lastcontact"])  # an integer, as the Go client requires

    def dig_a(self, name):
        return [a["data"] for a in self.agent.dig(name, "A").records("answer", "A")]


class TestKv(ApiTest):
    def test_put_get_value_and_index_headers(self):
        r = self.req("PUT", "/v1/kv/app/conf", b"test_data")
        self.assertEqual((r.status, r.json()), (200, True))
        r = self.req("GET", "/v1/kv/app/conf")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type"), "application/json")
        self.assertIndexHeaders(r)
        [e] = r.json()
        self.assertEqual(e["Key"], "app/conf")
        self.assertEqual(base64.b64decode(e["Value"]), b"test_data")
        self.assertEqual(e["Flags"], 0)
        self.assertEqual(e["LockIndex"], 0)
        self.assertEqual(r.index, e["ModifyIndex"])
        self.assertNotIn("Session", e)
        # an update keeps CreateIndex and moves ModifyIndex
        self.assertTrue(self.ok_json("PUT", "/v1/kv/app/conf?flags=42", b"v2"))
        [e2] = self.ok_json("GET", "/v1/kv/app/conf")
        self.assertEqual(e2["CreateIndex"], e["CreateIndex"])
        self.assertGreater(e2["ModifyIndex"], e["ModifyIndex"])
        self.assertEqual(e2["Flags"], 42)
        # a PUT without ?flags resets them
        self.ok_json("PUT", "/v1/kv/app/conf", b"v3")
        self.assertEqual(self.ok_json("GET", "/v1/kv/app/conf")[0]["Flags"], 0)

    def test_missing_key_is_404_with_index(self):
        r = self.req("GET", "/v1/kv/no/such/key")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.body, b"")
        self.assertIndexHeaders(r)

    def test_raw_and_empty_value(self):
        self.ok_json("PUT", "/v1/kv/raw/k", b"\x00\x01binary\xff")
        r = self.req("GET", "/v1/kv/raw/k?raw")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"\x00\x01binary\xff")
        self.ok_json("PUT", "/v1/kv/raw/empty", b"")
        [e] = self.ok_json("GET", "/v1/kv/raw/empty")
        self.assertIsNone(e["Value"])
        self.assertEqual(self.req("GET", "/v1/kv/raw/none?raw").status, 404)

    def test_recurse_keys_separator(self):
        for k in ("tree/a", "tree/b/c", "tree/b/d", "tree/e/"):
            self.ok_json("PUT", "/v1/kv/" + k, k.encode())
        got = [e["Key"] for e in self.ok_json("GET", "/v1/kv/tree/?recurse")]
        self.assertEqual(got, ["tree/a", "tree/b/c", "tree/b/d", "tree/e/"])
        self.assertEqual(self.ok_json("GET", "/v1/kv/tree/?keys"),
                         ["tree/a", "tree/b/c", "tree/b/d", "tree/e/"])
        self.assertEqual(self.ok_json("GET", "/v1/kv/tree/?keys&separator=/"),
                         ["tree/a", "tree/b/", "tree/e/"])
        r = self.req("GET", "/v1/kv/nothing-here/?recurse")
        self.assertEqual(r.status, 404)
        self.assertIndexHeaders(r)

    def test_cas(self):
        self.assertTrue(self.ok_json("PUT", "/v1/kv/cas/k?cas=0", b"first"))
        self.assertFalse(self.ok_json("PUT", "/v1/kv/cas/k?cas=0", b"again"))
        [e] = self.ok_json("GET", "/v1/kv/cas/k")
        idx = e["ModifyIndex"]
        self.assertFalse(self.ok_json("PUT", "/v1/kv/cas/k?cas=%d" % (idx + 1000), b"x"))
        self.assertTrue(self.ok_json("PUT", "/v1/kv/cas/k?cas=%d" % idx, b"second"))
        [e] = self.ok_json("GET", "/v1/kv/cas/k")
        self.assertEqual(base64.b64decode(e["Value"]), b"second")
        self.assertFalse(self.ok_json("DELETE", "/v1/kv/cas/k?cas=%d" % idx))
        self.assertTrue(self.ok_json("DELETE", "/v1/kv/cas/k?cas=%d" % e["ModifyIndex"]))
        self.assertEqual(self.req("GET", "/v1/kv/cas/k").status, 404)

    def test_delete_and_delete_recurse(self):
        for k in ("del/a", "del/b", "del/c/d", "delx"):
            self.ok_json("PUT", "/v1/kv/" + k, b"1")
        self.assertTrue(self.ok_json("DELETE", "/v1/kv/del/a"))
        self.assertTrue(self.ok_json("DELETE", "/v1/kv/del/a"))  # missing: still true
        self.assertTrue(self.ok_json("DELETE", "/v1/kv/del/?recurse"))
        self.assertEqual(self.req("GET", "/v1/kv/del/?recurse").status, 404)
        self.assertEqual(self.req("GET", "/v1/kv/delx").status, 200)

    def test_bad_requests(self):
        r = self.req("GET", "/v1/kv/")
        self.assertEqual(r.status, 400)
        self.assertIn(b"Missing key name", r.body)
        self.assertEqual(self.req("PUT", "/v1/kv/a?cas=1&acquire=x", b"v").status, 400)
        self.assertEqual(self.req("DELETE", "/v1/kv/a?recurse&cas=1").status, 400)
        self.assertEqual(self.req("PUT", "/v1/kv/" + "k" * 600, b"v").status, 400)
        self.assertEqual(self.req("PUT", "/v1/kv/a/../b", b"v").status, 400)
        self.assertEqual(self.req("POST", "/v1/kv/a", b"v").status, 405)
        self.assertEqual(self.req("GET", "/v1/kv/a?index=notanumber").status, 400)
        self.assertEqual(self.req("GET", "/v1/kv/a?index=1&wait=forever").status, 400)

    def test_value_too_large_is_413_and_not_stored(self):
        r = self.req("PUT", "/v1/kv/big", b"x" * (512 * 1024 + 1), timeout=20)
        self.assertEqual(r.status, 413)
        self.assertEqual(self.req("GET", "/v1/kv/big").status, 404)
        r = self.req("PUT", "/v1/kv/big", b"x" * (512 * 1024), timeout=20)
        self.assertEqual(r.status, 200)

    def test_blocking_get_returns_on_write_and_ignores_other_keys(self):
        self.ok_json("PUT", "/v1/kv/block/k", b"v1")
        r = self.req("GET", "/v1/kv/block/k")
        idx = r.index
        results = {}

        def waiter():
            t0 = time.monotonic()
            results["reply"] = self.req("GET", "/v1/kv/block/k?index=%d&wait=20s" % idx, timeout=30)
            results["elapsed"] = time.monotonic() - t0

        th = threading.Thread(target=waiter)
        th.start()
        time.sleep(0.5)
        self.ok_json("PUT", "/v1/kv/block/other", b"unrelated")
        time.sleep(0.5)
        self.assertTrue(th.is_alive(), "a write to another key woke the blocking query")
        self.ok_json("PUT", "/v1/kv/block/k", b"v2")
        th.join(timeout=10)
        self.assertFalse(th.is_alive())
        r = results["reply"]
        self.assertEqual(r.status, 200)
        self.assertGreater(r.index, idx)
        self.assertEqual(base64.b64decode(r.json()[0]["Value"]), b"v2")
        self.assertLess(results["elapsed"], 5)

    def test_blocking_get_times_out_with_same_index(self):
        self.ok_json("PUT", "/v1/kv/block/t", b"v")
        idx = self.req("GET", "/v1/kv/block/t").index
        t0 = time.monotonic()
        r = self.req("GET", "/v1/kv/block/t?index=%d&wait=1s" % idx, timeout=10)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.status, 200)
        self.assertEqual(r.index, idx)
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 1.0 + 1.0 / 16 + 0.5)

    def test_blocking_on_missing_key_wakes_when_created(self):
        r = self.req("GET", "/v1/kv/block/later")
        self.assertEqual(r.status, 404)
        out = {}
        th = threading.Thread(target=lambda: out.setdefault(
            "r", self.req("GET", "/v1/kv/block/later?index=%d&wait=20s" % r.index, timeout=30)))
        th.start()
        time.sleep(0.3)
        self.ok_json("PUT", "/v1/kv/block/later", b"here")
        th.join(timeout=10)
        self.assertFalse(th.is_alive())
        self.assertEqual(out["r"].status, 200)


class TestTxn(ApiTest):
    def test_txn_set_get_and_rollback(self):
        ops = [{"KV": {"Verb": "set", "Key": "txn/a", "Value": b64("1")}},
               {"KV": {"Verb": "set", "Key": "txn/b", "Value": b64("2")}}]
        r = self.req("PUT", "/v1/txn", ops)
        self.assertEqual(r.status, 200, r)
        res = r.json()
        self.assertEqual([x["KV"]["Key"] for x in res["Results"]], ["txn/a", "txn/b"])
        self.assertIsNone(res["Errors"])
        r = self.req("PUT", "/v1/txn", [{"KV": {"Verb": "get", "Key": "txn/a"}}])
        self.assertEqual(base64.b64decode(r.json()["Results"][0]["KV"]["Value"]), b"1")
        # check-not-exists fails -> 409, and the set before it is not applied
        ops = [{"KV": {"Verb": "set", "Key": "txn/c", "Value": b64("3")}},
               {"KV": {"Verb": "check-not-exists", "Key": "txn/a"}}]
        r = self.req("PUT", "/v1/txn", ops)
        self.assertEqual(r.status, 409, r)
        body = r.json()
        self.assertIsNone(body["Results"])
        self.assertEqual(body["Errors"][0]["OpIndex"], 1)
        self.assertEqual(self.req("GET", "/v1/kv/txn/c").status, 404)

    def test_txn_malformed_and_too_many_ops(self):
        r = self.req("PUT", "/v1/txn", b"[{\"KV\": ")
        self.assertEqual(r.status, 400)
        ops = [{"KV": {"Verb": "set", "Key": "txn/many/%d" % i, "Value": b64("x")}}
               for i in range(200)]
        self.assertEqual(self.req("PUT", "/v1/txn", ops).status, 413)
        self.assertEqual(self.req("GET", "/v1/kv/txn/many/?recurse").status, 404)


class TestCatalog(ApiTest):
    def test_register_shows_in_dns_at_once_and_deregister_removes(self):
        body = {"Node": "ext1", "Address": "127.0.0.31", "NodeMeta": {"rack": "r9"},
                "Service": {"Service": "billing", "Tags": ["v1", "blue"], "Port": 7001,
                            "Meta": {"team": "pay"}},
                "Check": {"CheckID": "billing-ok", "Name": "billing ok", "Status": "passing",
                          "ServiceID": "billing"}}
        self.assertTrue(self.ok_json("PUT", "/v1/catalog/register", body))
        # immediately visible in DNS (no sleep)
        self.assertEqual(self.dig_a("billing.service.consul"), ["127.0.0.31"])
        self.assertEqual(self.dig_a("v1.billing.service.consul"), ["127.0.0.31"])
        srv = self.agent.dig("billing.service.consul", "SRV").records("answer", "SRV")
        self.assertEqual([r["data"].split()[2] for r in srv], ["7001"])
        self.assertEqual(self.dig_a("ext1.node.consul"), ["127.0.0.31"])
        r = self.req("GET", "/v1/catalog/services")
        self.assertIndexHeaders(r)
        self.assertEqual(r.header("x-consul-effective-consistency"), "leader")
        self.assertEqual(sorted(r.json()["billing"]), ["blue", "v1"])
        [sn] = self.ok_json("GET", "/v1/catalog/service/billing")
        self.assertEqual((sn["Node"], sn["Address"], sn["ServiceID"], sn["ServicePort"]),
                         ("ext1", "127.0.0.31", "billing", 7001))
        self.assertEqual(sn["ServiceMeta"], {"team": "pay"})
        self.assertEqual(sn["NodeMeta"], {"rack": "r9"})
        self.assertEqual(self.ok_json("GET", "/v1/catalog/service/billing?tag=BLUE")[0]["Node"],
                         "ext1")
        self.assertEqual(self.ok_json("GET", "/v1/catalog/service/billing?tag=green"), [])
        node = self.ok_json("GET", "/v1/catalog/node/ext1")
        self.assertEqual(node["Node"]["Address"], "127.0.0.31")
        self.assertIn("billing", node["Services"])
        names = [n["Node"] for n in self.ok_json("GET", "/v1/catalog/nodes")]
        self.assertIn("ext1", names)
        self.assertIn("itest", names)
        self.assertEqual(names, sorted(names))
        self.assertEqual(self.ok_json("GET", "/v1/catalog/nodes?node-meta=rack:r9")[0]["Node"],
                         "ext1")
        # deregister the service: gone from DNS at once, the node stays
        self.assertTrue(self.ok_json("PUT", "/v1/catalog/deregister",
                                     {"Node": "ext1", "ServiceID": "billing"}))
        r = self.agent.dig("billing.service.consul", "A")
        self.assertEqual(r.status, "NXDOMAIN")
        self.assertEqual(self.dig_a("ext1.node.consul"), ["127.0.0.31"])
        self.assertTrue(self.ok_json("PUT", "/v1/catalog/deregister", {"Node": "ext1"}))
        self.assertEqual(self.agent.dig("ext1.node.consul", "A").status, "NXDOMAIN")

    def test_lowercase_and_snake_case_bodies(self):
        body = {"node": "ext2", "address": "127.0.0.32",
                "service": {"service": "lc", "port": 1, "tags": ["x"]}}
        self.assertTrue(self.ok_json("PUT", "/v1/catalog/register", body))
        self.assertEqual(self.dig_a("lc.service.consul"), ["127.0.0.32"])
        self.assertTrue(self.ok_json("PUT", "/v1/catalog/deregister",
                                     {"node": "ext2", "service_id": "lc"}))
        self.assertEqual(self.ok_json("GET", "/v1/catalog/service/lc"), [])

    def test_datacenters_unknown_node_and_errors(self):
        self.assertEqual(self.ok_json("GET", "/v1/catalog/datacenters"), ["dc1"])
        r = self.req("GET", "/v1/catalog/node/nosuchnode")
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.json())
        self.assertIndexHeaders(r)
        r = self.req("PUT", "/v1/catalog/register", b"{\"Node\": \"x\", ")
        self.assertEqual(r.status, 400)
        self.assertTrue(r.header("content-type", "").startswith("text/plain"), r)
        r = self.req("PUT", "/v1/catalog/register", {"Address": "127.0.0.1"})
        self.assertIn(r.status, (400, 500))
        self.assertEqual(self.req("DELETE", "/v1/catalog/register").status, 405)

    def test_catalog_services_blocks_until_a_service_appears(self):
        r = self.req("GET", "/v1/catalog/services")
        idx = r.index
        out = {}
        th = threading.Thread(target=lambda: out.setdefault(
            "r", self.req("GET", "/v1/catalog/services?index=%d&wait=20s" % idx, timeout=30)))
        th.start()
        time.sleep(0.3)
        self.assertTrue(th.is_alive())
        self.ok_json("PUT", "/v1/catalog/register",
                     {"Node": "ext3", "Address": "127.0.0.33",
                      "Service": {"Service": "appears", "Port": 5}})
        th.join(timeout=10)
        self.assertFalse(th.is_alive())
        self.assertGreater(out["r"].index, idx)
        self.assertIn("appears", out["r"].json())
        self.ok_json("PUT", "/v1/catalog/deregister", {"Node": "ext3"})


class TestHealth(ApiTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for node, addr, status in (("h1", "127.0.0.41", "passing"), ("h2", "127.0.0.42", "warning"),
                                   ("h3", "127.0.0.43", "critical")):
            r = cls.agent.http("PUT", "/v1/catalog/register", {
                "Node": node, "Address": addr,
                "Service": {"Service": "hweb", "Tags": ["t-" + node], "Port": 80},
                "Checks": [{"CheckID": "hweb-" + node, "Name": "hweb check", "Status": status,
                            "ServiceID": "hweb"}]})
            assert r.status == 200, r

    def test_service_all_and_passing(self):
        r = self.req("GET", "/v1/health/service/hweb")
        self.assertIndexHeaders(r)
        entries = r.json()
        self.assertEqual(sorted(e["Node"]["Node"] for e in entries), ["h1", "h2", "h3"])
        for e in entries:
            self.assertEqual(e["Service"]["Service"], "hweb")
            self.assertIsInstance(e["Checks"], list)
        passing = self.ok_json("GET", "/v1/health/service/hweb?passing")
        self.assertEqual([e["Node"]["Node"] for e in passing], ["h1"])
        self.assertEqual(self.ok_json("GET", "/v1/health/service/hweb?passing=false"), entries)
        self.assertEqual(self.req("GET", "/v1/health/service/hweb?passing=maybe").status, 400)
        tagged = self.ok_json("GET", "/v1/health/service/hweb?tag=t-h2")
        self.assertEqual([e["Node"]["Node"] for e in tagged], ["h2"])
        self.assertEqual(self.ok_json("GET", "/v1/health/service/nosuch"), [])
        # DNS agrees: warning stays in DNS, critical does not
        self.assertEqual(sorted(self.dig_a("hweb.service.consul")), ["127.0.0.41", "127.0.0.42"])

    def test_checks_node_state(self):
        checks = self.ok_json("GET", "/v1/health/checks/hweb")
        self.assertEqual(sorted(c["CheckID"] for c in checks), ["hweb-h1", "hweb-h2", "hweb-h3"])
        node = self.ok_json("GET", "/v1/health/node/h3")
        self.assertEqual([c["CheckID"] for c in node], ["hweb-h3"])
        self.assertEqual(node[0]["Status"], "critical")
        self.assertEqual(node[0]["ServiceName"], "hweb")
        self.assertEqual(self.ok_json("GET", "/v1/health/node/nosuch"), [])
        crit = self.ok_json("GET", "/v1/health/state/critical")
        self.assertIn("hweb-h3", [c["CheckID"] for c in crit])
        self.assertNotIn("hweb-h1", [c["CheckID"] for c in crit])
        anyc = [c["CheckID"] for c in self.ok_json("GET", "/v1/health/state/any")]
        for c in ("hweb-h1", "hweb-h2", "hweb-h3"):
            self.assertIn(c, anyc)
        self.assertEqual(self.req("GET", "/v1/health/state/bogus").status, 400)

    def test_health_service_blocks_until_check_changes(self):
        idx = self.req("GET", "/v1/health/service/hweb").index
        out = {}
        th = threading.Thread(target=lambda: out.setdefault(
            "r", self.req("GET", "/v1/health/service/hweb?index=%d&wait=20s" % idx, timeout=30)))
        th.start()
        time.sleep(0.3)
        # an unrelated service must not wake it
        self.ok_json("PUT", "/v1/catalog/register", {"Node": "h9", "Address": "127.0.0.49",
                                                     "Service": {"Service": "unrelated"}})
        time.sleep(0.5)
        self.assertTrue(th.is_alive(), "an unrelated registration woke health/service/hweb")
        self.ok_json("PUT", "/v1/catalog/register", {
            "Node": "h3", "Address": "127.0.0.43", "Check": {
                "CheckID": "hweb-h3", "Name": "hweb check", "Status": "passing",
                "ServiceID": "hweb"}})
        th.join(timeout=10)
        self.assertFalse(th.is_alive())
        self.assertGreater(out["r"].index, idx)
        self.assertEqual(sorted(self.dig_a("hweb.service.consul")),
                         ["127.0.0.41", "127.0.0.42", "127.0.0.43"])
        self.ok_json("PUT", "/v1/catalog/register", {
            "Node": "h3", "Address": "127.0.0.43", "Check": {
                "CheckID": "hweb-h3", "Name": "hweb check", "Status": "critical",
                "ServiceID": "hweb"}})


class TestAgent(ApiTest):
    def test_self_and_members(self):
        s = self.ok_json("GET", "/v1/agent/self")
        self.assertEqual(s["Config"]["Datacenter"], "dc1")
        self.assertEqual(s["Config"]["NodeName"], "itest")
        for k, v in s.items():
            self.assertTrue(v is None or isinstance(v, dict), "agent/self %s is %r" % (k, type(v)))
        members = self.ok_json("GET", "/v1/agent/members")
        self.assertEqual(members[0]["Name"], "itest")
        self.assertEqual(members[0]["Status"], 1)

    def test_service_register_dns_ttl_and_deregister(self):
        body = {"Name": "api", "ID": "api-1", "Tags": ["v2"], "Port": 9090,
                "Meta": {"version": "2"}}
        r = self.req("PUT", "/v1/agent/service/register", body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"")
        svcs = self.ok_json("GET", "/v1/agent/services")
        self.assertEqual(svcs["api-1"]["Service"], "api")
        self.assertEqual(svcs["api-1"]["Tags"], ["v2"])
        self.assertEqual(svcs["api-1"]["Meta"], {"version": "2"})
        self.assertEqual(svcs["api-1"]["Port"], 9090)
        # at once in DNS, on the agent's own address
        self.assertEqual(self.dig_a("api.service.consul"), ["127.0.0.1"])
        srv = self.agent.dig("api.service.consul", "SRV").records("answer", "SRV")
        self.assertEqual([x["data"].split()[2] for x in srv], ["9090"])
        # a TTL check: critical until passed, then DNS has it again
        r = self.req("PUT", "/v1/agent/check/register",
                     {"Name": "api ttl", "CheckID": "api-ttl", "ServiceID": "api-1", "TTL": "30s"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.ok_json("GET", "/v1/agent/checks")["api-ttl"]["Status"], "critical")
        self.assertEqual(self.agent.dig("api.service.consul", "A").status, "NXDOMAIN")
        r = self.req("PUT", "/v1/agent/check/pass/api-ttl?note=all%20good")
        self.assertEqual(r.status, 200, r)
        c = self.ok_json("GET", "/v1/agent/checks")["api-ttl"]
        self.assertEqual((c["Status"], c["Output"]), ("passing", "all good"))
        self.assertEqual(self.dig_a("api.service.consul"), ["127.0.0.1"])
        [h] = self.ok_json("GET", "/v1/health/service/api?passing")
        self.assertEqual(h["Service"]["ID"], "api-1")
        self.assertEqual(self.req("PUT", "/v1/agent/check/warn/api-ttl").status, 200)
        self.assertEqual(self.ok_json("GET", "/v1/agent/checks")["api-ttl"]["Status"], "warning")
        r = self.req("PUT", "/v1/agent/check/update/api-ttl", {"Status": "passing", "Output": "x"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.req("PUT", "/v1/agent/check/update/api-ttl",
                                  {"Status": "bogus"}).status, 400)
        self.assertEqual(self.req("PUT", "/v1/agent/check/pass/no-such-check").status, 404)
        # deregister: gone from agent, catalog and DNS at once, its checks too
        self.assertEqual(self.req("PUT", "/v1/agent/service/deregister/api-1").status, 200)
        self.assertNotIn("api-1", self.ok_json("GET", "/v1/agent/services"))
        self.assertNotIn("api-ttl", self.ok_json("GET", "/v1/agent/checks"))
        self.assertEqual(self.agent.dig("api.service.consul", "A").status, "NXDOMAIN")
        r = self.req("PUT", "/v1/agent/service/deregister/api-1")
        self.assertEqual(r.status, 404)
        self.assertIn(b"Unknown service ID", r.body)

    def test_python_consul_style_get_on_write_paths_and_lowercase_keys(self):
        r = self.req("PUT", "/v1/agent/service/register",
                     {"name": "lower", "id": "lower-1", "port": 1, "tags": ["a"],
                      "enabletagoverride": True, "check": {"ttl": "10s"}})
        self.assertEqual(r.status, 200, r)
        checks = self.ok_json("GET", "/v1/agent/checks")
        self.assertIn("service:lower-1", checks)
        self.assertEqual(self.req("GET", "/v1/agent/check/pass/service:lower-1").status, 200)
        self.assertEqual(self.ok_json("GET", "/v1/agent/checks")["service:lower-1"]["Status"],
                         "passing")
        self.assertEqual(self.req("GET", "/v1/agent/service/deregister/lower-1").status, 200)
        self.assertNotIn("lower-1", self.ok_json("GET", "/v1/agent/services"))

    def test_register_errors(self):
        r = self.req("PUT", "/v1/agent/service/register", {"Port": 1})
        self.assertEqual(r.status, 400)
        self.assertIn(b"Missing service name", r.body)
        r = self.req("PUT", "/v1/agent/service/register", b"{not json")
        self.assertEqual(r.status, 400)
        self.assertIn(b"Request decode failed", r.body)
        # the check type is validated before the service (as Consul does): no type -> 400
        r = self.req("PUT", "/v1/agent/check/register", {"Name": "c", "ServiceID": "nope"})
        self.assertEqual(r.status, 400)
        self.assertIn(b"Invalid check", r.body)
        r = self.req("PUT", "/v1/agent/check/register",
                     {"Name": "c", "ServiceID": "nope", "TTL": "10s"})
        self.assertEqual(r.status, 404)
        self.assertIn(b'ServiceID "nope" does not exist', r.body)
        self.assertEqual(self.req("PUT", "/v1/agent/check/register", {"TTL": "1s"}).status, 400)
        # nothing partial was stored
        self.assertNotIn("c", self.ok_json("GET", "/v1/agent/checks"))

    def test_maintenance(self):
        self.assertEqual(self.req("PUT", "/v1/agent/service/register",
                                  {"Name": "mnt", "Port": 2}).status, 200)
        self.assertEqual(self.dig_a("mnt.service.consul"), ["127.0.0.1"])
        r = self.req("PUT", "/v1/agent/service/maintenance/mnt?enable=true&reason=upgrade")
        self.assertEqual(r.status, 200, r)
        c = self.ok_json("GET", "/v1/agent/checks")["_service_maintenance:mnt"]
        self.assertEqual((c["Status"], c["Notes"]), ("critical", "upgrade"))
        self.assertEqual(self.agent.dig("mnt.service.consul", "A").status, "NXDOMAIN")
        self.assertEqual(self.req("PUT", "/v1/agent/service/maintenance/mnt?enable=false").status,
                         200)
        self.assertEqual(self.dig_a("mnt.service.consul"), ["127.0.0.1"])
        self.assertEqual(self.req("PUT", "/v1/agent/service/maintenance/mnt").status, 400)
        self.assertEqual(self.req("PUT", "/v1/agent/service/maintenance/nope?enable=1").status,
                         404)
        self.assertEqual(self.req("PUT", "/v1/agent/maintenance?enable=true").status, 200)
        self.assertIn("_node_maintenance", self.ok_json("GET", "/v1/agent/checks"))
        self.assertEqual(self.req("PUT", "/v1/agent/maintenance?enable=false").status, 200)
        self.assertNotIn("_node_maintenance", self.ok_json("GET", "/v1/agent/checks"))
        self.req("PUT", "/v1/agent/service/deregister/mnt")

    def test_node_check_register_deregister(self):
        r = self.req("PUT", "/v1/agent/check/register",
                     {"Name": "disk", "ID": "disk", "TTL": "60s", "Status": "passing"})
        self.assertEqual(r.status, 200, r)
        self.assertIn("disk", [c["CheckID"] for c in self.ok_json("GET", "/v1/health/node/itest")])
        self.assertEqual(self.req("PUT", "/v1/agent/check/deregister/disk").status, 200)
        self.assertEqual(self.req("PUT", "/v1/agent/check/deregister/disk").status, 404)

    def test_reload(self):
        self.assertEqual(self.req("PUT", "/v1/agent/reload").status, 200)


class TestSession(ApiTest):
    def test_lifecycle_and_locks(self):
        r = self.req("PUT", "/v1/session/create", {"Name": "lock-holder", "TTL": "30s"})
        self.assertEqual(r.status, 200, r)
        sid = r.json()["ID"]
        self.assertEqual(len(sid), 36)
        r = self.req("GET", "/v1/session/info/" + sid)
        self.assertIndexHeaders(r)
        [info] = r.json()
        self.assertEqual((info["ID"], info["Name"], info["Node"], info["TTL"], info["Behavior"]),
                         (sid, "lock-holder", "itest", "30s", "release"))
        self.assertEqual(info["LockDelay"], 15 * 10**9)
        self.assertIn(sid, [s["ID"] for s in self.ok_json("GET", "/v1/session/list")])
        self.assertIn(sid, [s["ID"] for s in self.ok_json("GET", "/v1/session/node/itest")])
        [ren] = self.ok_json("PUT", "/v1/session/renew/" + sid)
        self.assertEqual(ren["ID"], sid)
        # locks
        self.assertTrue(self.ok_json("PUT", "/v1/kv/locks/a?acquire=" + sid, b"me"))
        [e] = self.ok_json("GET", "/v1/kv/locks/a")
        self.assertEqual((e["Session"], e["LockIndex"]), (sid, 1))
        self.assertTrue(self.ok_json("PUT", "/v1/kv/locks/a?acquire=" + sid, b"again"))
        self.assertEqual(self.ok_json("GET", "/v1/kv/locks/a")[0]["LockIndex"], 1)
        other = self.ok_json("PUT", "/v1/session/create", {"LockDelay": "0s"})["ID"]
        self.assertFalse(self.ok_json("PUT", "/v1/kv/locks/a?acquire=" + other, b"them"))
        self.assertFalse(self.ok_json("PUT", "/v1/kv/locks/a?release=" + other, b"x"))
        self.assertTrue(self.ok_json("PUT", "/v1/kv/locks/a?release=" + sid, b"free"))
        e = self.ok_json("GET", "/v1/kv/locks/a")[0]
        self.assertNotIn("Session", e)
        self.assertTrue(self.ok_json("PUT", "/v1/kv/locks/a?acquire=" + other, b"them"))
        self.assertEqual(self.ok_json("GET", "/v1/kv/locks/a")[0]["LockIndex"], 2)
        r = self.req("PUT", "/v1/kv/locks/b?acquire=00000000-0000-0000-0000-000000000000", b"x")
        self.assertEqual(r.status, 500)
        # destroy releases the lock (release behaviour)
        self.assertTrue(self.ok_json("PUT", "/v1/session/destroy/" + other))
        self.assertNotIn("Session", self.ok_json("GET", "/v1/kv/locks/a")[0])
        self.assertEqual(self.ok_json("GET", "/v1/session/info/" + other), [])
        self.assertTrue(self.ok_json("PUT", "/v1/session/destroy/" + sid))
        r = self.req("PUT", "/v1/session/renew/" + sid)
        self.assertEqual(r.status, 404)

    def test_delete_behavior_deletes_locked_keys(self):
        sid = self.ok_json("PUT", "/v1/session/create", {"Behavior": "delete"})["ID"]
        self.assertTrue(self.ok_json("PUT", "/v1/kv/eph/k?acquire=" + sid, b"x"))
        self.assertTrue(self.ok_json("PUT", "/v1/session/destroy/" + sid))
        self.assertEqual(self.req("GET", "/v1/kv/eph/k").status, 404)

    def test_bad_sessions(self):
        self.assertEqual(self.req("PUT", "/v1/session/create", {"Behavior": "explode"}).status, 500)
        self.assertEqual(self.req("PUT", "/v1/session/create", {"TTL": "1s"}).status, 500)
        self.assertEqual(self.req("PUT", "/v1/session/create", b"{").status, 400)


class TestStatusAndErrors(ApiTest):
    def test_status(self):
        server = "127.0.0.1:%d" % self.agent.server_port
        self.assertEqual(self.ok_json("GET", "/v1/status/leader"), server)
        self.assertEqual(self.ok_json("GET", "/v1/status/peers"), [server])

    def test_unknown_path_method_and_options(self):
        r = self.req("GET", "/v1/no/such/endpoint")
        self.assertEqual(r.status, 404)
        self.assertIn(b"Invalid URL path", r.body)
        r = self.req("DELETE", "/v1/catalog/services")
        self.assertEqual(r.status, 405)
        self.assertIn("GET", r.header("allow", ""))
        r = self.req("OPTIONS", "/v1/catalog/services")
        self.assertEqual(r.status, 200)
        self.assertIn("GET", r.header("allow", ""))

    def test_stale_and_consistent_together_is_400(self):
        self.assertEqual(self.req("GET", "/v1/catalog/services?stale&consistent").status, 400)
        r = self.req("GET", "/v1/catalog/services?stale")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("x-consul-effective-consistency"), "stale")

    def test_agent_survived(self):
        wait_for(self.agent.alive, 1, what="agent alive")


if __name__ == "__main__":
    unittest.main(verbosity=2)
