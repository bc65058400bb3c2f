#!/usr/bin/env python3
"""Real-process gossip benchmark: N Beacon agents vs N stock `serf agent`s (issue 8).

Runs itself inside a private network namespace (`unshare --net`, as root), so loopback carries
only the cluster under test and its byte counter is the cluster's gossip traffic. For each size N
and each system, one cluster at a time on 127.0.<k>.x with the same Serf port everywhere:

- event:  a user event fired on one member; time from that member's own receipt until each
          other member's, both sides timed by the agents themselves: Beacon's info log line
          "user event <name> (<id>) received" (ms timestamps), serf's event handler appending a
          `date +%s.%N` (the origin runs it too). EVENTS events a round; p50/p99 over members,
          median over all events (each event's spread depends on where in the 200 ms gossip
          interval it was fired, so a few events do not settle a tail).
          (Until 2026-12-03 Beacon's side was a blocking /v1/event/list per agent from Python
          threads, timed from before the HTTP fire, and serf's from before spawning `serf
          event`: different paths on each side; see README.)
- change: Beacon only: a TTL check flipped to critical on one agent; time until every agent's
          /v1/health/checks/<service> shows it (blocking queries), i.e. catalog replication.
- detect: kill -9 of one member; time until every other member reports it failed (Beacon: the
          node's serfHealth critical through a blocking /v1/health/node/<n>; serf: a member-failed
          event handler).
- idle:   loopback bytes/s per member over IDLE seconds with nothing happening.

Serf agents gossip the same tag set a Consul (and Beacon) agent does, so both carry the same
node meta. Prints a Markdown table with Beacon/serf ratios. Usage (root; build Beacon first):
  python3 bench/cluster_bench.py --beacon build/beacon --sizes 10,30 --rounds 3
The serf binary is built from Debian's golang-github-hashicorp-serf-dev (GO111MODULE=off).
"""

import argparse
import calendar
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

GOPATH = "/usr/share/gocode"
BEACON_BUILD_TAG = "0.3.0:beacon"  # what `beacon agent` gossips as its `build` tag


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw)


def lo_bytes():
    with open("/proc/net/dev") as f:
        for line in f:
            if line.strip().startswith("lo:"):
                cols = line.split(":", 1)[1].split()
                return int(cols[0])  # bytes received on lo == bytes sent on lo
    return 0


def http(host, port, path, timeout=10.0, method="GET", body=None):
    req = urllib.request.Request("http://%s:%d%s" % (host, port, path), method=method, data=body)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"null"), int(r.headers.get("X-Consul-Index", "0"))


def wait_until(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred():
                return
        except Exception:  # noqa: BLE001 - transient while starting
            pass
        time.sleep(0.1)
    raise TimeoutError(what)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


class Cluster:
    def __init__(self, kind, n, net, binary, work, log_level="info"):
        self.kind, self.n, self.binary, self.work = kind, n, binary, work
        self.log_level = log_level
        self.hosts = ["127.%d.%d.%d" % (net, (i + 1) // 250, (i + 1) % 250 or 250)
                      for i in range(n)]
        self.port = 8301
        self.procs = []

    def start(self):
        seed = "%s:%d" % (self.hosts[0], self.port)
        for i, h in enumerate(self.hosts):
            name = "n%d" % i
            log = open(os.path.join(self.work, "%s-%s.log" % (self.kind, name)), "wb")
            if self.kind == "beacon":
                cfg = os.path.join(self.work, "cfg-%s" % name)
                os.makedirs(cfg, exist_ok=True)
                with open(os.path.join(cfg, "svc.json"), "w") as f:
                    json.dump({"service": {"name": "svc", "id": "svc-%s" % name, "port": 80,
                                           "check": {"id": "ttl-%s" % name, "ttl": "1h",
                                                     "status": "passing"}}}, f)
                args = [self.binary, "agent", "-node", name, "-bind", h, "-client", h,
                        "-serf-lan-port", str(self.port), "-dns-workers", "1",
                        "-config-dir", cfg, "-log-level", self.log_level]
                # One server (n0, as serf's n0 carries the server tags); the others are client
                # agents. -dev would make every agent a bootstrapping server whose tags (role,
                # port, raft_vsn, bootstrap) are ~35 bytes more per member in every push/pull.
                if i == 0:
                    args += ["-dev", "-server"]
                else:
                    data = os.path.join(self.work, "data-%s" % name)
                    os.makedirs(data, exist_ok=True)
                    args += ["-data-dir", data, "-retry-join", seed, "-retry-interval", "1s"]
            else:
                ev = os.path.join(self.work, "serf-%s-events" % name)
                handler = ("user=date +%%s.%%N >> %s.user; "
                           "member-failed=date +%%s.%%N >> %s.failed") % (ev, ev)
                args = [self.binary, "agent", "-node", name, "-bind", "%s:%d" % (h, self.port),
                        "-rpc-addr", "%s:7373" % h, "-log-level", "warn"]
                # The tags a Consul agent gossips (as Beacon's do), so both carry the same meta;
                # the node ID is a random UUID, as Consul's and Beacon's are (a patterned one
                # compresses far better in push/pull state and flattered serf's bandwidth).
                # The same tag values as Beacon's (its build tag included), so the member
                # entries in push/pull state are the same size on both sides.
                tags = {"acls": "0", "build": BEACON_BUILD_TAG, "dc": "dc1",
                        "id": str(uuid.uuid4()), "role": "node",
                        "segment": "", "vsn": "2", "vsn_max": "3", "vsn_min": "2",
                        "ft_fs": "1", "ft_si": "1"}
                if i == 0:
                    tags.update(role="consul", port="8300", raft_vsn="3", bootstrap="1")
                for k, v in tags.items():
                    args += ["-tag", "%s=%s" % (k, v)]
                for part in handler.split("; "):
                    args += ["-event-handler", part]
                if i > 0:
                    args += ["-retry-join", seed, "-retry-interval", "1s"]
            self.procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL))
        wait_until(lambda: self.alive_count(0) == self.n, 60 + self.n, "%s cluster up" % self.kind)

    def alive_count(self, i):
        h = self.hosts[i]
        if self.kind == "beacon":
            ms, _ = http(h, 8500, "/v1/agent/members", timeout=2)
            return sum(1 for m in ms if m["Status"] == 1)
        out = subprocess.run([self.binary, "members", "-rpc-addr", "%s:7373" % h,
                              "-status", "alive"], capture_output=True, text=True,
                             timeout=5).stdout
        return len(out.splitlines())

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            p.wait(timeout=10)


