#!/usr/bin/env python3
"""Helpers for bench/health_load.sh (stdlib only; talks to 127.0.0.1 only).

  health_load.py register --port P --services S --ttl-checks T --http-checks H --mode loaded|idle
                          --target URL [--ttl 24h] [--interval 1s] [--conns 8]
        Registers S local services through PUT /v1/agent/service/register, named like
        gen_catalog.py's (svc-0001 ...), with T TTL checks and H more checks spread round-robin
        over them (check i on service i % S). Every check is registered with Status "passing".
        mode loaded: the H checks are HTTP checks (GET URL/check/<svc>/<k> every --interval).
        mode idle:   the same H check IDs and names are TTL checks instead, so the catalog has the
                     same services, checks and health and nothing runs.
        --conns keep-alive connections register in parallel. Prints "reg_s=<seconds> services=S
        checks=T+H".
  health_load.py wait --port P --expect N --timeout SECS
        Polls GET /v1/agent/checks until N service checks are there and all are passing; prints
        "checks=<n> passing=<n> warning=<n> critical=<n> waited_s=<s>" (exit 1 on timeout).
  health_load.py runs --log FILE --offset BYTES --t0 EPOCH --t1 EPOCH
        Reads the target's access log ("$msec $uri $status" lines) from byte BYTES and counts the
        check requests that arrived in [t0, t1): "runs=<n> runs_per_s=<r> distinct=<checks hit>
        non200=<n> gap_p50_ms=<median gap between two runs of one check> gap_p99_ms=<p99 gap>"
  health_load.py metrics --port P
        The /v1/agent/metrics counters whose name mentions "check", as name=value (or "none").
"""
import argparse
import concurrent.futures
import http.client
import json
import sys
import time

from benchlib import pct
from gen_catalog import svc_name, svc_port, width_for


def request(conn, method, path, body=None):
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    resp = conn.getresponse()
    return resp.status, resp.read()


def service_bodies(a):
    width = width_for(a.services)
    checks = [[] for _ in range(a.services)]
    for i in range(a.ttl_checks):
        checks[i % a.services].append(("ttl%d" % (i // a.services), None))
    for j in range(a.http_checks):
        checks[j % a.services].append(("http%d" % (j // a.services), j // a.services))
    for s in range(a.services):
        name = svc_name(s, width)
        body = {"ID": name, "Name": name, "Port": svc_port(s), "Checks": []}
        for cid, http_k in checks[s]:
            c = {"CheckID": "%s:%s" % (name, cid), "Name": cid, "Status": "passing"}
            if http_k is not None and a.mode == "loaded":
                c["HTTP"] = "%s/check/%s/%d" % (a.target.rstrip("/"), name, http_k)
                c["Interval"] = a.interval
            else:
                c["TTL"] = a.ttl
            body["Checks"].append(c)
        yield json.dumps(body, separators=(",", ":"))


def register_some(port, bodies):
    """PUTs each body on one keep-alive connection; returns the first failure or None."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for body in bodies:
            for attempt in range(3):
                try:
                    st, out = request(conn, "PUT", "/v1/agent/service/register", body)
                    break
                except (OSError, http.client.HTTPException) as e:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    if attempt == 2:
                        return "register failed: %s" % e
            if st != 200:
                return "register failed (%d): %s\n%s" % (st, out[:300].decode(errors="replace"), body[:300])
    finally:
        conn.close()
    return None


def register(a):
    t0 = time.time()
    bodies = list(service_bodies(a))
    conns = max(1, min(a.conns, len(bodies)))
    with concurrent.futures.ThreadPoolExecutor(conns) as pool:
        errors = [e for e in pool.map(lambda k: register_some(a.port, bodies[k::conns]), range(conns)) if e]
    if errors:
        sys.exit(errors[0])
    print("reg_s=%.2f services=%d checks=%d" % (time.time() - t0, a.services, a.ttl_checks + a.http_checks))


def wait(a):
    t0 = time.time()
    last = "no answer"
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=60)
            st, out = request(conn, "GET", "/v1/agent/checks")
            conn.close()
            if st == 200:
                checks = [c for c in json.loads(out).values() if c.get("ServiceID")]
                n = {"passing": 0, "warning": 0, "critical": 0}
                for c in checks:
                    n[c.get("Status", "critical")] = n.get(c.get("Status", "critical"), 0) + 1
                last = "checks=%d passing=%d warning=%d critical=%d" % (
                    len(checks), n["passing"], n["warning"], n["critical"])
                if len(checks) == a.expect and n["passing"] == a.expect:
                    print("%s waited_s=%.2f" % (last, time.time() - t0))
                    return
        except (OSError, http.client.HTTPException, ValueError) as e:
            last = "error: %s" % e
        if time.time() - t0 > a.timeout:
            print("%s waited_s=%.2f timeout" % (last, time.time() - t0))
            sys.exit(1)
        time.sleep(0.5)


def runs(a):
    times = {}
    n = non200 = 0
    with open(a.log, "rb") as fh:
        fh.seek(a.offset)
        for line in fh:
            parts = line.split()
            if len(parts) < 3 or not parts[1].startswith(b"/check/"):
                continue
            try:
                t = float(parts[0])
            except ValueError:
                continue
            if not a.t0 <= t < a.t1:
                continue
            n += 1
            if parts[2] != b"200":
                non200 += 1
            times.setdefault(parts[1], []).append(t)
    gaps = sorted(1000.0 * (b - a_) for ts in times.values() for a_, b in zip(ts, ts[1:]))
    print("runs=%d runs_per_s=%.1f distinct=%d non200=%d gap_p50_ms=%.0f gap_p99_ms=%.0f" % (
        n, n / (a.t1 - a.t0), len(times), non200, pct(gaps, 50), pct(gaps, 99)))


def metrics(a):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
        st, out = request(conn, "GET", "/v1/agent/metrics")
        found = ["%s=%s" % (c["Name"], c.get("Count", c.get("Sum")))
                 for c in json.loads(out).get("Counters", []) if "check" in c.get("Name", "").lower()]
    except (OSError, http.client.HTTPException, ValueError, KeyError, AttributeError):
        found = []
    print(" ".join(found) or "none")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("register")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--services", type=int, required=True)
    r.add_argument("--ttl-checks", type=int, required=True)
    r.add_argument("--http-checks", type=int, required=True)
    r.add_argument("--mode", choices=["loaded", "idle"], required=True)
    r.add_argument("--target", required=True)
    r.add_argument("--ttl", default="24h")
    r.add_argument("--interval", default="1s")
    r.add_argument("--conns", type=int, default=8, help="registrations in flight at once")
    w = sub.add_parser("wait")
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--expect", type=int, required=True)
    w.add_argument("--timeout", type=float, default=120)
    u = sub.add_parser("runs")
    u.add_argument("--log", required=True)
    u.add_argument("--offset", type=int, default=0)
    u.add_argument("--t0", type=float, required=True)
    u.add_argument("--t1", type=float, required=True)
    m = sub.add_parser("metrics")
    m.add_argument("--port", type=int, required=True)
    a = ap.parse_args()
    if a.cmd == "register" and (a.services < 1 or a.ttl_checks < 0 or a.http_checks < 0):
        sys.exit("need --services >= 1 and non-negative check counts")
    {"register": register, "wait": wait, "runs": runs, "metrics": metrics}[a.cmd](a)


if __name__ == "__main__":
    main()
