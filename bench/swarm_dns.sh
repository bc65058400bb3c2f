#!/usr/bin/env bash
# DNS on an agent while N simulated gossip peers churn, vs the same agent joined by the same swarm
# with no churn (issue: "DNS µs/query on an agent while 1,000 simulated peers churn compared with
# an idle agent").
#
# Run from the repository root after a release build of both binaries:
#   CXX="ccache g++" meson setup build --buildtype=release -Db_ndebug=true
#   ninja -C build beacon bench/gossip_swarm
#   QUICK=1 bench/swarm_dns.sh   # smoke test: 1 run, short windows (~3 minutes at N=1000)
#   bench/swarm_dns.sh           # 3 runs x 3 twins (~10 minutes at N=1000)
#
# Per run the twins take turns (order alternating between runs). Each is a fresh
# `beacon agent -dev -dns-workers 1` pinned to SRV_CORE, with one local service "local"
# registered over HTTP, and:
#   alone  no swarm: the RSS baseline (memory per remote node) and local-name DNS without gossip
#   idle   joined by bench/gossip_swarm: N peers (127.1.0.1.., one process, SWARM_CORE), each a
#          real Serf + CatalogSync with a node record holding service "swarm" and a TTL-style
#          check; churn 0: gossip (probes, push-pulls, anti-entropy) but no catalog changes
#   churn  the same swarm with RATE check-status flips per second cluster-wide, each a local
#          change on a random peer, spread to the agent by gossip like a real agent's delta
# Fairness: idle and churn differ only in the flips. Same swarm binary and process placement, same
# N members and N catalog nodes, same "swarm" service (1,000 instances at N=1,000), same gossip
# protocol load; a -catalog-seed twin would hold the same records but no members, so it would
# charge membership gossip (probes, push-pull) to the churn. The alone twin is the baseline
# for memory per remote node: (RSS idle - RSS alone) / N.
# For each twin: start, join (swarm twins: the swarm's "ready" and N swarm instances in the
# agent's catalog), SETTLE s, a WINDOW s gossip-only window (agent CPU, gossip bytes/s at the
# agent, flips/s), then for each name in NAMES (swarm.service.consul, local.service.consul):
# WARM s dnsperf warm-up and DURATION s closed-loop dnsperf on LG_CORE (QPS, agent CPU µs/query
# for the whole process and for the beacon-dns threads, gossip bytes/s in that window).
#
# Placement: agent on SRV_CORE (0), dnsperf on LG_CORE (1), the swarm on SWARM_CORE (default
# LG_CORE). With two cores nothing is neutral: the swarm on the agent's core would charge the
# peers' CPU to Beacon's core, unpinned it would wander onto it. On LG_CORE it competes with
# dnsperf, so QPS in the swarm twins may be client-limited (the swarm CPU column says how much);
# CPU µs/query is measured on the agent alone and does not depend on that.
#
# Scheduling: the agent and the swarm each run in a session of their own (setsid), so each gets its
# own autogroup. In one autogroup, the kernel split that group's weight by load across CPUs, and the
# agent's one thread on its core, next to the swarm's 1,000 on the other, got ~2% of its core
# against other users' builds: its gossip accept queue overflowed and joins timed out.
#
# Output: bench/results/swarm-<timestamp>/ (results.tsv, env.txt, run.log, dnsperf, agent and
# swarm logs) and bench/results/swarm-<timestamp>.md (bench/swarm_summarize.py), also printed.
#
# Knobs (environment): BEACON (build/beacon), SWARM (build/bench/gossip_swarm), N (1000), RATE
# (10 flips/s), TWINS ("alone idle churn"), RUNS (3), NAMES ("swarm local"), JOIN_RATE (50
# peers/s), SWARM_BASE (127.1.0.1), SETTLE (5), WINDOW (10), WARM (2), DURATION (10), DP_ARGS
# ("-c 10 -q 100"), SRV_CORE (0), LG_CORE (1), SWARM_CORE (LG_CORE), BEACON_ARGS, START_LIMIT
# (60), SYNC_LIMIT (300), SYNC_PCT (95: share of the N records the agent must hold), STOP_LIMIT (20), RES, ports BEACON_DNS_PORT (15800), BEACON_HTTP_PORT
# (15810), BEACON_SERF_PORT (15820), BEACON_SERVER_PORT (15830), SWARM_PORT (15840).
# QUICK=1 sets RUNS=1 SETTLE=3 WINDOW=5 WARM=1 DURATION=4.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

