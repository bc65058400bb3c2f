#!/usr/bin/env bash
# Beacon vs NSD vs Knot: the same Consul-shaped catalog, the same query mix, dnsperf on loopback.
#
# Run from the repository root after building Beacon (meson setup build && ninja -C build):
#   bench/compare.sh                      # full matrix: 1,000 and 100,000 services x 3 runs
#   QUICK=1 bench/compare.sh              # smoke test: 1,000 services, 1 run, 3 s
#   PEERS="nsd knot" QUICK=1 bench/compare.sh   # peers only (no Beacon binary needed)
#
# Besides the real servers, the "floor" peer is bench/dns_floor.c (built here with cc -O2): it
# answers every query with the question and one A record and does no lookup, with the same
# recvmmsg/sendmmsg batching and the same dnsperf load. Its CPU µs/query is what this machine's
# kernel and loopback cost per query; every run reports Beacon / floor and NSD / floor.
#
# Per size, per run, per server (servers take turns inside each run, so slow drift on the machine
# hits all of them alike):
#   1. launch the server pinned to core SRV_CORE (taskset, 1 worker) on 127.0.0.1:<high port>;
#      start_s = time until the *last* service name answers NOERROR (dnsprobe.py polls every 10 ms)
#   2. WARM s warm-up with dnsperf
#   3. DURATION s closed-loop dnsperf pinned to core DP_CORE (-c 10 -q 100): QPS, lost, and the
#      server's CPU time (utime+stime of its process tree, /proc) over exactly that window
#   4. LAT_SECS s at a fixed LAT_QPS (10k) with dnsperf -v: p50/p90/p99/p99.9 latency
#   5. peak RSS (VmHWM) and current RSS from /proc; then the server is stopped by its PID
# Beacon is also started once with an empty catalog to get the baseline RSS that "bytes per
# instance" is measured against.
#
# Output: bench/results/<timestamp>/results.tsv (one row per run), raw dnsperf logs, answer checks,
# server logs, and summary.txt (bench/summarize.py), which is also printed.
#
# Knobs (environment): BEACON (default build/beacon), PEERS ("beacon nsd knot floor"), SIZES
# ("1000 100000"), RUNS (3), DURATION (10), WARM (2), LAT_QPS (10000), LAT_SECS (5), QCOUNT (200000),
# DP_ARGS ("-c 10 -q 100"), SRV_CORE (0), DP_CORE (1), START_LIMIT (600 s), BEACON_ARGS (extra
# flags for `beacon agent`), DATA (bench/out), RES (bench/results/<timestamp>), ports BEACON_PORT
# (5310), BEACON_HTTP_PORT (5320), BEACON_SERF_PORT (5330), BEACON_SERVER_PORT (5340), NSD_PORT
# (5301), KNOT_PORT (5302), FLOOR_PORT (5303); all on 127.0.0.1, and a busy port is replaced by
# the next free one. QUICK=1 changes the defaults to SIZES=1000 RUNS=1 DURATION=3 LAT_SECS=3.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh" # also sets ROOT, PY (python3) and PATH (+ /usr/sbin:/sbin)

if [ "${QUICK:-0}" = 1 ]; then
    SIZES=${SIZES:-1000}; RUNS=${RUNS:-1}; DURATION=${DURATION:-3}; LAT_SECS=${LAT_SECS:-3}
fi
PEERS=${PEERS:-"beacon nsd knot floor"}
SIZES=${SIZES:-"1000 100000"}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
WARM=${WARM:-2}
LAT_QPS=${LAT_QPS:-10000}
LAT_SECS=${LAT_SECS:-5}
QCOUNT=${QCOUNT:-200000}
DP_ARGS=${DP_ARGS:-"-c 10 -q 100"}
SRV_CORE=${SRV_CORE:-0}
DP_CORE=${DP_CORE:-1}
START_LIMIT=${START_LIMIT:-600}
STOP_LIMIT=${STOP_LIMIT:-20}
BEACON=${BEACON:-build/beacon}
BEACON_ARGS=${BEACON_ARGS:-}
DATA=${DATA:-$HERE/out}
RES=${RES:-$HERE/results/$(date +%Y%m%d-%H%M%S)}

