#!/usr/bin/env bash
# User and system CPU per DNS query, server by server, runs alternating: where a server's
# µs/query goes (its own code vs the kernel's loopback send/receive), which compare.sh's single
# CPU figure does not say.
#
#   bench/dns_cpu_split.sh                          # beacon and nsd, 3 alternations
#   ROUNDS=4 TARGETS="beacon:build/beacon beacon:/tmp/old-beacon nsd" bench/dns_cpu_split.sh
#
# Each round starts every target in turn on the 1,000-service catalog of gen_catalog.py (the one
# compare.sh uses, made on first use), pinned as compare.sh pins (server on SRV_CORE 0, dnsperf on
# DP_CORE 1), warms it for 1 s,
# then runs dnsperf for DURATION s (DP_ARGS, default compare.sh's "-c 10 -q 100") and reads the
# server's utime/stime from /proc/<pid>/stat (all of its threads and, for nsd, its children)
# around that run. A target is `nsd` or `beacon:<path to a binary or wrapper script>`; the same
# binary may appear twice with different wrappers (an A/B of an environment switch).
# Output: one line per run, "<target> <queries> user <µs/q> sys <µs/q> total <µs/q>".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh" # ROOT, write_nsd_conf
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
DP_ARGS=${DP_ARGS:-"-c 10 -q 100"}
TARGETS=${TARGETS:-"beacon:$ROOT/build/beacon nsd"}
PORT=${PORT:-5399}
SRV_CORE=${SRV_CORE:-0}  # as compare.sh
DP_CORE=${DP_CORE:-1}
DATA=${DATA:-$HERE/out}/s1000-q200000

for tool in dnsperf taskset nsd python3; do
    command -v "$tool" >/dev/null || { echo "dns_cpu_split: $tool not found" >&2; exit 1; }
done
if [ ! -f "$DATA/catalog-seed.json" ] || [ ! -f "$DATA/queries.txt" ]; then
    timeout 1800 python3 "$HERE/gen_catalog.py" --services 1000 --count 200000 --out "$DATA" >&2 ||
        { echo "dns_cpu_split: gen_catalog.py failed" >&2; exit 1; }
fi

cpu_ticks() { # pids... -> "utime stime" summed (the comm field may hold spaces: cut after ')')
    local p
    for p in "$@"; do sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12, $13}'; done |
        awk '{u += $1; s += $2} END {print u + 0, s + 0}'
}

run_one() { # target
    local target=$1 W pid pids t0 t1 q hz
    W=$(mktemp -d /tmp/beacon-cpu-split.XXXXXX)
    case $target in
    nsd)
        write_nsd_conf "$W" "$DATA" "$PORT"
        taskset -c "$SRV_CORE" nsd -d -c "$W/nsd.conf" > "$W/server.log" 2>&1 &
        ;;
    beacon:*)
        (cd "$W" && exec taskset -c "$SRV_CORE" "${target#beacon:}" agent -dev -node bench \
            -catalog-seed "$DATA/catalog-seed.json" -dns-port "$PORT" -http-port $((PORT + 1)) \
            -serf-lan-port $((PORT + 2)) -server-port $((PORT + 3)) -log-level warn \
            -dns-workers 1) > "$W/server.log" 2>&1 &
        ;;
    *) echo "dns_cpu_split: unknown target '$target'" >&2; rm -rf "$W"; return 1 ;;
    esac
    pid=$!
    sleep 1.5
    # shellcheck disable=SC2086
    timeout 30 taskset -c "$DP_CORE" dnsperf -s 127.0.0.1 -p "$PORT" -d "$DATA/queries.txt" -l 1 $DP_ARGS \
        > /dev/null 2>&1
    pids=$( (echo "$pid"; pgrep -f "$W") | sort -u)
    # shellcheck disable=SC2086
    t0=$(cpu_ticks $pids)
    # shellcheck disable=SC2086
    timeout $((DURATION + 30)) taskset -c "$DP_CORE" dnsperf -s 127.0.0.1 -p "$PORT" -d "$DATA/queries.txt" \
        -l "$DURATION" $DP_ARGS > "$W/dnsperf.log" 2>&1
    # shellcheck disable=SC2086
    t1=$(cpu_ticks $pids)
    q=$(awk '/Queries completed/ {print $3}' "$W/dnsperf.log")
    hz=$(getconf CLK_TCK)
    # shellcheck disable=SC2086
    kill $pids 2>/dev/null
    wait "$pid" 2>/dev/null
    pkill -f "$W" 2>/dev/null
    rm -rf "$W"
    awk -v t="$target" -v q="${q:-0}" -v hz="$hz" -v a="$t0" -v b="$t1" 'BEGIN {
        split(a, x, " "); split(b, y, " ");
        if (q == 0) { printf "%s: no queries answered\n", t; exit }
        u = (y[1] - x[1]) * 1e6 / hz / q; s = (y[2] - x[2]) * 1e6 / hz / q;
        printf "%-40s %8d queries  user %.3f  sys %.3f  total %.3f us/query\n", t, q, u, s, u + s }'
}

for ((r = 1; r <= ROUNDS; r++)); do
    for t in $TARGETS; do run_one "$t"; done
done
