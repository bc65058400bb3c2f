#!/usr/bin/env bash
# Beacon's HTTP API and KV store vs etcd 3.4 (single node, its JSON gateway): wrk on loopback.
#
# Run from the repository root after building Beacon (meson setup build && ninja -C build):
#   bench/http_compare.sh                 # 3 runs x 5 s per figure, 10,000 blocking queries (~6 min)
#   QUICK=1 bench/http_compare.sh         # smoke test: 1 run x 2 s, 2,000 blocking queries
#   TESTS="kvget kvput" bench/http_compare.sh   # a subset (health kvget kvput blocking etcdctl)
#
# Per run (the two servers take turns, in alternating order, so slow drift hits both alike), each
# server freshly started pinned to core SRV_CORE with a new data dir on disk, wrk pinned to LG_CORE:
#   health  Beacon only: GET /v1/health/service/web (3 instances from a config dir), keep-alive
#   kvget   Beacon GET /v1/kv/<key> vs etcd POST /v3/kv/range {"key": b64} (linearizable, the
#           etcd default, and "serializable": true, a local read like a Consul agent's default)
#           for a KEY_BYTES key holding a VALUE_BYTES value, at each of GET_CONNS connections
#   kvput   durable writes of distinct KEY_BYTES keys with VALUE_BYTES values: Beacon PUT
#           /v1/kv/<key> (-data-dir: LMDB, fsync'd) vs etcd POST /v3/kv/put (WAL fsync'd), at
#           each of PUT_CONNS connections; afterwards the keys under the run's prefix are counted
#           on the server and must be at least the acknowledged writes
# Every figure is WARM s of warm-up then DURATION s measured: requests/s, errors, latency, and the
# server's CPU time over exactly that window (so CPU µs per request, the fair figure when the one
# wrk core is the bottleneck). Once per invocation:
#   blocking  a fresh Beacon; bench/blocking_rss.py parks BLOCKERS GET /v1/kv/<key>?index=&wait=5m
#             queries, checks none answers within PARK_S s, reads the agent's RSS growth, then one
#             PUT releases them all and it times the last response
#   etcdctl   ETCDCTL_N sequential `etcdctl put` (a process per call) vs as many `curl -X PUT` to
#             Beacon: a sanity check of the per-call write latency, not a throughput figure
#
# Output: bench/results/http-<timestamp>/ (results.tsv, blocking.json, wrk and server logs,
# run.log) and the summary bench/results/http-<timestamp>.md (bench/http_summarize.py), printed.
#
# Knobs (environment): BEACON (build/beacon), ETCD (etcd), ETCDCTL (etcdctl), TESTS ("health kvget
# kvput blocking etcdctl"), RUNS (3), DURATION (5), WARM (1), HEALTH_CONNS (16), GET_CONNS
# ("16 64"), PUT_CONNS ("16 64"), WRK_THREADS (1), KEY_BYTES (64), VALUE_BYTES (256), BLOCKERS
# (10000), PARK_S (3), BLOCK_ON (kv: GET /v1/kv/bench/block released by a PUT of it; health: GET
# /v1/health/service/web released by a /v1/catalog/register of one more instance), BLOCK_PATH,
# ETCDCTL_N (200), SRV_CORE (0), LG_CORE (1), BEACON_ARGS (extra flags for `beacon agent`), WORKDIR
# (TMPDIR or /tmp; data dirs live there, so it must be a real disk for fsync to mean anything),
# RES. QUICK=1 sets RUNS=1 DURATION=2 BLOCKERS=2000 ETCDCTL_N=50 (explicit values still win).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh" # also sets ROOT, PY (python3) and PATH (+ /usr/sbin:/sbin)

if [ "${QUICK:-0}" = 1 ]; then
    RUNS=${RUNS:-1}; DURATION=${DURATION:-2}; BLOCKERS=${BLOCKERS:-2000}; ETCDCTL_N=${ETCDCTL_N:-50}
