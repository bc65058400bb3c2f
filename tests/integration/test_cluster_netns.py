#!/usr/bin/env python3
"""Partitions and packet loss for a four-agent cluster inside a private network namespace
(issue 8). The test re-runs itself under `unshare --net`, so its loopback and nftables rules
exist only in a namespace that vanishes with it; the host's network is never touched.

- 10% random loss on every gossip packet (UDP and TCP on the Serf port) for 30 s: no member is
  declared failed (Lifeguard). The test's own HTTP and DNS traffic is not dropped.
- A partition {a1,a2} | {a3,a4}: each side sees the other failed, its DNS keeps answering its own
  side's services and drops the other side's; after healing, everyone is alive again and every
  service is answered everywhere.

Skips (exit 77) when not root, when unshare/nft are missing, or when this machine cannot make a
network namespace with nftables (a container without the capability).
"""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, free_port, skip, wait_for, watchdog  # noqa: E402

HOSTS = ["127.0.0.%d" % i for i in range(2, 6)]
NAMES = ["n1", "n2", "n3", "n4"]
TABLE = "beacon_test"


def nft(script):
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True, timeout=10)


def loss(percent, port):
    # Gossip only (UDP port -> port; TCP to the port and its answers): the test's own HTTP and DNS
    # requests must not be lost, or a lost SYN reads as an agent that does not answer.
    nft("table inet %s {\n chain out { type filter hook output priority 0;\n"
        "  meta l4proto { tcp, udp } th dport %d numgen random mod 100 < %d drop\n"
        "  meta l4proto tcp th sport %d th dport != %d numgen random mod 100 < %d drop\n"
        " }\n}\n" % (TABLE, port, percent, port, port, percent))


def partition(left, right):
    l = ", ".join(left)
    r = ", ".join(right)
    nft("table inet %s {\n chain out { type filter hook output priority 0;\n"
        "  ip saddr { %s } ip daddr { %s } drop\n  ip saddr { %s } ip daddr { %s } drop\n }\n}\n"
        % (TABLE, l, r, r, l))


def heal():
    subprocess.run(["nft", "delete", "table", "inet", TABLE], check=True, timeout=10)


def statuses(agent):
    return {m["Name"]: m["Status"] for m in agent.api("GET", "/v1/agent/members")}


def answered(agent, name):
    return sorted(r["data"] for r in agent.dig("%s.service.consul" % name, "A").records("answer", "A"))


def inside():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    watchdog(250)
    port = free_port(HOSTS[0])
    agents = []
    try:
        seed = "%s:%d" % (HOSTS[0], port)
        for i, (host, name) in enumerate(zip(HOSTS, NAMES)):
            extra = ["-server"] if i == 0 else ["-join", seed]
            agents.append(Agent(config={"service": {"name": "svc-" + name, "port": 80}},
                                node=name, host=host, serf_port=port, extra_args=extra).start())
        for a in agents:
            wait_for(lambda a=a: sorted(statuses(a).values()) == [1, 1, 1, 1], 20,
                     what="all alive on %s" % a.node)

        # 10% loss on every packet for 30 s: nobody is declared failed.
        loss(10, port)
        t_end = time.monotonic() + 30
        worst = {}
        while time.monotonic() < t_end:
            for a in agents:
                for n, st in statuses(a).items():
                    if st != 1:
                        worst[(a.node, n)] = st
            time.sleep(0.5)
        heal()
        assert not worst, "false failures under 10%% loss: %r" % worst
        print("10% loss for 30 s: no false failure")

        # Partition and heal.
        partition(HOSTS[:2], HOSTS[2:])
        t0 = time.monotonic()
        for a in agents:
            mine = NAMES[:2] if a.node in NAMES[:2] else NAMES[2:]
            theirs = NAMES[2:] if a.node in NAMES[:2] else NAMES[:2]
            wait_for(lambda a=a, theirs=theirs: all(statuses(a)[n] == 4 for n in theirs), 40,
                     what="other side failed on %s" % a.node)
            for n in mine:
                assert answered(a, "svc-" + n) == [HOSTS[NAMES.index(n)]], (a.node, n)
            for n in theirs:
                wait_for(lambda a=a, n=n: answered(a, "svc-" + n) == [], 10,
                         what="svc-%s gone on %s" % (n, a.node))
        print("partition seen by both sides after %.1fs" % (time.monotonic() - t0))
        heal()
        t0 = time.monotonic()
        for a in agents:
            wait_for(lambda a=a: sorted(statuses(a).values()) == [1, 1, 1, 1], 90,
                     what="all alive again on %s" % a.node)
            for i, n in enumerate(NAMES):
                wait_for(lambda a=a, i=i, n=n: answered(a, "svc-" + n) == [HOSTS[i]], 30,
                         what="svc-%s back on %s" % (n, a.node))
        print("healed: converged after %.1fs" % (time.monotonic() - t0))
    finally:
        for a in agents:
            a.close()


def main():
    if "--inside" in sys.argv:
        inside()
        return
    if os.geteuid() != 0:
        skip("needs root for a private network namespace")
    for tool in ("unshare", "nft", "ip"):
        if shutil.which(tool) is None:
            skip("%s is not installed" % tool)
    probe = subprocess.run(["unshare", "--net", "--", "nft", "list", "ruleset"],
                           capture_output=True, text=True, timeout=20)
    if probe.returncode != 0:
        skip("cannot make a private network namespace with nftables here: %s"
             % (probe.stderr.strip() or "unshare --net failed"))
    p = subprocess.run(["unshare", "--net", "--", sys.executable, os.path.abspath(__file__),
                        "--inside"], timeout=280)
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
