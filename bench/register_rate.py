#!/usr/bin/env python3
"""Agent service registrations per second as the number of local services grows (stdlib only).

  register_rate.py --beacon build/beacon [--at 1000,20000] [--measure 1000] [--threads 16]
                   [--dev] [--keep-dir]

Starts `beacon agent` on free loopback ports (with a temporary -data-dir, so every registration
is persisted as in production; --dev for the in-memory agent), then for each size in --at:
1. grows the agent to that many local services (PUT /v1/agent/service/register, --threads
   keep-alive connections in parallel; these are not timed);
2. registers --measure more services from --threads connections and reports registrations/s;
3. registers --measure/10 more from one connection, one at a time, and reports the median and
   p99 latency in ms;
4. deregisters what 2 and 3 added, so the next size starts from exactly its own count.
Every reply must be 200. Prints a Markdown table and one JSON line; exits 1 on any failure.
The registration path should cost the same whatever the number of local services: at the last
size the rate should be within 20% of the first's (>= 0.8x) and the agent's CPU per registration
(from /proc, over the timed concurrent phase) at most 1.25x (the same 20%, as time per
registration). On a 2-core machine the Python client, not the agent, limits the rate: the CPU
figure is the one that shows what a registration costs the agent.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import free_port, n_fix, n_int, pct, table


def body(i, prefix):
    return json.dumps({"Name": "%s-svc-%d" % (prefix, i), "ID": "%s-%d" % (prefix, i), "Port": 1000 + i % 50000,
                       "Address": "127.0.0.1", "Tags": ["t%d" % (i % 7)], "Meta": {"n": str(i)}})


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def put(self, path, data=None):
        self.conn.request("PUT", path, body=data, headers={"Content-Type": "application/json"})
        r = self.conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError("PUT %s: %d" % (path, r.status))


def parallel(port, ids, nthreads, fn):
    """Runs fn(client, i) for every i in ids over nthreads connections; returns the seconds."""
    chunks = [ids[k::nthreads] for k in range(nthreads)]
    errors = []

    def run(chunk):
        c = Client(port)
        try:
            for i in chunk:
                fn(c, i)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(ch,)) for ch in chunks if ch]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.monotonic() - t0


def cpu_seconds(pid):
    """The process's user + system CPU time so far, from /proc (clock ticks)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_http(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("agent exited with %d" % proc.returncode)
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/v1/agent/self")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("agent HTTP not up within %ds" % timeout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--beacon", required=True)
    ap.add_argument("--at", default="1000,20000", help="local service counts to measure at")
    ap.add_argument("--measure", type=int, default=1000, help="registrations timed per size")
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--dev", action="store_true", help="in-memory agent (no persistence)")
    ap.add_argument("--keep-dir", action="store_true")
    a = ap.parse_args()
    sizes = [int(x) for x in a.at.split(",")]

    tmp = tempfile.mkdtemp(prefix="beacon-regbench-")
    http_port, dns_port = free_port(), free_port()
    args = [a.beacon, "agent", "-node", "bench", "-http-port", str(http_port), "-dns-port", str(dns_port),
            "-dns-workers", "1", "-log-level", "warn",
            "-serf-lan-port", str(free_port()), "-server-port", str(free_port())]
    args += ["-dev"] if a.dev else ["-data-dir", os.path.join(tmp, "data")]
    log = open(os.path.join(tmp, "agent.log"), "wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    rows, results, rc = [], [], 0
    try:
        wait_http(http_port, proc)
        have = 0
        for size in sizes:
            grow = list(range(have, size))
            parallel(http_port, grow, a.threads,
                     lambda c, i: c.put("/v1/agent/service/register", body(i, "base")))
            have = size
            timed = list(range(a.measure))
            cpu0 = cpu_seconds(proc.pid)
            secs = parallel(http_port, timed, a.threads,
                            lambda c, i: c.put("/v1/agent/service/register", body(i, "conc")))
            cpu_us = (cpu_seconds(proc.pid) - cpu0) * 1e6 / len(timed)
            rate = len(timed) / secs
            one = Client(http_port)
            lat = []
            for i in range(max(1, a.measure // 10)):
                t0 = time.monotonic()
                one.put("/v1/agent/service/register", body(i, "seq"))
                lat.append((time.monotonic() - t0) * 1000)
            lat.sort()
            parallel(http_port, timed, a.threads,
                     lambda c, i: c.put("/v1/agent/service/deregister/conc-%d" % i))
            for i in range(len(lat)):
                one.put("/v1/agent/service/deregister/seq-%d" % i)
            r = {"local_services": size, "concurrent_per_s": rate, "agent_cpu_us_per_reg": cpu_us,
                 "seq_median_ms": statistics.median(lat), "seq_p99_ms": pct(lat, 99)}
            results.append(r)
            rows.append([n_int(size), n_int(rate), n_int(cpu_us), n_fix(r["seq_median_ms"], 2),
                         n_fix(r["seq_p99_ms"], 2)])
        first, last = results[0], results[-1]
        rate_ratio = last["concurrent_per_s"] / first["concurrent_per_s"]
        cpu_ratio = last["agent_cpu_us_per_reg"] / first["agent_cpu_us_per_reg"]
        flat = rate_ratio >= 0.8 and cpu_ratio <= 1.25
        print(table(["local services", "registrations/s (%d conns)" % a.threads, "agent CPU µs/registration",
                     "sequential median ms", "sequential p99 ms"], rows))
        print(json.dumps({"mode": "dev" if a.dev else "data-dir", "threads": a.threads, "results": results,
                          "rate_last_over_first": rate_ratio, "cpu_last_over_first": cpu_ratio,
                          "flat_within_20pct": flat}))
    except Exception as e:  # noqa: BLE001 - the bench reports and fails
        print("register_rate.py: %s" % e, file=sys.stderr)
        rc = 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        if a.keep_dir:
            print("agent dir: %s" % tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