check_uint RUNS DURATION WARM LAT_QPS LAT_SECS QCOUNT START_LIMIT STOP_LIMIT SRV_CORE DP_CORE
for s in $SIZES; do case $s in ''|*[!0-9]*|0) die "SIZES must be positive integers (got '$s')" ;; esac; done
for p in $PEERS; do case $p in beacon|nsd|knot|floor) ;; *) die "unknown peer '$p' (use beacon, nsd, knot, floor)" ;; esac; done
[ -n "$PEERS" ] && [ -n "$SIZES" ] && [ "$RUNS" -ge 1 ] || die "nothing to do (PEERS, SIZES, RUNS)"
has_peer() { in_list "$1" "$PEERS"; }

# ---------------------------------------------------------------------------------------------
# Tools: install what is missing when we can (root on Debian/Ubuntu), otherwise say what to install.
need_tools() {
    want python3 "$PY" python3
    want dnsperf dnsperf dnsperf
    want taskset taskset util-linux
    want timeout timeout coreutils
    if has_peer nsd; then want nsd nsd nsd; fi
    if has_peer knot; then want knotd knotd knot; fi
    if has_peer floor; then want cc cc gcc; fi
    install_missing "the Debian packages may have started system nsd/knot services on port 53; they stay idle, but 'systemctl stop nsd knot' gives a quieter machine"
}
need_tools

if has_peer beacon; then
    resolve_beacon "    meson setup build && ninja -C build" \
        "or leave Beacon out for now: PEERS=\"nsd knot\" bench/compare.sh"
fi

set_pinning "$SRV_CORE" "$DP_CORE"

# The no-lookup responder, built for this run only (like the private copy of Beacon below).
if has_peer floor; then
    FLOOR_DIR=$(mktemp -d /tmp/beacon-bench-floor.XXXXXX) || die "mktemp failed"
    WORKS="$WORKS $FLOOR_DIR"
    FLOOR=$FLOOR_DIR/dns_floor
    cc -O2 -o "$FLOOR" "$HERE/dns_floor.c" || die "cannot build bench/dns_floor.c (cc -O2)"
fi

mkdir -p "$DATA" || die "cannot create $DATA"
COLS="peer size run start_s qps sent completed lost avg_ms sd_ms resp_bytes noerror_pct srv_cpu_s us_per_q srv_util dp_cpu_s other_cpu_s hwm_kb rss_kb pss_kb lat_qps lat_n lat_timeouts p50_ms p90_ms p99_ms p999_ms pinned status"
open_results "$COLS"

assign_ports 50 beacon:"${BEACON_PORT:-5310}" beacon_http:"${BEACON_HTTP_PORT:-5320}" \
    beacon_serf:"${BEACON_SERF_PORT:-5330}" beacon_server:"${BEACON_SERVER_PORT:-5340}" \
    nsd:"${NSD_PORT:-5301}" knot:"${KNOT_PORT:-5302}" floor:"${FLOOR_PORT:-5303}"

write_conf() { # peer workdir datadir port
    local peer=$1 W=$2 D=$3 port=$4
    case $peer in
    nsd) write_nsd_conf "$W" "$D" "$port" ;;
    knot) cat > "$W/knot.conf" <<EOF
server:
    rundir: "$W"
    pidfile: "$W/knot.pid"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "$W/knot.sock"
database:
    storage: "$W/db"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "$D"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: consul.
    file: "$D/consul.zone"
EOF
    ;;
    esac
}

launch() { # peer workdir datadir("" = empty Beacon catalog) -> SRV_PID
    local peer=$1 W=$2 D=$3
    local -a seed=()
    case $peer in
    nsd) $PIN_SRV nsd -d -c "$W/nsd.conf" > "$W/server.log" 2>&1 & ;;
    knot) $PIN_SRV knotd -c "$W/knot.conf" > "$W/server.log" 2>&1 & ;;
    floor) $PIN_SRV "$FLOOR" "${PORT[floor]}" > "$W/server.log" 2>&1 & ;;
    beacon)
        [ -n "$D" ] && seed=(-catalog-seed "$D/catalog-seed.json")
        # shellcheck disable=SC2086
        (cd "$W" && exec $PIN_SRV "$BEACON" agent -dev -node bench ${seed[@]+"${seed[@]}"} \
            -dns-port "${PORT[beacon]}" -http-port "${PORT[beacon_http]}" \
            -serf-lan-port "${PORT[beacon_serf]}" -server-port "${PORT[beacon_server]}" -log-level warn \
            -dns-workers 1 $BEACON_ARGS) > "$W/server.log" 2>&1 &
        ;;
    esac
    SRV_PID=$!
    LIVE_PIDS="$LIVE_PIDS $SRV_PID"
}

