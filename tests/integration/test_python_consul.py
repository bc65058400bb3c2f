#!/usr/bin/python3
"""Debian's python3-consul 0.7.1 drives the real binary unchanged: kv, agent, catalog, health,
session (with locks), status, and a blocking kv.get(index=...) that returns when another client
writes.

Run with /usr/bin/python3 (Debian's dist-packages); skipped (exit 77) when python3-consul is
not installed.
"""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, skip, watchdog  # noqa: E402

try:
    import consul  # noqa: E402
except ImportError:
    skip("python3-consul is not installed for %s (apt-get install python3-consul)" % sys.executable)


watchdog(150)


class PythonConsulTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(node="pynode").start()
        cls.c = consul.Consul(host="127.0.0.1", port=cls.agent.http_port)

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def dig_a(self, name):
        return [a["data"] for a in self.agent.dig(name, "A").records("answer", "A")]


class TestKv(PythonConsulTest):
    def test_put_get_recurse_delete(self):
        # its own prefix: the other tests leave keys under py/ (one agent for the whole file)
        kv = self.c.kv
        self.assertTrue(kv.put("py/rec/a", "1"))
        self.assertTrue(kv.put("py/rec/b/c", b"2", flags=7))
        index, e = kv.get("py/rec/a")
        self.assertGreaterEqual(int(index), 1)
        self.assertEqual((e["Key"], e["Value"], e["Flags"]), ("py/rec/a", b"1", 0))
        _, e = kv.get("py/rec/b/c")
        self.assertEqual((e["Value"], e["Flags"]), (b"2", 7))
        _, es = kv.get("py/rec/", recurse=True)
        self.assertEqual([(x["Key"], x["Value"]) for x in es],
                         [("py/rec/a", b"1"), ("py/rec/b/c", b"2")])
        _, keys = kv.get("py/rec/", keys=True, separator="/")
        self.assertEqual(keys, ["py/rec/a", "py/rec/b/"])
        index, missing = kv.get("py/rec/missing")
        self.assertIsNone(missing)
        self.assertGreaterEqual(int(index), 1)
        self.assertTrue(kv.delete("py/rec/a"))
        self.assertIsNone(kv.get("py/rec/a")[1])
        self.assertTrue(kv.delete("py/rec/", recurse=True))
        self.assertIsNone(kv.get("py/rec/", recurse=True)[1])

    def test_put_none_stores_null(self):
        self.assertTrue(self.c.kv.put("py/none", None))
        self.assertIsNone(self.c.kv.get("py/none")[1]["Value"])

    def test_cas(self):
        kv = self.c.kv
        self.assertTrue(kv.put("py/cas", "v1", cas=0))
        self.assertFalse(kv.put("py/cas", "v2", cas=0))
        _, e = kv.get("py/cas")
        self.assertFalse(kv.put("py/cas", "v2", cas=e["ModifyIndex"] + 100))
        self.assertTrue(kv.put("py/cas", "v2", cas=e["ModifyIndex"]))
        self.assertEqual(kv.get("py/cas")[1]["Value"], b"v2")
        self.assertFalse(kv.delete("py/cas", cas=e["ModifyIndex"]))
        self.assertTrue(kv.delete("py/cas", cas=kv.get("py/cas")[1]["ModifyIndex"]))

    def test_blocking_watch_returns_when_another_client_writes(self):
        kv = self.c.kv
        kv.put("py/watch", "before")
        index, _ = kv.get("py/watch")
        other = consul.Consul(host="127.0.0.1", port=self.agent.http_port)
        out = {}

        def watcher():
            t0 = time.monotonic()
            # wait given so a broken server cannot hang the test for the 5 min default
            out["r"] = kv.get("py/watch", index=index, wait="20s")
            out["t"] = time.monotonic() - t0

        th = threading.Thread(target=watcher, daemon=True)
        th.start()
        time.sleep(0.5)
        self.assertTrue(th.is_alive(), "kv.get(index=...) did not block")
        self.assertTrue(other.kv.put("py/watch", "after"))
        th.join(timeout=10)
        self.assertFalse(th.is_alive(), "blocking kv.get did not return after the write")
        new_index, e = out["r"]
        self.assertGreater(int(new_index), int(index))
        self.assertEqual(e["Value"], b"after")
        self.assertLess(out["t"], 5)

    def test_blocking_watch_on_missing_key(self):
        index, e = self.c.kv.get("py/appears")
        self.assertIsNone(e)
        out = {}
        th = threading.Thread(target=lambda: out.setdefault(
            "r", self.c.kv.get("py/appears", index=index, wait="20s")), daemon=True)
        th.start()
        time.sleep(0.3)
        consul.Consul(port=self.agent.http_port).kv.put("py/appears", "now")
        th.join(timeout=10)
        self.assertFalse(th.is_alive())
        self.assertEqual(out["r"][1]["Value"], b"now")