fi
TESTS=${TESTS:-"health kvget kvput blocking etcdctl"}
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
WARM=${WARM:-1}
HEALTH_CONNS=${HEALTH_CONNS:-16}
GET_CONNS=${GET_CONNS:-"16 64"}
PUT_CONNS=${PUT_CONNS:-"16 64"}
WRK_THREADS=${WRK_THREADS:-1}
KEY_BYTES=${KEY_BYTES:-64}
VALUE_BYTES=${VALUE_BYTES:-256}
BLOCKERS=${BLOCKERS:-10000}
PARK_S=${PARK_S:-3}
BLOCK_ON=${BLOCK_ON:-kv}
ETCDCTL_N=${ETCDCTL_N:-200}
SRV_CORE=${SRV_CORE:-0}
LG_CORE=${LG_CORE:-1}
START_LIMIT=${START_LIMIT:-60}
STOP_LIMIT=${STOP_LIMIT:-20}
BEACON=${BEACON:-build/beacon}
BEACON_ARGS=${BEACON_ARGS:-}
ETCD=${ETCD:-etcd}
ETCDCTL=${ETCDCTL:-etcdctl}
WORKDIR=${WORKDIR:-${TMPDIR:-/tmp}}
STAMP=$(date +%Y%m%d-%H%M%S)
RES=${RES:-$HERE/results/http-$STAMP}

check_uint RUNS DURATION WARM HEALTH_CONNS WRK_THREADS KEY_BYTES VALUE_BYTES BLOCKERS PARK_S ETCDCTL_N \
    SRV_CORE LG_CORE START_LIMIT STOP_LIMIT
for c in $GET_CONNS $PUT_CONNS; do case $c in ''|*[!0-9]*|0) die "GET_CONNS/PUT_CONNS must be positive integers (got '$c')" ;; esac; done
for t in $TESTS; do case $t in health|kvget|kvput|blocking|etcdctl) ;; *) die "unknown test '$t' (use health kvget kvput blocking etcdctl)" ;; esac; done
case $BLOCK_ON in kv|health) ;; *) die "BLOCK_ON must be kv or health" ;; esac
[ "$KEY_BYTES" -ge 24 ] && [ "$KEY_BYTES" -le 512 ] || die "KEY_BYTES must be 24..512"
[ "$RUNS" -ge 1 ] && [ "$DURATION" -ge 1 ] || die "RUNS and DURATION must be at least 1"
has_test() { in_list "$1" "$TESTS"; }
needs_etcd() { has_test kvget || has_test kvput || has_test etcdctl; }

# ---------------------------------------------------------------------------------------------
# Tools: install what is missing when we can (root on Debian/Ubuntu), otherwise say what to install.
need_tools() {
    want python3 "$PY" python3
    want curl curl curl
    want wrk wrk wrk
    want taskset taskset util-linux
    want timeout timeout coreutils
    if needs_etcd; then
        want etcd "$ETCD" etcd-server
        want etcdctl "$ETCDCTL" etcd-client
    fi
    install_missing "Debian's etcd-server package may have started a system etcd on port 2379; this script does not use it ('systemctl stop etcd' gives a quieter machine)"
}
need_tools

resolve_beacon "    meson setup build --buildtype=release -Db_ndebug=true && ninja -C build beacon"

set_pinning "$SRV_CORE" "$LG_CORE"
PIN_LG=$PIN_LOAD

# Blocking queries hold a descriptor each; the agent raises its own soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if has_test blocking && [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((BLOCKERS + 64)) ]; then
    die "the open-files limit ($(ulimit -n), hard $(ulimit -Hn)) is below BLOCKERS=$BLOCKERS + 64; raise it (ulimit -Hn) or lower BLOCKERS"
fi

COLS="run server test variant conns rps requests duration_s err_socket err_status p50_ms p90_ms p99_ms srv_cpu_s us_per_req srv_util other_cpu_s check pinned status"
open_results "$COLS"

assign_ports 100 http:"${BEACON_HTTP_PORT:-15500}" dns:"${BEACON_DNS_PORT:-15600}" serf:"${BEACON_SERF_PORT:-15301}" \
    server:"${BEACON_SERVER_PORT:-15300}" etcd:"${ETCD_PORT:-15379}" etcd_peer:"${ETCD_PEER_PORT:-15380}"