# start_server peer datadir probe-name tag -> SRV_PID, START_S, WORK; returns 1 on failure
start_server() {
    local peer=$1 D=$2 probe=$3 tag=$4 zd t0
    WORK=$(mktemp -d /tmp/beacon-bench.XXXXXX) || die "mktemp failed"
    WORKS="$WORKS $WORK"
    chmod 755 "$WORK"
    zd=$D; [ -z "$zd" ] && zd=$WORK
    write_conf "$peer" "$WORK" "$zd" "${PORT[$peer]}"
    t0=$(date +%s.%N)
    launch "$peer" "$WORK" "$D"
    START_S=$(timeout $((START_LIMIT + 30)) "$PY" "$HERE/dnsprobe.py" wait "${PORT[$peer]}" "$probe" A "$t0" "$START_LIMIT" "$SRV_PID")
    case $START_S in
    ''|timeout|died)
        log "$tag: ${START_S:-probe failed} before $probe answered (limit ${START_LIMIT}s); server log: $RES/$tag.server.log"
        finish_server "$tag"
        return 1 ;;
    esac
    return 0
}

# ---------------------------------------------------------------------------------------------
# Data and measurement helpers (data_dir, cat_field, dnsperf_run, dp_stats: lib.sh)
checks() { # peer port datadir tag: answers for a few names, saved for side-by-side diffs
    local peer=$1 port=$2 D=$3 tag=$4 n
    {
        echo "== $tag (port $port)"
        for n in "$(cat_field "$D" first_service) A" "$(cat_field "$D" first_service) SRV" \
                 "$(cat_field "$D" first_service_rfc2782) SRV" "$(cat_field "$D" first_node) A" \
                 "$(cat_field "$D" last_service) A" "$(cat_field "$D" missing_service) A" \
                 "ghost-1.node.consul A"; do
            # shellcheck disable=SC2086
            timeout 10 "$PY" "$HERE/dnsprobe.py" check "$port" $n
            # shellcheck disable=SC2086
            timeout 10 "$PY" "$HERE/dnsprobe.py" answers "$port" $n
        done
    } > "$RES/$tag.answers.txt" 2>&1
}

compare_answers() { # size: does every server give the same answers as the first one?
    # Answer sections and rcodes must match (order and TTL ignored). Additional A records are
    # compared too, leaving out NSD's NS glue (ns.consul.), and reported separately: they change
    # the response size, not the data a client uses.
    local size=$1 ref="" f p out=""
    norm_an() { grep -v -e '^==' -e additional -e 'aa=' "$1"; }
    norm_ar() { grep -e '^[^ ].*: [A-Z]*$' -e additional "$1" | grep -v 'additional ns\.consul\. '; }
    for p in $PEERS; do
        [ "$p" = floor ] && continue # answers every name with 127.0.0.1 by design
        f=$RES/$p-$size.answers.txt
        [ -f "$f" ] || continue
        if [ -z "$ref" ]; then ref=$f; continue; fi
        if diff <(norm_an "$ref") <(norm_an "$f") > "$RES/$p-$size.answers.diff"; then
            out="$out $p: answers same"
            if diff <(norm_ar "$ref") <(norm_ar "$f") > "$RES/$p-$size.answers.diff"; then
                rm -f "$RES/$p-$size.answers.diff"
                out="$out, additional same;"
            else
                out="$out, additional records DIFFER (see $p-$size.answers.diff);"
            fi
        else
            out="$out $p: answers DIFFER (see $p-$size.answers.diff);"
        fi
    done
    [ -n "$ref" ] && log "answer check at $size services vs $(basename "$ref" .answers.txt):${out:- only one server}"
}

