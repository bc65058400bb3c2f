#!/usr/bin/env python3
"""Prepared queries end to end against the real binary (spec 1.6, 2.8; issue 9 scope 2):
/v1/query create/list/get/update/delete, Consul's validation texts, templates, execute and
explain, `<name>.query.consul` through dig (the issue's web-fast example), the set surviving a
restart of a server with a data dir, and a client agent forwarding writes to its server and
answering the mirrored queries from its own DNS.

Python 3 stdlib only; dig from dnsutils (the test skips, exit 77, without it).
"""

import http.client
import json
import os
import shutil
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, free_port, wait_for, watchdog  # noqa: E402

watchdog(240)

if shutil.which("dig") is None:
    print("dig not installed: skipping")
    sys.exit(77)


def reg(node, addr, sid, port, tags=(), meta=None, checks=(), node_meta=None):
    body = {"Node": node, "Address": addr,
            "Service": {"ID": sid, "Service": "web", "Port": port, "Tags": list(tags)}}
    if meta:
        body["Service"]["Meta"] = meta
    if node_meta:
        body["NodeMeta"] = node_meta
    if checks:
        body["Checks"] = [{"CheckID": cid, "Name": cid, "Status": st, "ServiceID": sid}
                          for cid, st in checks]
    return body


class QueryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(node="itest", config={"datacenter": "dc1"}).start()
        for body in [
            reg("w1", "127.0.0.11", "web", 80, ["rails"], node_meta={"rack": "r1"}),
            reg("w2", "127.0.0.12", "web", 80, ["rails"], checks=[("w2-chk", "warning")]),
            reg("w3", "127.0.0.13", "web", 80, ["rails"], checks=[("w3-chk", "critical")]),
            reg("w4", "127.0.0.14", "web", 80, ["rails", "canary"], meta={"v": "2"}),
            reg("w5", "127.0.0.15", "web", 81, ["php"]),
        ]:
            r = cls.agent.http("PUT", "/v1/catalog/register", body)
            assert r.status == 200, r
        # An instance on the agent's own node, for Near "_agent".
        r = cls.agent.http("PUT", "/v1/agent/service/register",
                           {"Name": "web", "ID": "web-local", "Port": 82, "Tags": ["php"]})
        assert r.status == 200, r

    @classmethod
    def tearDownClass(cls):
        cls.agent.close()

    def req(self, method, path, body=None):
        return self.agent.http(method, path, body)

    def create(self, body):
        r = self.req("POST", "/v1/query", body)
        self.assertEqual(r.status, 200, r)
        qid = r.json()["ID"]
        self.addCleanup(lambda: self.req("DELETE", "/v1/query/" + qid))
        return qid

    def execute(self, name, query=""):
        r = self.req("GET", "/v1/query/%s/execute%s" % (name, query))
        self.assertEqual(r.status, 200, r)
        return r.json()

    def addrs(self, result):
        return sorted(n["Node"]["Address"] for n in result["Nodes"])

    def test_crud_round_trip(self):
        qid = self.create({"Name": "crud", "Service": {"Service": "web", "Tags": ["php"],
                                                       "Failover": {"NearestN": 2,
                                                                    "Datacenters": ["dc2"]}},
                           "DNS": {"TTL": "10s"}})
        r = self.req("GET", "/v1/query/" + qid)
        self.assertEqual(r.status, 200, r)
        self.assertIn("x-consul-index", r.headers)
        [q] = r.json()
        self.assertEqual((q["ID"], q["Name"], q["Service"]["Service"]), (qid, "crud", "web"))
        self.assertEqual(q["Service"]["Failover"]["NearestN"], 2)
        self.assertEqual(q["Service"]["Failover"]["Datacenters"], ["dc2"])
        self.assertEqual(q["DNS"]["TTL"], "10s")
        self.assertEqual(q["CreateIndex"], q["ModifyIndex"])
        listed = [x["ID"] for x in self.req("GET", "/v1/query").json()]
        self.assertIn(qid, listed)
        # Update: what is PUT replaces the definition; the ID comes from the URL.
        q["Service"]["Tags"] = ["rails"]
        q["ID"] = "ignored"
        r = self.req("PUT", "/v1/query/" + qid, q)
        self.assertEqual(r.status, 200, r)
        [q2] = self.req("GET", "/v1/query/" + qid).json()
        self.assertEqual(q2["Service"]["Tags"], ["rails"])
        self.assertEqual(q2["CreateIndex"], q["CreateIndex"])
        self.assertGreater(q2["ModifyIndex"], q["ModifyIndex"])
        # Execute by ID and by name (any case) give the same query.
        self.assertEqual(self.execute(qid)["Service"], "web")
        self.assertEqual(self.execute("CRUD")["DNS"], {"TTL": "10s"})
        self.assertEqual(self.req("DELETE", "/v1/query/" + qid).status, 200)
        r = self.req("GET", "/v1/query/" + qid)
        self.assertEqual((r.status, r.body.strip()), (404, b"Query not found"))
        r = self.req("GET", "/v1/query/crud/execute")
        self.assertEqual((r.status, r.body.strip()), (404, b"Query not found"))

    def test_list_blocks_until_a_query_changes(self):
        r = self.req("GET", "/v1/query")
        index = int(r.headers["x-consul-index"])
        got = {}

        def wait():
            got["r"] = self.agent.http("GET", "/v1/query?index=%d&wait=20s" % index, timeout=30)

        t = threading.Thread(target=wait)
        t.start()
        qid = self.create({"Name": "wakes", "Service": {"Service": "web"}})
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertEqual(got["r"].status, 200)
        self.assertGreater(int(got["r"].headers["x-consul-index"]), index)
        self.assertIn(qid, [q["ID"] for q in got["r"].json()])

    def test_validation_errors(self):
        self.create({"Name": "taken", "Service": {"Service": "web"}})
        cases = [
            ({"Name": "x"}, "Invalid prepared query: Must provide a Service name to query"),
            ({"Service": {"Service": "web"}}, "Invalid prepared query: Must be bound to a session"),
            ({"Name": "x", "Service": {"Service": "web"}, "DNS": {"TTL": "soon"}},
             "Invalid prepared query: Bad DNS TTL 'soon': "),
            ({"Name": "x", "Service": {"Service": "web", "Failover": {"NearestN": -1}}},
             "Invalid prepared query: Bad NearestN '-1', must be >= 0"),
            ({"Name": "taken", "Service": {"Service": "web"}},
             "name 'taken' aliases an existing query name"),
            ({"Name": "TAKEN", "Service": {"Service": "web"}},
             "name 'TAKEN' aliases an existing query name"),
            ({"ID": "a", "Name": "x", "Service": {"Service": "web"}},
             "ID must be empty when creating a new prepared query"),
            ({"Name": "x", "Template": {"Type": "prefix"}, "Service": {"Service": "web"}},
             "failed compiling template: Bad Template.Type 'prefix'"),
            ({"Name": "x", "Template": {"Type": "name_prefix_match", "Regexp": "(["},
              "Service": {"Service": "web"}}, "failed compiling template: Bad Regexp: "),
            ({"Name": "x", "Template": {"Type": "name_prefix_match"},
              "Service": {"Service": "${nope}"}},
             "failed compiling template: Bad evaluation for '${nope}' in Service.Service: "
             "unknown variable accessed: nope"),
            ({"Name": "x", "Service": {"Service": 7}}, "Request decode failed: "),
        ]
        for body, want in cases:
            r = self.req("POST", "/v1/query", body)
            self.assertEqual(r.status, 400, (body, r))
            self.assertTrue(r.body.decode().startswith(want), (body, r.body, want))
        qid = self.create({"Name": "owner", "Service": {"Service": "web"}})
        r = self.req("POST", "/v1/query", {"Name": qid, "Service": {"Service": "web"}})
        self.assertEqual((r.status, r.body.decode().strip()),
                         (400, "name '%s' aliases an existing query ID" % qid))
        self.create({"Name": "", "Template": {"Type": "name_prefix_match"},
                     "Service": {"Service": "${name.full}"}})
        r = self.req("POST", "/v1/query", {"Template": {"Type": "name_prefix_match"},
                                           "Service": {"Service": "db"}})
        self.assertEqual((r.status, r.body.decode().strip()),
                         (400, "a query template with an empty name already exists"))
        r = self.req("PUT", "/v1/query/00000000-0000-0000-0000-000000000000",
                     {"Name": "y", "Service": {"Service": "web"}})
        self.assertEqual(r.status, 400)
        self.assertIn("Cannot modify non-existent prepared query", r.body.decode())

    def test_a_query_bound_to_a_session_goes_with_it(self):
        sid = self.agent.api("PUT", "/v1/session/create", {"Name": "q-owner"})["ID"]
        kept = self.create({"Name": "unbound", "Service": {"Service": "web"}})
        qid = self.create({"Name": "bound", "Session": sid, "Service": {"Service": "web"}})
        self.assertEqual(self.req("GET", "/v1/query/" + qid).status, 200)
        self.assertEqual(self.agent.api("PUT", "/v1/session/destroy/" + sid), True)
        wait_for(lambda: self.req("GET", "/v1/query/" + qid).status == 404, 10,
                 what="the query deleted with its session")
        self.assertEqual(self.req("GET", "/v1/query/" + kept).status, 200)
        self.assertNotIn("bound", [q["Name"] for q in self.req("GET", "/v1/query").json()])

    def test_execute_filters_limit_and_near(self):
        self.create({"Name": "fast", "Service": {"Service": "web", "OnlyPassing": True,
                                                 "Tags": ["RAILS", "!canary"]}})
        res = self.execute("fast")
        self.assertEqual(self.addrs(res), ["127.0.0.11"])
        self.assertEqual((res["Service"], res["Datacenter"], res["Failovers"]), ("web", "dc1", 0))
        node = res["Nodes"][0]
        self.assertEqual((node["Node"]["Node"], node["Service"]["ID"]), ("w1", "web"))
        self.assertIsInstance(node["Checks"], list)
        # Without OnlyPassing the warning one stays; critical never; IgnoreCheckIDs brings it back.
        self.create({"Name": "all", "Service": {"Service": "web", "Tags": ["rails"]}})
        self.assertEqual(self.addrs(self.execute("all")),
                         ["127.0.0.11", "127.0.0.12", "127.0.0.14"])
        self.create({"Name": "ign", "Service": {"Service": "web", "Tags": ["rails"],
                                                "IgnoreCheckIDs": ["w3-chk"]}})
        self.assertEqual(self.addrs(self.execute("ign")),
                         ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"])
        self.create({"Name": "meta", "Service": {"Service": "web", "NodeMeta": {"rack": "r1"}}})
        self.assertEqual(self.addrs(self.execute("meta")), ["127.0.0.11"])
        self.create({"Name": "smeta", "Service": {"Service": "web", "ServiceMeta": {"v": "2"}}})
        self.assertEqual(self.addrs(self.execute("smeta")), ["127.0.0.14"])
        self.assertEqual(len(self.execute("all", "?limit=2")["Nodes"]), 2)
        # Near "_agent": the agent's own instance first, every time.
        self.create({"Name": "near", "Service": {"Service": "web", "Near": "_agent",
                                                 "Tags": ["php"]}})
        for _ in range(5):
            self.assertEqual(self.execute("near")["Nodes"][0]["Node"]["Node"], "itest")
        self.assertEqual(self.execute("all", "?near=w2")["Nodes"][0]["Node"]["Node"], "w2")

    def test_near_ip_puts_the_clients_node_first(self):
        self.create({"Name": "near-ip", "Service": {"Service": "web", "Near": "_ip"}})
        # DNS: the node registered with the query's source address answers first, every time.
        for src, first in (("127.0.0.12", "127.0.0.12"), ("127.0.0.14", "127.0.0.14"),
                           ("127.0.0.1", "127.0.0.1")):
            for _ in range(6):
                res = self.agent.dig("near-ip.query.consul", "A", "-b", src)
                a = [r["data"] for r in res.records("answer")]  # in answer order
                self.assertEqual(a[0], first, (src, a))
            srv = self.agent.dig("near-ip.query.consul", "SRV", "+tcp", "-b", src)
            self.assertEqual(srv.records("additional")[0]["data"], first, (src, srv.out))
        # An address no node holds: nothing pinned, every healthy instance still answered.
        a = self.agent.dig("near-ip.query.consul", "A", "-b", "127.0.0.99").data()
        self.assertEqual(sorted(a), ["127.0.0.1", "127.0.0.11", "127.0.0.12", "127.0.0.14",
                                     "127.0.0.15"])

        # execute: the HTTP client's address, or the first X-Forwarded-For address.
        def first_node(src, headers=None):
            c = http.client.HTTPConnection("127.0.0.1", self.agent.http_port, timeout=10,
                                           source_address=(src, 0))
            try:
                c.request("GET", "/v1/query/near-ip/execute", headers=headers or {})
                r = c.getresponse()
                self.assertEqual(r.status, 200)
                return json.loads(r.read())["Nodes"][0]["Node"]["Node"]
            finally:
                c.close()
        for _ in range(5):
            self.assertEqual(first_node("127.0.0.15"), "w5")
            self.assertEqual(first_node("127.0.0.15", {"X-Forwarded-For": "127.0.0.11, 10.1.1.1"}),
                             "w1")

    def test_templates_and_explain(self):
        self.create({"Name": "geo-", "Template": {"Type": "name_prefix_match"},
                     "Service": {"Service": "${name.suffix}", "Tags": ["!canary"]}})
        self.create({"Name": "geo-web-", "Template": {"Type": "name_prefix_match"},
                     "Service": {"Service": "web", "Tags": ["${name.suffix}"]}})
        self.create({"Name": "re-", "Template": {"Type": "name_prefix_match",
                                                "Regexp": "^re-(.*?)-([^-]+)$"},
                     "Service": {"Service": "${match(2)}", "Tags": ["${match(1)}"]}})
        self.assertEqual(self.addrs(self.execute("geo-web")),
                         ["127.0.0.1", "127.0.0.11", "127.0.0.12", "127.0.0.15"])
        # The longest prefix wins.
        self.assertEqual(self.addrs(self.execute("geo-web-php")), ["127.0.0.1", "127.0.0.15"])
        self.assertEqual(self.addrs(self.execute("re-canary-web")), ["127.0.0.14"])
        r = self.req("GET", "/v1/query/re-canary-web/explain")
        self.assertEqual(r.status, 200, r)
        q = r.json()["Query"]
        self.assertEqual((q["Name"], q["Service"]["Service"], q["Service"]["Tags"]),
                         ("re-", "web", ["canary"]))
        self.assertEqual(q["Template"]["Regexp"], "^re-(.*?)-([^-]+)$")
        # Templates are found by name only.
        tid = [x["ID"] for x in self.req("GET", "/v1/query").json() if x["Name"] == "re-"][0]
        r = self.req("GET", "/v1/query/%s/execute" % tid)
        self.assertEqual(r.status, 500)
        self.assertIn("templates can only be resolved up by name", r.body.decode())

    def test_dig_issue_example(self):
        # The issue's commands, verbatim in spirit: POST the query, dig its SRV name.
        self.create({"Name": "web-fast", "Service": {"Service": "web", "OnlyPassing": True,
                                                     "Tags": ["rails", "!canary"]}})
        d = self.agent.dig("web-fast.query.consul", "SRV")
        self.assertEqual(d.status, "NOERROR", d)
        self.assertEqual(d.data("answer", "SRV"), ["1 1 80 w1.node.dc1.consul."])
        self.assertEqual(d.data("additional", "A"), ["127.0.0.11"])
        d = self.agent.dig("web-fast.query.dc1.consul", "A")
        self.assertEqual(d.data("answer", "A"), ["127.0.0.11"])
        d = self.agent.dig("nope.query.consul", "SRV")
        self.assertEqual(d.status, "NXDOMAIN", d)
        self.assertEqual(len(d.records("authority", "SOA")), 1)
        # DNS.TTL on the records; a deleted query is gone from DNS at once.
        qid = self.create({"Name": "ttl30", "Service": {"Service": "web", "Tags": ["php"]},
                           "DNS": {"TTL": "30s"}})
        d = self.agent.dig("ttl30.query.consul", "A")
        self.assertEqual(sorted(d.data("answer", "A")), ["127.0.0.1", "127.0.0.15"])
        self.assertEqual({rr["ttl"] for rr in d.records("answer", "A")}, {30})
        self.assertEqual(self.req("DELETE", "/v1/query/" + qid).status, 200)
        self.assertEqual(self.agent.dig("ttl30.query.consul", "A").status, "NXDOMAIN")


class PersistenceTest(unittest.TestCase):
    def test_queries_survive_a_restart(self):
        a = Agent(node="pq-server", data_dir="tmp", extra_args=["-server"])
        try:
            a.start()
            r = a.http("PUT", "/v1/agent/service/register", {"Name": "db", "Port": 5432})
            self.assertEqual(r.status, 200, r)
            r = a.http("POST", "/v1/query", {"Name": "keep", "Service": {"Service": "db"}})
            self.assertEqual(r.status, 200, r)
            qid = r.json()["ID"]
            r = a.http("POST", "/v1/query", {"Name": "tmpl-", "Template": {
                "Type": "name_prefix_match"}, "Service": {"Service": "${name.suffix}"}})
            self.assertEqual(r.status, 200, r)
            before = a.http("GET", "/v1/query").json()
            index = int(a.http("GET", "/v1/query").headers["x-consul-index"])
            a.kill9()  # acknowledged writes are durable: no clean shutdown needed
            a.start(keep_ports=True)
            self.assertEqual(a.http("GET", "/v1/query").json(), before)
            self.assertGreaterEqual(int(a.http("GET", "/v1/query").headers["x-consul-index"]),
                                    index)
            # Local services come back from the agent's own state; DNS answers both queries.
            wait_for(lambda: a.dig("keep.query.consul", "SRV").status == "NOERROR", 10,
                     what="keep.query.consul after restart")
            self.assertEqual(a.dig(qid + ".query.consul", "SRV").status, "NOERROR")
            self.assertEqual(a.dig("tmpl-db.query.consul", "SRV").status, "NOERROR")
            # A write after the restart continues the index.
            r = a.http("POST", "/v1/query", {"Name": "later", "Service": {"Service": "db"}})
            self.assertEqual(r.status, 200, r)
            [later] = a.http("GET", "/v1/query/" + r.json()["ID"]).json()
            self.assertGreater(later["CreateIndex"], index)
        finally:
            a.close()


class ClientAgentTest(unittest.TestCase):
    def test_client_forwards_writes_and_answers_locally(self):
        hosts = ["127.0.9.1", "127.0.9.2"]
        port = free_port(hosts[0])
        server = Agent(node="pq-srv", host=hosts[0], serf_port=port, data_dir="tmp",
                       extra_args=["-server", "-bootstrap-expect", "1"])
        client = Agent(node="pq-cli", host=hosts[1], serf_port=port, data_dir="tmp",
                       extra_args=["-join", "%s:%d" % (hosts[0], port)])
        try:
            server.start()
            client.start()
            r = client.http("PUT", "/v1/agent/service/register", {"Name": "api", "Port": 9000})
            self.assertEqual(r.status, 200, r)
            # Written through the client (forwarded to the server), stored by the server.
            wait_for(lambda: client.http("GET", "/v1/query").status == 200, 20,
                     what="client forwarding /v1/query")
            r = client.http("POST", "/v1/query", {"Name": "api-q",
                                                  "Service": {"Service": "api",
                                                              "Near": "_agent"}})
            self.assertEqual(r.status, 200, r)
            self.assertEqual([q["Name"] for q in server.http("GET", "/v1/query").json()],
                             ["api-q"])
            # The client's own DNS answers from its mirror, its own node first.
            wait_for(lambda: client.dig("api-q.query.consul", "SRV").status == "NOERROR", 20,
                     what="api-q.query.consul on the client")
            d = client.dig("api-q.query.consul", "SRV")
            self.assertEqual(d.data("answer", "SRV"), ["1 1 9000 pq-cli.node.dc1.consul."])
            res = client.http("GET", "/v1/query/api-q/execute").json()
            self.assertEqual(res["Nodes"][0]["Node"]["Node"], "pq-cli")
            # A delete through the client reaches the mirror too.
            self.assertEqual(client.http("DELETE", "/v1/query/" + r.json()["ID"]).status, 200)
            wait_for(lambda: client.dig("api-q.query.consul", "SRV").status == "NXDOMAIN", 20,
                     what="api-q gone on the client")
        finally:
            client.close()
            server.close()


if __name__ == "__main__":
    unittest.main()