class TestAgent(PythonConsulTest):
    def test_self_members(self):
        s = self.c.agent.self()
        self.assertEqual(s["Config"]["NodeName"], "pynode")
        self.assertEqual(s["Config"]["Datacenter"], "dc1")
        self.assertEqual([m["Name"] for m in self.c.agent.members()], ["pynode"])

    def test_service_register_ttl_pass_deregister(self):
        a = self.c.agent
        self.assertTrue(a.service.register("pyweb", service_id="pyweb-1", port=8080,
                                           tags=["a", "b"], check=consul.Check.ttl("30s")))
        svcs = a.services()
        self.assertEqual(svcs["pyweb-1"]["Service"], "pyweb")
        self.assertEqual(sorted(svcs["pyweb-1"]["Tags"]), ["a", "b"])
        self.assertEqual(svcs["pyweb-1"]["Port"], 8080)
        checks = a.checks()
        self.assertEqual(checks["service:pyweb-1"]["Status"], "critical")
        self.assertEqual(self.agent.dig("pyweb.service.consul", "A").status, "NXDOMAIN")
        # python-consul sends GET to check/pass (spec 0.3: accepted)
        self.assertTrue(a.check.ttl_pass("service:pyweb-1", "fine"))
        c = a.checks()["service:pyweb-1"]
        self.assertEqual((c["Status"], c["Output"]), ("passing", "fine"))
        self.assertEqual(self.dig_a("pyweb.service.consul"), ["127.0.0.1"])
        self.assertTrue(a.check.ttl_warn("service:pyweb-1"))
        self.assertEqual(a.checks()["service:pyweb-1"]["Status"], "warning")
        self.assertTrue(a.check.ttl_fail("service:pyweb-1"))
        self.assertEqual(a.checks()["service:pyweb-1"]["Status"], "critical")
        # GET on service/deregister too
        self.assertTrue(a.service.deregister("pyweb-1"))
        self.assertNotIn("pyweb-1", a.services())
        self.assertNotIn("service:pyweb-1", a.checks())

    def test_check_register_deregister(self):
        a = self.c.agent
        self.assertTrue(a.check.register("nodettl", check=consul.Check.ttl("60s"),
                                         check_id="py-node-ttl", notes="n"))
        self.assertIn("py-node-ttl", a.checks())
        self.assertTrue(a.check.ttl_pass("py-node-ttl"))
        self.assertTrue(a.check.deregister("py-node-ttl"))
        self.assertNotIn("py-node-ttl", a.checks())
        self.assertFalse(a.check.deregister("py-node-ttl"))  # 404 -> False

    def test_service_with_http_check_dict(self):
        a = self.c.agent
        check = consul.Check.http("http://127.0.0.1:1/health", "10s", timeout="1s")
        self.assertTrue(a.service.register("pyhttp", port=1, check=check))
        self.assertIn("pyhttp", a.services())
        self.assertTrue(a.service.deregister("pyhttp"))

    def test_maintenance(self):
        a = self.c.agent
        self.assertTrue(a.service.register("pymaint", port=3))
        self.assertTrue(a.service.maintenance("pymaint", "true", "testing"))
        self.assertIn("_service_maintenance:pymaint", a.checks())
        self.assertTrue(a.service.maintenance("pymaint", "false"))
        self.assertNotIn("_service_maintenance:pymaint", a.checks())
        self.assertTrue(a.maintenance("true", "node work"))
        self.assertIn("_node_maintenance", a.checks())
        self.assertTrue(a.maintenance("false"))
        self.assertNotIn("_node_maintenance", a.checks())
        a.service.deregister("pymaint")


