#!/usr/bin/python3
"""Prepared queries shared by servers on etcd (issues 9 and 10): a real single-member etcd
(Debian's etcd-server, free loopback ports) and two real Beacon servers started with
`-kv-backend etcd`. The set is one etcd value every server watches and writes with a compare on
its revision, so:

- a query created through server A is listed, read, executed and answered by DNS on server B;
  an update through B and a delete through A show on the other one;
- a blocking GET /v1/query?index= on B returns when A writes;
- two servers creating the same name at once: exactly one gets 200, the other Consul's 400
  "aliases an existing query name" (no lost update, no duplicate name);
- a server restarted with an empty data dir still has every query (they live in etcd);
- a server that kept queries in its own file (moved from the embedded store) hands them over
  to etcd and retires the file, so a restart does not bring back a query deleted since.

Skipped (exit 77) without etcd or dig.
"""

import os
import shutil
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, skip, wait_for, watchdog  # noqa: E402
from kv_backends import Etcd  # noqa: E402

if shutil.which("etcd") is None:
    skip("etcd is not installed (apt-get install etcd-server)")
if shutil.which("dig") is None:
    skip("dig is not installed (apt-get install dnsutils)")

watchdog(240)


def server_on(etcd, node, data_dir="tmp"):
    return Agent(node=node, data_dir=data_dir,
                 extra_args=["-server", "-kv-backend", "etcd", "-etcd-endpoints", etcd.client])


def register_web(agent, port):
    r = agent.http("PUT", "/v1/agent/service/register", {"Name": "web", "Port": port,
                                                         "Tags": ["rails"]})
    assert r.status == 200, r


def create(agent, body):
    return agent.http("POST", "/v1/query", body)


def definition(agent, qid):
    r = agent.http("GET", "/v1/query/" + qid)
    return r.json()[0] if r.status == 200 else None


