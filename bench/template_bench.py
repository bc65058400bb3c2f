#!/usr/bin/env python3
"""`beacon template` at scale: N templates watching N keys (stdlib only).

  template_bench.py --beacon build/beacon [--agent-beacon build/beacon] [--templates 500]
                    [--samples 200] [--runs 3] [--idle 30] [--keep-dir]

Starts `beacon agent -dev` on free loopback ports, puts N keys bench/k<i>, and runs one
`beacon template` process with N templates `{{ key "bench/k<i>" }}` -> out/t<i>, each with the
command `date +%s%N > stamp/t<i>` (distinct commands, so each change runs exactly one).
Then, per run, --samples times: pick a random key, note the time, PUT a new value (keep-alive
connection) and wait until that template's command has written its stamp; the PUT-to-command
latency is the stamp minus the PUT time (ns clock, the command runs after the file is renamed
into place). The PUT-to-file-written latency comes from the runner's own log ("rendered" lines,
ms timestamps, realtime clock). Reports p50/p99 of both per run and their medians over runs.
Afterwards both processes are left alone for --idle seconds and their CPU time over that window
is reported (the target: idle costs nothing, every watch is a parked blocking query).
Also reports the start-up: time until all N files exist.
Prints a Markdown table and one JSON line; exits 1 on any failure (missed change, bad content).
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

from benchlib import free_port, med, n_fix, pct, table

HZ = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """utime+stime of every thread of pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def wait_until(pred, timeout, interval=0.001):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return None


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


class Kv:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def put(self, key, value):
        self.conn.request("PUT", "/v1/kv/" + key, body=value.encode())
        r = self.conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError("PUT %s -> %d" % (key, r.status))


