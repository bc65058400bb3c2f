#!/usr/bin/env python3
"""Read latency by consistency mode, Beacon on a 3-member etcd vs etcd's own gateway.

Run from the repository root after building Beacon:
  python3 bench/kv_etcd_consistency.py             # RUNS=5 runs of N=300 reads each, medians
  RUNS=3 N=200 python3 bench/kv_etcd_consistency.py

Starts three etcd 3.4 members and one Beacon server (-kv-backend etcd, all three endpoints) on
127.0.0.1 free ports, writes one key, then per run, in rotating order, N sequential GETs on one
keep-alive connection for each target: Beacon default, ?stale, ?consistent (linearizable
barrier + mirror), and etcd's gateway on the member Beacon's barrier goes to first: range
linearizable (etcd's default) and serializable. Prints p50/p99 in microseconds (medians over the
runs) and the ratios Beacon ?consistent / etcd linearizable and Beacon default / etcd
serializable. Python drives the load on the same cores: compare ratios within a run.
"""
import base64
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEACON = os.environ.get("BEACON", os.path.join(ROOT, "build-dev", "beacon"))
ETCD = os.environ.get("ETCD", shutil.which("etcd") or "etcd")
RUNS = int(os.environ.get("RUNS", "5"))
N = int(os.environ.get("N", "300"))


def wait(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for " + what)


def get_ok(url):
    with urllib.request.urlopen(url, timeout=1) as r:
        return r.status == 200


def pct(vals, p):
    v = sorted(vals)
    return v[min(len(v) - 1, int(len(v) * p))]


def measure(port, method, path, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    lat = []
    for _ in range(N):
        t0 = time.perf_counter()
        c.request(method, path, body=body)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError("%s %s -> %d" % (method, path, r.status))
        lat.append((time.perf_counter() - t0) * 1e6)
    c.close()
    return pct(lat, 0.5), pct(lat, 0.99)


def main():
    tmp = tempfile.mkdtemp(prefix="beacon-consistency-")
    procs = []
    try:
        names = ["m1", "m2", "m3"]
        cport = {m: free_port() for m in names}
        peer = {m: "http://127.0.0.1:%d" % free_port() for m in names}
        initial = ",".join("%s=%s" % (m, peer[m]) for m in names)
        for m in names:
            client = "http://127.0.0.1:%d" % cport[m]
            procs.append(subprocess.Popen(
                [ETCD, "--name", m, "--data-dir", os.path.join(tmp, m),
                 "--listen-client-urls", client, "--advertise-client-urls", client,
                 "--listen-peer-urls", peer[m], "--initial-advertise-peer-urls", peer[m],
                 "--initial-cluster", initial, "--log-level", "error", "--logger", "zap"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for m in names:
            wait(lambda m=m: get_ok("http://127.0.0.1:%d/health" % cport[m]), 30, "etcd " + m)
        http_port = free_port()
        os.mkdir(os.path.join(tmp, "b"))
        eps = ",".join("http://127.0.0.1:%d" % cport[m] for m in names)
        procs.append(subprocess.Popen(
            [BEACON, "agent", "-server", "-node", "b1", "-data-dir", os.path.join(tmp, "b"),
             "-http-port", str(http_port), "-dns-port", "-1", "-serf-lan-port", "-1",
             "-server-port", str(free_port()), "-kv-backend", "etcd", "-etcd-endpoints", eps,
             "-log-level", "warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait(lambda: get_ok("http://127.0.0.1:%d/v1/status/leader" % http_port), 30, "beacon")
        req = urllib.request.Request("http://127.0.0.1:%d/v1/kv/bench/k" % http_port,
                                     data=b"x" * 100, method="PUT")
        urllib.request.urlopen(req, timeout=10).read()
        key = base64.b64encode(b"/beacon/e/bench/k").decode()
        first = cport[names[0]]  # the barrier's first endpoint
        targets = [
            ("beacon default", http_port, "GET", "/v1/kv/bench/k", None),
            ("beacon ?stale", http_port, "GET", "/v1/kv/bench/k?stale", None),
            ("beacon ?consistent", http_port, "GET", "/v1/kv/bench/k?consistent", None),
            ("etcd linearizable", first, "POST", "/v3/kv/range", json.dumps({"key": key})),
            ("etcd serializable", first, "POST", "/v3/kv/range",
             json.dumps({"key": key, "serializable": True})),
        ]
        res = {t[0]: [] for t in targets}
        for run in range(RUNS):
            order = targets[run % len(targets):] + targets[:run % len(targets)]
            for name, port, method, path, body in order:
                res[name].append(measure(port, method, path, body))
        print("| target | p50 us | p99 us |\n|---|---|---|")
        p50 = {}
        for name, _, _, _, _ in targets:
            p50[name] = statistics.median(r[0] for r in res[name])
            print("| %s | %.0f | %.0f |" % (name, p50[name],
                                            statistics.median(r[1] for r in res[name])))
        print("\n?consistent / etcd linearizable p50: %.2fx; default / etcd serializable p50: "
              "%.2fx (RUNS=%d, N=%d)" % (p50["beacon ?consistent"] / p50["etcd linearizable"],
                                         p50["beacon default"] / p50["etcd serializable"],
                                         RUNS, N))
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