class SharedQueries(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.etcd = Etcd()
        cls.a = server_on(cls.etcd, "qa").start(timeout=20)
        cls.b = server_on(cls.etcd, "qb").start(timeout=20)
        register_web(cls.a, 8080)
        register_web(cls.b, 9090)

    @classmethod
    def tearDownClass(cls):
        cls.a.close()
        cls.b.close()
        cls.etcd.stop()

    def test_written_on_one_server_answered_by_the_other(self):
        r = create(self.a, {"Name": "web-fast", "Service": {"Service": "web", "OnlyPassing": True,
                                                            "Tags": ["rails"]}})
        self.assertEqual(r.status, 200, r)
        qid = r.json()["ID"]
        wait_for(lambda: definition(self.b, qid) is not None, 10, what="B sees A's query")
        on_a, on_b = definition(self.a, qid), definition(self.b, qid)
        self.assertEqual(on_b["Name"], "web-fast")
        self.assertEqual(on_b["ModifyIndex"], on_a["ModifyIndex"])
        self.assertIn(qid, [q["ID"] for q in self.b.http("GET", "/v1/query").json()])
        # B's DNS and execute answer it from B's own catalog (its web instance on port 9090).
        srv = self.b.dig("web-fast.query.consul", "SRV").data()
        self.assertEqual(len(srv), 1, srv)
        self.assertEqual(srv[0].split()[2], "9090")
        ex = self.b.http("GET", "/v1/query/web-fast/execute").json()
        self.assertEqual([n["Service"]["Port"] for n in ex["Nodes"]], [9090])

        # Update through B, seen on A; delete through A, gone on B.
        r = self.b.http("PUT", "/v1/query/" + qid,
                        {"Name": "web-fast", "Service": {"Service": "web", "Tags": ["php"]}})
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: (definition(self.a, qid) or {}).get("Service", {}).get("Tags") == ["php"],
                 10, what="A sees B's update")
        self.assertEqual(self.a.dig("web-fast.query.consul", "SRV").data(), [])
        self.assertEqual(self.a.http("DELETE", "/v1/query/" + qid).status, 200)
        wait_for(lambda: self.b.http("GET", "/v1/query/" + qid).status == 404, 10,
                 what="B sees A's delete")
        self.assertEqual(self.b.dig("web-fast.query.consul", "A").status, "NXDOMAIN")

    def test_blocking_list_on_one_server_wakes_on_a_write_through_the_other(self):
        index = self.b.http("GET", "/v1/query").index
        got = {}

        def block():
            got["r"] = self.b.http("GET", "/v1/query?index=%d&wait=20s" % index, timeout=30)
        t = threading.Thread(target=block)
        t.start()
        r = create(self.a, {"Name": "wake-me", "Service": {"Service": "web"}})
        self.assertEqual(r.status, 200, r)
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertGreater(got["r"].index, index)
        self.assertIn("wake-me", [q["Name"] for q in got["r"].json()])

    def test_same_name_created_on_two_servers_at_once_keeps_one(self):
        for n in range(6):
            name = "race-%d" % n
            out = {}

            def post(agent, who):
                out[who] = create(agent, {"Name": name, "Service": {"Service": "web"}})
            ts = [threading.Thread(target=post, args=(ag, w)) for ag, w in ((self.a, "a"),
                                                                            (self.b, "b"))]
            for t in ts:
                t.start()
            for t in ts:
                t.join(30)
            codes = sorted(r.status for r in out.values())
            self.assertEqual(codes, [200, 400], {w: (r.status, r.body) for w, r in out.items()})
            loser = [r for r in out.values() if r.status == 400][0]
            self.assertIn("aliases an existing query name", loser.body.decode())
            for agent in (self.a, self.b):
                wait_for(lambda: [q["Name"] for q in agent.http("GET", "/v1/query").json()]
                         .count(name) == 1, 10, what="one %s on %s" % (name, agent.node))

    def test_zz_server_with_empty_data_dir_keeps_the_queries(self):
        r = create(self.b, {"Name": "survivor", "Service": {"Service": "web"}})
        self.assertEqual(r.status, 200, r)
        qid = r.json()["ID"]
        self.a.stop()
        shutil.rmtree(self.a.data_dir)
        os.mkdir(self.a.data_dir)
        self.a.start(timeout=20)
        wait_for(lambda: definition(self.a, qid) is not None, 10,
                 what="the restarted server loads the set from etcd")
        self.assertEqual(definition(self.a, qid)["Name"], "survivor")


class FileSetMovesToEtcd(unittest.TestCase):
    def test_queries_kept_in_a_file_are_handed_to_etcd(self):
        old = Agent(node="mover", data_dir="tmp", extra_args=["-server"]).start(timeout=20)
        etcd = None
        b = None
        try:
            r = create(old, {"Name": "from-file", "Service": {"Service": "web"}})
            self.assertEqual(r.status, 200, r)
            qid = r.json()["ID"]
            old.stop()
            etcd = Etcd()
            old.extra_args += ["-kv-backend", "etcd", "-etcd-endpoints", etcd.client]
            old.start(timeout=20)
            b = server_on(etcd, "other").start(timeout=20)
            wait_for(lambda: definition(b, qid) is not None, 10,
                     what="another server sees the query the first one kept in its file")
            self.assertIn("handing the 1 prepared queries", old.log_text())
            # The file is retired, so a later start cannot bring back what was deleted since.
            path = os.path.join(old.data_dir, "prepared-queries.json")
            wait_for(lambda: os.path.exists(path + ".in-etcd"), 10, what="the file retired")
            self.assertFalse(os.path.exists(path))
            self.assertEqual(b.http("DELETE", "/v1/query/" + qid).status, 200)
            old.stop()
            old.start(timeout=20)
            r = create(old, {"Name": "after-restart", "Service": {"Service": "web"}})
            self.assertEqual(r.status, 200, r)  # the restarted server has read etcd's set
            self.assertIsNone(definition(old, qid))
            self.assertIsNone(definition(b, qid))
        finally:
            old.close()
            if b is not None:
                b.close()
            if etcd is not None:
                etcd.stop()


if __name__ == "__main__":
    unittest.main()
