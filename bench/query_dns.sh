#!/usr/bin/env bash
# Prepared-query DNS answers next to plain service lookups, on one agent in one run (issue 9:
# "Prepared query DNS answers measured with dnsperf next to plain service lookups (target ≤ 1.1×
# their µs/query)").
#
# Run from the repository root (a release build gives the figures that count; any build works):
#   bench/query_dns.sh                 # 5 runs x 4 names, 5 s each (about 2.5 minutes)
#   QUICK=1 bench/query_dns.sh         # 1 run, 3 s each
#
# One `beacon agent -dev -dns-workers 1` pinned to SRV_CORE holds SERVICES services of 3 instances
# each on distinct nodes (a -catalog-seed), among them "web" (3 instances tagged rails, one of them
# also canary), and four prepared queries created over HTTP. dnsperf (DP_ARGS, closed loop, on
# LG_CORE) sends one name per window, A queries, the names taking turns within each run (order
# rotated between runs):
#   service  web.service.consul           the plain lookup (the baseline)
#   query    web-all.query.consul         a static query on web, no filters: the same answer
#   filtered web-fast.query.consul        the issue's query: OnlyPassing, Tags [rails, !canary]
#   template tmpl-web.query.consul        name_prefix_match template, Service ${name.suffix}
# Per window: server CPU µs per answered query (the whole agent, and the beacon-dns threads alone).
# Printed: medians over the runs and each name's median ratio to `service` (ratios taken within
# each run first, then the median of those).
#
# Knobs: BEACON (build/beacon), SERVICES (1000), RUNS (5), WARM (1), DURATION (5), DP_ARGS
# ("-c 10 -q 100"), SRV_CORE (0), LG_CORE (1), NAMES ("service query filtered template"),
# START_LIMIT (60), STOP_LIMIT (20), RES (bench/results/query-<timestamp>), ports
# BEACON_DNS_PORT (15900), BEACON_HTTP_PORT (15910), BEACON_SERF_PORT (15920),
# BEACON_SERVER_PORT (15930).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

if [ "${QUICK:-0}" = 1 ]; then
    RUNS=${RUNS:-1}; DURATION=${DURATION:-3}
fi
RUNS=${RUNS:-5}
SERVICES=${SERVICES:-1000}
WARM=${WARM:-1}
DURATION=${DURATION:-5}
DP_ARGS=${DP_ARGS:-"-c 10 -q 100"}
SRV_CORE=${SRV_CORE:-0}
LG_CORE=${LG_CORE:-1}
START_LIMIT=${START_LIMIT:-60}
STOP_LIMIT=${STOP_LIMIT:-20}
BEACON=${BEACON:-build/beacon}
NAMES=${NAMES:-"service query filtered template"}
STAMP=$(date +%Y%m%d-%H%M%S)
RES=${RES:-$HERE/results/query-$STAMP}

check_uint RUNS SERVICES WARM DURATION SRV_CORE LG_CORE START_LIMIT STOP_LIMIT
qname() {
    case $1 in
        service) echo web.service.consul ;;
        query) echo web-all.query.consul ;;
        filtered) echo web-fast.query.consul ;;
        template) echo tmpl-web.query.consul ;;
        *) die "unknown name '$1' (use service query filtered template)" ;;
    esac
}
for n in $NAMES; do qname "$n" > /dev/null; done

want python3 "$PY" python3
want dnsperf dnsperf dnsperf
want curl curl curl
want taskset taskset util-linux
want timeout timeout coreutils
install_missing "-"
resolve_beacon "    meson setup build --buildtype=release -Db_ndebug=true && ninja -C build beacon"
set_pinning "$SRV_CORE" "$LG_CORE"

COLS="run name qname qps completed lost noerror_pct resp_bytes srv_cpu_s us_per_q dns_cpu_s dns_us_per_q load1"
open_results "$COLS"
assign_ports 100 dns:"${BEACON_DNS_PORT:-15900}" http:"${BEACON_HTTP_PORT:-15910}" \
    serf:"${BEACON_SERF_PORT:-15920}" server:"${BEACON_SERVER_PORT:-15930}"
B_URL=http://127.0.0.1:${PORT[http]}
div() { awk -v a="$1" -v b="$2" -v m="${3:-1}" 'BEGIN{ if (b>0) printf "%.3f", a*m/b; else print "nan"}'; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b-a}'; }

# The catalog: SERVICES services x 3 instances on distinct nodes; web's third instance is canary.
SEED=$RES/catalog-seed.json
"$PY" - "$SERVICES" > "$SEED" <<'EOF'
import json, sys
n = int(sys.argv[1])
out = []
for s in range(n):
    name = "web" if s == 0 else "svc-%d" % s
    for i in range(3):
        k = s * 3 + i
        tags = ["rails"] + (["canary"] if name == "web" and i == 2 else [])
        out.append({"Node": "node-%d" % k, "Address": "10.%d.%d.%d" % (k >> 16, (k >> 8) & 255, k & 255),
                    "Service": {"ID": "%s-%d" % (name, i), "Service": name, "Port": 8000 + i, "Tags": tags}})
json.dump(out, sys.stdout)
EOF

post_query() { # json
    curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST -d "$1" "$B_URL/v1/query" | grep -q '^200$'
}