def beacon_wait_all(cl, path, pred, skip=(), timeout=30.0):
    """Each agent (but `skip`) runs blocking GETs of `path` until pred(json); returns arrival
    times (monotonic) of those that saw it."""
    arrivals = {}
    t_start = time.monotonic()

    def watch(i):
        h = cl.hosts[i]
        idx = 0
        while time.monotonic() - t_start < timeout:
            try:
                body, idx2 = http(h, 8500, path + ("&" if "?" in path else "?") +
                                  "index=%d&wait=5s" % idx, timeout=8)
            except Exception:  # noqa: BLE001
                time.sleep(0.05)
                continue
            if pred(body):
                arrivals[i] = time.monotonic()
                return
            idx = idx2
    ths = [threading.Thread(target=watch, args=(i,)) for i in range(cl.n) if i not in skip]
    return ths, arrivals


EVENT_LINE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z "
                        r"\[(?:INFO|DEBUG)\] \w+: user event (\S+) \(")


def beacon_event_times(cl, name):
    """Each agent's receipt time of user event `name` (epoch seconds) from its log, by index."""
    got = {}
    for i in range(cl.n):
        try:
            with open(os.path.join(cl.work, "beacon-n%d.log" % i), errors="replace") as f:
                for line in f:
                    m = EVENT_LINE.match(line)
                    if m and m.group(8) == name:
                        y, mo, d, h, mi, sec, ms = (int(x) for x in m.groups()[:7])
                        got[i] = calendar.timegm((y, mo, d, h, mi, sec)) + ms / 1000.0
                        break
        except OSError:
            pass
    return got


def spread_from_origin(times, origin):
    """Each other member's receipt time less the origin's own."""
    return [t - times[origin] for i, t in times.items() if i != origin]


def measure_beacon(cl, rounds, events):
    res = {"event": [], "change": [], "detect": []}
    for r in range(rounds):
        for k in range(events):
            name = "ev%d-%d" % (r, k)
            http(cl.hosts[1], 8500, "/v1/event/fire/%s" % name, method="PUT", body=b"")
            wait_until(lambda: len(beacon_event_times(cl, name)) == cl.n, 30,
                       "beacon event everywhere")
            res["event"].append(spread_from_origin(beacon_event_times(cl, name), 1))
            time.sleep(0.2)
        # a check flip on agent 1, seen by everyone's health endpoint
        status = "critical" if r % 2 == 0 else "passing"
        ths, arr = beacon_wait_all(
            cl, "/v1/health/checks/svc",
            lambda b, s=status: any(c["CheckID"] == "ttl-n1" and c["Status"] == s for c in b))
        for t in ths:
            t.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        verb = "fail" if status == "critical" else "pass"
        http(cl.hosts[1], 8500, "/v1/agent/check/%s/ttl-n1" % verb, method="PUT", body=b"")
        for t in ths:
            t.join()
        res["change"].append([arr[i] - t0 for i in arr])
    victim = cl.n - 1
    ths, arr = beacon_wait_all(
        cl, "/v1/health/node/n%d" % victim,
        lambda b: any(c["CheckID"] == "serfHealth" and c["Status"] == "critical" for c in b),
        skip=(victim,), timeout=60)
    for t in ths:
        t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    cl.procs[victim].kill()
    for t in ths:
        t.join()
    res["detect"].append([arr[i] - t0 for i in arr])
    return res


def read_times(path):
    try:
        with open(path) as f:
            return [float(x) for x in f.read().split()]
    except OSError:
        return []


