#!/usr/bin/env python3
"""KV PUT/GET through Beacon on etcd vs Beacon embedded (LMDB) vs etcd's own JSON gateway.

Run from the repository root after building Beacon:
  python3 bench/kv_etcd_bench.py                   # RUNS=5 short runs, medians printed
  RUNS=3 DURATION=2 python3 bench/kv_etcd_bench.py

Starts, on 127.0.0.1 free ports with data dirs under WORKDIR (default /tmp: fsync must hit a
real disk): one etcd 3.4 member, one Beacon server with the embedded store (-data-dir), one
Beacon server with -kv-backend etcd on that member. Per run, in rotating order, each target gets:
  lat   LAT_N sequential durable PUTs of distinct KEY_BYTES keys with VALUE_BYTES values, then LAT_N
        GETs of those keys, on one keep-alive connection: p50/p99 in microseconds
  tput  CONNS client processes, one keep-alive connection each, PUT (distinct keys) for
        DURATION s, then GET for DURATION s: requests/s
  wake  WAKE_N times: a blocking GET /v1/kv/<key>?index=<current> parked on one server, then a
        PUT of that key on a server: time from sending the PUT to the blocking GET's answer,
        p50/p99 in microseconds (embedded: same server; beacon-etcd: same server and, with a
        second Beacon server on the same etcd member, PUT on the other server)
Targets: beacon-embedded (PUT/GET /v1/kv/<key>), beacon-etcd (same, on etcd), etcd
(POST /v3/kv/put; /v3/kv/range linearizable = etcd's default, and "etcd-ser" = serializable,
a local read like Beacon's), and "etcd-txn": the txn Beacon sends for a PUT, sent straight to
the gateway (what Beacon's PUT costs at etcd, without Beacon). Everything shares the machine's cores with the load generator
(Python), so compare ratios within the run, not absolute figures across machines.
The PUT throughput phase also reads /proc for the CPU time etcd, the Beacon server under test and
the other Beacon server on etcd (which watches every beacon-etcd PUT) spent per PUT, and the whole
machine's CPU per PUT (load generator and kernel included): where the throughput goes on a
CPU-bound machine.
Output: a Markdown table of medians (RUNS runs) on stdout and in bench/results/kv-etcd-<ts>.md.
"""
import base64
import http.client
import json
import multiprocessing as mp
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
RUNS = int(os.environ.get("RUNS", "5"))
DURATION = float(os.environ.get("DURATION", "3"))
LAT_N = int(os.environ.get("LAT_N", "300"))
CONNS = int(os.environ.get("CONNS", "8"))
WAKE_N = int(os.environ.get("WAKE_N", "100"))
KEY_BYTES = int(os.environ.get("KEY_BYTES", "64"))
VALUE_BYTES = int(os.environ.get("VALUE_BYTES", "256"))
WORKDIR = os.environ.get("WORKDIR", "/tmp")
VALUE = (b"v" * VALUE_BYTES)


def key(prefix, i):
    k = "%s/%d/" % (prefix, i)
    return k + "k" * max(0, KEY_BYTES - len(k))


def b64(b):
    return base64.b64encode(b if isinstance(b, bytes) else b.encode()).decode()


def beacon_like_txn(k):
    """The etcd txn Beacon sends for a PUT of a new key (etcd_store.cpp), under its own prefix
    (/benchtxn/, outside Beacon's watch): compare e/<key> absent; put the entry (+26 bytes of
    envelope), m/kv and a writer slot; read those back on failure."""
    e, m, slot = "/benchtxn/e/" + k, "/benchtxn/m/kv", "/benchtxn/r/x/%d" % os.getpid()
    return json.dumps({
        "compare": [{"key": b64(e), "target": "MOD", "result": "EQUAL", "mod_revision": "0"}],
        "success": [{"requestPut": {"key": b64(e), "value": b64(b"B" * 26 + VALUE)}},
                    {"requestPut": {"key": b64(m)}},
                    {"requestPut": {"key": b64(slot), "value": b64("r" * 36)}}],
        "failure": [{"requestRange": {"key": b64(x)}}
                    for x in (m, "/benchtxn/m/sessions", slot, e)]})