WORK=$(mktemp -d /tmp/beacon-query.XXXXXX) || die "mktemp failed"
WORKS="$WORKS $WORK"
private_beacon_copy /tmp/beacon-query-bin.XXXXXX
# shellcheck disable=SC2086
(cd "$WORK" && exec $PIN_SRV "$BEACON" agent -dev -node bench -catalog-seed "$SEED" \
    -dns-port "${PORT[dns]}" -http-port "${PORT[http]}" -serf-lan-port "${PORT[serf]}" \
    -server-port "${PORT[server]}" -log-level warn -dns-workers 1) > "$WORK/server.log" 2>&1 &
SRV_PID=$!
LIVE_PIDS="$LIVE_PIDS $SRV_PID"
wait_http "$B_URL/v1/agent/self" "$SRV_PID" || die "the agent did not answer on $B_URL"
post_query '{"Name":"web-all","Service":{"Service":"web"}}' || die "creating web-all failed"
post_query '{"Name":"web-fast","Service":{"Service":"web","OnlyPassing":true,"Tags":["rails","!canary"]}}' \
    || die "creating web-fast failed"
post_query '{"Name":"tmpl-","Template":{"Type":"name_prefix_match"},"Service":{"Service":"${name.suffix}"}}' \
    || die "creating tmpl- failed"
{
    echo "services=$SERVICES runs=$RUNS warm=${WARM}s duration=${DURATION}s dnsperf=[$DP_ARGS] names=[$NAMES]"
    echo "pinned=$PINNED agent_core=$SRV_CORE load_core=$LG_CORE ncpu=$NCPU"
    echo "beacon=$("$BEACON" version 2>/dev/null | head -1 | tr -s ' \t' ' ') ($(beacon_binary_desc))"
    echo "machine=$(machine_desc)"
} > "$RES/env.txt"
log "results in $RES"
while read -r l; do log "$l"; done < "$RES/env.txt"

for run in $(seq "$RUNS"); do
    order=$NAMES
    for _ in $(seq $(((run - 1) % $(echo "$NAMES" | wc -w)))); do
        order="$(echo "$order" | cut -d' ' -f2-) $(echo "$order" | cut -d' ' -f1)"
    done
    for name in $order; do
        qn=$(qname "$name")
        qf=$RES/q-$name.txt
        echo "$qn A" > "$qf"
        # shellcheck disable=SC2086
        dnsperf_run "$RES/r$run-$name.warm.log" -p "${PORT[dns]}" -d "$qf" -l "$WARM" $DP_ARGS
        c0=$(cpu_s "$SRV_PID")
        w0=$(kv "$("$PY" "$HERE/procstat.py" --threads beacon-dns "$SRV_PID")" cpu_s)
        # shellcheck disable=SC2086
        dnsperf_run "$RES/r$run-$name.dnsperf.log" -p "${PORT[dns]}" -d "$qf" -l "$DURATION" $DP_ARGS
        c1=$(cpu_s "$SRV_PID")
        w1=$(kv "$("$PY" "$HERE/procstat.py" --threads beacon-dns "$SRV_PID")" cpu_s)
        read -r qps _ comp lost _ _ resp noerr <<< "$(dp_stats "$RES/r$run-$name.dnsperf.log")"
        srv=$(sub "$c0" "$c1"); dns=$(sub "$w0" "$w1")
        row "$run" "$name" "$qn" "$qps" "$comp" "$lost" "$noerr" "$resp" "$srv" \
            "$(div "$srv" "$comp" 1000000)" "$dns" "$(div "$dns" "$comp" 1000000)" "$(cut -d' ' -f1 /proc/loadavg)"
        log "r$run $name ($qn): qps=$qps lost=$lost noerror=${noerr}% resp=${resp}B us/q=$(div "$srv" "$comp" 1000000) dns-threads us/q=$(div "$dns" "$comp" 1000000)"
    done
done
alive "$SRV_PID" || die "the agent died during the run (see $WORK/server.log)"
finish_server agent
echo "machine_end=$(machine_desc)" >> "$RES/env.txt"

"$PY" - "$TSV" <<'EOF' | tee "$RES/summary.txt"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
names = list(dict.fromkeys(r["name"] for r in rows))
runs = sorted({r["run"] for r in rows})
def val(run, name, col):
    for r in rows:
        if r["run"] == run and r["name"] == name:
            try: return float(r[col])
            except ValueError: return None
    return None
print("%-9s %-24s %10s %14s %18s %10s %12s" % ("name", "qname", "QPS", "agent us/q", "dns-threads us/q",
                                               "ratio", "dns ratio"))
for n in names:
    qn = next(r["qname"] for r in rows if r["name"] == n)
    med = lambda col: statistics.median([v for v in (val(x, n, col) for x in runs) if v is not None] or [float("nan")])
    ratio = lambda col: statistics.median([val(x, n, col) / val(x, "service", col) for x in runs
                                           if val(x, n, col) and val(x, "service", col)] or [float("nan")])
    print("%-9s %-24s %10.0f %14.3f %18.3f %9.3fx %11.3fx" % (n, qn, med("qps"), med("us_per_q"),
          med("dns_us_per_q"), ratio("us_per_q"), ratio("dns_us_per_q")))
print("medians of %d runs; ratios: each run's us/q over that run's service us/q, then the median" % len(runs))
EOF
