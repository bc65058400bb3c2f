#!/usr/bin/python3
"""Beacon's KV, sessions and txn on etcd (issue 10): a real single-member etcd (Debian's
etcd-server, free loopback ports, temp data dir) and two real Beacon server agents started with
`-kv-backend etcd -etcd-endpoints ...`, driven over HTTP with the stdlib (a tiny client with
python-consul's call shapes):

- /v1/kv put/get/cas/recurse/keys+separator/delete on agent A is seen by agent B (shared store),
- a blocking GET on B (?index=) returns when A writes (B's etcd watch wakes it),
- sessions: create, acquire, a second session cannot acquire, destroy releases the lock,
- /v1/txn: all-or-nothing (a failing check-index rolls back the set),
- the data outlives a restart of the agents (it lives in etcd),
- a bad -kv-backend / missing endpoints is refused with a clear message,
- a server started while no etcd member answers serves DNS and the catalog at once, answers KV
  with a 500 that says why, and serves KV once etcd comes up.

Skipped (exit 77) without etcd.
"""

import base64
import json
import os
import shutil
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, free_port, skip, wait_for, watchdog  # noqa: E402
from kv_backends import Etcd  # noqa: E402

ETCD = shutil.which("etcd")
if ETCD is None:
    skip("etcd is not installed (apt-get install etcd-server)")

watchdog(240)


class Client:
    """The few python-consul calls used here, over the harness's HTTP helper."""

    def __init__(self, agent):
        self.kv = self.session = self
        self.agent = agent

    def _q(self, params):
        params = {k: v for k, v in params.items() if v is not None and v is not False}
        return ("?" + urllib.parse.urlencode({k: ("" if v is True else v)
                                              for k, v in params.items()})) if params else ""

    def put(self, key, value, cas=None, flags=None, acquire=None, release=None):
        r = self.agent.http("PUT", "/v1/kv/" + key + self._q(
            {"cas": cas, "flags": flags, "acquire": acquire, "release": release}), value)
        assert r.status == 200, r
        return r.json()

    def get(self, key, index=None, wait=None, recurse=False, keys=False, separator=None):
        r = self.agent.http("GET", "/v1/kv/" + key + self._q(
            {"index": index, "wait": wait, "recurse": recurse, "keys": keys,
             "separator": separator}), timeout=60)
        if r.status == 404:
            return r.index, None
        assert r.status == 200, r
        data = r.json()
        if keys:
            return r.index, data
        for e in data:
            e["Value"] = base64.b64decode(e["Value"]) if e.get("Value") is not None else None
        return r.index, data if recurse else data[0]

    def delete(self, key, recurse=False):
        r = self.agent.http("DELETE", "/v1/kv/" + key + self._q({"recurse": recurse}))
        assert r.status == 200, r
        return r.json()

    def create(self, name=None, behavior=None, lock_delay=None):
        body = {"Name": name}
        if behavior:
            body["Behavior"] = behavior
        if lock_delay is not None:
            body["LockDelay"] = "%ds" % lock_delay
        return self.agent.api("PUT", "/v1/session/create", body)["ID"]

    def info(self, sid):
        r = self.agent.http("GET", "/v1/session/info/" + sid)
        data = r.json()
        return r.index, data[0] if data else None

    def list(self):
        r = self.agent.http("GET", "/v1/session/list")
        return r.index, r.json()

    def destroy(self, sid):
        return self.agent.api("PUT", "/v1/session/destroy/" + sid)


def beacon_on(etcd, node):
    return Agent(node=node, data_dir="tmp",
                 extra_args=["-server", "-kv-backend", "etcd", "-etcd-endpoints", etcd.client])


