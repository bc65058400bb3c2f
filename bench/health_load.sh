#!/usr/bin/env bash
# Health-check load: one agent running 10,000 TTL and 2,000 HTTP checks (1 s interval) against a
# local nginx, vs the same agent and catalog with nothing to run; agent CPU/RSS and DNS under dnsperf.
#
# Run from the repository root after building Beacon (a release build for real numbers):
#   meson setup build --buildtype=release -Db_ndebug=true && ninja -C build beacon
#   BEACON=build/beacon bench/health_load.sh          # 3 runs x 3 twins (about 8 minutes)
#   QUICK=1 BEACON=build/beacon bench/health_load.sh  # smoke test: 1 run, short windows (~2 minutes)
#
# Once per invocation: nginx (one process, `return 200` on /check/...) on 127.0.0.1, pinned to
# NGINX_CORE (LG_CORE), its access log counting every check request. Then per run, the twins take turns
# (alternating order), each a fresh agent pinned to SRV_CORE (-dev, the gen_catalog.py seed of
# SERVICES services x 3 remote instances, one DNS worker):
#   loaded  SERVICES local services (the same names as the seed's, so DNS answers include them),
#           TTL_CHECKS TTL checks (TTL CHECK_TTL, updated by nobody) and HTTP_CHECKS HTTP checks
#           (GET nginx /check/<svc>/<k> every INTERVAL), all registered as passing
#   idle    the same services and check IDs, the HTTP checks replaced by TTL checks: same catalog,
#           same health, no check runs
#   bare    the seed only, no local services or checks: the baseline for what holding the checks
#           costs (its DNS answers lack the local instances, so it is not in the DNS ratios)
# and for each twin: registration over the agent API, wait until every check is passing, SETTLE s,
# then a WINDOW s check-only window (agent CPU from /proc, RSS, check runs counted in nginx's log),
# WARM s dnsperf warm-up and DURATION s closed-loop dnsperf pinned to LG_CORE (QPS, agent CPU
# µs/query, check runs during it), and a last look that every check is still passing.
#
# Fairness (checked 2026-12-02): both twins run with the same pinning and next to the same nginx
# process; only the loaded twin's checks make nginx work, and nginx sits on LG_CORE, the core dnsperf
# needs (dnsperf uses ~0.9 of it at the idle twin's QPS). So part of a loaded/idle QPS drop can be
# the client's, not Beacon's: the summary gives nginx's CPU per check run (~27 µs with kept-alive
# connections and its access log buffered, i.e. ~5% of the load core at 2,000 runs/s; an unbuffered
# log made it ~60 µs). The agent-side figure, CPU µs/query, does not depend on the client. With two
# CPUs no placement is neutral: nginx on SRV_CORE would charge the target's work to Beacon's core.
# NGINX_CORE picks its core (default LG_CORE, as before, so figures stay comparable).
#
# Output: bench/results/health-<timestamp>/ (results.tsv, env.txt, run.log, dnsperf and agent
# logs) and bench/results/health-<timestamp>.md (bench/health_summarize.py), which is printed.
#
# Knobs (environment): BEACON (build/beacon), TWINS ("bare idle loaded"), RUNS (3), SERVICES (2000), TTL_CHECKS (10000),
# HTTP_CHECKS (2000), INTERVAL (1s), CHECK_TTL (24h), SETTLE (5), WINDOW (20), WARM (2), DURATION
# (10), DP_ARGS ("-c 10 -q 100"), QCOUNT (200000), SRV_CORE (0), LG_CORE (1), NGINX_CORE (LG_CORE), BEACON_ARGS,
# START_LIMIT (120), REG_LIMIT (600), REG_CONNS (8), STOP_LIMIT (20), DATA (bench/out), RES, ports
# BEACON_DNS_PORT (15700), BEACON_HTTP_PORT (15710), BEACON_SERF_PORT (15720), BEACON_SERVER_PORT
# (15730), TARGET_PORT (15740). QUICK=1 sets RUNS=1 SETTLE=2 WINDOW=5 WARM=1 DURATION=3.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh" # also sets ROOT, PY (python3) and PATH (+ /usr/sbin:/sbin)

