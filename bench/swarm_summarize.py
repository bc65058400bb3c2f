#!/usr/bin/env python3
"""Summarise bench/swarm_dns.sh results as Markdown: the twins side by side and churn / idle.

  python3 bench/swarm_summarize.py bench/results/swarm-<timestamp>

Reads results.tsv (one row per run, twin and queried name) and env.txt from that directory. Every
figure is the median over the runs of one invocation; ratios are the churn twin's median divided
by the idle twin's (same invocation).
"""
import csv
import os
import sys

from benchlib import f, med, n_fix, n_int, n_ratio, ok, ratio, spread, table

TWINS = ["alone", "idle", "churn"]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    res = sys.argv[1]
    with open(os.path.join(res, "results.tsv")) as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    env_lines = []
    env = {}
    if os.path.exists(os.path.join(res, "env.txt")):
        with open(os.path.join(res, "env.txt")) as fh:
            env_lines = [line.rstrip("\n") for line in fh]
        for line in env_lines:
            for tok in line.split():
                if "=" in tok:
                    env.setdefault(tok.split("=", 1)[0], tok.split("=", 1)[1])
    n = f(env.get("n"))
    good = [r for r in rows if r["status"] == "ok"]
    twins = [t for t in TWINS if any(r["twin"] == t for r in good)]
    names = []
    for r in good:
        if r["name"] not in names:
            names.append(r["name"])

    def col(twin, key, name=None):
        return [f(r[key]) for r in good
                if r["twin"] == twin and (name is None or r["name"] == name)]

    def once(twin, key):  # per-twin figures repeat on each name's row: take the first name's
        return col(twin, key, names[0]) if names else []

    out = ["# DNS on an agent while %s gossip peers churn" % n_int(n), ""]
    out += ["```"] + env_lines + ["```", ""]
    bad = [r for r in rows if r["status"] != "ok"]
    if bad:
        out.append("**Rows not ok:** " + ", ".join(
            "%s/%s/%s: %s" % (r["run"], r["twin"], r["name"], r["status"]) for r in bad))
        out.append("")
    runs = len({r["run"] for r in good})
    out.append("Medians of %d run(s); spread ±(max−min)/2 of the median." % runs)
    out.append("")

    out.append("## DNS under closed-loop dnsperf")
    out.append("")
    hdr = ["twin", "name", "QPS", "agent CPU µs/query", "DNS-thread µs/query", "agent cores busy",
           "resp bytes", "NOERROR %", "lost", "gossip rx / tx at agent B/s", "flips/s",
           "swarm CPU s", "dnsperf CPU s", "other CPU s"]
    body = []
    for name in names:
        for t in twins:
            if not col(t, "qps", name):
                continue
            body.append([
                t, name + ".service.consul",
                n_int(med(col(t, "qps", name))) + spread(col(t, "qps", name)),
                n_fix(med(col(t, "us_per_q", name)), 2) + spread(col(t, "us_per_q", name)),
                n_fix(med(col(t, "dns_us_per_q", name)), 2) + spread(col(t, "dns_us_per_q", name)),
                n_fix(med(col(t, "srv_util", name)), 2),
                n_fix(med(col(t, "resp_bytes", name)), 0),
                n_fix(med(col(t, "noerror_pct", name)), 1),
                n_int(sum(v for v in col(t, "lost", name) if ok(v))),
                n_int(med(col(t, "rx_Bps", name))) + " / " + n_int(med(col(t, "tx_Bps", name))),
                n_fix(med(col(t, "flips_per_s", name)), 1),
                n_fix(med(col(t, "swarm_cpu_s", name)), 2),
                n_fix(med(col(t, "dp_cpu_s", name)), 2),
                n_fix(med(col(t, "other_cpu_s", name)), 2),
            ])
    out += [table(hdr, body), ""]

    if "idle" in twins and "churn" in twins:
        out.append("## Churn / idle (same invocation)")
        out.append("")
        hdr = ["name", "QPS", "agent CPU µs/query", "DNS-thread µs/query"]
        body = []
        for name in names:
            body.append([name + ".service.consul"] + [
                n_ratio(ratio(med(col("churn", k, name)), med(col("idle", k, name))))
                for k in ("qps", "us_per_q", "dns_us_per_q")])
        out += [table(hdr, body), ""]

    out.append("## Gossip-only window (no DNS load), membership and memory")
    out.append("")
    hdr = ["twin", "agent cores busy", "gossip rx / tx at agent B/s", "flips/s",
           "agent catalog changes/s",
           "swarm cores busy", "alive members", "swarm instances", "RSS MB", "peak RSS MB",
           "join s", "join + replicate s"]
    body = []
    for t in twins:
        win = med(once(t, "win_s"))
        body.append([
            t,
            n_fix(med(once(t, "win_agent_util")), 3) + spread(once(t, "win_agent_util")),
            n_int(med(once(t, "win_rx_Bps"))) + " / " + n_int(med(once(t, "win_tx_Bps"))),
            n_fix(med(once(t, "win_flips_per_s")), 1),
            n_fix(med(once(t, "win_index_per_s")), 1),
            n_fix(ratio(med(once(t, "win_swarm_cpu_s")), win), 2),
            n_int(med(once(t, "members"))),
            n_int(med(once(t, "swarm_instances"))),
            n_fix(med(once(t, "rss_kb")) / 1024, 1),
            n_fix(med(once(t, "hwm_kb")) / 1024, 1),
            n_fix(med(once(t, "join_s")), 1),
            n_fix(med(once(t, "sync_s")), 1),
        ])
    out += [table(hdr, body), ""]
    if "alone" in twins and ok(n) and n > 0:
        base = med(once("alone", "rss_kb"))
        for t in ("idle", "churn"):
            if t in twins:
                per = (med(once(t, "rss_kb")) - base) * 1024 / n
                out.append("- Memory per remote node (%s): (RSS %s − RSS alone) / N = %s bytes" %
                           (t, t, n_int(per)))
        out.append("")
    loads = [f(r["load1"]) for r in rows]
    out.append("- Load average (1 min) at the end of the dnsperf windows: median %s, max %s "
               "(2-CPU machine; above ~2 means other work was competing)." %
               (n_fix(med(loads), 2), n_fix(max([v for v in loads if ok(v)] or [float("nan")]), 2)))
    print("\n".join(out))


if __name__ == "__main__":
    main()