if [ "${QUICK:-0}" = 1 ]; then
    RUNS=${RUNS:-1}; SETTLE=${SETTLE:-3}; WINDOW=${WINDOW:-5}; WARM=${WARM:-1}; DURATION=${DURATION:-4}
fi
RUNS=${RUNS:-3}
N=${N:-1000}
RATE=${RATE:-10}
JOIN_RATE=${JOIN_RATE:-25}
SWARM_BASE=${SWARM_BASE:-127.1.0.1}
SETTLE=${SETTLE:-5}
WINDOW=${WINDOW:-10}
WARM=${WARM:-2}
DURATION=${DURATION:-10}
DP_ARGS=${DP_ARGS:-"-c 10 -q 100"}
SRV_CORE=${SRV_CORE:-0}
LG_CORE=${LG_CORE:-1}
SWARM_CORE=${SWARM_CORE:-$LG_CORE}
START_LIMIT=${START_LIMIT:-60}
SYNC_LIMIT=${SYNC_LIMIT:-300}
SYNC_PCT=${SYNC_PCT:-95}
STOP_LIMIT=${STOP_LIMIT:-20}
BEACON=${BEACON:-build/beacon}
SWARM=${SWARM:-build/bench/gossip_swarm}
BEACON_ARGS=${BEACON_ARGS:-}
PHASES=${PHASES:-"idle churn"}
ALONE=${ALONE:-1}
NAMES=${NAMES:-"swarm local"}
STAMP=$(date +%Y%m%d-%H%M%S)
RES=${RES:-$HERE/results/swarm-$STAMP}

check_uint SYNC_PCT RUNS N JOIN_RATE SETTLE WINDOW WARM DURATION SRV_CORE LG_CORE SWARM_CORE START_LIMIT SYNC_LIMIT STOP_LIMIT
for t in $PHASES; do case $t in idle|churn) ;; *) die "unknown phase '$t' (use idle churn)" ;; esac; done
for n in $NAMES; do case $n in swarm|local) ;; *) die "unknown name '$n' (use swarm local)" ;; esac; done

want python3 "$PY" python3
want dnsperf dnsperf dnsperf
want curl curl curl
want taskset taskset util-linux
want timeout timeout coreutils
install_missing "-"