class TestCatalogHealth(PythonConsulTest):
    def test_catalog_register_query_deregister(self):
        cat = self.c.catalog
        self.assertTrue(cat.register("pyext", "127.0.0.51",
                                     service={"service": "pydb", "port": 5432, "tags": ["primary"]},
                                     check={"CheckID": "pydb-ok", "Name": "db", "Status": "passing",
                                            "ServiceID": "pydb"}))
        self.assertEqual(self.dig_a("pydb.service.consul"), ["127.0.0.51"])
        self.assertEqual(cat.datacenters(), ["dc1"])
        index, nodes = cat.nodes()
        self.assertGreaterEqual(int(index), 1)
        self.assertIn("pyext", [n["Node"] for n in nodes])
        _, services = cat.services()
        self.assertEqual(services["pydb"], ["primary"])
        _, sns = cat.service("pydb")
        self.assertEqual([(s["Node"], s["ServicePort"]) for s in sns], [("pyext", 5432)])
        _, sns = cat.service("pydb", tag="primary")
        self.assertEqual(len(sns), 1)
        _, node = cat.node("pyext")
        self.assertIn("pydb", node["Services"])
        _, missing = cat.node("no-such-node")
        self.assertIsNone(missing)
        # health
        _, entries = self.c.health.service("pydb", passing=True)
        self.assertEqual([e["Node"]["Node"] for e in entries], ["pyext"])
        _, checks = self.c.health.checks("pydb")
        self.assertEqual([c["CheckID"] for c in checks], ["pydb-ok"])
        _, checks = self.c.health.node("pyext")
        self.assertEqual([c["Status"] for c in checks], ["passing"])
        _, checks = self.c.health.state("passing")
        self.assertIn("pydb-ok", [c["CheckID"] for c in checks])
        # deregister
        self.assertTrue(cat.deregister("pyext", service_id="pydb"))
        self.assertEqual(cat.service("pydb")[1], [])
        self.assertEqual(self.agent.dig("pydb.service.consul", "A").status, "NXDOMAIN")
        self.assertTrue(cat.deregister("pyext"))
        self.assertIsNone(cat.node("pyext")[1])

    def test_health_service_blocking(self):
        self.assertTrue(self.c.agent.service.register("pyblk", port=1))
        index, entries = self.c.health.service("pyblk")
        self.assertEqual(len(entries), 1)
        out = {}
        th = threading.Thread(target=lambda: out.setdefault(
            "r", self.c.health.service("pyblk", index=index, wait="20s")), daemon=True)
        th.start()
        time.sleep(0.3)
        self.assertTrue(th.is_alive())
        self.assertTrue(self.c.agent.service.deregister("pyblk"))
        th.join(timeout=10)
        self.assertFalse(th.is_alive())
        self.assertEqual(out["r"][1], [])