B_URL=http://127.0.0.1:${PORT[http]}
E_URL=http://127.0.0.1:${PORT[etcd]}

# start_beacon tag -> SRV_PID, WORK (work dir with conf/ and data/ on WORKDIR)
start_beacon() {
    local tag=$1
    WORK=$(mktemp -d "$WORKDIR/beacon-http-bench.XXXXXX") || die "mktemp failed in $WORKDIR"
    WORKS="$WORKS $WORK"
    mkdir -p "$WORK/conf" "$WORK/data"
    cat > "$WORK/conf/web.json" <<'EOF'
{"services": [
  {"id": "web-1", "name": "web", "port": 8081, "tags": ["v1", "primary"], "meta": {"version": "1"}},
  {"id": "web-2", "name": "web", "port": 8082, "tags": ["v1"], "meta": {"version": "1"}},
  {"id": "web-3", "name": "web", "port": 8083, "tags": ["v2"], "meta": {"version": "2"}}
]}
EOF
    # shellcheck disable=SC2086
    (cd "$WORK" && exec $PIN_SRV "$BEACON" agent -node bench -data-dir "$WORK/data" -config-dir "$WORK/conf" \
        -http-port "${PORT[http]}" -dns-port "${PORT[dns]}" -serf-lan-port "${PORT[serf]}" \
        -server-port "${PORT[server]}" -log-level warn -dns-workers 1 $BEACON_ARGS) > "$WORK/server.log" 2>&1 &
    SRV_PID=$!
    LIVE_PIDS="$LIVE_PIDS $SRV_PID"
    if ! wait_http "$B_URL/v1/health/service/web" "$SRV_PID"; then
        log "$tag: Beacon did not answer $B_URL/v1/health/service/web within ${START_LIMIT}s"
        finish_server "$tag"
        return 1
    fi
}