if [ "${QUICK:-0}" = 1 ]; then
    RUNS=${RUNS:-1}; SETTLE=${SETTLE:-2}; WINDOW=${WINDOW:-5}; WARM=${WARM:-1}; DURATION=${DURATION:-3}
fi
RUNS=${RUNS:-3}
SERVICES=${SERVICES:-2000}
TTL_CHECKS=${TTL_CHECKS:-10000}
HTTP_CHECKS=${HTTP_CHECKS:-2000}
INTERVAL=${INTERVAL:-1s}
CHECK_TTL=${CHECK_TTL:-24h}
SETTLE=${SETTLE:-5}
WINDOW=${WINDOW:-20}
WARM=${WARM:-2}
DURATION=${DURATION:-10}
DP_ARGS=${DP_ARGS:-"-c 10 -q 100"}
QCOUNT=${QCOUNT:-200000}
SRV_CORE=${SRV_CORE:-0}
LG_CORE=${LG_CORE:-1}
NGINX_CORE=${NGINX_CORE:-$LG_CORE}
START_LIMIT=${START_LIMIT:-120}
REG_LIMIT=${REG_LIMIT:-600}
REG_CONNS=${REG_CONNS:-8}
STOP_LIMIT=${STOP_LIMIT:-20}
BEACON=${BEACON:-build/beacon}
BEACON_ARGS=${BEACON_ARGS:-}
DATA=${DATA:-$HERE/out}
STAMP=$(date +%Y%m%d-%H%M%S)
RES=${RES:-$HERE/results/health-$STAMP}

check_uint RUNS SERVICES TTL_CHECKS HTTP_CHECKS SETTLE WINDOW WARM DURATION QCOUNT SRV_CORE LG_CORE NGINX_CORE \
    START_LIMIT REG_LIMIT REG_CONNS STOP_LIMIT
if [ "$RUNS" -lt 1 ] || [ "$SERVICES" -lt 1 ] || [ "$WINDOW" -lt 1 ] || [ "$DURATION" -lt 1 ]; then
    die "RUNS, SERVICES, WINDOW and DURATION must be at least 1"
fi
CHECKS=$((TTL_CHECKS + HTTP_CHECKS))
TWINS=${TWINS:-"bare idle loaded"}
for t in $TWINS; do case $t in bare|idle|loaded) ;; *) die "unknown twin '$t' (use bare idle loaded)" ;; esac; done

need_tools() {
    want python3 "$PY" python3
    want dnsperf dnsperf dnsperf
    want nginx nginx nginx
    want curl curl curl
    want taskset taskset util-linux
    want timeout timeout coreutils
    install_missing "Debian's nginx package may have started a system nginx on port 80; this script runs its own on a high port ('systemctl stop nginx' gives a quieter machine)"
}
need_tools

resolve_beacon "    meson setup build --buildtype=release -Db_ndebug=true && ninja -C build beacon"
set_pinning "$SRV_CORE" "$LG_CORE"
PIN_TGT=""
[ "$PINNED" = yes ] && PIN_TGT="taskset -c $NGINX_CORE"

COLS="run twin start_s reg_s checks window_s agent_cpu_s agent_util target_cpu_s runs runs_per_s distinct non200 gap_p50_ms gap_p99_ms rss_kb hwm_kb qps completed lost noerror_pct srv_cpu_s us_per_q srv_util dp_cpu_s other_cpu_s dns_runs_per_s passing_end check_metrics pinned status dns_cpu_s dns_us_per_q"
open_results "$COLS"
assign_ports 100 dns:"${BEACON_DNS_PORT:-15700}" http:"${BEACON_HTTP_PORT:-15710}" serf:"${BEACON_SERF_PORT:-15720}" \
    server:"${BEACON_SERVER_PORT:-15730}" target:"${TARGET_PORT:-15740}"
B_URL=http://127.0.0.1:${PORT[http]}
T_URL=http://127.0.0.1:${PORT[target]}