fail_row() { # peer size run status: a run that produced no figures
    local c=()
    for _ in $(seq $(($(echo "$COLS" | wc -w) - 5))); do c+=(nan); done
    row "$1" "$2" "$3" "${c[@]}" "$PINNED" "$4"
}

# measure peer size run datadir tag: warm-up, throughput, fixed-rate latency, /proc figures
measure() {
    local peer=$1 size=$2 run=$3 D=$4 tag=$5 port=${PORT[$1]} q0 q1 b0 b1 m lat dpcpu srv util usq other status
    local qps sent comp lost avg sd resp noerr
    # shellcheck disable=SC2086
    dnsperf_run "$RES/$tag.warm.log" -p "$port" -d "$D/queries.txt" -l "$WARM" $DP_ARGS
    q0=$(cpu_s "$SRV_PID")
    b0=$(busy_s)
    # shellcheck disable=SC2086
    timed_cpu dnsperf_run "$RES/$tag.dnsperf.log" -p "$port" -d "$D/queries.txt" -l "$DURATION" $DP_ARGS
    dpcpu=$TIMED_CPU
    b1=$(busy_s)
    m=$("$PY" "$HERE/procstat.py" "$SRV_PID")
    q1=$(kv "$m" cpu_s)
    status=ok
    alive "$SRV_PID" || status=died-in-throughput-run
    read -r qps sent comp lost avg sd resp noerr <<< "$(dp_stats "$RES/$tag.dnsperf.log")"
    srv=$(awk -v a="$q0" -v b="$q1" 'BEGIN{printf "%.3f", b-a}')
    usq=$(awk -v s="$srv" -v c="$comp" 'BEGIN{ if (c>0) printf "%.3f", s*1e6/c; else print "nan"}')
    util=$(awk -v s="$srv" -v d="$DURATION" 'BEGIN{printf "%.3f", s/d}')
    other=$(other_cpu "$b0" "$b1" "$srv" "$dpcpu")
    # shellcheck disable=SC2086
    dnsperf_run "$RES/$tag.lat.raw" -p "$port" -d "$D/queries.txt" -l "$LAT_SECS" -Q "$LAT_QPS" $DP_ARGS -v
    "$PY" "$HERE/latparse.py" < "$RES/$tag.lat.raw" > "$RES/$tag.lat.txt"
    grep -v '^> ' "$RES/$tag.lat.raw" > "$RES/$tag.lat.log"; rm -f "$RES/$tag.lat.raw"
    lat=$(cat "$RES/$tag.lat.txt")
    m=$("$PY" "$HERE/procstat.py" "$SRV_PID")
    [ "$status" = ok ] && ! alive "$SRV_PID" && status=died-in-latency-run
    case $status in
    died-in-throughput-run)
        log "$tag: the server died during the closed-loop run: no figures from this run"
        qps=nan; usq=nan; srv=nan; util=nan; other=nan; m=""; lat="" ;;
    died-in-latency-run)
        log "$tag: the server died during the fixed-rate run: only its throughput figures are kept"
        m=""; lat="" ;;
    esac
    row "$peer" "$size" "$run" "$START_S" "$qps" "$sent" "$comp" "$lost" "$avg" "$sd" "$resp" "$noerr" \
        "$srv" "$usq" "$util" "${dpcpu:-nan}" "$other" "$(kv "$m" hwm_max_kb)" "$(kv "$m" rss_max_kb)" "$(kv "$m" pss_kb)" \
        "$LAT_QPS" "$(kv "$lat" n)" "$(kv "$lat" timeouts)" "$(kv "$lat" p50_ms)" "$(kv "$lat" p90_ms)" \
        "$(kv "$lat" p99_ms)" "$(kv "$lat" p999_ms)" "$PINNED" "$status"
    log "$tag start=${START_S}s qps=$qps lost=$lost noerror=${noerr}% srv_cpu=${srv}s us/q=$usq other=${other}s hwm=$(kv "$m" hwm_max_kb)kB p50=$(kv "$lat" p50_ms) p99=$(kv "$lat" p99_ms)ms"
}

