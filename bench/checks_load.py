#!/usr/bin/env python3
"""Health-check load: one agent running TTL_CHECKS TTL checks and HTTP_CHECKS HTTP checks at a
1 s interval against a local HTTP server this bench starts (asyncio, separate process).

  bench/checks_load.py [--ttl N] [--http N] [--duration S] [--beacon PATH]
  bench/checks_load.py serve PORT COUNT_FILE      (internal: the HTTP target)

Two phases on the same agent binary: the TTL checks alone (what holding them costs), then the
TTL checks plus the HTTP checks. For each: the agent's CPU time (utime+stime of all threads,
/proc) over `duration` seconds, its RSS, and for the HTTP phase the probe rate the target really
saw, with the agent CPU per 1,000 checks/s (percent of one core). Ports: free 127.0.0.1 ports.
Everything started is stopped by PID at the end.
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import procstat  # noqa: E402


def serve(port, count_file):
    count = 0

    async def handle(reader, writer):
        nonlocal count
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
            count += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def report():
        while True:
            await asyncio.sleep(0.5)
            with open(count_file + ".tmp", "w") as f:
                f.write(str(count))
            os.replace(count_file + ".tmp", count_file)

    async def main():
        srv = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
        asyncio.get_running_loop().create_task(report())
        async with srv:
            await srv.serve_forever()

    asyncio.run(main())


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def read_count(path):
    try:
        with open(path) as f:
            return int(f.read() or 0)
    except (OSError, ValueError):
        return 0


def write_config(d, ttl, http, target):
    services = []
    for i in range(ttl):
        services.append({"name": "ttl-%d" % i, "port": 1000 + i % 50000,
                         "check": {"ttl": "1h", "status": "passing"}})
    for i in range(http):
        services.append({"name": "hc-%d" % i, "port": 2000 + i % 50000,
                         "check": {"http": "http://127.0.0.1:%d/h/%d" % (target, i),
                                   "interval": "1s"}})
    with open(os.path.join(d, "services.json"), "w") as f:
        json.dump({"services": services}, f)


def start_agent(beacon, cfg_dir, log_path):
    http_port, dns_port = free_port(), free_port()
    log = open(log_path, "ab")
    p = subprocess.Popen([beacon, "agent", "-dev", "-node", "bench", "-config-dir", cfg_dir,
                          "-http-port", str(http_port), "-dns-port", str(dns_port),
                          "-log-level", "warn"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/v1/status/leader" % http_port, timeout=2)
            return p, http_port
        except OSError:
            if p.poll() is not None:
                raise RuntimeError("agent exited, see " + log_path)
            time.sleep(0.2)
    p.kill()
    raise RuntimeError("agent did not answer")


def passing(port, name):
    url = "http://127.0.0.1:%d/v1/health/checks/%s" % (port, name)
    with urllib.request.urlopen(url, timeout=30) as r:
        return all(c["Status"] == "passing" for c in json.load(r))


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def measure(pid, duration, count_file=None, srv_pid=None):
    s0 = procstat.cpu_s(srv_pid) if srv_pid else 0
    c0, n0, t0 = procstat.cpu_s(pid), read_count(count_file) if count_file else 0, time.monotonic()
    time.sleep(duration)
    c1, n1, t1 = procstat.cpu_s(pid), read_count(count_file) if count_file else 0, time.monotonic()
    s1 = procstat.cpu_s(srv_pid) if srv_pid else 0
    rss = procstat.status_kb(pid, "VmRSS")
    return (c1 - c0) / (t1 - t0), (n1 - n0) / (t1 - t0), rss, (s1 - s0) / (t1 - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ttl", type=int, default=int(os.environ.get("TTL_CHECKS", 10000)))
    ap.add_argument("--http", type=int, default=int(os.environ.get("HTTP_CHECKS", 2000)))
    ap.add_argument("--duration", type=float, default=float(os.environ.get("DURATION", 10)))
    ap.add_argument("--beacon", default=os.environ.get("BEACON",
                                                       os.path.join(HERE, "..", "build", "beacon")))
    a = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="beacon-checks-load-")
    count_file = os.path.join(tmp.name, "count")
    target = free_port()
    srv = subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", str(target),
                            count_file])
    rows = []
    try:
        for phase, http in (("ttl only", 0), ("ttl + http", a.http)):
            cfg = os.path.join(tmp.name, "cfg-%d" % http)
            os.mkdir(cfg)
            write_config(cfg, a.ttl, http, target)
            agent, port = start_agent(a.beacon, cfg, os.path.join(tmp.name, "agent.log"))
            try:
                if http:
                    # Every HTTP check has run once (first runs are spread over the interval).
                    deadline = time.monotonic() + 60
                    sample = ["hc-0", "hc-%d" % (http // 2), "hc-%d" % (http - 1)]
                    while (not all(passing(port, n) for n in sample)
                           and time.monotonic() < deadline):
                        time.sleep(0.5)
                    time.sleep(2)
                else:
                    time.sleep(2)
                cpu, rate, rss, srv_cpu = measure(agent.pid, a.duration,
                                                  count_file if http else None, srv.pid)
                rows.append((phase, a.ttl, http, cpu, rate, rss, srv_cpu))
            finally:
                stop(agent)
    finally:
        stop(srv)
    print("%-11s %7s %7s %10s %12s %9s %22s %11s" % (
        "phase", "ttl", "http", "agent_cpu", "probes/s", "rss_MiB", "cpu_per_1k_probes/s",
        "target_cpu"))
    for phase, ttl, http, cpu, rate, rss, srv_cpu in rows:
        per_k = "%.1f%% of a core" % (100 * cpu / (rate / 1000)) if rate > 0 else "-"
        print("%-11s %7d %7d %9.1f%% %12.0f %9.1f %22s %10.1f%%" % (
            phase, ttl, http, 100 * cpu, rate, (rss or 0) / 1024, per_k, 100 * srv_cpu))
    print("load average: %s" % open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]), sys.argv[3])
    else:
        main()