resolve_beacon "    CXX=\"ccache g++\" meson setup build --buildtype=release -Db_ndebug=true && ninja -C build beacon bench/gossip_swarm"
case $SWARM in /*) ;; *) [ -e "$SWARM" ] || SWARM=$ROOT/$SWARM ;; esac
SWARM=$(cd "$(dirname "$SWARM")" && pwd)/$(basename "$SWARM")
[ -x "$SWARM" ] || die "no swarm binary at $SWARM: ninja -C build bench/gossip_swarm (or set SWARM=)"
set_pinning "$SRV_CORE" "$LG_CORE"
PIN_SWARM=""
[ "$PINNED" = yes ] && PIN_SWARM="taskset -c $SWARM_CORE"

COLS="run twin name status members swarm_instances join_s sync_s rss_kb hwm_kb win_s win_agent_cpu_s win_agent_util win_rx_Bps win_tx_Bps win_flips_per_s win_swarm_cpu_s qps completed lost noerror_pct resp_bytes srv_cpu_s us_per_q dns_cpu_s dns_us_per_q srv_util dp_cpu_s swarm_cpu_s other_cpu_s rx_Bps tx_Bps flips_per_s load1 win_index_per_s"
open_results "$COLS"
assign_ports 100 dns:"${BEACON_DNS_PORT:-15800}" http:"${BEACON_HTTP_PORT:-15810}" serf:"${BEACON_SERF_PORT:-15820}" \
    server:"${BEACON_SERVER_PORT:-15830}"
SWARM_PORT=${SWARM_PORT:-15840}
B_URL=http://127.0.0.1:${PORT[http]}

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b-a}'; }
div() { awk -v a="$1" -v b="$2" -v m="${3:-1}" 'BEGIN{ if (b>0) printf "%.3f", a*m/b; else print "nan"}'; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# The swarm's last "stats" line (cumulative counters, one a second) -> "t rx tx flips" where rx is
# what the agent received from the peers (datagrams + stream bytes) and tx what it sent them.
swarm_mark() {
    [ -n "${SW_LOG:-}" ] || { echo "nan nan nan nan"; return; }
    grep '^stats ' "$SW_LOG" | tail -1 | tr ' ' '\n' | awk -F= '
        {v[$1]=$2} END{printf "%s %d %d %d", v["t"], v["agent_bytes_rx"]+v["agent_stream_rx"],
                       v["agent_bytes_tx"]+v["agent_stream_tx"], v["flips"]}'
}
rates() { # mark0 mark1 -> "rx_Bps tx_Bps flips_per_s"
    awk -v a="$1" -v b="$2" 'BEGIN{split(a,x," "); split(b,y," "); d=y[1]-x[1];
        if (d > 0) printf "%.0f %.0f %.1f", (y[2]-x[2])/d, (y[3]-x[3])/d, (y[4]-x[4])/d; else print "nan nan nan"}'
}
agent_index() { # the agent's raft-style index (bumped by every catalog change it applies)
    curl -s -m 5 -o /dev/null -D - "$B_URL/v1/health/service/swarm" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-consul-index"{print $2}'
}
swarm_cpu() { if [ -n "${SW_PID:-}" ]; then cpu_s "$SW_PID"; else echo 0; fi; }

# catalog_count service -> instances of it in the agent's catalog
catalog_count() {
    curl -s -m 5 "$B_URL/v1/catalog/service/$1" | "$PY" -c 'import json,sys
try: print(len(json.load(sys.stdin)))
except Exception: print(0)'
}
alive_members() {
    curl -s -m 5 "$B_URL/v1/agent/members" | "$PY" -c 'import json,sys
try: print(sum(1 for m in json.load(sys.stdin) if m.get("Status") == 1))
except Exception: print(0)'
}

start_agent() { # tag -> SRV_PID, WORK; 0 once HTTP answers and the local service is registered
    local tag=$1
    WORK=$(mktemp -d /tmp/beacon-swarm.XXXXXX) || die "mktemp failed"
    WORKS="$WORKS $WORK"
    # shellcheck disable=SC2086
    (cd "$WORK" && exec setsid $PIN_SRV "$BEACON" agent -dev -node bench -bind 127.0.0.1 -client 127.0.0.1 \
        -dns-port "${PORT[dns]}" -http-port "${PORT[http]}" -serf-lan-port "${PORT[serf]}" \
        -server-port "${PORT[server]}" -log-level warn -dns-workers 1 $BEACON_ARGS) > "$WORK/server.log" 2>&1 &
    SRV_PID=$!
    LIVE_PIDS="$LIVE_PIDS $SRV_PID"
    wait_http "$B_URL/v1/agent/self" "$SRV_PID" || { log "$tag: $B_URL/v1/agent/self did not answer"; return 1; }
    curl -s -m 5 -o /dev/null -w '%{http_code}' -X PUT -d '{"Name":"local","Port":9000}' \
        "$B_URL/v1/agent/service/register" | grep -q '^200$' || { log "$tag: registering 'local' failed"; return 1; }
    [ "$(catalog_count local)" -ge 1 ] || { log "$tag: 'local' not in the catalog"; return 1; }
}

start_swarm() { # tag churn -> SW_PID, SW_LOG, JOIN_S, SYNC_S; 0 once joined and replicated
    local tag=$1 churn=$2 t0 i c=0
    SW_LOG=$RES/$tag.swarm.log
    t0=$(now)
    # shellcheck disable=SC2086
    setsid $PIN_SWARM "$SWARM" -n "$N" -base "$SWARM_BASE" -port "$SWARM_PORT" -join "127.0.0.1:${PORT[serf]}" \
        -churn "$churn" -paused 1 -duration 0 -join-rate "$JOIN_RATE" -join-timeout "$SYNC_LIMIT" > "$SW_LOG" 2> "$RES/$tag.swarm.err" &
    SW_PID=$!
    LIVE_PIDS="$LIVE_PIDS $SW_PID"
    for i in $(seq $((SYNC_LIMIT * 2))); do
        grep -q '^ready ' "$SW_LOG" && break
        alive "$SW_PID" || { log "$tag: swarm died: $(tail -3 "$RES/$tag.swarm.err")"; return 1; }
        sleep 0.5
    done
    grep -q '^ready ' "$SW_LOG" || { log "$tag: swarm not ready within ${SYNC_LIMIT}s"; return 1; }
    JOIN_S=$(sub "$t0" "$(now)")
    log "$tag: $(grep '^ready ' "$SW_LOG")"
    # SYNC_PCT of the N records: the last few reach the agent by anti-entropy (30 s rounds) when
    # the reliable sends at join met a full accept queue; the instances column says how many.
    local want=$(((N * SYNC_PCT + 99) / 100))
    for i in $(seq $((SYNC_LIMIT * 2))); do
        c=$(catalog_count swarm)
        [ "$c" -ge "$want" ] && break
        sleep 0.5
    done
    SYNC_S=$(sub "$t0" "$(now)")
    [ "$c" -ge "$want" ] || { log "$tag: only $c of $N swarm instances in the agent's catalog after ${SYNC_S}s"; return 1; }
    log "$tag: $c of $N swarm instances in the agent's catalog after ${SYNC_S}s"
}

fail_row() { # run twin status
    local c=() k
    for k in $(seq $(($(echo "$COLS" | wc -w) - 4))); do c+=(nan); done
    row "$1" "$2" - "$3" "${c[@]}"
}

# measure run phase names...: a gossip-only window, then dnsperf on each name; one row per name
measure() {
    local run=$1 twin=$2 tag=$2-r$1 status=ok name m0 m1 t0 t1 c0 c1 s0 s1 b0 b1 w0 w1
    local i0 i1 idx win agent winr wsw members inst mem dpcpu qps comp lost noerr resp srv dnscpu swc r qf
    shift 2
    m0=$(swarm_mark); t0=$(now); c0=$(cpu_s "$SRV_PID"); s0=$(swarm_cpu); i0=$(agent_index)
    sleep "$WINDOW"
    m1=$(swarm_mark); t1=$(now); c1=$(cpu_s "$SRV_PID"); s1=$(swarm_cpu); i1=$(agent_index)
    win=$(sub "$t0" "$t1"); agent=$(sub "$c0" "$c1"); wsw=$(sub "$s0" "$s1")
    idx=$(div "$(sub "${i0:-0}" "${i1:-0}")" "$win")
    winr=$(rates "$m0" "$m1")
    members=$(alive_members); inst=$(catalog_count swarm)
    mem=$("$PY" "$HERE/procstat.py" "$SRV_PID")
    log "$tag: window ${win}s: agent index +${idx}/s, agent cpu ${agent}s, swarm cpu ${wsw}s, gossip at agent rx/tx B/s + flips/s: $winr; alive members $members, swarm instances $inst, rss $(kv "$mem" rss_max_kb) kB"
    for name in "$@"; do
        qf=$RES/q-$name.txt
        echo "$name.service.consul A" > "$qf"
        # shellcheck disable=SC2086
        dnsperf_run "$RES/$tag-$name.warm.log" -p "${PORT[dns]}" -d "$qf" -l "$WARM" $DP_ARGS
        m0=$(swarm_mark); s0=$(swarm_cpu); c0=$(cpu_s "$SRV_PID"); b0=$(busy_s); t0=$(now)
        w0=$(kv "$("$PY" "$HERE/procstat.py" --threads beacon-dns "$SRV_PID")" cpu_s)
        # shellcheck disable=SC2086
        timed_cpu dnsperf_run "$RES/$tag-$name.dnsperf.log" -p "${PORT[dns]}" -d "$qf" -l "$DURATION" $DP_ARGS
        dpcpu=$TIMED_CPU
        t1=$(now); b1=$(busy_s); c1=$(cpu_s "$SRV_PID"); s1=$(swarm_cpu); m1=$(swarm_mark)
        w1=$(kv "$("$PY" "$HERE/procstat.py" --threads beacon-dns "$SRV_PID")" cpu_s)
        read -r qps _ comp lost _ _ resp noerr <<< "$(dp_stats "$RES/$tag-$name.dnsperf.log")"
        srv=$(sub "$c0" "$c1"); dnscpu=$(sub "$w0" "$w1"); swc=$(sub "$s0" "$s1")
        r=$(rates "$m0" "$m1")
        alive "$SRV_PID" || status=agent-died
        [ -n "$SW_PID" ] && ! alive "$SW_PID" && status=swarm-died
        # shellcheck disable=SC2086
        row "$run" "$twin" "$name" "$status" "$members" "$inst" "$JOIN_S" "$SYNC_S" "$(kv "$mem" rss_max_kb)" \
            "$(kv "$mem" hwm_max_kb)" "$win" "$agent" "$(div "$agent" "$win")" $winr "$wsw" \
            "$qps" "$comp" "$lost" "$noerr" "$resp" "$srv" "$(div "$srv" "$comp" 1000000)" \
            "$dnscpu" "$(div "$dnscpu" "$comp" 1000000)" "$(div "$srv" "$(sub "$t0" "$t1")")" "$dpcpu" "$swc" \
            "$(other_cpu "$b0" "$b1" "$(awk -v a="$srv" -v b="$swc" 'BEGIN{print a+b}')" "$dpcpu")" $r "$(load1)" "$idx"
        log "$tag $name: qps=$qps lost=$lost noerror=${noerr}% resp=${resp}B agent cpu ${srv}s us/q=$(div "$srv" "$comp" 1000000) dns-threads us/q=$(div "$dnscpu" "$comp" 1000000) swarm cpu ${swc}s gossip rx/tx B/s + flips/s: $r load $(load1)"
    done
}

# run_one run: one agent for the whole run: alone, then the swarm joins (churn paused), then the
# idle and churn phases in alternating order (the swarm's churn switched on and off by signal).
run_one() {
    local run=$1 tag=r$1 order=$PHASES ph
    SW_PID=""; SW_LOG=""; JOIN_S=nan; SYNC_S=nan
    [ $((run % 2)) = 0 ] && order=$(echo "$PHASES" | tr ' ' '\n' | tac | tr '\n' ' ')
    if ! start_agent "$tag"; then fail_row "$run" alone no-start; finish_server "$tag"; return 1; fi
    if [ "$ALONE" = 1 ]; then
        sleep "$SETTLE"
        measure "$run" alone local
    fi
    if ! start_swarm "$tag" "$RATE"; then
        fail_row "$run" idle no-sync
        [ -n "$SW_PID" ] && stop_pid "$SW_PID"
        finish_server "$tag"; return 1
    fi
    for ph in $order; do
        if [ "$ph" = churn ]; then kill -USR1 "$SW_PID"; else kill -USR2 "$SW_PID"; fi
        sleep "$SETTLE"
        # shellcheck disable=SC2086
        measure "$run" "$ph" $NAMES
    done
    stop_pid "$SW_PID"
    log "$tag: swarm $(grep -E '^(final|members) ' "$SW_LOG" | tr '\n' ' ' | cut -c1-700)"
    finish_server "$tag"
}

private_beacon_copy /tmp/beacon-swarm-bin.XXXXXX
{
    echo "phases=[$PHASES] alone=$ALONE names=[$NAMES] runs=$RUNS n=$N rate=$RATE join_rate=$JOIN_RATE swarm_base=$SWARM_BASE"
    echo "settle=${SETTLE}s window=${WINDOW}s warm=${WARM}s duration=${DURATION}s dnsperf=[$DP_ARGS]"
    echo "pinned=$PINNED agent_core=$SRV_CORE load_core=$LG_CORE swarm_core=$SWARM_CORE ncpu=$NCPU"
    echo "beacon=$("$BEACON" version 2>/dev/null | head -1 | tr -s ' \t' ' ') ($(beacon_binary_desc))"
    echo "swarm=$SWARM ($(stat -c '%y' "$SWARM" | cut -d. -f1)) dnsperf=$(dnsperf -h 2>&1 | awk '/^Version/{print $2; exit}')"
    echo "machine=$(machine_desc)"
} > "$RES/env.txt"
log "results in $RES"
while read -r l; do log "$l"; done < "$RES/env.txt"
log "ports: agent dns ${PORT[dns]} http ${PORT[http]} serf ${PORT[serf]} server ${PORT[server]}; swarm $SWARM_BASE.. port $SWARM_PORT"
[ "$PINNED" = yes ] || log "WARNING: fewer than 2 CPUs (or SRV_CORE = LG_CORE): running unpinned"

ulimit -n "$(ulimit -Hn)" 2>/dev/null
for run in $(seq "$RUNS"); do run_one "$run"; done
echo "machine_end=$(machine_desc)" >> "$RES/env.txt"
log "done: $TSV"
"$PY" "$HERE/swarm_summarize.py" "$RES" > "$RES.md"
cat "$RES.md"