# ---------------------------------------------------------------------------------------------
# The HTTP target: one nginx process, no master, every request logged (buffered, flushed every
# second, so the count of a window waits 1.5 s; an unbuffered log cost nginx a write per check run
# on the load core) as
# "$msec $uri $status" so check runs can be counted per window and per check.
start_target() {
    TWORK=$(mktemp -d /tmp/beacon-health-target.XXXXXX) || die "mktemp failed"
    WORKS="$WORKS $TWORK"
    TLOG=$TWORK/access.log
    cat > "$TWORK/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 16384;
pid $TWORK/nginx.pid;
error_log $TWORK/error.log warn;
events { worker_connections 8192; }
http {
    client_body_temp_path $TWORK/body;
    proxy_temp_path $TWORK/proxy;
    fastcgi_temp_path $TWORK/fastcgi;
    uwsgi_temp_path $TWORK/uwsgi;
    scgi_temp_path $TWORK/scgi;
    log_format checks '\$msec \$uri \$status';
    access_log $TLOG checks buffer=256k flush=1s;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:${PORT[target]};
        location / { default_type text/plain; return 200 "ok\n"; }
    }
}
EOF
    # shellcheck disable=SC2086
    $PIN_TGT nginx -p "$TWORK" -c "$TWORK/nginx.conf" -e "$TWORK/error.log" > "$TWORK/stdout.log" 2>&1 &
    TGT_PID=$!
    LIVE_PIDS="$LIVE_PIDS $TGT_PID"
    wait_http "$T_URL/ready" "$TGT_PID" || die "nginx did not answer $T_URL/ready: $(cat "$TWORK"/*.log)"
}

# start_agent tag -> SRV_PID, WORK, START_S (0 on success)
start_agent() {
    local tag=$1 t0
    WORK=$(mktemp -d /tmp/beacon-health.XXXXXX) || die "mktemp failed"
    WORKS="$WORKS $WORK"
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    (cd "$WORK" && exec $PIN_SRV "$BEACON" agent -dev -node bench -catalog-seed "$D/catalog-seed.json" \
        -dns-port "${PORT[dns]}" -http-port "${PORT[http]}" -serf-lan-port "${PORT[serf]}" \
        -server-port "${PORT[server]}" -log-level warn -dns-workers 1 $BEACON_ARGS) > "$WORK/server.log" 2>&1 &
    SRV_PID=$!
    LIVE_PIDS="$LIVE_PIDS $SRV_PID"
    START_S=$(timeout $((START_LIMIT + 30)) "$PY" "$HERE/dnsprobe.py" wait "${PORT[dns]}" "$PROBE" A "$t0" "$START_LIMIT" "$SRV_PID")
    case $START_S in ''|timeout|died)
        log "$tag: ${START_S:-probe failed} before $PROBE answered; server log: $RES/$tag.server.log"
        return 1 ;;
    esac
    wait_http "$B_URL/v1/agent/self" "$SRV_PID" || { log "$tag: $B_URL/v1/agent/self did not answer"; return 1; }
}

fail_row() { # run twin status
    local c=() n
    n=$(($(echo "$COLS" | wc -w) - 6))
    for _ in $(seq "$n"); do c+=(nan); done
    row "$1" "$2" "${c[@]}" "$PINNED" "$3" nan nan
}

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b-a}'; }
div() { awk -v a="$1" -v b="$2" -v m="${3:-1}" 'BEGIN{ if (b>0) printf "%.3f", a*m/b; else print "nan"}'; }
runs_in() { # t0 t1 -> health_load.py runs for the target log since this twin started
    # nginx flushes its buffered log every second: wait until t1 + 1.5 s is in it
    sleep "$(awk -v t1="$2" -v now="$(now)" 'BEGIN{d = t1 + 1.5 - now; printf "%.2f", (d > 0 ? d : 0)}')"
    "$PY" "$HERE/health_load.py" runs --log "$TLOG" --offset "$LOG_OFF" --t0 "$1" --t1 "$2"
}