def measure_serf(cl, rounds, events):
    res = {"event": [], "detect": []}
    mono_off = time.time() - time.monotonic()
    for r in range(rounds * events):
        before = [len(read_times(os.path.join(cl.work, "serf-n%d-events.user" % i)))
                  for i in range(cl.n)]
        subprocess.run([cl.binary, "event", "-rpc-addr", "%s:7373" % cl.hosts[1], "-coalesce=false",
                        "ev%d" % r],
                       check=True, capture_output=True, timeout=10)
        wait_until(lambda: all(len(read_times(os.path.join(cl.work, "serf-n%d-events.user" % i)))
                               > before[i] for i in range(cl.n)), 30, "serf event everywhere")
        times = {i: read_times(os.path.join(cl.work, "serf-n%d-events.user" % i))[-1]
                 for i in range(cl.n)}
        res["event"].append(spread_from_origin(times, 1))
        time.sleep(0.2)
    victim = cl.n - 1
    t0 = time.monotonic()
    cl.procs[victim].kill()
    wait_until(lambda: all(read_times(os.path.join(cl.work, "serf-n%d-events.failed" % i))
                           for i in range(cl.n - 1)), 60, "serf failure seen everywhere")
    res["detect"].append([read_times(os.path.join(cl.work, "serf-n%d-events.failed" % i))[-1]
                          - mono_off - t0 for i in range(cl.n - 1)])
    return res


def idle_bandwidth(cl, seconds):
    b0 = lo_bytes()
    time.sleep(seconds)
    return (lo_bytes() - b0) / seconds / cl.n


def summarize(samples):
    """Median over rounds of (p50, p99, max) over members."""
    if not samples:
        return None
    p50 = statistics.median(pct(s, 50) for s in samples if s)
    p99 = statistics.median(pct(s, 99) for s in samples if s)
    return p50, p99


def inside(args):
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    work = tempfile.mkdtemp(prefix="beacon-clbench-")
    serf = os.path.join(work, "serf")
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH, GOCACHE="/tmp/gocache")
    subprocess.run(["go", "build", "-o", serf, "github.com/hashicorp/serf/cmd/serf"], env=env,
                   check=True, timeout=600)
    rows = []
    net = 20
    for n in [int(x) for x in args.sizes.split(",")]:
        out = {}
        for kind, binary in (("beacon", args.beacon), ("serf", serf)):
            net += 1
            d = os.path.join(work, "%s-%d" % (kind, n))
            os.makedirs(d)
            cl = Cluster(kind, n, net, binary, d, args.beacon_log_level)
            try:
                cl.start()
                time.sleep(args.settle)
                bw = idle_bandwidth(cl, args.idle)
                res = measure_beacon(cl, args.rounds, args.events) if kind == "beacon" else \
                    measure_serf(cl, args.rounds, args.events)
                print("%s N=%d event p99 per event: %s" % (
                    kind, n, " ".join("%.3f" % pct(e, 99) for e in res["event"])), flush=True)
                out[kind] = {"idle": bw, **{k: summarize(v) for k, v in res.items()}}
            finally:
                cl.stop()
            print("%s N=%d: %r" % (kind, n, out[kind]), flush=True)
        rows.append((n, out))
    print("\n| N | event p50/p99 Beacon | serf | ratio p99 | catalog change p50/p99 | "
          "detect p50/p99 Beacon | serf | ratio p99 | idle B/s/node Beacon | serf | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n, o in rows:
        b, s = o["beacon"], o["serf"]
        f = lambda t: "%.2f / %.2f s" % t if t else "-"  # noqa: E731
        print("| %d | %s | %s | %.2f | %s | %s | %s | %.2f | %.0f | %.0f | %.2f |" % (
            n, f(b["event"]), f(s["event"]), b["event"][1] / s["event"][1], f(b["change"]),
            f(b["detect"]), f(s["detect"]), b["detect"][1] / s["detect"][1], b["idle"],
            s["idle"], b["idle"] / s["idle"]))
    shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beacon", default="build/beacon")
    ap.add_argument("--sizes", default="10,30")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--events", type=int, default=10, help="user events a round")
    ap.add_argument("--settle", type=float, default=5)
    ap.add_argument("--idle", type=float, default=20)
    # Beacon logs event receipt at info; builds before 2026-12-03 only at debug.
    ap.add_argument("--beacon-log-level", default="info")
    ap.add_argument("--inside", action="store_true")
    args = ap.parse_args()
    if args.inside:
        inside(args)
        return
    if os.geteuid() != 0:
        sys.exit("run as root (a private network namespace)")
    args.beacon = os.path.abspath(args.beacon)
    cmd = ["unshare", "--net", "--", sys.executable, os.path.abspath(__file__), "--inside",
           "--beacon", args.beacon, "--sizes", args.sizes, "--rounds", str(args.rounds),
           "--settle", str(args.settle), "--idle", str(args.idle), "--events", str(args.events),
           "--beacon-log-level", args.beacon_log_level]
    sys.exit(subprocess.run(cmd).returncode)


if __name__ == "__main__":
    main()
