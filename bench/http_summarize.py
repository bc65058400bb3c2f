#!/usr/bin/env python3
"""Summarise bench/http_compare.sh results as Markdown: medians per figure and Beacon's ratios to etcd.

  python3 bench/http_summarize.py bench/results/http-<timestamp>

Reads results.tsv (one row per run and figure), blocking.json, etcdctl.tsv and env.txt from that
directory. All figures are medians over the runs of one invocation, i.e. one machine, Beacon and
etcd taking turns. Ratios are Beacon's median divided by etcd's median from that same invocation:
  * req/s ratio:    closed-loop throughput; > 1 means Beacon served more (higher is better)
  * CPU/req ratio:  server CPU per request; < 1 means Beacon spends less CPU (lower is better); the
                    fair figure when the single wrk core, not the server, is the bottleneck
  * p99 ratio:      latency at the same connection count (lower is better)
"""
import csv
import json
import os
import sys
from collections import OrderedDict

from benchlib import f, med, n_fix, n_int, n_ratio, ok, ratio, spread, table

TARGET_HEALTH_RPS = 50000
TARGET_GET_RATIO = 1.5
TARGET_PUT_RATIO = 1.0
TARGET_BLOCKING_MB = 100.0


def verdict(met, val):
    return "n/a" if not ok(val) else ("met" if met else "NOT met")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    res = sys.argv[1]
    rows = []
    tsv = os.path.join(res, "results.tsv")
    if os.path.exists(tsv):
        with open(tsv) as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
    env = []
    if os.path.exists(os.path.join(res, "env.txt")):
        with open(os.path.join(res, "env.txt")) as fh:
            env = [line.rstrip("\n") for line in fh if line.strip()]
    envd = {}
    for line in env:
        for part in line.split(" "):
            k, _, v = part.partition("=")
            if v and k not in envd:
                envd[k] = v

    out = []
    p = out.append
    p("# Beacon HTTP API and KV vs etcd %s (single node, JSON gateway)" % envd.get("etcd", ""))
    p("")
    p("`bench/http_compare.sh`, %s; medians of the runs of one invocation (same machine, servers "
      "taking turns). Raw data: `%s/`." % (os.path.basename(res), os.path.relpath(
        os.path.abspath(res), os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    p("")
    for line in env:
        p("    " + line)
    load = envd.get("load")
    for line in env:
        if line.startswith("machine=") and " load " in line:
            load = line.rsplit(" load ", 1)[1].split()[0]
    if load and f(load) > 1.5:
        p("")
        p("WARNING: the machine was busy when the run started (load average %s on %s CPUs): other"
          " processes shared the server's core, so req/s figures are low and noisy; compare CPU µs/req"
          " and rerun on a quiet machine for absolute figures." % (load, envd.get("ncpu", "?")))
    if envd.get("pinned") == "no":
        p("")
        p("WARNING: not pinned (fewer than 2 CPUs): server and wrk shared the CPU.")

    # Failed rows: left out of the medians, named here.
    bad = [r for r in rows if r.get("status", "ok") != "ok"]
    good = [r for r in rows if r.get("status", "ok") == "ok"]
    if bad:
        p("")
        for r in bad:
            p("WARNING: run %s, %s %s%s%s: %s; left out." % (
                r["run"], r["server"], r["test"], "" if r["variant"] in ("", "nan") else " " + r["variant"],
                "" if r["conns"] in ("0", "nan") else " c" + r["conns"], r["status"]))

    groups = OrderedDict()
    for r in good:
        var = "" if r["variant"] in ("", "nan") else r["variant"]
        groups.setdefault((r["test"], r["server"], var, int(r["conns"])), []).append(r)

    def m(key, col):
        g = groups.get(key, [])
        return med([f(r[col]) for r in g]), spread([f(r[col]) for r in g]), len(g)

    runs = max([len(g) for g in groups.values()] or [0])
    noisy = []
    for key, g in groups.items():
        o = med([f(r["other_cpu_s"]) for r in g])
        d = med([f(r["duration_s"]) for r in g])
        if ok(o) and ok(d) and o > 0.2 * d:
            noisy.append("%s %s c%d: %.1f s in %.0f s" % (key[1], key[0], key[3], o, d))

    p("")
    p("## Throughput (%s)" % ("median of %d runs" % runs if runs > 1 else "1 run: a smoke test, not a result"))
    p("")
    trs = []
    verdicts = []

    def side(key):
        rps, rsp, n = m(key, "rps")
        us, usp, _ = m(key, "us_per_req")
        p99, _, _ = m(key, "p99_ms")
        util, _, _ = m(key, "srv_util")
        return {"rps": rps, "rps_s": rsp, "us": us, "us_s": usp, "p99": p99, "util": util, "n": n}

    # Health: Beacon only.
    for key in [k for k in groups if k[0] == "health" and k[1] == "beacon"]:
        b = side(key)
        met = ok(b["rps"]) and b["rps"] >= TARGET_HEALTH_RPS
        trs.append(["health/service (3 instances)", str(key[3]), n_int(b["rps"]) + b["rps_s"], "—", "—",
                    n_fix(b["us"], 1) + b["us_s"], "—", "—", n_fix(b["p99"], 2), "—", n_fix(b["util"], 2),
                    "≥ %s req/s: %s" % (n_int(TARGET_HEALTH_RPS), verdict(met, b["rps"]))])
        verdicts.append(("health/service c%d" % key[3], n_int(b["rps"]) + " req/s" + (
            " (server CPU %s µs/req ⇒ %s req/s per core)" % (n_fix(b["us"], 1), n_int(1e6 / b["us"]))
            if ok(b["us"]) and b["us"] > 0 else ""), verdict(met, b["rps"])))
        if not met and ok(b["us"]) and b["us"] > 0:
            p("Note: health c%d: %s req/s closed loop; at %s CPU µs per request the server alone would "
              "manage %s req/s per core (server cores busy %s: below 1.0 means wrk or the machine, not "
              "Beacon, was the limit)." % (key[3], n_int(b["rps"]), n_fix(b["us"], 1), n_int(1e6 / b["us"]),
                                           n_fix(b["util"], 2)))
            p("")

    def compare(test, label, etcd_variant, target):
        for conns in sorted({k[3] for k in groups if k[0] == test}):
            b = side((test, "beacon", "", conns))
            e = side((test, "etcd", etcd_variant, conns))
            if b["n"] == 0 and e["n"] == 0:
                continue
            r = ratio(b["rps"], e["rps"])
            cr = ratio(b["us"], e["us"])
            met = ok(r) and r >= target
            trs.append([label + (" vs %s" % etcd_variant if etcd_variant else ""), str(conns),
                        n_int(b["rps"]) + b["rps_s"], n_int(e["rps"]) + e["rps_s"], n_ratio(r),
                        n_fix(b["us"], 1) + b["us_s"], n_fix(e["us"], 1) + e["us_s"], n_ratio(cr),
                        n_fix(b["p99"], 2), n_fix(e["p99"], 2),
                        "%s / %s" % (n_fix(b["util"], 2), n_fix(e["util"], 2)),
                        "≥ %.1f× etcd: %s" % (target, verdict(met, r))])
            verdicts.append(("%s c%d%s" % (label, conns, " vs etcd " + etcd_variant if etcd_variant else " vs etcd"),
                             "%s req/s ratio, %s CPU/req ratio" % (n_ratio(r), n_ratio(cr)), verdict(met, r)))

    compare("kvget", "KV GET", "serializable", TARGET_GET_RATIO)
    compare("kvget", "KV GET", "linearizable", TARGET_GET_RATIO)
    compare("kvput", "KV PUT (durable)", "", TARGET_PUT_RATIO)
    if trs:
        p(table(["figure", "conns", "Beacon req/s", "etcd req/s", "req/s ratio", "Beacon CPU µs/req",
                 "etcd CPU µs/req", "CPU/req ratio", "Beacon p99 ms", "etcd p99 ms",
                 "server cores busy B / e", "target"], trs))
    else:
        p("No throughput figures.")
    if noisy:
        p("")
        p("WARNING: noisy figures (other CPU > 20%% of the window: %s): something else used the machine;"
          " req/s and p99 are unreliable, CPU µs/req less so." % "; ".join(noisy))
    checks = sorted({r["check"] for r in good if r["test"] == "kvput" and r["check"] not in ("", "nan")})
    if any(r["test"] == "kvput" for r in good):
        p("")
        p("KV PUT check (keys counted on the server after each run >= writes acknowledged): %s." % (
            "all runs passed" if checks and not any("MISMATCH" in c for c in checks) else
            "see the warnings above"))

    # Blocking queries.
    bj = os.path.join(res, "blocking.json")
    if os.path.exists(bj):
        p("")
        p("## Idle blocking queries")
        p("")
        try:
            with open(bj) as fh:
                b = json.load(fh)
        except ValueError:
            b = {"ok": False, "error": "blocking.json is not JSON"}
        if "rss_delta_mb" not in b:
            p("Not measured: %s" % b.get("error", "unknown error"))
        else:
            parked = b.get("parked") == b.get("n")
            met = parked and b["rss_delta_mb"] < TARGET_BLOCKING_MB
            p(table(["queries", "on", "parked (silent for %s s)" % b.get("park_s", "?"), "agent RSS before MB",
                     "with all parked MB", "cost MB", "bytes/query", "released by one write",
                     "last response ms", "p50 / p99 ms", "target"], [[
                n_int(b["n"]), "`%s`" % b["path"], "%s%s" % (n_int(b["parked"]),
                                                         "" if not b.get("answered_early") else
                                                         " (%d answered early)" % b["answered_early"]),
                n_fix(b["rss_before_kb"] / 1024.0, 1), n_fix(b["rss_parked_kb"] / 1024.0, 1),
                n_fix(b["rss_delta_mb"], 1), n_int(b["bytes_per_query"]),
                "%s of %s" % (n_int(b.get("released", 0)), n_int(b.get("parked", 0))),
                n_fix(f(b.get("release_all_ms")), 1),
                "%s / %s" % (n_fix(f(b.get("release_p50_ms")), 1), n_fix(f(b.get("release_p99_ms")), 1)),
                "< %d MB: %s" % (TARGET_BLOCKING_MB, "met" if met else (
                    "NOT met" if parked else "n/a (not all parked)"))]]))
            p("")
            p("Connect and send all: %s s; write acknowledged in %s ms; agent threads %s → %s; "
              "non-200 %s, index not advanced %s, closed without a response %s." % (
                  b.get("connect_send_s"), b.get("release_ack_ms"), b.get("threads_before"),
                  b.get("threads_parked"), b.get("bad_status"), b.get("stale_index"),
                  b.get("closed_without_response")))
            verdicts.append(("%s idle blocking queries" % n_int(b["n"]), "%s MB RSS, all released in %s ms" % (
                n_fix(b["rss_delta_mb"], 1), n_fix(f(b.get("release_all_ms")), 1)),
                "met" if met else ("NOT met" if parked else "n/a: only %s of %s parked" % (
                    n_int(b.get("parked", 0)), n_int(b["n"])))))

    et = os.path.join(res, "etcdctl.tsv")
    if os.path.exists(et):
        with open(et) as fh:
            er = list(csv.DictReader(fh, delimiter="\t"))
        if er:
            p("")
            p("## Sanity check: one process per write (sequential, includes process start-up)")
            p("")
            p(table(["client", "calls", "ok", "total s", "ms per call"],
                    [[r["client"], r["calls"], r["ok"], r["total_s"], r["ms_per_call"]] for r in er]))

    p("")
    p("## Targets (issue 3)")
    p("")
    for name, text, status in verdicts:
        p("- %s: %s — %s" % (name, text, status))
    p("")
    p("Columns: req/s = non-error responses per second of the measured window (closed loop, wrk with"
      " keep-alive, one wrk thread pinned to its own core); CPU µs/req = server process CPU (all"
      " threads) over that window / responses; server cores busy = server CPU s per s (1.0 = its one"
      " core saturated). etcd runs with GOMAXPROCS = 1 (its CPU affinity); its JSON gateway"
      " (grpc-gateway) is part of etcd's process and of its CPU. KV GET vs serializable compares"
      " against etcd's local read (no raft round), the closer match to a Consul agent's default"
      " read; linearizable is etcd's default. spread = ±(max-min)/2 as a share of the median.")
    print("\n".join(out))


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        pass