# start_etcd tag -> SRV_PID, WORK
start_etcd() {
    local tag=$1
    WORK=$(mktemp -d "$WORKDIR/etcd-http-bench.XXXXXX") || die "mktemp failed in $WORKDIR"
    WORKS="$WORKS $WORK"
    local peer=http://127.0.0.1:${PORT[etcd_peer]}
    # GOMAXPROCS follows the CPU affinity, so the pinned etcd schedules on one core, like Beacon.
    # shellcheck disable=SC2086
    (cd "$WORK" && exec $PIN_SRV "$ETCD" --name bench --data-dir "$WORK/data" \
        --listen-client-urls "$E_URL" --advertise-client-urls "$E_URL" \
        --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
        --initial-cluster "bench=$peer" --initial-cluster-state new \
        --listen-metrics-urls "" --logger zap --log-level warn) > "$WORK/server.log" 2>&1 &
    SRV_PID=$!
    LIVE_PIDS="$LIVE_PIDS $SRV_PID"
    if ! wait_http "$E_URL/health" "$SRV_PID"; then
        log "$tag: etcd did not answer $E_URL/health within ${START_LIMIT}s"
        finish_server "$tag"
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
# Data: the key both servers read, and the value every write stores (same shape as bench/lua).
GET_KEY=$("$PY" -c "import sys; n=int(sys.argv[1]); h='bench/get/'; print(h + 'k' * (n - len(h)))" "$KEY_BYTES")
VALUE=$("$PY" -c "
import sys
a = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'
print(''.join(a[(i * 7919) % len(a)] for i in range(1, int(sys.argv[1]) + 1)), end='')" "$VALUE_BYTES")
b64() { printf '%s' "$1" | base64 -w0; }

beacon_put() { curl -s -m 10 -X PUT --data-binary "$2" "$B_URL/v1/kv/$1"; }
etcd_put() { curl -s -m 10 -X POST -d "{\"key\":\"$(b64 "$1")\",\"value\":\"$(b64 "$2")\"}" "$E_URL/v3/kv/put"; }
beacon_get_value() { # key -> the stored value (decoded), empty when missing
    curl -s -m 10 "$B_URL/v1/kv/$1" | "$PY" -c "
import base64, json, sys
try:
    print(base64.b64decode(json.load(sys.stdin)[0]['Value']).decode(), end='')
except Exception:
    pass"
}
etcd_get_value() {
    curl -s -m 10 -X POST -d "{\"key\":\"$(b64 "$1")\"}" "$E_URL/v3/kv/range" | "$PY" -c "
import base64, json, sys
try:
    print(base64.b64decode(json.load(sys.stdin)['kvs'][0]['value']).decode(), end='')
except Exception:
    pass"
}
beacon_count_prefix() { # prefix -> number of keys below it
    curl -s -m 60 "$B_URL/v1/kv/$1/?keys" | "$PY" -c "
import json, sys
try:
    print(len(json.load(sys.stdin)))
except Exception:
    print(0)"
}
etcd_count_prefix() {
    local end
    end=$("$PY" -c "import sys; p=sys.argv[1]; print(p[:-1] + chr(ord(p[-1]) + 1), end='')" "$1/")
    curl -s -m 60 -X POST -d "{\"key\":\"$(b64 "$1/")\",\"range_end\":\"$(b64 "$end")\",\"count_only\":true}" \
        "$E_URL/v3/kv/range" | "$PY" -c "
import json, sys
try:
    print(int(json.load(sys.stdin).get('count', 0)))
except Exception:
    print(0)"
}

# ---------------------------------------------------------------------------------------------
# Measurement
wrk_run() { # log-file conns script url secs: wrk pinned to LG_CORE, bounded by a timeout
    local logf=$1 conns=$2 script=$3 url=$4 secs=$5
    timeout -k 5 $((secs + 30)) $PIN_LG wrk -t "$WRK_THREADS" -c "$conns" -d "${secs}s" --timeout 10s \
        -s "$HERE/lua/$script" "$url" > "$logf" 2>&1
}

# measure run server test variant conns script url check-fn: warm-up, then the measured window.
# The script's environment (BENCH_*) is set by the caller. check-fn (may be empty) is called with
# the acknowledged request count and prints the check column.
measure() {
    local run=$1 server=$2 test=$3 variant=$4 conns=$5 script=$6 url=$7 checkfn=$8
    local tag=$server-$test${variant:+-$variant}-c$conns-r$run w q0 q1 b0 b1 lgcpu srv other status check
    local rps reqs dur errs errst p50 p90 p99
    if [ "$WARM" -gt 0 ]; then
        BENCH_PREFIX=${BENCH_PREFIX:-}warm wrk_run "$RES/$tag.warm.log" "$conns" "$script" "$url" "$WARM"
    fi
    q0=$(cpu_s "$SRV_PID")
    b0=$(busy_s)
    timed_cpu wrk_run "$RES/$tag.wrk.log" "$conns" "$script" "$url" "$DURATION"
    lgcpu=$TIMED_CPU
    b1=$(busy_s)
    q1=$(cpu_s "$SRV_PID")
    status=ok
    alive "$SRV_PID" || status="server-died"
    w=$(sed -n 's/^WRK //p' "$RES/$tag.wrk.log" | tail -1)
    if [ -z "$w" ]; then
        [ "$status" = ok ] && status="wrk-failed"
        log "$tag: no figures (wrk log: $RES/$tag.wrk.log)"
        row "$run" "$server" "$test" "$variant" "$conns" nan nan nan nan nan nan nan nan nan nan nan nan "" "$PINNED" "$status"
        return 1
    fi
    reqs=$(kv "$w" requests)
    dur=$(awk -v u="$(kv "$w" duration_us)" 'BEGIN{printf "%.3f", u/1e6}')
    errs=$(( $(kv "$w" err_connect) + $(kv "$w" err_read) + $(kv "$w" err_write) + $(kv "$w" err_timeout) ))
    errst=$(kv "$w" err_status)
    rps=$(awk -v r="$reqs" -v e="$errst" -v d="$dur" 'BEGIN{ if (d>0) printf "%.0f", (r-e)/d; else print "nan"}')
    p50=$(awk -v u="$(kv "$w" p50_us)" 'BEGIN{printf "%.3f", u/1000}')
    p90=$(awk -v u="$(kv "$w" p90_us)" 'BEGIN{printf "%.3f", u/1000}')
    p99=$(awk -v u="$(kv "$w" p99_us)" 'BEGIN{printf "%.3f", u/1000}')
    srv=$(awk -v a="$q0" -v b="$q1" 'BEGIN{printf "%.3f", b-a}')
    other=$(other_cpu "$b0" "$b1" "$srv" "$lgcpu")
    check=""
    [ -n "$checkfn" ] && check=$($checkfn "$((reqs - errst))")
    case $check in *MISMATCH*) [ "$status" = ok ] && status="check-failed" ;; esac
    [ "$errst" -gt 0 ] && [ "$status" = ok ] && status="http-errors"
    row "$run" "$server" "$test" "$variant" "$conns" "$rps" "$reqs" "$dur" "$errs" "$errst" "$p50" "$p90" "$p99" \
        "$srv" "$(awk -v s="$srv" -v r="$reqs" -v e="$errst" 'BEGIN{ if (r-e>0) printf "%.2f", s*1e6/(r-e); else print "nan"}')" \
        "$(awk -v s="$srv" -v d="$dur" 'BEGIN{printf "%.2f", s/d}')" "$other" "$check" "$PINNED" "$status"
    log "$tag: ${rps} req/s, errors ${errs}+${errst} http, p50 ${p50} p99 ${p99} ms, server cpu ${srv}s, other cpu ${other}s${check:+, $check}"
}

PUT_PREFIX=""
check_beacon_put() { local n; n=$(beacon_count_prefix "$PUT_PREFIX"); [ "$n" -ge "$1" ] && echo "keys=$n>=acked=$1" || echo "MISMATCH:keys=$n<acked=$1"; }
check_etcd_put() { local n; n=$(etcd_count_prefix "$PUT_PREFIX"); [ "$n" -ge "$1" ] && echo "keys=$n>=acked=$1" || echo "MISMATCH:keys=$n<acked=$1"; }

export BENCH_KEY_BYTES=$KEY_BYTES BENCH_VALUE_BYTES=$VALUE_BYTES BENCH_KEY=$GET_KEY

run_beacon() { # run
    local run=$1 tag=beacon-r$1 c got
    start_beacon "$tag" || { row "$run" beacon start "" 0 nan nan nan nan nan nan nan nan nan nan nan nan "" "$PINNED" no-start; return 1; }
    if has_test health; then
        measure "$run" beacon health "" "$HEALTH_CONNS" health.lua "$B_URL/v1/health/service/web" ""
    fi
    if has_test kvget; then
        got=$(beacon_put "$GET_KEY" "$VALUE")
        if [ "$got" != true ] || [ "$(beacon_get_value "$GET_KEY")" != "$VALUE" ]; then
            log "$tag: PUT/GET /v1/kv/$GET_KEY does not round-trip (PUT said '${got:0:80}'); skipping kvget"
            row "$run" beacon kvget "" 0 nan nan nan nan nan nan nan nan nan nan nan nan "" "$PINNED" kv-unavailable
        else
            for c in $GET_CONNS; do
                measure "$run" beacon kvget "" "$c" beacon_kv_get.lua "$B_URL" ""
            done
        fi
    fi
    if has_test kvput; then
        got=$(beacon_put bench/probe x)
        if [ "$got" != true ]; then
            log "$tag: PUT /v1/kv/bench/probe answered '${got:0:80}', not true; skipping kvput"
            row "$run" beacon kvput "" 0 nan nan nan nan nan nan nan nan nan nan nan nan "" "$PINNED" kv-unavailable
        else
            for c in $PUT_CONNS; do
                PUT_PREFIX=bench/put/r${run}c$c
                BENCH_PREFIX=$PUT_PREFIX measure "$run" beacon kvput "" "$c" beacon_kv_put.lua "$B_URL" check_beacon_put
            done
        fi
    fi
    finish_server "$tag"
}

run_etcd() { # run
    local run=$1 tag=etcd-r$1 c
    if ! has_test kvget && ! has_test kvput; then return 0; fi
    start_etcd "$tag" || { row "$run" etcd start "" 0 nan nan nan nan nan nan nan nan nan nan nan nan "" "$PINNED" no-start; return 1; }
    if has_test kvget; then
        etcd_put "$GET_KEY" "$VALUE" > /dev/null
        if [ "$(etcd_get_value "$GET_KEY")" != "$VALUE" ]; then
            log "$tag: etcd put/range of $GET_KEY does not round-trip; skipping kvget"
        else
            for c in $GET_CONNS; do
                BENCH_SERIALIZABLE=0 measure "$run" etcd kvget linearizable "$c" etcd_range.lua "$E_URL" ""
                BENCH_SERIALIZABLE=1 measure "$run" etcd kvget serializable "$c" etcd_range.lua "$E_URL" ""
            done
        fi
    fi
    if has_test kvput; then
        for c in $PUT_CONNS; do
            PUT_PREFIX=bench/put/r${run}c$c
            BENCH_PREFIX=$PUT_PREFIX measure "$run" etcd kvput "" "$c" etcd_put.lua "$E_URL" check_etcd_put
        done
    fi
    finish_server "$tag"
}

run_blocking() {
    local tag=beacon-blocking path rel_method rel_path rel_body got
    start_beacon "$tag" || { echo '{"ok": false, "error": "Beacon did not start"}' > "$RES/blocking.json"; return 1; }
    if [ "$BLOCK_ON" = kv ]; then
        path=${BLOCK_PATH:-/v1/kv/bench/block}
        rel_method=PUT; rel_path=$path; rel_body=released
        got=$(beacon_put "${path#/v1/kv/}" parked)
        if [ "$got" != true ]; then
            log "$tag: PUT $path answered '${got:0:80}', not true; KV is not there (try BLOCK_ON=health)"
            echo "{\"ok\": false, \"error\": \"PUT $path did not answer true\"}" > "$RES/blocking.json"
            finish_server "$tag"
            return 1
        fi
    else
        path=${BLOCK_PATH:-/v1/health/service/web}
        rel_method=PUT; rel_path=/v1/catalog/register
        rel_body='{"Node": "bench-2", "Address": "127.0.0.2", "Service": {"ID": "web-4", "Service": "web", "Port": 8084}}'
    fi
    log "$tag: parking $BLOCKERS blocking queries on $path (agent pid $SRV_PID)"
    timeout -k 5 $((PARK_S + 300)) $PIN_LG "$PY" "$HERE/blocking_rss.py" --port "${PORT[http]}" --pid "$SRV_PID" \
        --n "$BLOCKERS" --path "$path" --park-s "$PARK_S" --release-method "$rel_method" \
        --release-path "$rel_path" --release-body "$rel_body" > "$RES/blocking.json" 2> "$RES/blocking.err"
    [ -s "$RES/blocking.json" ] || echo '{"ok": false, "error": "blocking_rss.py printed nothing; see blocking.err"}' > "$RES/blocking.json"
    log "$tag: $(cat "$RES/blocking.json")"
    alive "$SRV_PID" || log "$tag: the agent died during the blocking test"
    finish_server "$tag"
}

per_call_row() { # label ok t0 t1: one etcdctl.tsv line for ETCDCTL_N calls made between t0 and t1
    awk -v l="$1" -v n="$ETCDCTL_N" -v ok="$2" -v a="$3" -v b="$4" \
        'BEGIN{printf "%s\t%d\t%d\t%.3f\t%.2f\n", l, n, ok, b-a, (b-a)*1000/n}' >> "$RES/etcdctl.tsv"
}

run_etcdctl() { # ETCDCTL_N sequential process-per-call writes to each server; per-call ms to etcdctl.tsv
    local t0 t1 i ok
    echo -e "client\tcalls\tok\ttotal_s\tms_per_call" > "$RES/etcdctl.tsv"
    if start_beacon beacon-curl; then
        if [ "$(beacon_put bench/probe x)" = true ]; then
            ok=0; t0=$(date +%s.%N)
            for i in $(seq "$ETCDCTL_N"); do
                [ "$($PIN_LG curl -s -m 10 -X PUT --data-binary "$VALUE" "$B_URL/v1/kv/bench/curl/$i")" = true ] && ok=$((ok + 1))
            done
            t1=$(date +%s.%N)
            per_call_row "curl PUT /v1/kv (Beacon)" "$ok" "$t0" "$t1"
        fi
        finish_server beacon-curl
    fi
    if start_etcd etcd-etcdctl; then
        ok=0; t0=$(date +%s.%N)
        for i in $(seq "$ETCDCTL_N"); do
            $PIN_LG "$ETCDCTL" --endpoints "${E_URL#http://}" put "bench/etcdctl/$i" "$VALUE" > /dev/null 2>&1 && ok=$((ok + 1))
        done
        t1=$(date +%s.%N)
        per_call_row "etcdctl put (etcd, gRPC)" "$ok" "$t0" "$t1"
        ok=0; t0=$(date +%s.%N)
        for i in $(seq "$ETCDCTL_N"); do
            $PIN_LG curl -s -m 10 -X POST -d "{\"key\":\"$(b64 "bench/curl/$i")\",\"value\":\"$(b64 "$VALUE")\"}" \
                "$E_URL/v3/kv/put" | grep -q '"header"' && ok=$((ok + 1))
        done
        t1=$(date +%s.%N)
        per_call_row "curl POST /v3/kv/put (etcd gateway)" "$ok" "$t0" "$t1"
        finish_server etcd-etcdctl
    fi
    log "etcdctl sanity check: $(tail -n +2 "$RES/etcdctl.tsv" | tr '\t' ' ' | paste -sd ';')"
}

# ---------------------------------------------------------------------------------------------
private_beacon_copy "$WORKDIR/beacon-http-bench-bin.XXXXXX"

{
    echo "tests=$TESTS runs=$RUNS duration=${DURATION}s warm=${WARM}s health_conns=$HEALTH_CONNS get_conns=[$GET_CONNS] put_conns=[$PUT_CONNS] wrk_threads=$WRK_THREADS"
    echo "key_bytes=$KEY_BYTES value_bytes=$VALUE_BYTES blockers=$BLOCKERS park_s=$PARK_S block_on=$BLOCK_ON etcdctl_n=$ETCDCTL_N"
    echo "pinned=$PINNED server_core=$SRV_CORE loadgen_core=$LG_CORE ncpu=$NCPU"
    echo "beacon=$("$BEACON" version 2>/dev/null | head -1 | tr -s ' \t' ' ') ($(beacon_binary_desc))"
    needs_etcd && echo "etcd=$("$ETCD" --version 2>/dev/null | awk '/etcd Version/{print $3}') go=$("$ETCD" --version 2>/dev/null | awk '/Go Version/{print $3}')"
    echo "wrk=$(wrk -v 2>&1 | awk 'NR==1{print $2}')"
    echo "machine=$(machine_desc)"
    echo "workdir=$WORKDIR ($(df -T "$WORKDIR" | awk 'NR==2{print $2}'))"
} > "$RES/env.txt"
log "results in $RES"
while read -r l; do log "$l"; done < "$RES/env.txt"
log "ports: beacon http ${PORT[http]} dns ${PORT[dns]} serf ${PORT[serf]} server ${PORT[server]}; etcd client ${PORT[etcd]} peer ${PORT[etcd_peer]}"
[ "$PINNED" = yes ] || log "WARNING: fewer than 2 CPUs (or SRV_CORE = LG_CORE): running unpinned; server and wrk share the CPU"
case $(df -T "$WORKDIR" | awk 'NR==2{print $2}') in tmpfs|ramfs) log "WARNING: $WORKDIR is $(df -T "$WORKDIR" | awk 'NR==2{print $2}'): fsync costs nothing there, so kvput is not a durable-write figure; set WORKDIR to a disk" ;; esac

if has_test health || has_test kvget || has_test kvput; then
    for run in $(seq "$RUNS"); do
        if [ $((run % 2)) = 1 ]; then run_beacon "$run"; run_etcd "$run"
        else run_etcd "$run"; run_beacon "$run"; fi
    done
fi
has_test blocking && run_blocking
has_test etcdctl && run_etcdctl

log "done: $TSV"
"$PY" "$HERE/http_summarize.py" "$RES" > "$RES.md"
cat "$RES.md"