class Target:
    """put(conn, key) / get(conn, key) -> bool for one server."""

    def __init__(self, name, port, kind, serializable=False):
        self.name, self.port, self.kind, self.ser = name, port, kind, serializable

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def put(self, c, k):
        if self.kind == "beacon":
            c.request("PUT", "/v1/kv/" + k, body=VALUE)
        elif self.kind == "etcd-txn":
            c.request("POST", "/v3/kv/txn", body=beacon_like_txn(k))
        else:
            body = json.dumps({"key": base64.b64encode(k.encode()).decode(),
                               "value": base64.b64encode(VALUE).decode()})
            c.request("POST", "/v3/kv/put", body=body)
        r = c.getresponse()
        r.read()
        return r.status == 200

    def get(self, c, k):
        if self.kind == "beacon":
            c.request("GET", "/v1/kv/" + k)
        else:
            req = {"key": b64(("/benchtxn/e/" if self.kind == "etcd-txn" else "") + k)}
            if self.ser:
                req["serializable"] = True
            c.request("POST", "/v3/kv/range", body=json.dumps(req))
        r = c.getresponse()
        r.read()
        return r.status == 200


def pct(vals, p):
    vals = sorted(vals)
    return vals[min(len(vals) - 1, int(len(vals) * p / 100))] if vals else float("nan")


def latency(t, prefix):
    c = t.conn()
    puts, gets = [], []
    for i in range(LAT_N):
        t0 = time.perf_counter()
        assert t.put(c, key(prefix, i)), t.name
        puts.append((time.perf_counter() - t0) * 1e6)
    for i in range(LAT_N):
        t0 = time.perf_counter()
        assert t.get(c, key(prefix, i)), t.name
        gets.append((time.perf_counter() - t0) * 1e6)
    c.close()
    return pct(puts, 50), pct(puts, 99), pct(gets, 50), pct(gets, 99)


def wake(watch_port, put_port, prefix):
    """p50/p99 µs from sending a PUT on put_port to the answer of a blocking GET on watch_port."""
    k = "/v1/kv/" + key(prefix + "/wake", 0)
    wc = http.client.HTTPConnection("127.0.0.1", watch_port, timeout=30)
    pc = http.client.HTTPConnection("127.0.0.1", put_port, timeout=30)
    pc.request("PUT", k, body=VALUE)
    pc.getresponse().read()
    out = []
    for i in range(WAKE_N):
        wc.request("GET", k)
        r = wc.getresponse()
        r.read()
        index = r.getheader("X-Consul-Index")
        done = {}

        def block():
            wc.request("GET", "%s?index=%s&wait=10s" % (k, index))
            r = wc.getresponse()
            r.read()
            done["t"] = time.perf_counter()
            done["index"] = r.getheader("X-Consul-Index")

        th = threading.Thread(target=block)
        th.start()
        time.sleep(0.01)  # parked by now (the answer waits for a change either way)
        t0 = time.perf_counter()
        pc.request("PUT", k, body=b"%d" % i + VALUE)  # a changed value: a same-value PUT is a no-op
        pc.getresponse().read()
        th.join(15)
        assert "t" in done and done["index"] != index, ("blocking query not woken", index, done)
        out.append((done["t"] - t0) * 1e6)
    wc.close()
    pc.close()
    return pct(out, 50), pct(out, 99)


