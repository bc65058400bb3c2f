#!/usr/bin/python3
"""Beacon's KV, sessions and txn on etcd (issue 10): a real single-member etcd (Debian's
etcd-server, free loopback ports, temp data dir) and two real Beacon server agents started with
`-kv-backend etcd -etcd-endpoints ...`, driven with python3-consul and urllib:

- /v1/kv put/get/cas/recurse/keys+separator/delete on agent A is seen by agent B (shared store),
- a blocking GET on B (?index=) returns when A writes (B's etcd watch wakes it),
- sessions: create, acquire, a second session cannot acquire, destroy releases the lock,
- /v1/txn: all-or-nothing (a failing check-index rolls back the set),
- the data outlives a restart of the agents (it lives in etcd),
- a bad -kv-backend / missing endpoints is refused with a clear message.

Skipped (exit 77) without etcd or python3-consul.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, free_port, skip, stop_process, wait_for, watchdog, _live_processes  # noqa: E402

try:
    import consul  # noqa: E402
except ImportError:
    skip("python3-consul is not installed for %s (apt-get install python3-consul)" % sys.executable)
ETCD = shutil.which("etcd")
if ETCD is None:
    skip("etcd is not installed (apt-get install etcd-server)")

watchdog(240)


class Etcd:
    """One etcd member on 127.0.0.1 free ports; stop() kills and reaps it."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="beacon-etcd-it-")
        self.client = "http://127.0.0.1:%d" % free_port()
        peer = "http://127.0.0.1:%d" % free_port()
        self.log = open(os.path.join(self.tmp.name, "etcd.log"), "wb")
        self.proc = subprocess.Popen(
            [ETCD, "--name", "m0", "--data-dir", os.path.join(self.tmp.name, "data"),
             "--listen-client-urls", self.client, "--advertise-client-urls", self.client,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", "m0=" + peer, "--max-txn-ops", "10000",
             "--logger", "zap", "--log-level", "error"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _live_processes.append(self.proc)
        import urllib.request

        def healthy():
            try:
                with urllib.request.urlopen(self.client + "/health", timeout=1) as r:
                    return b'"true"' in r.read()
            except OSError:
                return False
        wait_for(healthy, 20, what="etcd healthy")

    def stop(self):
        stop_process(self.proc)
        self.log.close()
        self.tmp.cleanup()


def beacon_on(etcd, node):
    return Agent(node=node, data_dir="tmp",
                 extra_args=["-server", "-kv-backend", "etcd", "-etcd-endpoints", etcd.client])


class KvOnEtcd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.etcd = Etcd()
        cls.a = beacon_on(cls.etcd, "ea").start()
        cls.b = beacon_on(cls.etcd, "eb").start()
        cls.ca = consul.Consul(host="127.0.0.1", port=cls.a.http_port)
        cls.cb = consul.Consul(host="127.0.0.1", port=cls.b.http_port)

    @classmethod
    def tearDownClass(cls):
        cls.a.close()
        cls.b.close()
        cls.etcd.stop()

    def test_kv_shared_between_agents(self):
        self.assertTrue(self.ca.kv.put("app/config/db", "postgres", flags=7))
        _, e = self.cb.kv.get("app/config/db")
        self.assertEqual(e["Value"], b"postgres")
        self.assertEqual(e["Flags"], 7)
        self.assertEqual(e["CreateIndex"], e["ModifyIndex"])
        # CAS on B with A's index succeeds once, then is stale.
        self.assertTrue(self.cb.kv.put("app/config/db", "mysql", cas=e["ModifyIndex"]))
        self.assertFalse(self.ca.kv.put("app/config/db", "sqlite", cas=e["ModifyIndex"]))
        self.assertFalse(self.ca.kv.put("app/config/db", "x", cas=0))  # exists
        _, e2 = self.ca.kv.get("app/config/db")
        self.assertEqual(e2["Value"], b"mysql")
        self.assertGreater(e2["ModifyIndex"], e["ModifyIndex"])
        self.assertEqual(e2["CreateIndex"], e["CreateIndex"])

        for k in ("app/config/cache", "app/web/port", "app/web/host"):
            self.assertTrue(self.ca.kv.put(k, "v"))
        _, keys = self.cb.kv.get("app/", keys=True, separator="/")
        self.assertEqual(keys, ["app/config/", "app/web/"])
        _, tree = self.cb.kv.get("app/web/", recurse=True)
        self.assertEqual([t["Key"] for t in tree], ["app/web/host", "app/web/port"])
        before = self.cb.kv.get("app/web/", recurse=True)[0]
        self.assertTrue(self.ca.kv.delete("app/web/port"))
        idx, tree = self.cb.kv.get("app/web/", recurse=True)
        self.assertEqual([t["Key"] for t in tree], ["app/web/host"])
        self.assertGreater(int(idx), int(before))  # the tombstone moves the prefix index on
        self.assertTrue(self.ca.kv.delete("app/", recurse=True))
        self.assertIsNone(self.cb.kv.get("app/config/db")[1])

    def test_blocking_query_woken_by_other_agent(self):
        self.assertTrue(self.ca.kv.put("watch/k", "1"))
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
        _, e = self.cb.kv.get("lock/leader")
        self.assertEqual(e["Session"], s1)
        self.assertEqual(e["LockIndex"], 1)
        _, info = self.cb.session.info(s1)
        self.assertEqual(info["Name"], "leader")
        self.assertEqual(len(self.cb.session.list()[1]), 2)
        self.assertTrue(self.cb.session.destroy(s1))  # destroyed through the OTHER agent
        _, e = self.ca.kv.get("lock/leader")
        self.assertNotIn("Session", {k: v for k, v in e.items() if v})
        self.assertTrue(self.cb.kv.put("lock/leader", "b", acquire=s2))
        _, e = self.ca.kv.get("lock/leader")
        self.assertEqual((e["Session"], e["LockIndex"]), (s2, 2))
        self.assertTrue(self.cb.kv.put("lock/leader", "b", release=s2))
        self.cb.session.destroy(s2)

    def test_txn_is_atomic(self):
        self.assertTrue(self.ca.kv.put("txn/a", "1"))
        _, a = self.ca.kv.get("txn/a")
        ops = [{"KV": {"Verb": "set", "Key": "txn/b", "Value": base64.b64encode(b"2").decode()}},
               {"KV": {"Verb": "check-index", "Key": "txn/a", "Index": a["ModifyIndex"] + 1000}}]
        r = self.b.http("PUT", "/v1/txn", ops)
        self.assertEqual(r.status, 409, r)
        self.assertIsNone(self.ca.kv.get("txn/b")[1])
        ops[1]["KV"]["Index"] = a["ModifyIndex"]
        r = self.b.http("PUT", "/v1/txn", ops)
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(len(body["Results"]), 2)
        self.assertEqual(self.ca.kv.get("txn/b")[1]["Value"], b"2")
        self.assertEqual(body["Results"][0]["KV"]["ModifyIndex"],
                         self.ca.kv.get("txn/b")[1]["ModifyIndex"])

    def test_zz_data_outlives_agent_restart(self):
        self.assertTrue(self.ca.kv.put("persist/k", "kept"))
        _, before = self.ca.kv.get("persist/k")
        self.a.stop()
        self.a.start()
        self.__class__.ca = consul.Consul(host="127.0.0.1", port=self.a.http_port)
        _, e = self.ca.kv.get("persist/k")
        self.assertEqual(e["Value"], b"kept")
        self.assertEqual(e["ModifyIndex"], before["ModifyIndex"])


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
