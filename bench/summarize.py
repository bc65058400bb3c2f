#!/usr/bin/env python3
"""Summarise bench/compare.sh results: medians per server and size, and Beacon's ratios to each peer.

  python3 bench/summarize.py bench/results/<timestamp>/results.tsv

All figures are medians over the runs of one results.tsv, i.e. one invocation of compare.sh on one
machine. Ratios are Beacon's median divided by the peer's median from that same invocation:
  * µs/query ratio: server CPU per answered query; < 1 means Beacon spends less CPU (lower is better)
  * QPS ratio:      closed-loop throughput; > 1 means Beacon answered more (higher is better; NSD and
                    Knot are usually bound by the single dnsperf core, so µs/query is the fair figure)
  * p50/p99 ratio:  latency at the fixed rate (lower is better)
  * start ratio, peak RSS ratio: lower is better
The "floor" peer (bench/dns_floor.c) answers every query without a lookup; "<server> / floor" is how
many times the kernel-and-loopback cost per query a server spends (its own work is the part above 1).
Beacon bytes per instance = (Beacon RSS at N services - RSS of an empty Beacon agent) / (N x instances).
"""
import csv
import sys
from collections import OrderedDict

from benchlib import f, med, n_fix, n_int, n_ratio, ok, ratio, spread, table

INSTANCES = 3  # gen_catalog.py default; every service has 3 instances


