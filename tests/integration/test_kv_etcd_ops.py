#!/usr/bin/python3
"""Operator view of KV on etcd (issue 10, scope 3 and 5): a real 3-member etcd (Debian's
etcd-server) on 127.0.0.1 free ports, one Beacon server with `-kv-backend etcd` naming all three
client URLs, and a client agent joined to it by gossip (it forwards status and operator calls):

- /v1/status/leader is etcd's leader's peer address (asked of etcd itself), /v1/status/peers the
  three members, on the server and through the client agent,
- /v1/operator/raft/configuration has Consul's shape; `beacon operator raft list-peers` prints
  Consul's table with the leader marked,
- `beacon info` shows the kv section (backend etcd, 3/3 endpoints reachable, the leader),
- ?consistent reads answer after a linearizable barrier (read-your-writes; a blocking one parks
  on its ?index and wakes on a write through the client agent),
- with every member killed, `list-peers` fails and `list-peers -stale` prints the last membership
  seen (no leader), as Consul's -stale answers from local configuration;
- with two members killed (no quorum): KV reads answer X-Consul-KnownLeader: false and a growing
  X-Consul-LastContact (?max_stale past it goes consistent and fails), ?stale still
  answers with the value, ?consistent answers 500, status/leader is ""; with them back the
  leader is known again,
- `remove-peer` without arguments, with both, or with an unknown peer fails (exit 1, Consul's
  texts); DELETE /v1/operator/raft/peer without ?address/?id is 400,
- `remove-peer -address <peer>` removes a follower: list-peers shows 2 members.

- the embedded backend: one server, itself the leader (runs without etcd; the etcd class is
  skipped then).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BEACON, Agent, free_port, stop_process, wait_for, watchdog, _live_processes  # noqa: E402

ETCD = shutil.which("etcd")

watchdog(300)


def etcd_post(client_url, path, body=None, timeout=2):
    req = urllib.request.Request(client_url + path, data=json.dumps(body or {}).encode(),
                                 method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


class EtcdCluster:
    """Three members m1..m3 on 127.0.0.1 free ports; kill(name) and start(name) one member."""

    def __init__(self, n=3):
        self.tmp = tempfile.TemporaryDirectory(prefix="beacon-etcd-ops-")
        self.names = ["m%d" % (i + 1) for i in range(n)]
        self.client = {m: "http://127.0.0.1:%d" % free_port() for m in self.names}
        self.peer = {m: "http://127.0.0.1:%d" % free_port() for m in self.names}
        self.procs = {}
        self.logs = {}
        self.initial = ",".join("%s=%s" % (m, self.peer[m]) for m in self.names)
        for m in self.names:
            self.start(m, wait=False)
        for m in self.names:
            wait_for(lambda m=m: self.healthy(m), 30, what="etcd %s healthy" % m)

    def start(self, m, wait=True):
        if m in self.logs:
            self.logs[m].close()
        log = open(os.path.join(self.tmp.name, m + ".log"), "ab")
        self.logs[m] = log
        self.procs[m] = subprocess.Popen(
            [ETCD, "--name", m, "--data-dir", os.path.join(self.tmp.name, m),
             "--listen-client-urls", self.client[m], "--advertise-client-urls", self.client[m],
             "--listen-peer-urls", self.peer[m], "--initial-advertise-peer-urls", self.peer[m],
             "--initial-cluster", self.initial, "--initial-cluster-token", "beacon-ops",
             "--heartbeat-interval", "100", "--election-timeout", "1000",
             "--logger", "zap", "--log-level", "error"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _live_processes.append(self.procs[m])
        if wait:
            wait_for(lambda: self.status(m) is not None, 30, what="etcd %s up" % m)

    def kill(self, m):
        stop_process(self.procs[m], term_timeout=0.1)

    def status(self, m):
        try:
            return etcd_post(self.client[m], "/v3/maintenance/status")
        except OSError:
            return None

    def healthy(self, m):
        try:
            with urllib.request.urlopen(self.client[m] + "/health", timeout=1) as r:
                return b'"true"' in r.read()
        except OSError:
            return False

    def leader(self):
        """The member that reports itself as leader (None when none does)."""
        for m in self.names:
            st = self.status(m)
            if st and st.get("leader") and st["leader"] == st["header"]["member_id"]:
                return m
        return None

    def peer_addr(self, m):
        return self.peer[m].split("://", 1)[1]

    def stop(self):
        for p in self.procs.values():
            stop_process(p, term_timeout=0.1)
        for f in self.logs.values():
            f.close()
        self.tmp.cleanup()


def cli(agent, *args, timeout=30):
    r = subprocess.run([BEACON] + list(args) + ["-http-addr", agent.http_addr],
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def list_peers(agent):
    rc, out, err = cli(agent, "operator", "raft", "list-peers")
    assert rc == 0, (rc, out, err)
    lines = out.strip().splitlines()
    return lines[0].split(), [l.split() for l in lines[1:]]


class EmbeddedOps(unittest.TestCase):
    """The embedded backend: one server, itself the leader."""

    def test_one_server(self):
        with Agent(node="solo", data_dir="tmp", extra_args=["-server"]) as a:
            me = "127.0.0.1:%d" % a.server_port
            self.assertEqual(a.api("GET", "/v1/status/leader"), me)
            self.assertEqual(a.api("GET", "/v1/status/peers"), [me])
            header, rows = list_peers(a)
            self.assertEqual(len(rows), 1)
            self.assertEqual(rows[0][0], "solo")
            self.assertEqual(rows[0][2:], [me, "leader", "true", "3"])
            rc, _, err = cli(a, "operator", "raft", "remove-peer", "-address", "10.9.9.9:8300")
            self.assertEqual(rc, 1)
            self.assertEqual(err.strip(), 'Error removing peer: Unexpected response code: 500 '
                             '(address "10.9.9.9:8300" was not found in the Raft configuration)')
            r = a.http("GET", "/v1/kv/none?consistent")
            self.assertEqual((r.status, r.header("X-Consul-KnownLeader")), (404, "true"))
            rc, out, _ = cli(a, "info")
            self.assertIn("kv:\n\tbackend = embedded\n", out)
            consul = out[out.index("consul:\n"):]
            self.assertIn("\tleader = true\n", consul)
            self.assertIn("\tleader_addr = %s\n" % me, consul)


@unittest.skipIf(ETCD is None, "etcd is not installed (apt-get install etcd-server)")
class EtcdOps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.etcd = EtcdCluster()
        eps = ",".join(cls.etcd.client[m] for m in cls.etcd.names)
        cls.server = Agent(node="s1", data_dir="tmp", extra_args=[
            "-server", "-kv-backend", "etcd", "-etcd-endpoints", eps]).start()
        cls.client = Agent(node="c1", data_dir="tmp",
                           extra_args=["-join", cls.server.serf_addr]).start()

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.close()
        cls.etcd.stop()

    def wait_leader(self, agent, timeout=20):
        def known():
            r = agent.http("GET", "/v1/status/leader")
            want = self.etcd.leader()
            return r.status == 200 and want is not None and \
                r.json() == self.etcd.peer_addr(want)
        wait_for(known, timeout, interval=0.2, what="status/leader = etcd's leader")

    def test_1_status_and_configuration(self):
        all_peers = sorted(self.etcd.peer_addr(m) for m in self.etcd.names)
        for agent in (self.server, self.client):  # the client agent forwards
            self.wait_leader(agent)
            self.assertEqual(sorted(agent.api("GET", "/v1/status/peers")), all_peers)
        leader = self.etcd.leader()
        conf = self.server.api("GET", "/v1/operator/raft/configuration")
        self.assertEqual(set(conf), {"Servers", "Index"})
        self.assertGreater(conf["Index"], 0)
        self.assertEqual(sorted(s["Node"] for s in conf["Servers"]), self.etcd.names)
        for s in conf["Servers"]:
            self.assertEqual(list(s), ["ID", "Node", "Address", "Leader", "ProtocolVersion",
                                       "Voter"])
            self.assertEqual(s["Address"], self.etcd.peer_addr(s["Node"]))
            self.assertEqual(s["Leader"], s["Node"] == leader)
            self.assertTrue(s["Voter"])
            self.assertEqual(s["ProtocolVersion"], "3")
        for agent in (self.server, self.client):
            header, rows = list_peers(agent)
            self.assertEqual(header, ["Node", "ID", "Address", "State", "Voter", "RaftProtocol"])
            self.assertEqual(sorted(r[0] for r in rows), self.etcd.names)
            for r in rows:
                self.assertEqual(r[3], "leader" if r[0] == leader else "follower", rows)
                self.assertEqual(r[2], self.etcd.peer_addr(r[0]))
                self.assertEqual(r[4:], ["true", "3"])
        rc, out, err = cli(self.server, "info")
        self.assertEqual(rc, 0, err)
        section = out[out.index("kv:\n"):]
        self.assertIn("\tbackend = etcd\n", section)
        self.assertIn("\tendpoints_reachable = 3/3\n", section)
        self.assertIn("\tknown_leader = true\n", section)
        self.assertIn("\tleader = %s (%s)\n" % (leader, self.etcd.peer_addr(leader)), section)
        # No Beacon server leads external etcd members: consul.leader is false on every server,
        # and leader_addr names etcd's leader.
        consul = out[out.index("consul:\n"):out.index("kv:\n")]
        self.assertIn("\tleader = false\n", consul)
        self.assertIn("\tleader_addr = %s\n" % self.etcd.peer_addr(leader), consul)

    def test_2_consistent_read(self):
        self.server.api("PUT", "/v1/kv/ops/a", "one")
        for q in ("", "?consistent", "?stale"):
            for agent in (self.server, self.client):
                r = agent.http("GET", "/v1/kv/ops/a" + q)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header("X-Consul-KnownLeader"), "true")
        # Read-your-writes: a write on the server, then a ?consistent read at once.
        for i in range(20):
            self.server.api("PUT", "/v1/kv/ops/n", str(i))
            r = self.server.http("GET", "/v1/kv/ops/n?consistent&raw")
            self.assertEqual((r.status, r.body), (200, str(i).encode()))
        # A blocking ?consistent read parks on its index after the barrier and wakes on a write.
        idx = self.server.http("GET", "/v1/kv/ops/n").index
        out = {}
        t = threading.Thread(target=lambda: out.update(r=self.client.http(
            "GET", "/v1/kv/ops/n?consistent&raw&index=%d&wait=20s" % idx, timeout=30)))
        t.start()
        time.sleep(0.5)
        self.assertTrue(t.is_alive(), out)  # still parked: nothing changed
        self.server.api("PUT", "/v1/kv/ops/n", "woken")
        t.join(25)
        self.assertEqual((out["r"].status, out["r"].body), (200, b"woken"))
        self.assertGreater(out["r"].index, idx)

    def test_3_remove_peer_errors(self):
        rc, _, err = cli(self.server, "operator", "raft", "remove-peer")
        self.assertEqual((rc, err.strip()), (1, "Error removing peer: an address or id is "
                                                "required for the peer to remove"))
        rc, _, err = cli(self.server, "operator", "raft", "remove-peer", "-id", "1", "-address",
                         "x:1")
        self.assertEqual((rc, err.strip()),
                         (1, "Error removing peer: cannot give both an address and id"))
        rc, _, err = cli(self.server, "operator", "raft", "remove-peer", "-address",
                         "127.0.0.1:1")
        self.assertEqual(rc, 1)
        self.assertIn('address "127.0.0.1:1" was not found in the Raft configuration', err)
        rc, _, err = cli(self.client, "operator", "raft", "remove-peer", "-id", "deadbeef")
        self.assertEqual(rc, 1)
        self.assertIn('id "deadbeef" was not found in the Raft configuration', err)
        r = self.server.http("DELETE", "/v1/operator/raft/peer")
        self.assertEqual(r.status, 400)
        self.assertEqual(len(list_peers(self.server)[1]), 3)

    def test_4_no_quorum(self):
        self.server.api("PUT", "/v1/kv/ops/q", "kept")
        self.wait_leader(self.server)
        leader = self.etcd.leader()
        other = next(m for m in self.etcd.names if m != leader)
        self.etcd.kill(leader)
        self.etcd.kill(other)

        def no_leader():
            r = self.server.http("GET", "/v1/kv/ops/q?stale&raw")
            return r.status == 200 and r.header("X-Consul-KnownLeader") == "false"
        wait_for(no_leader, 20, interval=0.2, what="KnownLeader false with 2 of 3 members down")
        r = self.server.http("GET", "/v1/kv/ops/q?stale&raw")
        self.assertEqual(r.body, b"kept")
        r = self.client.http("GET", "/v1/kv/ops/q?stale&raw")  # forwarded
        self.assertEqual((r.status, r.body, r.header("X-Consul-KnownLeader")),
                         (200, b"kept", "false"))
        r = self.server.http("GET", "/v1/kv/ops/q")  # default mode: the mirror, flagged
        self.assertEqual((r.status, r.header("X-Consul-KnownLeader")), (200, "false"))
        r = self.server.http("GET", "/v1/kv/ops/q?consistent", timeout=30)
        self.assertEqual(r.status, 500, r)
        # X-Consul-LastContact: how long no leader has been seen, growing; ?max_stale reads the
        # mirror while that is within the bound and goes consistent (here: fails) past it.
        first = int(self.server.http("GET", "/v1/kv/ops/q").header("X-Consul-LastContact"))
        self.assertGreater(first, 0)
        time.sleep(1.5)
        r = self.server.http("GET", "/v1/kv/ops/q?stale")
        self.assertGreaterEqual(int(r.header("X-Consul-LastContact")), first + 1000)
        r = self.server.http("GET", "/v1/kv/ops/q?raw&max_stale=1h")
        self.assertEqual((r.status, r.body), (200, b"kept"))
        r = self.server.http("GET", "/v1/kv/ops/q?raw&max_stale=500ms", timeout=30)
        self.assertEqual(r.status, 500, r)
        r = self.client.http("GET", "/v1/kv/ops/q?stale")  # forwarded: the server's figure
        self.assertGreater(int(r.header("X-Consul-LastContact")), 0)
        self.assertEqual(self.server.api("GET", "/v1/status/leader"), "")
        rc, out, err = cli(self.server, "info")
        self.assertIn("\tknown_leader = false\n", out)
        self.assertIn("\tendpoints_reachable = 1/3\n", out)

        # Every member down: list-peers fails, -stale shows the last membership seen, no leader.
        third = next(m for m in self.etcd.names if m not in (leader, other))
        self.etcd.kill(third)
        rc, out, err = cli(self.server, "operator", "raft", "list-peers")
        self.assertEqual(rc, 1, (out, err))
        self.assertIn("Error getting peers", err)
        rc, out, err = cli(self.server, "operator", "raft", "list-peers", "-stale")
        self.assertEqual(rc, 0, err)
        rows = [l.split() for l in out.strip().splitlines()[1:]]
        self.assertEqual(sorted(r[0] for r in rows), sorted(self.etcd.names))
        self.assertEqual({r[3] for r in rows}, {"follower"})

        for m in (third, leader, other):  # a lone member answers nothing until a quorum is up
            self.etcd.start(m, wait=False)
        for m in self.etcd.names:
            wait_for(lambda m=m: self.etcd.status(m) is not None, 30, what="etcd %s up" % m)
        self.wait_leader(self.server, timeout=30)
        wait_for(lambda: self.server.http("GET", "/v1/kv/ops/q").header(
            "X-Consul-KnownLeader") == "true", 10, what="KnownLeader true again")
        self.assertEqual(self.server.http("GET", "/v1/kv/ops/q").header("X-Consul-LastContact"),
                         "0")
        r = self.server.http("GET", "/v1/kv/ops/q?raw&max_stale=500ms")
        self.assertEqual((r.status, r.body), (200, b"kept"))
        r = self.server.http("GET", "/v1/kv/ops/q?consistent&raw", timeout=30)
        self.assertEqual((r.status, r.body), (200, b"kept"))

    def test_5_remove_peer(self):
        self.wait_leader(self.server)
        leader = self.etcd.leader()
        victim = next(m for m in self.etcd.names if m != leader)
        addr = self.etcd.peer_addr(victim)
        rc, out, err = cli(self.client, "operator", "raft", "remove-peer", "-address", addr)
        self.assertEqual((rc, out.strip()), (0, 'Removed peer with address "%s"' % addr), err)
        header, rows = list_peers(self.server)
        self.assertEqual(sorted(r[0] for r in rows), sorted(m for m in self.etcd.names
                                                            if m != victim))
        self.assertNotIn(addr, self.server.api("GET", "/v1/status/peers"))
        self.etcd.kill(victim)  # a removed member stops by itself; reap it either way
        self.server.api("PUT", "/v1/kv/ops/after", "2 members")
        r = self.server.http("GET", "/v1/kv/ops/after?consistent&raw")
        self.assertEqual((r.status, r.body), (200, b"2 members"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
