#!/usr/bin/env python3
"""etcd's database size under Beacon PUTs, with Beacon's history compaction off and on.

Run from the repository root after building Beacon:
  python3 bench/etcd_compaction.py                  # intervals 0s (off) and 2s
  INTERVALS="0s 5m" ROUNDS=3 PUTS=3000 python3 bench/etcd_compaction.py

For each `etcd { compaction_interval }`: one etcd 3.4 member and one Beacon server on it
(127.0.0.1 free ports, temp dirs), then ROUNDS rounds of PUTS sequential PUTs of distinct
256-byte values over 50 keys (equal values would be skipped: Beacon writes nothing for a no-op
PUT), each followed by a 6 s pause (a compaction pass or more). Prints etcd's dbSize
(/v3/maintenance/status) after each round. Without compaction etcd keeps every revision and the
file grows with every write until etcd's space quota (2 GiB by default) refuses all writes; with
it, bolt reuses the pages of compacted revisions and the growth levels off.
"""
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import free_port, wait_http  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEACON = os.environ.get("BEACON", os.path.join(ROOT, "build", "beacon"))
ETCD = os.environ.get("ETCD", shutil.which("etcd") or "etcd")
INTERVALS = os.environ.get("INTERVALS", "0s 2s").split()
ROUNDS = int(os.environ.get("ROUNDS", "3"))
PUTS = int(os.environ.get("PUTS", "3000"))


def post(addr, path):
    c = http.client.HTTPConnection(addr, timeout=5)
    try:
        c.request("POST", path, "{}")
        return json.loads(c.getresponse().read())
    finally:
        c.close()


def run(interval):
    tmp = tempfile.mkdtemp(prefix="beacon-compaction-")
    procs = []
    try:
        cp, pp, hp = free_port(), free_port(), free_port()
        client, peer = "http://127.0.0.1:%d" % cp, "http://127.0.0.1:%d" % pp
        procs.append(subprocess.Popen(
            [ETCD, "--data-dir", tmp + "/etcd", "--listen-client-urls", client,
             "--advertise-client-urls", client, "--listen-peer-urls", peer,
             "--initial-advertise-peer-urls", peer, "--initial-cluster", "default=" + peer,
             "--logger", "zap", "--log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_http(client + "/health")
        cfg = os.path.join(tmp, "etcd.json")
        with open(cfg, "w") as fh:
            json.dump({"kv_backend": "etcd",
                       "etcd": {"endpoints": [client], "compaction_interval": interval}}, fh)
        procs.append(subprocess.Popen(
            [BEACON, "agent", "-server", "-bootstrap-expect", "1", "-node", "bench",
             "-data-dir", tmp + "/beacon", "-bind", "127.0.0.1", "-http-port", str(hp),
             "-dns-port", str(free_port()), "-serf-lan-port", str(free_port()),
             "-server-port", str(free_port()), "-config-file", cfg, "-log-level", "warn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_http("http://127.0.0.1:%d/v1/status/leader" % hp)
        addr = "127.0.0.1:%d" % cp
        sizes = [int(post(addr, "/v3/maintenance/status")["dbSize"])]
        c = http.client.HTTPConnection("127.0.0.1:%d" % hp, timeout=10)
        for rnd in range(ROUNDS):
            for i in range(PUTS):
                c.request("PUT", "/v1/kv/grow/%d" % (i % 50), "v" * 256 + str(rnd * PUTS + i))
                r = c.getresponse()
                r.read()
                if r.status != 200:
                    raise RuntimeError("PUT answered %d" % r.status)
            time.sleep(6)
            sizes.append(int(post(addr, "/v3/maintenance/status")["dbSize"]))
        c.close()
        return sizes
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    print("| compaction_interval | etcd dbSize after 0, %s PUTs (MB) |" %
          ", ".join(str(PUTS * (r + 1)) for r in range(ROUNDS)))
    print("|---|---|")
    for iv in INTERVALS:
        sizes = run(iv)
        print("| %s | %s |" % (iv, " → ".join("%.2f" % (s / 1e6) for s in sizes)))


if __name__ == "__main__":
    main()