def fmt_ratio(a, b):
    return n_ratio(ratio(a, b))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rows = []
    for path in sys.argv[1:]:
        with open(path) as fh:
            rows.extend(csv.DictReader(fh, delimiter="\t"))
    empty = [r for r in rows if r["peer"] == "beacon-empty"]
    groups = OrderedDict()
    for r in rows:
        if r["peer"] == "beacon-empty":
            continue
        groups.setdefault((int(r["size"]), r["peer"]), []).append(r)
    order = {"beacon": 0, "nsd": 1, "knot": 2, "floor": 3}
    sizes = sorted({k[0] for k in groups})
    pinned = {r.get("pinned", "") for r in rows}

    print("Beacon DNS benchmark: medians of runs from one compare.sh invocation (same machine, same run).")
    if "no" in pinned:
        print("WARNING: some runs were not pinned (fewer than 2 CPUs): server and dnsperf shared the CPU.")
    empty_rss = med([f(r["rss_kb"]) for r in empty])
    empty_hwm = med([f(r["hwm_kb"]) for r in empty])
    if empty:
        print("Empty Beacon agent: RSS %s MB, peak RSS %s MB, start %s s." % (
            n_fix(empty_rss / 1024, 1), n_fix(empty_hwm / 1024, 1), n_fix(med([f(r["start_s"]) for r in empty]), 3)))

    for size in sizes:
        peers = sorted((p for (s, p) in groups if s == size), key=lambda p: order.get(p, 9))
        nruns = max(len(groups[(size, p)]) for p in peers)
        print()
        print("## %s services x %d instances (%s)" % (
            n_int(size), INSTANCES, "median of %d runs" % nruns if nruns > 1 else
            "1 run: a smoke test, not a result; use RUNS=3"))
        print()
        meds = {}
        trs = []
        for p in peers:
            g = groups[(size, p)]
            bad = [r for r in g if r.get("status", "ok") != "ok"]
            if bad:
                print("WARNING: %s: %d of %d runs failed (%s); their figures are left out." % (
                    p, len(bad), len(g), ", ".join(sorted({r["status"] for r in bad}))))
                print()
            col = lambda k: [f(r[k]) for r in g]  # noqa: E731
            m = {k: med(col(k)) for k in ("us_per_q", "qps", "p50_ms", "p99_ms", "start_s", "hwm_kb",
                                          "rss_kb", "resp_bytes", "srv_util", "other_cpu_s", "noerror_pct")}
            m["lost"] = sum(int(v) for v in col("lost") if ok(v))
            m["timeouts"] = sum(int(v) for v in col("lat_timeouts") if ok(v))
            meds[p] = m
            trs.append([p, str(len(g)), n_fix(m["us_per_q"], 2) + spread(col("us_per_q")),
                        n_int(1e6 / m["us_per_q"]) if ok(m["us_per_q"]) and m["us_per_q"] > 0 else "n/a",
                        n_int(m["qps"]) + spread(col("qps")), n_fix(m["srv_util"], 2),
                        "%s / %s" % (n_fix(m["p50_ms"], 3), n_fix(m["p99_ms"], 3)),
                        "%d / %d" % (m["lost"], m["timeouts"]), n_fix(m["hwm_kb"] / 1024, 1),
                        n_fix(m["start_s"], 3), n_fix(m["resp_bytes"], 0), n_fix(m["noerror_pct"], 1),
                        n_fix(m["other_cpu_s"], 2)])
        print(table(["server", "runs", "CPU µs/query", "⇒ QPS/core", "QPS (closed loop)", "server cores busy",
                     "p50 / p99 ms @ %s qps" % n_int(med([f(r["lat_qps"]) for r in rows if r["peer"] != "beacon-empty"])),
                     "lost / timeouts", "peak RSS MB", "start s", "resp bytes", "NOERROR %", "other CPU s"], trs))
        noisy = [p for p in peers if ok(meds[p]["other_cpu_s"]) and meds[p]["other_cpu_s"] > 2.0]
        if noisy:
            print()
            print("WARNING: noisy runs (median other CPU > 2 s: %s): something else was using the machine;"
                  " QPS and p99 are unreliable, µs/query less so. Rerun on a quiet machine." % ", ".join(
                      "%s %.1f s" % (p, meds[p]["other_cpu_s"]) for p in noisy))
        servers = [p for p in peers if p != "floor"]  # the floor answers every name alike
        nx = [meds[p]["noerror_pct"] for p in servers if ok(meds[p]["noerror_pct"])]
        if nx and max(nx) - min(nx) > 0.5:
            print()
            print("WARNING: the servers disagree on the NOERROR share (%s): they are not answering the same"
                  " catalog, so the comparison is not like for like." % ", ".join(
                      "%s %s%%" % (p, n_fix(meds[p]["noerror_pct"], 1)) for p in servers))
        rr = []

        def ratio_row(a, o):
            x, y = meds[a], meds[o]
            rr.append([a + " / " + o, fmt_ratio(x["us_per_q"], y["us_per_q"]), fmt_ratio(x["qps"], y["qps"]),
                       fmt_ratio(x["p50_ms"], y["p50_ms"]), fmt_ratio(x["p99_ms"], y["p99_ms"]),
                       fmt_ratio(x["start_s"], y["start_s"]), fmt_ratio(x["hwm_kb"], y["hwm_kb"])])

        if "beacon" in meds:
            for p in peers:
                if p != "beacon":
                    ratio_row("beacon", p)
        if "floor" in meds:
            for p in peers:
                if p not in ("beacon", "floor"):
                    ratio_row(p, "floor")
        if rr:
            print()
            print(table(["ratio", "µs/query (lower better)", "QPS (higher better)", "p50", "p99",
                         "start", "peak RSS"], rr))
        if "beacon" not in meds:
            continue
        b = meds["beacon"]
        print()
        line = "Beacon: start %s s, peak RSS %s MB, RSS %s MB" % (
            n_fix(b["start_s"], 3), n_fix(b["hwm_kb"] / 1024, 1), n_fix(b["rss_kb"] / 1024, 1))
        inst = size * INSTANCES
        if empty and ok(empty_rss):
            line += "; above the empty agent: %s bytes/instance by RSS, %s by peak RSS (%s instances)" % (
                n_int((b["rss_kb"] - empty_rss) * 1024 / inst), n_int((b["hwm_kb"] - empty_hwm) * 1024 / inst),
                n_int(inst))
        else:
            line += "; no empty-agent baseline in this run, so no bytes/instance"
        print(line + ".")

    print()
    print("Columns: CPU µs/query = server process CPU (user+sys, all threads and children) during the")
    print("closed-loop run / answered queries; ⇒ QPS/core = 1e6 / that. server cores busy = server CPU s")
    print("per second of that run. lost = dnsperf 'Queries lost' in the closed-loop runs (sum); timeouts =")
    print("unanswered queries in the fixed-rate runs (sum). other CPU s = busy CPU in the closed-loop window")
    print("that was neither the server nor dnsperf (kernel softirq + other load; > 2 s means a noisy run).")
    print("spread = ±(max-min)/2 as a share of the median. resp bytes = dnsperf's average response size;")
    print("NOERROR % = share of answered queries with rcode NOERROR (the mix has 5% NXDOMAIN names).")
    print("floor = bench/dns_floor.c: no lookup, the question echoed with one A record, recvmmsg/sendmmsg;")
    print("X / floor = how many times the per-query cost of the kernel and loopback X spends.")


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        pass
