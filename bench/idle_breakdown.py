#!/usr/bin/env python3
"""Idle loopback bytes by port for N Beacon (or serf) agents started as cluster_bench.py starts
them, in a private network namespace, counted by nft (L3 bytes, output hook only, so each packet
counts once), plus Beacon's beacon.gossip.streams_out and beacon.catalog_sync.* counters over the
same window. The window starts SETTLE seconds (env, default 30) after every member is alive.
tcp8500 is this script's own metrics reads. Usage (root):
  SETTLE=150 python3 bench/idle_breakdown.py build/beacon 30 60
  SETTLE=150 python3 bench/idle_breakdown.py - 30 60 serf"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
if "--inside" not in sys.argv:
    sys.exit(subprocess.run(["unshare", "--net", "--", sys.executable, os.path.abspath(sys.argv[0])]
                            + sys.argv[1:] + ["--inside"]).returncode)
import cluster_bench as cb  # noqa: E402
binary, n, secs = os.path.abspath(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
kind = "serf" if "serf" in sys.argv[4:] else "beacon"
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
rules = """
table inet bd {
  counter udp8301 {}
  counter tcp8301 {}
  counter tcp8300 {}
  counter tcp8500 {}
  counter other {}
  chain out {
    type filter hook output priority 0;
    udp dport 8301 counter name udp8301 accept
    udp sport 8301 counter name udp8301 accept
    tcp dport 8301 counter name tcp8301 accept
    tcp sport 8301 counter name tcp8301 accept
    tcp dport 8300 counter name tcp8300 accept
    tcp sport 8300 counter name tcp8300 accept
    tcp dport 8500 counter name tcp8500 accept
    tcp sport 8500 counter name tcp8500 accept
    counter name other accept
  }
}
"""
subprocess.run(["nft", "-f", "-"], input=rules, text=True, check=True)
work = tempfile.mkdtemp(prefix="bd-")
if kind == "serf":
    env = dict(os.environ, GO111MODULE="off", GOPATH=cb.GOPATH, GOCACHE="/tmp/gocache")
    binary = os.path.join(work, "serf")
    subprocess.run(["go", "build", "-o", binary, "github.com/hashicorp/serf/cmd/serf"], env=env,
                   check=True)
cl = cb.Cluster(kind, n, 21, binary, work, "info")
try:
    cl.start()
    time.sleep(float(os.environ.get('SETTLE', '30')))
    def streams():
        if kind != "beacon":
            return 0
        tot = {}
        for h in cl.hosts:
            body, _ = cb.http(h, 8500, "/v1/agent/metrics", timeout=5)
            def walk(x):
                nonlocal tot
                if isinstance(x, dict):
                    nm = x.get("Name", "")
                    if isinstance(nm, str) and (nm.startswith("beacon.catalog_sync.")
                                                or nm == "beacon.gossip.streams_out"):
                        tot[nm] = tot.get(nm, 0) + x.get("Count", x.get("Value", x.get("Sum", 0)))
                    for v in x.values():
                        walk(v)
                elif isinstance(x, list):
                    for v in x:
                        walk(v)
            walk(body)
        return tot
    s0 = streams()
    subprocess.run(["nft", "reset", "counters", "table", "inet", "bd"], check=True,
                   capture_output=True)
    time.sleep(secs)
    s1 = streams()
    if kind == "beacon":
        for k in sorted(s1):
            print("%-45s per node per minute: %.2f" % (k, (s1[k] - s0.get(k, 0)) / n / secs * 60))
    out = subprocess.run(["nft", "-j", "list", "counters", "table", "inet", "bd"], check=True,
                         capture_output=True, text=True).stdout
finally:
    cl.stop()
tot = 0
for item in json.loads(out)["nftables"]:
    c = item.get("counter")
    if c:
        print("%-8s %8.1f B/s/node %6.2f pkts/s/node" % (
            c["name"], c["bytes"] / secs / n, c["packets"] / secs / n))
        tot += c["bytes"]
print("total    %8.1f B/s/node (L3)" % (tot / secs / n))