# run_twin run twin: one fresh agent, registration, the check-only window, the DNS window
run_twin() {
    local run=$1 twin=$2 tag=$2-r$1 reg w expect status=ok
    local t0 t1 win c0 c1 g0 g1 b0 b1 m r q0 q1 dpcpu rd pend met agent tcpu
    local qps comp lost noerr srv
    if ! start_agent "$tag"; then
        fail_row "$run" "$twin" "no-start(${START_S:-probe-failed})"; finish_server "$tag"; return 1
    fi
    LOG_OFF=$(stat -c %s "$TLOG")
    expect=$CHECKS
    reg="reg_s=nan services=0 checks=0"
    # shellcheck disable=SC2086
    if [ "$twin" = bare ]; then
        expect=0
    elif ! reg=$(timeout "$REG_LIMIT" $PIN_LOAD "$PY" "$HERE/health_load.py" register --port "${PORT[http]}" \
            --services "$SERVICES" --ttl-checks "$TTL_CHECKS" --http-checks "$HTTP_CHECKS" --mode "$twin" \
            --target "$T_URL" --ttl "$CHECK_TTL" --interval "$INTERVAL" --conns "$REG_CONNS" 2> "$RES/$tag.register.err"); then
        log "$tag: registration failed: $(head -c 300 "$RES/$tag.register.err")"
        fail_row "$run" "$twin" register-failed; finish_server "$tag"; return 1
    fi
    # shellcheck disable=SC2086
    w=$(timeout $((START_LIMIT + 30)) $PIN_LOAD "$PY" "$HERE/health_load.py" wait --port "${PORT[http]}" \
        --expect "$expect" --timeout "$START_LIMIT")
    log "$tag: start ${START_S}s, $reg; $w"
    case $w in *timeout*|'') status=not-all-passing ;; esac
    sleep "$SETTLE"

    # Check-only window: nothing but the checks (and the agent's own timers) runs.
    t0=$(now); c0=$(cpu_s "$SRV_PID"); g0=$(cpu_s "$TGT_PID")
    sleep "$WINDOW"
    t1=$(now); c1=$(cpu_s "$SRV_PID"); g1=$(cpu_s "$TGT_PID")
    m=$("$PY" "$HERE/procstat.py" "$SRV_PID")
    r=$(runs_in "$t0" "$t1")
    agent=$(sub "$c0" "$c1"); tcpu=$(sub "$g0" "$g1"); win=$(sub "$t0" "$t1")
    log "$tag: check window ${win}s: agent cpu ${agent}s, nginx cpu ${tcpu}s, $r, rss $(kv "$m" rss_max_kb) kB"

    # DNS under load: warm-up, then closed-loop dnsperf on the load core.
    # shellcheck disable=SC2086
    dnsperf_run "$RES/$tag.warm.log" -p "${PORT[dns]}" -d "$D/queries.txt" -l "$WARM" $DP_ARGS
    q0=$(cpu_s "$SRV_PID"); g0=$(cpu_s "$TGT_PID"); b0=$(busy_s); t0=$(now)
    w0=$(kv "$("$PY" "$HERE/procstat.py" --threads beacon-dns "$SRV_PID")" cpu_s)
    # shellcheck disable=SC2086
    timed_cpu dnsperf_run "$RES/$tag.dnsperf.log" -p "${PORT[dns]}" -d "$D/queries.txt" -l "$DURATION" $DP_ARGS
    dpcpu=$TIMED_CPU
    t1=$(now); b1=$(busy_s); q1=$(cpu_s "$SRV_PID"); g1=$(cpu_s "$TGT_PID")
    w1=$(kv "$("$PY" "$HERE/procstat.py" --threads beacon-dns "$SRV_PID")" cpu_s)
    dnscpu=$(sub "$w0" "$w1")
    read -r qps _ comp lost _ _ _ noerr <<< "$(dp_stats "$RES/$tag.dnsperf.log")"
    srv=$(sub "$q0" "$q1")
    rd=$(runs_in "$t0" "$t1")
    alive "$SRV_PID" || status=server-died
    pend=$(timeout 60 "$PY" "$HERE/health_load.py" wait --port "${PORT[http]}" --expect "$expect" --timeout 5 | awk '{print $2}')
    pend=${pend#passing=}
    [ "$status" = ok ] && [ "${pend:-0}" != "$expect" ] && status=checks-not-passing-at-end
    met=$("$PY" "$HERE/health_load.py" metrics --port "${PORT[http]}" | tr ' ' ',')
    row "$run" "$twin" "$START_S" "$(kv "$reg" reg_s)" "$(kv "$reg" checks)" "$win" "$agent" \
        "$(div "$agent" "$win")" "$tcpu" "$(kv "$r" runs)" "$(kv "$r" runs_per_s)" "$(kv "$r" distinct)" \
        "$(kv "$r" non200)" "$(kv "$r" gap_p50_ms)" "$(kv "$r" gap_p99_ms)" "$(kv "$m" rss_max_kb)" "$(kv "$m" hwm_max_kb)" \
        "$qps" "$comp" "$lost" "$noerr" "$srv" "$(div "$srv" "$comp" 1000000)" "$(div "$srv" "$DURATION")" \
        "$dpcpu" "$(other_cpu "$b0" "$b1" "$(awk -v s="$srv" -v t="$(sub "$g0" "$g1")" 'BEGIN{print s+t}')" "$dpcpu")" \
        "$(kv "$rd" runs_per_s)" "${pend:-nan}" "$met" "$PINNED" "$status" \
        "$dnscpu" "$(div "$dnscpu" "$comp" 1000000)"
    log "$tag: dns threads cpu ${dnscpu}s us/q=$(div "$dnscpu" "$comp" 1000000)"
    log "$tag: dnsperf qps=$qps lost=$lost noerror=${noerr}% agent cpu ${srv}s us/q=$(div "$srv" "$comp" 1000000); checks during it: $rd; passing at end: ${pend:-?}/$expect; metrics: $met; $status"
    finish_server "$tag"
}