# Beacon with no catalog: its start time and resident memory, the baseline for bytes/instance.
# It gets the same warm-up traffic (all NXDOMAIN for it) so per-thread buffers exist in both.
measure_empty_beacon() {
    local D=$1 tag=beacon-empty m
    start_server beacon "" "bench.node.consul" "$tag" || { log "empty Beacon did not answer bench.node.consul; no memory baseline"; return 1; }
    # shellcheck disable=SC2086
    dnsperf_run "$RES/$tag.warm.log" -p "${PORT[beacon]}" -d "$D/queries.txt" -l "$WARM" $DP_ARGS
    m=$("$PY" "$HERE/procstat.py" "$SRV_PID")
    if ! alive "$SRV_PID"; then
        log "$tag: the empty agent died during its warm-up; no memory baseline"
        finish_server "$tag"
        return 1
    fi
    row beacon-empty 0 1 "$START_S" nan nan nan nan nan nan nan nan nan nan nan nan nan \
        "$(kv "$m" hwm_max_kb)" "$(kv "$m" rss_max_kb)" "$(kv "$m" pss_kb)" nan nan nan nan nan nan nan "$PINNED" ok
    log "$tag start=${START_S}s hwm=$(kv "$m" hwm_max_kb)kB rss=$(kv "$m" rss_max_kb)kB"
    finish_server "$tag"
}

# ---------------------------------------------------------------------------------------------
versions() {
    local v=""
    has_peer beacon && v="$v beacon=$("$BEACON" version 2>/dev/null | head -1 | tr -s ' \t' ' ')"
    has_peer nsd && v="$v nsd=$(nsd -v 2>&1 | awk 'NR==1{print $3}')"
    has_peer knot && v="$v knot=$(knotd --version 2>&1 | awk '{print $NF}')"
    has_peer floor && v="$v floor=bench/dns_floor.c($(cc --version | head -1))"
    v="$v dnsperf=$(dnsperf -h 2>&1 | awk '/^Version/{print $2; exit}')"
    echo "$v"
}

if has_peer beacon; then
    private_beacon_copy /tmp/beacon-bench-bin.XXXXXX
fi

log "results in $RES"
log "peers=[$PEERS] sizes=[$SIZES] runs=$RUNS duration=${DURATION}s warm=${WARM}s latency=${LAT_SECS}s@${LAT_QPS}qps dnsperf=[$DP_ARGS]"
log "ports: beacon dns ${PORT[beacon]} http ${PORT[beacon_http]} serf ${PORT[beacon_serf]} server ${PORT[beacon_server]}, nsd ${PORT[nsd]}, knot ${PORT[knot]}, floor ${PORT[floor]}; pinned=$PINNED (server core $SRV_CORE, dnsperf core $DP_CORE, $NCPU CPUs)"
log "versions:$(versions)"
if has_peer beacon; then
    log "beacon binary: $(beacon_binary_desc)"
fi
log "machine: $(machine_desc)"
[ "$PINNED" = yes ] || log "WARNING: fewer than 2 CPUs (or SRV_CORE = DP_CORE): running unpinned; server and dnsperf share the CPU"

empty_done=no
for size in $SIZES; do
    D=$(data_dir "$size")
    probe=$(cat_field "$D" last_service)
    if has_peer beacon && [ "$empty_done" = no ]; then
        measure_empty_beacon "$D"
        empty_done=yes
    fi
    for run in $(seq "$RUNS"); do
        for peer in $PEERS; do
            tag=$peer-$size-r$run
            if ! start_server "$peer" "$D" "$probe" "$tag"; then
                fail_row "$peer" "$size" "$run" "no-start(${START_S:-probe-failed})"
                continue
            fi
            [ "$run" = 1 ] && [ "$peer" != floor ] && checks "$peer" "${PORT[$peer]}" "$D" "$peer-$size"
            measure "$peer" "$size" "$run" "$D" "$tag"
            finish_server "$tag"
        done
    done
    compare_answers "$size"
done

log "done: $TSV"
"$PY" "$HERE/summarize.py" "$TSV" | tee "$RES/summary.txt"