def _worker(args):
    t, prefix, op, until = args
    c = t.conn()
    n = i = 0
    while time.time() < until:
        ok = t.put(c, key(prefix, i)) if op == "put" else t.get(c, key(prefix, i % LAT_N))
        n += ok
        i += 1
    c.close()
    return n


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds():
    """CPU time of the whole machine (every process and the kernel), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def throughput(t, prefix, op, pool, pids=()):
    """requests/s, the CPU µs per request each process in pids spent meanwhile, and the whole
    machine's CPU µs per request (load generator and kernel included)."""
    start = time.time() + 0.3
    until = start + DURATION
    cpu0 = [cpu_seconds(p) for p in pids]
    all0 = machine_cpu_seconds()
    counts = pool.map(_worker, [(t, "%s/c%d" % (prefix, w) if op == "put" else prefix, op, until)
                                for w in range(CONNS)])
    n = max(1, sum(counts))
    cpu = tuple((cpu_seconds(p) - c0) * 1e6 / n for p, c0 in zip(pids, cpu0))
    return (sum(counts) / (time.time() - start),) + cpu + (
        (machine_cpu_seconds() - all0) * 1e6 / n,)


def main():
    work = tempfile.mkdtemp(prefix="beacon-kv-etcd-bench-", dir=WORKDIR)
    procs = []
    try:
        ec, ep = free_port(), free_port()
        etcd_url = "http://127.0.0.1:%d" % ec
        procs.append(subprocess.Popen(
            [ETCD, "--name", "b0", "--data-dir", os.path.join(work, "etcd"),
             "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
             "--listen-peer-urls", "http://127.0.0.1:%d" % ep,
             "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % ep,
             "--initial-cluster", "b0=http://127.0.0.1:%d" % ep, "--logger", "zap",
             "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_http(etcd_url + "/health")
        targets = []
        ports = {}
        pids = {"etcd": procs[0].pid}
        for name, extra in (("beacon-embedded", []),
                            ("beacon-etcd", ["-kv-backend", "etcd", "-etcd-endpoints", etcd_url]),
                            ("beacon-etcd-2", ["-kv-backend", "etcd", "-etcd-endpoints", etcd_url])):
            hp = free_port()
            d = os.path.join(work, name)
            os.mkdir(d)
            procs.append(subprocess.Popen(
                [BEACON, "agent", "-server", "-node", name, "-data-dir", d, "-http-port", str(hp),
                 "-dns-port", str(free_port()), "-serf-lan-port", str(free_port()),
                 "-server-port", str(free_port()), "-log-level", "warn"] + extra,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_http("http://127.0.0.1:%d/v1/status/leader" % hp)
            ports[name] = hp
            pids[name] = procs[-1].pid
            if name != "beacon-etcd-2":  # the "other server" of the wake-up figures only
                targets.append(Target(name, hp, "beacon"))
        targets.append(Target("etcd", ec, "etcd"))
        targets.append(Target("etcd-ser", ec, "etcd", serializable=True))
        targets.append(Target("etcd-txn", ec, "etcd-txn"))
        rows = {t.name: [] for t in targets}
        wakes = {"beacon-embedded (PUT on the same server)": ("beacon-embedded", "beacon-embedded"),
                 "beacon-etcd (PUT on the same server)": ("beacon-etcd", "beacon-etcd"),
                 "beacon-etcd (PUT on another server)": ("beacon-etcd", "beacon-etcd-2")}
        wake_rows = {w: [] for w in wakes}
        with mp.Pool(CONNS) as pool:
            for run in range(RUNS):
                order = targets[run % len(targets):] + targets[:run % len(targets)]
                for t in order:
                    prefix = "bench/%s/r%d" % (t.name, run)
                    lat = latency(t, prefix)
                    # CPU per PUT of etcd, of the Beacon server under test (0 for etcd itself),
                    # of the other Beacon server on etcd (a watcher of every beacon-etcd PUT),
                    # and of the whole machine
                    watch = [pids["etcd"], pids["beacon-etcd-2"]]
                    if t.kind == "beacon":
                        watch.append(pids[t.name])
                    r = throughput(t, prefix, "put", pool, watch)
                    tp_put = r[0]
                    own_cpu = r[3] if t.kind == "beacon" else 0.0
                    cpu = [r[1], own_cpu, r[2], r[-1]]
                    tp_get = throughput(t, prefix, "get", pool)[0]
                    rows[t.name].append(lat + (tp_put, tp_get) + tuple(cpu))
                    print("run %d %-16s put p50 %6.0f us  get p50 %6.0f us  put %7.0f/s  get %7.0f/s"
                          % (run, t.name, lat[0], lat[2], tp_put, tp_get), file=sys.stderr)
                for w, (a, b) in wakes.items():
                    wake_rows[w].append(wake(ports[a], ports[b], "bench/wake/r%d/%s" % (run, a + b)))
                    print("run %d wake %s: p50 %.0f us p99 %.0f us"
                          % ((run, w) + wake_rows[w][-1]), file=sys.stderr)
        cols = ["PUT p50 µs", "PUT p99 µs", "GET p50 µs", "GET p99 µs", "PUT/s", "GET/s",
                "etcd CPU µs/PUT", "Beacon CPU µs/PUT", "other Beacon CPU µs/PUT",
                "machine CPU µs/PUT"]
        out = ["# KV through Beacon on etcd vs embedded vs etcd's gateway",
               "", "Medians of %d runs; LAT_N=%d sequential, CONNS=%d for %.0f s; key %d B, value %d B."
               % (RUNS, LAT_N, CONNS, DURATION, KEY_BYTES, VALUE_BYTES), "",
               "| target | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for t in targets:
            med = [statistics.median(r[i] for r in rows[t.name]) for i in range(len(cols))]
            out.append("| %s | %s |" % (t.name, " | ".join("%.0f" % v for v in med)))
        be = [statistics.median(r[i] for r in rows["beacon-etcd"]) for i in range(len(cols))]
        et = [statistics.median(r[i] for r in rows["etcd"]) for i in range(len(cols))]
        es = [statistics.median(r[i] for r in rows["etcd-ser"]) for i in range(len(cols))]
        def ratio(i, a="beacon-etcd", b="etcd"):  # median over runs of the same-run ratio
            return statistics.median(x[i] / y[i] for x, y in zip(rows[a], rows[b]) if y[i])

        out += ["", "beacon-etcd / etcd, median of the per-run ratios: PUT p50 %.2fx, PUT/s %.2fx, "
                "etcd CPU per PUT %.2fx, machine CPU per PUT %.2fx; GET p50 vs etcd-ser %.2fx, "
                "GET/s vs etcd-ser %.2fx"
                % (ratio(0), ratio(4), ratio(6), ratio(9), ratio(2, b="etcd-ser"),
                   ratio(5, b="etcd-ser")),
                "", "etcd-txn / etcd (the gateway's price for Beacon's txn shape): PUT p50 %.2fx, "
                "PUT/s %.2fx, etcd CPU per PUT %.2fx; beacon-etcd / etcd-txn: PUT p50 %.2fx, PUT/s %.2fx"
                % (ratio(0, "etcd-txn"), ratio(4, "etcd-txn"), ratio(6, "etcd-txn"),
                   ratio(0, b="etcd-txn"), ratio(4, b="etcd-txn"))]
        out += ["", "Blocking-query wake-up (PUT sent -> blocking GET answered), WAKE_N=%d, medians "
                "of the runs' p50/p99:" % WAKE_N, "", "| wake-up | p50 µs | p99 µs |", "|---|---|---|"]
        for w in wakes:
            out.append("| %s | %.0f | %.0f |" % (w, statistics.median(r[0] for r in wake_rows[w]),
                                                  statistics.median(r[1] for r in wake_rows[w])))
        text = "\n".join(out) + "\n"
        print(text)
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        with open(os.path.join(ROOT, "bench", "results",
                               "kv-etcd-%s.md" % time.strftime("%Y%m%d-%H%M%S")), "w") as f:
            f.write(text)
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
