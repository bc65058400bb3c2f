#!/usr/bin/env python3
"""Snapshot restore on etcd vs the embedded store vs etcd's own bulk write, in the same run.

Run from the repository root after building Beacon:
  python3 bench/snapshot_restore_bench.py             # KEYS=10000 VALUE_BYTES=256 RUNS=5
  KEYS=50000 RUNS=3 python3 bench/snapshot_restore_bench.py

Starts on 127.0.0.1 free ports (data under WORKDIR, default /tmp): one etcd 3.4 member with its
default limits (--max-txn-ops 128, --max-request-bytes 1.5 MiB), one Beacon server with the
embedded store, one Beacon server with -kv-backend etcd on that member. Fills KEYS keys into
both (via /v1/txn), saves a snapshot from each, then per run (rotating order):
  embedded  PUT /v1/snapshot on the embedded server (one atomic LMDB write)
  etcd      PUT /v1/snapshot on the etcd server (stage a generation in 64-op txns, flip, clean)
  gateway   the peer: the same keys and values written straight to etcd's gateway in 64-op
            txns (what the staging alone costs), then deleted
While the etcd restore runs, a client PUTs one key after another through the etcd server: its
slowest PUT (the wait across the flip) against its median outside restores.
Output: medians (RUNS runs) and ratios, as a Markdown table on stdout.
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
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import free_port, wait_http  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEACON = os.environ.get("BEACON", os.path.join(ROOT, "build-dev", "beacon"))
ETCD = os.environ.get("ETCD", shutil.which("etcd") or "etcd")
KEYS = int(os.environ.get("KEYS", "10000"))
VALUE_BYTES = int(os.environ.get("VALUE_BYTES", "256"))
RUNS = int(os.environ.get("RUNS", "5"))
WORKDIR = os.environ.get("WORKDIR", "/tmp")


def call(port, method, path, body=None, timeout=600):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path, body=body)
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError("%s %s -> %d %r" % (method, path, r.status, data[:200]))
    return data


def b64(s):
    return base64.b64encode(s).decode()


def main():
    tmp = tempfile.mkdtemp(prefix="beacon-snapbench-", dir=WORKDIR)
    procs = []
    try:
        client, peer = free_port(), free_port()
        procs.append(subprocess.Popen(
            [ETCD, "--name", "m0", "--data-dir", tmp + "/etcd",
             "--listen-client-urls", "http://127.0.0.1:%d" % client,
             "--advertise-client-urls", "http://127.0.0.1:%d" % client,
             "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
             "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
             "--initial-cluster", "m0=http://127.0.0.1:%d" % peer, "--log-level", "error",
             "--logger", "zap"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_http("http://127.0.0.1:%d/health" % client)
        ports = {}
        for name, extra in (("embedded", []), ("etcd", ["-kv-backend", "etcd", "-etcd-endpoints",
                                                        "http://127.0.0.1:%d" % client])):
            http_port = free_port()
            procs.append(subprocess.Popen(
                [BEACON, "agent", "-server", "-node", name, "-data-dir", tmp + "/" + name,
                 "-bind", "127.0.0.1", "-http-port", str(http_port), "-dns-port",
                 str(free_port()), "-serf-lan-port", str(free_port()), "-server-port",
                 str(free_port()), "-log-level", "info"] + extra,
                stdout=subprocess.DEVNULL, stderr=open(tmp + "/" + name + ".log", "wb")))
            wait_http("http://127.0.0.1:%d/v1/status/leader" % http_port)
            ports[name] = http_port
        value = b"v" * VALUE_BYTES
        for port in ports.values():
            for i in range(0, KEYS, 64):
                ops = [{"KV": {"Verb": "set", "Key": "bench/%08d" % j, "Value": b64(value)}}
                       for j in range(i, min(i + 64, KEYS))]
                call(port, "PUT", "/v1/txn", json.dumps(ops).encode())
        files = {name: call(port, "GET", "/v1/snapshot") for name, port in ports.items()}

        def gateway():
            for i in range(0, KEYS, 64):
                ops = [{"request_put": {"key": b64(b"/peer/bench/%08d" % j), "value": b64(value)}}
                       for j in range(i, min(i + 64, KEYS))]
                call(client, "POST", "/v3/kv/txn", json.dumps({"success": ops}).encode())
            call(client, "POST", "/v3/kv/deleterange", json.dumps(
                {"key": b64(b"/peer/"), "range_end": b64(b"/peer0")}).encode())

        lat_out, lat_in = [], []
        flag = {"restoring": False, "stop": False}

        def writer():
            c = http.client.HTTPConnection("127.0.0.1", ports["etcd"], timeout=60)
            i = 0
            while not flag["stop"]:
                t0 = time.perf_counter()
                c.request("PUT", "/v1/kv/side/%d" % i, body=b"x")
                c.getresponse().read()
                (lat_in if flag["restoring"] else lat_out).append(time.perf_counter() - t0)
                i += 1

        w = threading.Thread(target=writer, daemon=True)
        w.start()
        times = {"embedded": [], "etcd": [], "gateway": []}
        order = ["embedded", "etcd", "gateway"]
        for run in range(RUNS):
            for name in order[run % 3:] + order[:run % 3]:
                t0 = time.perf_counter()
                if name == "gateway":
                    gateway()
                else:
                    flag["restoring"] = name == "etcd"
                    call(ports[name], "PUT", "/v1/snapshot", files[name])
                    flag["restoring"] = False
                times[name].append(time.perf_counter() - t0)
        flag["stop"] = True
        w.join(30)
        med = {k: statistics.median(v) for k, v in times.items()}
        print("snapshot restore, %d keys x %d B values, medians of %d runs\n" %
              (KEYS, VALUE_BYTES, RUNS))
        print("| target | restore | ratio |")
        print("|---|---|---|")
        for k in order:
            print("| %s | %.0f ms | %.2fx gateway |" % (k, med[k] * 1000, med[k] / med["gateway"]))
        print("\netcd/embedded: %.2fx" % (med["etcd"] / med["embedded"]))
        if lat_in and lat_out:
            print("writer through the etcd server: median PUT %.1f ms outside restores, slowest "
                  "during restores %.1f ms (%d PUTs during)" %
                  (statistics.median(lat_out) * 1000, max(lat_in) * 1000, len(lat_in)))
        with open(tmp + "/etcd.log", "rb") as f:
            for line in f.read().decode(errors="replace").splitlines():
                if "snapshot restored" in line or "generation" in line:
                    print("etcd server:", line.split("kv: ", 1)[-1])
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
