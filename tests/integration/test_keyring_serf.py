#!/usr/bin/env python3
"""Key rotation in a mixed cluster: two Beacon agents and a stock HashiCorp `serf agent` on
127.0.13.x, encrypted. `serf keys -install` (stock serf's tool) installs the key on the Beacon
agents too, `beacon keyring -use` makes it primary on the serf node, `serf keys -remove` drops
the old key everywhere; each side's own tool shows the outcome and everyone stays alive; a
`serf query` is acked by the Beacon agents. Skips
(exit 77) only when go or the serf sources are missing."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BEACON, Agent, free_port, skip, wait_for, watchdog  # noqa: E402
from test_serf_cluster import SerfNode  # noqa: E402
from test_serf_wire import SERF_SRC, build_serf  # noqa: E402


def beacon(*args):
    p = subprocess.run([BEACON] + list(args), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def serf_keys(node):
    r = node.run("keys", "-list", timeout=20)
    assert r.returncode == 0, (r.stdout, r.stderr)
    return {line.split()[0]: line.split()[-1] for line in r.stdout.splitlines()
            if line.strip().endswith("]") and not line.startswith("==>")}


def alive(agent):
    return sorted(m["Name"] for m in agent.api("GET", "/v1/agent/members") if m["Status"] == 1)


def main():
    watchdog(280)
    if shutil.which("go") is None or not os.path.isdir(SERF_SRC):
        skip("go or the serf sources (golang-github-hashicorp-serf-dev) are missing")
    hosts = ["127.0.13.%d" % i for i in range(1, 4)]
    with tempfile.TemporaryDirectory(prefix="beacon-serf-keys-") as workdir:
        serf = build_serf(workdir)
        keygen = lambda: subprocess.run([serf, "keygen"], capture_output=True, text=True,  # noqa
                                        check=True).stdout.strip()
        old, new = keygen(), keygen()
        port = free_port(hosts[0])
        seed = "%s:%d" % (hosts[0], port)
        beacons, serfs = [], []
        try:
            beacons.append(Agent(node="b1", host=hosts[0], serf_port=port, data_dir="tmp",
                                 extra_args=["-encrypt", old]).start())
            beacons.append(Agent(node="b2", host=hosts[1], serf_port=port, data_dir="tmp",
                                 extra_args=["-encrypt", old, "-join", seed]).start())
            serfs.append(SerfNode(serf, workdir, "s1", hosts[2], port, join=seed, key=old))
            names = ["b1", "b2", "s1"]
            for b in beacons:
                wait_for(lambda b=b: alive(b) == names, 20, what="all alive on %s" % b.node)
            assert serf_keys(serfs[0]) == {old: "[3/3]"}

            # Stock serf installs; Beacon's agents get the key.
            r = serfs[0].run("keys", "-install", new, timeout=20)
            assert r.returncode == 0, (r.stdout, r.stderr)
            listing = beacons[0].api("GET", "/v1/operator/keyring")[0]
            assert listing["Keys"] == {old: 3, new: 3}, listing

            # Beacon makes it primary; the serf node follows.
            rc, out, err = beacon("keyring", "-use", new, "-http-addr", beacons[1].http_addr)
            assert rc == 0, (out, err)
            listing = beacons[0].api("GET", "/v1/operator/keyring")[0]
            assert listing["PrimaryKeys"] == {new: 3}, listing

            # Stock serf removes the old key everywhere.
            r = serfs[0].run("keys", "-remove", old, timeout=20)
            assert r.returncode == 0, (r.stdout, r.stderr)
            assert serf_keys(serfs[0]) == {new: "[3/3]"}
            rc, out, err = beacon("keyring", "-list", "-http-addr", beacons[0].http_addr)
            assert rc == 0 and "  %s [3/3]" % new in out and old not in out, (out, err)
            # Removing the primary is refused by both kinds of node.
            r = serfs[0].run("keys", "-remove", new, timeout=20)
            assert r.returncode == 1, (r.stdout, r.stderr)
            # (serf's UI writes its errors to stdout)
            for node in names:
                assert "failed:  %s  Removing the primary key is not allowed" % node \
                    in r.stdout + r.stderr, (r.stdout, r.stderr)
            assert "Error removing key: 3/3 nodes reported failure" in r.stdout + r.stderr

            # Still one cluster on the new key alone.
            beacons[1].api("PUT", "/v1/event/fire/after-rotation", None)
            wait_for(lambda: "consul:event:after-rotation" in serfs[0].events(), 15,
                     what="event reaches serf on the new key")
            for b in beacons:
                assert alive(b) == names, b.node
            # A plain `serf query` from the stock node is acked by the Beacon agents.
            r = serfs[0].run("query", "-timeout", "2s", "hello", timeout=20)
            assert r.returncode == 0, (r.stdout, r.stderr)
            for n in names:
                assert "Ack from '%s'" % n in r.stdout, r.stdout
            assert "Total Acks: 3" in r.stdout, r.stdout
            print("ok: rotation in a mixed cluster (stock serf + Beacon)")
        finally:
            for s in serfs:
                s.stop()
            for b in beacons:
                b.close()


if __name__ == "__main__":
    main()
