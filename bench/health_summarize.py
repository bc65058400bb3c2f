#!/usr/bin/env python3
"""Summarise bench/health_load.sh results as Markdown: the two twins side by side and the ratios.

  python3 bench/health_summarize.py bench/results/health-<timestamp>

Reads results.tsv (one row per run and twin) and env.txt from that directory. Every figure is the
median over the runs of one invocation; ratios are the loaded twin's median divided by the idle
twin's. The targets (issue 7): loaded DNS QPS >= 90% of idle, loaded CPU µs/query <= 1.1x idle.
"""
import csv
import os
import sys

from benchlib import f, med, n_fix, n_int, n_ratio, ok, ratio, spread, table

TARGET_QPS = 0.90
TARGET_USQ = 1.10


def col(rows, twin, key):
    return [f(r[key]) for r in rows if r["twin"] == twin and r["status"] != "no-start"]


def verdict(val, good):
    return "n/a" if not ok(val) else ("met" if good else "NOT met")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    res = sys.argv[1]
    with open(os.path.join(res, "results.tsv")) as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    env = {}
    if os.path.exists(os.path.join(res, "env.txt")):
        with open(os.path.join(res, "env.txt")) as fh:
            for line in fh:
                for tok in line.split():
                    if "=" in tok:
                        env.setdefault(tok.split("=", 1)[0], tok.split("=", 1)[1])
    http_checks = f(env.get("http_checks"))
    interval = env.get("interval", "1s")
    nominal = http_checks / f(interval[:-1]) if interval.endswith("s") and not interval.endswith("ms") else float("nan")

    def m(twin, key):
        return med(col(rows, twin, key))

    def s(twin, key):
        return spread(col(rows, twin, key))

    out = ["# Health-check load: %s TTL + %s HTTP checks every %s" % (
        env.get("ttl_checks", "?"), env.get("http_checks", "?"), interval), ""]
    with open(os.path.join(res, "env.txt")) as fh:
        out += ["    " + line.rstrip() for line in fh]
    out.append("")
    twins = [t for t in ("bare", "idle", "loaded") if col(rows, t, "run")]
    out.append("Medians of %s runs (the twins take turns within each run, in alternating order). Statuses: %s." % (
        ", ".join("%d %s" % (len(col(rows, t, "run")), t) for t in twins),
        ", ".join(sorted({"%s=%s" % (r["twin"], r["status"]) for r in rows}))))
    out.append("")

    out.append("## Agent with the checks and nothing else (check-only window)")
    out.append("")
    hdr = ["twin", "agent cores busy", "agent CPU ms/s", "RSS MB", "peak RSS MB", "check runs/s",
           "checks hit", "gap p50 / p99 ms", "non-2xx", "nginx CPU s", "start s", "register s"]
    body = []
    for t in twins:
        body.append([t, n_fix(m(t, "agent_util"), 4) + s(t, "agent_util"), n_fix(1000 * m(t, "agent_util"), 1),
                     n_fix(m(t, "rss_kb") / 1024, 1), n_fix(m(t, "hwm_kb") / 1024, 1),
                     n_fix(m(t, "runs_per_s"), 0) + s(t, "runs_per_s"), n_int(m(t, "distinct")),
                     "%s / %s" % (n_int(m(t, "gap_p50_ms")), n_int(m(t, "gap_p99_ms"))), n_int(m(t, "non200")),
                     n_fix(m(t, "target_cpu_s"), 2), n_fix(m(t, "start_s"), 2), n_fix(m(t, "reg_s"), 2)])
    out += [table(hdr, body), ""]

    out.append("## DNS under dnsperf while the checks run")
    out.append("")
    hdr = ["twin", "QPS", "agent CPU µs/query", "DNS-thread CPU µs/query", "agent cores busy", "lost",
           "NOERROR %", "check runs/s during it", "dnsperf CPU s", "other CPU s", "passing at end"]
    body = []
    for t in twins:
        body.append([t, n_int(m(t, "qps")) + s(t, "qps"), n_fix(m(t, "us_per_q"), 3) + s(t, "us_per_q"),
                     n_fix(m(t, "dns_us_per_q"), 3) + s(t, "dns_us_per_q"),
                     n_fix(m(t, "srv_util"), 3), n_int(sum(v for v in col(rows, t, "lost") if ok(v))),
                     n_fix(m(t, "noerror_pct"), 2), n_fix(m(t, "dns_runs_per_s"), 0),
                     n_fix(m(t, "dp_cpu_s"), 2), n_fix(m(t, "other_cpu_s"), 2), n_int(m(t, "passing_end"))])
    out += [table(hdr, body), ""]

    q_r = ratio(m("loaded", "qps"), m("idle", "qps"))
    u_r = ratio(m("loaded", "us_per_q"), m("idle", "us_per_q"))
    d_r = ratio(m("loaded", "dns_us_per_q"), m("idle", "dns_us_per_q"))
    out.append("## Loaded / idle")
    out.append("")
    out += [table(["figure", "loaded / idle", "target", "verdict"], [
        ["DNS QPS", n_ratio(q_r), "≥ %.2f×" % TARGET_QPS, verdict(q_r, ok(q_r) and q_r >= TARGET_QPS)],
        ["DNS CPU µs/query (the DNS worker threads' CPU)", n_ratio(d_r), "≤ %.2f×" % TARGET_USQ,
         verdict(d_r, ok(d_r) and d_r <= TARGET_USQ)],
        ["agent CPU µs/query (every thread, the check runs included)", n_ratio(u_r), "", ""],
        ["agent CPU, check-only window", n_ratio(ratio(m("loaded", "agent_util"), m("idle", "agent_util"))), "", ""],
        ["agent RSS", n_ratio(ratio(m("loaded", "rss_kb"), m("idle", "rss_kb"))), "", ""],
    ]), ""]

    if "bare" in twins and "idle" in twins:
        nchk = f(env.get("ttl_checks")) + f(env.get("http_checks"))
        hold = m("idle", "agent_util") - m("bare", "agent_util")
        out.append("## Cost of holding the checks (idle twin − bare agent)")
        out.append("")
        out.append(table(["figure", "value"], [
            ["agent CPU for %s TTL checks that nobody updates" % n_int(nchk),
             "%s cores (%s ms CPU per s)" % (n_fix(hold, 4), n_fix(1000 * hold, 1))],
            ["… per 1,000 TTL checks", "%s ms CPU per s" % n_fix(1e6 * hold / nchk, 2)],
            ["RSS per check (with its share of the %s services)" % env.get("services", "?"),
             "%s bytes" % n_int(1024 * (m("idle", "rss_kb") - m("bare", "rss_kb")) / nchk)],
        ]))
        out.append("")
        out.append("The bare agent has the seed only; its DNS answers lack the local instances, so it is "
                   "not part of the DNS ratios.")
        out.append("")

    rate = m("loaded", "runs_per_s")
    util = m("loaded", "agent_util")
    net = util - m("idle", "agent_util")
    out.append("## Cost of running the checks")
    out.append("")
    if not ok(rate) or rate < 1:
        out.append("**No HTTP check runs reached the target** (%s/s observed, %s/s expected): this binary "
                   "stores the HTTP checks but does not run them, so the loaded twin measured only the cost "
                   "of holding them. The CPU per check figures need a binary with the check runner." % (
                       n_fix(rate, 0), n_fix(nominal, 0)))
    else:
        out += [table(["figure", "value"], [
            ["HTTP check runs/s observed (expected)", "%s (%s)" % (n_fix(rate, 0), n_fix(nominal, 0))],
            ["agent CPU per 1,000 checks/s, total", "%s cores (%s ms CPU per s)" % (
                n_fix(util / rate * 1000, 4), n_fix(util / rate * 1e6, 1))],
            ["agent CPU per 1,000 checks/s, net of the idle twin", "%s cores (%s ms CPU per s)" % (
                n_fix(net / rate * 1000, 4), n_fix(net / rate * 1e6, 1))],
            ["agent CPU per check run, net", "%s µs" % n_fix(net / rate * 1e6, 1)],
            ["nginx CPU per check run (the target, not the agent)", "%s µs" % n_fix(
                m("loaded", "target_cpu_s") / (rate * m("loaded", "window_s")) * 1e6, 1)],
        ]), ""]
        if ok(nominal) and rate < 0.9 * nominal:
            out.append("**Fewer check runs than scheduled**: %s/s observed vs %s/s expected." % (
                n_fix(rate, 0), n_fix(nominal, 0)))
        during = m("loaded", "dns_runs_per_s")
        if ok(nominal) and ok(during) and during < 0.9 * nominal:
            out.append("**Checks fell behind under DNS load**: %s runs/s while dnsperf ran (expected %s/s): "
                       "the agent's core was saturated and check runs were late." % (
                           n_fix(during, 0), n_fix(nominal, 0)))
        # The loaded twin's µs/query includes the check runs during dnsperf; take out an estimate of
        # them (net CPU per run x runs/s during dnsperf) to see whether answering itself got dearer.
        est = net / rate * during if ok(during) else float("nan")
        util_dns = m("loaded", "srv_util")
        usq_dns = m("loaded", "us_per_q") * (util_dns - est) / util_dns if ok(est) and util_dns > 0 else float("nan")
        out.append("")
        out.append("Loaded DNS CPU µs/query with the check runs taken out (estimate: net CPU per run × runs/s "
                   "during dnsperf): %s µs, %s idle." % (n_fix(usq_dns, 3), n_ratio(ratio(usq_dns, m("idle", "us_per_q")))))
    out.append("")
    ne_i, ne_l = m("idle", "noerror_pct"), m("loaded", "noerror_pct")
    if ok(ne_i) and ok(ne_l) and abs(ne_i - ne_l) > 0.5:
        out.append("**Warning**: NOERROR share differs between twins (%.2f%% vs %.2f%%): they did not serve "
                   "the same answers." % (ne_i, ne_l))
    others = [v for v in col(rows, "idle", "other_cpu_s") + col(rows, "loaded", "other_cpu_s") if ok(v)]
    if others and max(others) > 0.2 * f(env.get("duration", "10s").rstrip("s")):
        out.append("**Noisy machine**: other CPU reached %.1f s in a %s dnsperf window; rerun on a quiet "
                   "machine before quoting QPS." % (max(others), env.get("duration")))
    print("\n".join(out).rstrip() + "\n")


if __name__ == "__main__":
    main()