class TestSessionStatus(PythonConsulTest):
    def test_session_lifecycle_and_locks(self):
        s = self.c.session
        sid = s.create(name="pylock", ttl=30, lock_delay=0)
        self.assertEqual(len(sid), 36)
        _, info = s.info(sid)
        self.assertEqual((info["ID"], info["Name"], info["Node"]), (sid, "pylock", "pynode"))
        _, sessions = s.list()
        self.assertIn(sid, [x["ID"] for x in sessions])
        _, sessions = s.node("pynode")
        self.assertIn(sid, [x["ID"] for x in sessions])
        renewed = s.renew(sid)
        self.assertEqual(renewed["ID"], sid)
        other = s.create(behavior="delete")
        kv = self.c.kv
        self.assertTrue(kv.put("pylocks/leader", "me", acquire=sid))
        self.assertEqual(kv.get("pylocks/leader")[1]["Session"], sid)
        self.assertFalse(kv.put("pylocks/leader", "them", acquire=other))
        self.assertTrue(kv.put("pylocks/leader", "done", release=sid))
        self.assertNotIn("Session", kv.get("pylocks/leader")[1])
        self.assertTrue(kv.put("pylocks/leader", "them", acquire=other))
        self.assertTrue(s.destroy(other))
        # behavior=delete: the locked key is gone with the session
        self.assertIsNone(kv.get("pylocks/leader")[1])
        self.assertIsNone(s.info(other)[1])
        self.assertTrue(s.destroy(sid))
        with self.assertRaises(consul.NotFound):
            s.renew(sid)

    def test_events_fire_and_list(self):
        ev = self.c.event.fire("py-deploy", "v3")
        self.assertEqual(ev["Name"], "py-deploy")
        index, events = self.c.event.list(name="py-deploy")
        self.assertEqual([e["ID"] for e in events], [ev["ID"]])
        self.assertEqual(events[0]["Payload"], b"v3")  # python-consul decodes it
        hexid = ev["ID"].replace("-", "")
        self.assertEqual(int(index), int(hexid[:16], 16) ^ int(hexid[16:], 16))
        # A blocking list with the current index returns once another event arrives.
        result = {}
        t = threading.Thread(target=lambda: result.update(r=self.c.event.list(
            name="py-deploy", index=index, wait="20s")))
        t.start()
        second = consul.Consul(port=self.agent.http_port).event.fire("py-deploy", "v4")
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertEqual(result["r"][1][-1]["ID"], second["ID"])

    def test_status(self):
        server = "127.0.0.1:%d" % self.agent.server_port
        self.assertEqual(self.c.status.leader(), server)
        self.assertEqual(self.c.status.peers(), [server])


class TestQuery(PythonConsulTest):
    def test_prepared_query_lifecycle(self):
        # python-consul 0.7.1 always sends Template {Type: name_prefix_match}: its queries are
        # templates, found by name (exact or as a prefix), as in Consul.
        self.c.agent.service.register("pyweb", service_id="pyweb-1", port=8080, tags=["v1"])
        self.c.agent.service.register("pyweb", service_id="pyweb-2", port=8081, tags=["v2"])
        q = self.c.query.create("pyweb", name="py-web", tags=["v1"], ttl="15s",
                                onlypassing=True)
        qid = q["ID"]
        [got] = self.c.query.get(qid)
        self.assertEqual((got["Name"], got["Service"]["Service"], got["Service"]["Tags"]),
                         ("py-web", "pyweb", ["v1"]))
        self.assertEqual(got["DNS"]["TTL"], "15s")
        self.assertIn(qid, [x["ID"] for x in self.c.query.list()])
        res = self.c.query.execute("py-web")
        self.assertEqual([n["Service"]["ID"] for n in res["Nodes"]], ["pyweb-1"])
        self.assertEqual(res["DNS"]["TTL"], "15s")
        self.assertEqual(self.c.query.explain("py-web")["Query"]["Service"]["Service"], "pyweb")
        d = self.agent.dig("py-web.query.consul", "SRV")
        self.assertEqual(d.data("answer", "SRV"), ["1 1 8080 pynode.node.dc1.consul."])
        self.assertTrue(self.c.query.update(qid, "pyweb", name="py-web", tags=["v2"]))
        res = self.c.query.execute("py-web", limit=1)
        self.assertEqual([n["Service"]["ID"] for n in res["Nodes"]], ["pyweb-2"])
        self.assertTrue(self.c.query.delete(qid))
        self.assertEqual(self.agent.dig("py-web.query.consul", "SRV").status, "NXDOMAIN")


if __name__ == "__main__":
    unittest.main(verbosity=2)