# ---------------------------------------------------------------------------------------------
private_beacon_copy /tmp/beacon-health-bin.XXXXXX
mkdir -p "$DATA" || die "cannot create $DATA"
D=$(data_dir "$SERVICES")
PROBE=$(cat_field "$D" last_service)
{
    echo "twins=[$TWINS] runs=$RUNS reg_conns=$REG_CONNS services=$SERVICES ttl_checks=$TTL_CHECKS http_checks=$HTTP_CHECKS interval=$INTERVAL check_ttl=$CHECK_TTL"
    echo "settle=${SETTLE}s window=${WINDOW}s warm=${WARM}s duration=${DURATION}s dnsperf=[$DP_ARGS] queries=$D/queries.txt"
    echo "pinned=$PINNED agent_core=$SRV_CORE load_core=$LG_CORE nginx_core=$NGINX_CORE ncpu=$NCPU"
    echo "beacon=$("$BEACON" version 2>/dev/null | head -1 | tr -s ' \t' ' ') ($(beacon_binary_desc))"
    echo "nginx=$(nginx -v 2>&1 | sed 's/.*nginx\///') dnsperf=$(dnsperf -h 2>&1 | awk '/^Version/{print $2; exit}')"
    echo "machine=$(machine_desc)"
} > "$RES/env.txt"
log "results in $RES"
while read -r l; do log "$l"; done < "$RES/env.txt"
log "ports: agent dns ${PORT[dns]} http ${PORT[http]} serf ${PORT[serf]} server ${PORT[server]}; nginx ${PORT[target]}"
[ "$PINNED" = yes ] || log "WARNING: fewer than 2 CPUs (or SRV_CORE = LG_CORE): running unpinned"

ulimit -n "$(ulimit -Hn)" 2>/dev/null
start_target
for run in $(seq "$RUNS"); do
    order=$TWINS
    [ $((run % 2)) = 0 ] && order=$(echo "$TWINS" | tr ' ' '\n' | tac | tr '\n' ' ')
    for twin in $order; do run_twin "$run" "$twin"; done
done
log "nginx served $(wc -l < "$TLOG") requests in all; its cpu $(cpu_s "$TGT_PID")s"
stop_pid "$TGT_PID"

log "done: $TSV"
"$PY" "$HERE/health_summarize.py" "$RES" > "$RES.md"
cat "$RES.md"