def log_times(log_path, want):
    """{template index: [realtime ns of each 'rendered' line]} from the runner's log."""
    out = {}
    rx = re.compile(r'^(\S+)Z \[INFO\] runner: rendered ".*/t(\d+)\.ctmpl"')
    with open(log_path) as f:
        for line in f:
            m = rx.match(line)
            if not m or int(m.group(2)) not in want:
                continue
            dt = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)
            out.setdefault(int(m.group(2)), []).append(int(dt.timestamp() * 1000) * 1000000)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beacon", default="build/beacon", help="binary for `beacon template`")
    ap.add_argument("--agent-beacon", default=None, help="binary for the agent (default --beacon)")
    ap.add_argument("--templates", type=int, default=500)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--idle", type=float, default=30.0)
    ap.add_argument("--keep-dir", action="store_true")
    a = ap.parse_args()
    a.beacon = os.path.abspath(a.beacon)
    a.agent_beacon = os.path.abspath(a.agent_beacon or a.beacon)
    n = a.templates
    work = tempfile.mkdtemp(prefix="beacon-tmpl-bench-")
    for d in ("in", "out", "stamp"):
        os.mkdir(os.path.join(work, d))
    procs = []
    failed = False
    try:
        http_port, dns_port = free_port(), free_port()
        agent_log = open(os.path.join(work, "agent.log"), "wb")
        agent = subprocess.Popen(
            [a.agent_beacon, "agent", "-dev", "-node", "bench", "-http-port",
             str(http_port), "-dns-port", str(dns_port), "-serf-lan-port", str(free_port()),
             "-server-port", str(free_port()), "-log-level", "warn"],
            stdout=agent_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=work)
        procs.append(agent)

        def up():
            try:
                Kv(http_port).put("bench/ready", "1")
                return True
            except OSError:
                return False
        if not wait_until(up, 15, 0.05):
            raise RuntimeError("agent did not start")
        kv = Kv(http_port)
        for i in range(n):
            kv.put("bench/k%d" % i, "v0-%d" % i)
        args = [a.beacon, "template", "-consul-addr", "127.0.0.1:%d" % http_port]
        for i in range(n):
            src = os.path.join(work, "in", "t%d.ctmpl" % i)
            with open(src, "w") as f:
                f.write('value={{ key "bench/k%d" }}\n' % i)
            args += ["-template", "%s:%s:date +%%s%%N > %s" % (
                src, os.path.join(work, "out", "t%d" % i), os.path.join(work, "stamp", "t%d" % i))]
        tlog_path = os.path.join(work, "template.log")
        tlog = open(tlog_path, "wb")
        t_start = time.monotonic()
        runner = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=tlog,
                                  stdin=subprocess.DEVNULL, cwd=work)
        procs.append(runner)
        outs = [os.path.join(work, "out", "t%d" % i) for i in range(n)]
        stamps = [os.path.join(work, "stamp", "t%d" % i) for i in range(n)]
        if not wait_until(lambda: all(os.path.exists(s) for s in stamps), 120, 0.05):
            raise RuntimeError("not every template rendered at start-up")
        startup_s = time.monotonic() - t_start

        rows, results = [], []
        rnd = random.Random(42)
        for run in range(a.runs):
            lat_cmd, puts = [], {}
            for s in range(a.samples):
                i = rnd.randrange(n)
                value = "r%d-s%d" % (run, s)
                old = read(stamps[i])
                t0 = time.time_ns()
                kv.put("bench/k%d" % i, value)
                if not wait_until(lambda: read(stamps[i]) not in (old, None, ""), 10):
                    raise RuntimeError("change %d of run %d (key %d) never ran its command" % (s, run, i))
                if read(outs[i]) != "value=%s\n" % value:
                    raise RuntimeError("t%d holds %r, want %r" % (i, read(outs[i]), value))
                lat_cmd.append((int(read(stamps[i]).strip() or 0) - t0) / 1e6)
                puts.setdefault(i, []).append(t0)
                time.sleep(0.02)  # let the runner settle: samples are independent
            # file-written times from the log: each put's first 'rendered' line after it
            times = log_times(tlog_path, set(puts))
            lat_write = []
            for i, ts in puts.items():
                rendered = sorted(times.get(i, []))
                for t0 in ts:
                    after = [r for r in rendered if r >= t0 - 1000000]  # log has ms resolution
                    if after:
                        lat_write.append(max(0.0, (after[0] - t0) / 1e6))
                        rendered.remove(after[0])
            lat_cmd.sort()
            lat_write.sort()
            r = {"run": run + 1, "cmd_p50_ms": pct(lat_cmd, 50), "cmd_p99_ms": pct(lat_cmd, 99),
                 "write_p50_ms": pct(lat_write, 50), "write_p99_ms": pct(lat_write, 99),
                 "samples": len(lat_cmd)}
            results.append(r)
            rows.append(["%d" % r["run"], n_fix(r["write_p50_ms"], 1), n_fix(r["write_p99_ms"], 1),
                         n_fix(r["cmd_p50_ms"], 2), n_fix(r["cmd_p99_ms"], 2)])
        rows.append(["median", n_fix(med([r["write_p50_ms"] for r in results]), 1),
                     n_fix(med([r["write_p99_ms"] for r in results]), 1),
                     n_fix(med([r["cmd_p50_ms"] for r in results]), 2),
                     n_fix(med([r["cmd_p99_ms"] for r in results]), 2)])

        time.sleep(1.0)
        a0, r0 = cpu_s(agent.pid), cpu_s(runner.pid)
        time.sleep(a.idle)
        a1, r1 = cpu_s(agent.pid), cpu_s(runner.pid)
        idle = {"seconds": a.idle, "agent_cpu_s": a1 - a0, "template_cpu_s": r1 - r0}
        if runner.poll() is not None or agent.poll() is not None:
            raise RuntimeError("a process exited during the benchmark")

        print("## beacon template: %d templates watching %d keys (%d changes per run)\n"
              % (n, n, a.samples))
        print(table(["run", "PUT→file written p50 ms", "p99 ms", "PUT→command ran p50 ms",
                     "p99 ms"], rows))
        print("\nstart-up: all %d files rendered and commands run in %.2f s" % (n, startup_s))
        print("idle %.0f s: agent CPU %.3f s (%.2f%%), template process CPU %.3f s (%.2f%%)"
              % (a.idle, idle["agent_cpu_s"], 100 * idle["agent_cpu_s"] / a.idle,
                 idle["template_cpu_s"], 100 * idle["template_cpu_s"] / a.idle))
        print(json.dumps({"templates": n, "runs": results, "startup_s": startup_s, "idle": idle}))
    except Exception as e:  # noqa: BLE001 - report and fail
        print("FAILED: %s" % e, file=sys.stderr)
        failed = True
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if a.keep_dir or failed:
            print("work dir kept: %s" % work, file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