class KvOnEtcd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.etcd = Etcd(["--max-txn-ops", "10000"])
        cls.a = beacon_on(cls.etcd, "ea").start()
        cls.b = beacon_on(cls.etcd, "eb").start()
        cls.ca = Client(cls.a)
        cls.cb = Client(cls.b)

    @classmethod
    def tearDownClass(cls):
        cls.a.close()
        cls.b.close()
        cls.etcd.stop()

    def eventually(self, client, key, want=None):
        """The entry of key as client sees it, once it exists (and has value want)."""
        got = {}

        def seen():
            got["e"] = client.kv.get(key)[1]
            return got["e"] is not None and (want is None or got["e"]["Value"] == want)
        wait_for(seen, 10, what="%s visible on the other agent" % key)
        return got["e"]

    def test_kv_shared_between_agents(self):
        self.assertTrue(self.ca.kv.put("app/config/db", "postgres", flags=7))
        # B serves reads from its watch-fed mirror (like ?stale): the write shows up there as
        # soon as B's etcd watch delivers it.
        e = self.eventually(self.cb, "app/config/db")
        self.assertEqual(e["Value"], b"postgres")
        self.assertEqual(e["Flags"], 7)
        self.assertEqual(e["CreateIndex"], e["ModifyIndex"])
        # CAS on B with A's index succeeds once, then is stale.
        self.assertTrue(self.cb.kv.put("app/config/db", "mysql", cas=e["ModifyIndex"]))
        # A may not have seen B's write yet: the CAS still fails (etcd compares, not A's mirror).
        self.assertFalse(self.ca.kv.put("app/config/db", "sqlite", cas=e["ModifyIndex"]))
        self.assertFalse(self.ca.kv.put("app/config/db", "x", cas=0))  # exists
        e2 = self.eventually(self.ca, "app/config/db", b"mysql")
        self.assertEqual(e2["Value"], b"mysql")
        self.assertGreater(e2["ModifyIndex"], e["ModifyIndex"])
        self.assertEqual(e2["CreateIndex"], e["CreateIndex"])

        for k in ("app/config/cache", "app/web/port", "app/web/host"):
            self.assertTrue(self.ca.kv.put(k, "v"))
        self.eventually(self.cb, "app/web/host")
        _, keys = self.cb.kv.get("app/", keys=True, separator="/")
        self.assertEqual(keys, ["app/config/", "app/web/"])
        _, tree = self.cb.kv.get("app/web/", recurse=True)
        self.assertEqual([t["Key"] for t in tree], ["app/web/host", "app/web/port"])
        before = self.cb.kv.get("app/web/", recurse=True)[0]
        self.assertTrue(self.ca.kv.delete("app/web/port"))
        wait_for(lambda: self.cb.kv.get("app/web/port")[1] is None, 10, what="delete seen on B")
        idx, tree = self.cb.kv.get("app/web/", recurse=True)
        self.assertEqual([t["Key"] for t in tree], ["app/web/host"])
        self.assertGreater(int(idx), int(before))  # the tombstone moves the prefix index on
        self.assertTrue(self.ca.kv.delete("app/", recurse=True))
        self.assertIsNone(self.ca.kv.get("app/config/db")[1])  # read-your-writes on A

    def test_blocking_query_woken_by_other_agent(self):
        self.assertTrue(self.ca.kv.put("watch/k", "1"))
        self.eventually(self.cb, "watch/k")
        idx, _ = self.cb.kv.get("watch/k")
        got = {}

        def block():
            got["t0"] = time.monotonic()
            got["reply"] = self.cb.kv.get("watch/k", index=idx, wait="20s")
            got["t1"] = time.monotonic()
        t = threading.Thread(target=block)
        t.start()
        time.sleep(0.5)
        self.assertTrue(t.is_alive(), "the blocking query returned before any write")
        self.assertTrue(self.ca.kv.put("watch/k", "2"))
        t.join(15)
        self.assertFalse(t.is_alive(), "the write on A did not wake the blocking query on B")
        new_idx, e = got["reply"]
        self.assertEqual(e["Value"], b"2")
        self.assertGreater(int(new_idx), int(idx))

    def test_sessions_and_locks(self):
        s1 = self.ca.session.create(name="leader", behavior="release", lock_delay=0)
        s2 = self.cb.session.create(name="standby", lock_delay=0)
        self.assertTrue(self.ca.kv.put("lock/leader", "a", acquire=s1))
        self.assertFalse(self.cb.kv.put("lock/leader", "b", acquire=s2))
        e = self.eventually(self.cb, "lock/leader")
        self.assertEqual(e["Session"], s1)
        self.assertEqual(e["LockIndex"], 1)
        _, info = self.cb.session.info(s1)
        self.assertEqual(info["Name"], "leader")
        self.assertEqual(len(self.cb.session.list()[1]), 2)
        self.assertTrue(self.cb.session.destroy(s1))  # destroyed through the OTHER agent
        wait_for(lambda: not self.ca.kv.get("lock/leader")[1].get("Session"), 10,
                 what="release seen on A")
        self.assertTrue(self.cb.kv.put("lock/leader", "b", acquire=s2))
        wait_for(lambda: self.ca.kv.get("lock/leader")[1].get("Session") == s2, 10,
                 what="new holder seen on A")
        _, e = self.ca.kv.get("lock/leader")
        self.assertEqual((e["Session"], e["LockIndex"]), (s2, 2))
        self.assertTrue(self.cb.kv.put("lock/leader", "b", release=s2))
        self.cb.session.destroy(s2)

    def test_session_invalidated_when_its_check_turns_critical(self):
        # On etcd a lapse counts once it has lasted a short grace (3 s, agent_sessions.h): the
        # session still goes, its lock is released, and both agents see it.
        self.a.api("PUT", "/v1/agent/check/register", {"ID": "lease-ttl", "Name": "lease-ttl",
                                                        "TTL": "60s"})
        self.a.api("PUT", "/v1/agent/check/pass/lease-ttl")
        sid = self.a.api("PUT", "/v1/session/create",
                         {"Name": "checked", "LockDelay": "0s",
                          "Checks": ["serfHealth", "lease-ttl"]})["ID"]
        self.assertTrue(self.ca.kv.put("lock/checked", "a", acquire=sid))
        time.sleep(1.5)  # passing: nothing lapses
        self.assertIsNotNone(self.cb.session.info(sid)[1])
        self.a.api("PUT", "/v1/agent/check/fail/lease-ttl")
        wait_for(lambda: self.cb.session.info(sid)[1] is None, 20,
                 what="the session invalidated after its check went critical")
        wait_for(lambda: not self.cb.kv.get("lock/checked")[1].get("Session"), 10,
                 what="its lock released")
        self.a.api("PUT", "/v1/agent/check/deregister/lease-ttl")

    def test_session_outlives_start_of_agent_that_never_saw_its_node(self):
        # B has not joined A's gossip, so node "ea" is not in B's catalog. A (re)starting server
        # must not destroy, in the shared store, every session whose node it has not learned yet
        # (the Jepsen test's restarted server did, releasing every lock in the cluster).
        sid = self.ca.session.create(name="kept", lock_delay=0)
        self.assertTrue(self.ca.kv.put("lock/kept", "a", acquire=sid))
        self.b.stop()
        self.b.start()
        self.__class__.cb = Client(self.b)
        self.assertTrue(self.cb.kv.put("restart/probe", "1"))  # B's store is up and writing
        time.sleep(1)  # B's first catalog publishes have run their session checks by now
        _, info = self.ca.session.info(sid)
        self.assertIsNotNone(info, "the session was destroyed by the restarted agent")
        self.assertEqual(self.ca.kv.get("lock/kept")[1]["Session"], sid)
        self.ca.session.destroy(sid)

    def test_txn_is_atomic(self):
        self.assertTrue(self.ca.kv.put("txn/a", "1"))
        _, a = self.ca.kv.get("txn/a")
        ops = [{"KV": {"Verb": "set", "Key": "txn/b", "Value": base64.b64encode(b"2").decode()}},
               {"KV": {"Verb": "check-index", "Key": "txn/a", "Index": a["ModifyIndex"] + 1000}}]
        r = self.b.http("PUT", "/v1/txn", ops)
        self.assertEqual(r.status, 409, r)
        self.assertIsNone(self.ca.kv.get("txn/b")[1])
        ops[1]["KV"]["Index"] = a["ModifyIndex"]
        self.eventually(self.cb, "txn/a")  # B's own check-index reads its mirror first
        r = self.b.http("PUT", "/v1/txn", ops)
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(len(body["Results"]), 2)
        b = self.eventually(self.ca, "txn/b")
        self.assertEqual(b["Value"], b"2")
        self.assertEqual(body["Results"][0]["KV"]["ModifyIndex"], b["ModifyIndex"])

    def test_zz_data_outlives_agent_restart(self):
        self.assertTrue(self.ca.kv.put("persist/k", "kept"))
        _, before = self.ca.kv.get("persist/k")
        self.a.stop()
        self.a.start()
        self.__class__.ca = Client(self.a)
        _, e = self.ca.kv.get("persist/k")
        self.assertEqual(e["Value"], b"kept")
        self.assertEqual(e["ModifyIndex"], before["ModifyIndex"])


