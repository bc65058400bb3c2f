#!/usr/bin/env bash
# What the DNS metrics cost: the same Beacon binary with telemetry.dns_metrics on and off
# (answers by qtype/rcode and the answer latency histogram; issue 9 target: on <= 1.03x off),
# each measured by bench/compare.sh's Beacon run (1 DNS worker pinned to a core, dnsperf
# -c 10 -q 100 pinned to the other, 1,000 services). The two modes alternate, the order flipping
# every pair, so drift on the machine hits both alike.
#
#   BEACON=build-release/beacon bench/metrics_overhead.sh        # 5 pairs x 10 s
#   PAIRS=3 DURATION=5 bench/metrics_overhead.sh                 # quicker
#
# Prints server CPU µs per answered query and QPS per run, their medians per mode, and the
# ratio on/off of the medians. Knobs: BEACON (build/beacon), PAIRS (5), DURATION (10), SIZES
# (1000), RES (bench/results/metrics-<timestamp>); compare.sh's other knobs pass through. Its
# ports default to 54x0 (not compare.sh's 53x0), so a compare.sh running beside it cannot take
# them (a run whose agent found its port taken is left out, as compare.sh leaves it out).
set -u
export BEACON_PORT=${BEACON_PORT:-5410} BEACON_HTTP_PORT=${BEACON_HTTP_PORT:-5420}
export BEACON_SERF_PORT=${BEACON_SERF_PORT:-5430} BEACON_SERVER_PORT=${BEACON_SERVER_PORT:-5440}
HERE=$(cd "$(dirname "$0")" && pwd)
PAIRS=${PAIRS:-5}
RES=${RES:-$HERE/results/metrics-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RES" || exit 1
RES=$(cd "$RES" && pwd)
echo '{"telemetry": {"dns_metrics": true}}' > "$RES/on.json"
echo '{"telemetry": {"dns_metrics": false}}' > "$RES/off.json"

run_one() { # mode pair
    local mode=$1 i=$2 conf="$RES/$1.json"
    PEERS=beacon SIZES=${SIZES:-1000} RUNS=1 DURATION=${DURATION:-10} LAT_SECS=${LAT_SECS:-2} \
        BEACON_ARGS="-config-file $conf" RES="$RES/$mode-$i" \
        "$HERE/compare.sh" > "$RES/$mode-$i.out" 2>&1 || echo "compare.sh failed: $RES/$mode-$i.out" >&2
    awk -F'\t' -v mode="$mode" 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next}
        $c["peer"]=="beacon" {print mode, $c["us_per_q"], $c["qps"]}' "$RES/$mode-$i/results.tsv" \
        >> "$RES/runs.txt"
}

: > "$RES/runs.txt"
for i in $(seq "$PAIRS"); do
    if [ $((i % 2)) = 1 ]; then run_one on "$i"; run_one off "$i"; else run_one off "$i"; run_one on "$i"; fi
    tail -2 "$RES/runs.txt"
done

python3 - "$RES/runs.txt" <<'EOF'
import statistics, sys
runs = {"on": [], "off": []}
for line in open(sys.argv[1]):
    mode, usq, qps = line.split()
    if usq != "nan":
        runs[mode].append((float(usq), float(qps)))
for mode in ("on", "off"):
    r = runs[mode]
    print("%-3s runs=%d us/q=%s  median %.3f us/q, %.0f qps" % (
        mode, len(r), " ".join("%.3f" % u for u, _ in r),
        statistics.median(u for u, _ in r), statistics.median(q for _, q in r)))
on = statistics.median(u for u, _ in runs["on"])
off = statistics.median(u for u, _ in runs["off"])
print("metrics on / off: %.3fx us/q (target <= 1.03x)" % (on / off))
EOF
echo "results in $RES"