class StartWithoutEtcd(unittest.TestCase):
    def test_server_starts_while_etcd_is_down_and_loads_when_it_comes(self):
        url = "http://127.0.0.1:%d" % free_port()
        a = Agent(node="early", data_dir="tmp",
                  extra_args=["-server", "-kv-backend", "etcd", "-etcd-endpoints", url])
        etcd = None
        try:
            a.start(timeout=30)  # etcd's dial_timeout (5 s) passes first
            self.assertEqual(a.dig("early.node.consul", "A").data(), ["127.0.0.1"])
            self.assertEqual(a.http("GET", "/v1/catalog/nodes").status, 200)
            for method, path in (("GET", "/v1/kv/k"), ("PUT", "/v1/kv/k"),
                                 ("GET", "/v1/session/list"), ("PUT", "/v1/txn")):
                r = a.http(method, path, "[]" if path == "/v1/txn" else "v")
                self.assertEqual(r.status, 500, (method, path, r))
                self.assertIn("nothing loaded from etcd yet", r.body.decode(), (method, path))
            self.assertIn("no member answered at start", a.log_text())

            etcd = Etcd(client_url=url)
            wait_for(lambda: a.http("GET", "/v1/kv/k").status == 404, 30,
                     what="the store loaded once etcd answered")
            self.assertIs(a.http("PUT", "/v1/kv/k", "v").json(), True)
            self.assertEqual(a.http("GET", "/v1/kv/k?raw").body, b"v")
        finally:
            a.close()
            if etcd is not None:
                etcd.stop()


class BadConfig(unittest.TestCase):
    def test_bad_backend_and_missing_endpoints(self):
        for args, want in ((["-kv-backend", "zookeeper"], "expected embedded or etcd"),
                           (["-kv-backend", "etcd"], "needs etcd.endpoints"),
                           (["-kv-backend", "etcd", "-etcd-endpoints", "127.0.0.1"],
                            "expected an endpoint URL")):
            a = Agent(node="bad", data_dir="tmp", extra_args=["-server"] + args)
            try:
                with self.assertRaises(RuntimeError) as ctx:
                    a.start(timeout=5)
                self.assertIn(want, str(ctx.exception))
            finally:
                a.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
