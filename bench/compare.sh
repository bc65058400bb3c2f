#!/usr/bin/env bash
# Beacon vs NSD vs Knot: the same Consul-shaped catalog, the same query mix, dnsperf on loopback.
#
# Run from the repository root after building Beacon (meson setup build && ninja -C build):
#   bench/compare.sh                      # full matrix: 1,000 and 100,000 services x 3 runs
#   QUICK=1 bench/compare.sh              # smoke test: 1,000 services, 1 run, 3 s
#   PEERS="nsd knot" QUICK=1 bench/compare.sh   # peers only (no Beacon binary needed)
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
# Knobs (environment): BEACON (default build/beacon), PEERS ("beacon nsd knot"), SIZES
# ("1000 100000"), RUNS (3), DURATION (10), WARM (2), LAT_QPS (10000), LAT_SECS (5), QCOUNT (200000),
# DP_ARGS ("-c 10 -q 100"), SRV_CORE (0), DP_CORE (1), START_LIMIT (600 s), BEACON_ARGS (extra
# flags for `beacon agent`), DATA (bench/out), RES (bench/results/<timestamp>), ports BEACON_PORT
# (5310), BEACON_HTTP_PORT (5320), BEACON_SERF_PORT (5330), BEACON_SERVER_PORT (5340), NSD_PORT
# (5301), KNOT_PORT (5302); all on 127.0.0.1, and a busy port is replaced by
# the next free one. QUICK=1 changes the defaults to SIZES=1000 RUNS=1 DURATION=3 LAT_SECS=3.
set -u

export PATH="$PATH:/usr/sbin:/sbin"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=${PY:-python3}

if [ "${QUICK:-0}" = 1 ]; then
    SIZES=${SIZES:-1000}; RUNS=${RUNS:-1}; DURATION=${DURATION:-3}; LAT_SECS=${LAT_SECS:-3}
fi
PEERS=${PEERS:-"beacon nsd knot"}
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

die() { echo "compare.sh: $*" >&2; exit 1; }
for v in RUNS DURATION WARM LAT_QPS LAT_SECS QCOUNT START_LIMIT STOP_LIMIT SRV_CORE DP_CORE; do
    case ${!v} in ''|*[!0-9]*) die "$v must be a non-negative integer (got '${!v}')" ;; esac
done
for s in $SIZES; do case $s in ''|*[!0-9]*|0) die "SIZES must be positive integers (got '$s')" ;; esac; done
for p in $PEERS; do case $p in beacon|nsd|knot) ;; *) die "unknown peer '$p' (use beacon, nsd, knot)" ;; esac; done
[ -n "$PEERS" ] && [ -n "$SIZES" ] && [ "$RUNS" -ge 1 ] || die "nothing to do (PEERS, SIZES, RUNS)"
has_peer() { case " $PEERS " in *" $1 "*) return 0 ;; esac; return 1; }

# ---------------------------------------------------------------------------------------------
# Tools: install what is missing when we can (root on Debian/Ubuntu), otherwise say what to install.
need_tools() {
    local miss="" pkgs="" t
    command -v "$PY" >/dev/null 2>&1 || { miss="$miss python3"; pkgs="$pkgs python3"; }
    command -v dnsperf >/dev/null 2>&1 || { miss="$miss dnsperf"; pkgs="$pkgs dnsperf"; }
    command -v taskset >/dev/null 2>&1 || { miss="$miss taskset"; pkgs="$pkgs util-linux"; }
    command -v timeout >/dev/null 2>&1 || { miss="$miss timeout"; pkgs="$pkgs coreutils"; }
    if has_peer nsd; then command -v nsd >/dev/null 2>&1 || { miss="$miss nsd"; pkgs="$pkgs nsd"; }; fi
    if has_peer knot; then command -v knotd >/dev/null 2>&1 || { miss="$miss knotd"; pkgs="$pkgs knot"; }; fi
    [ -z "$miss" ] && return 0
    if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
        echo "compare.sh: installing$pkgs (missing:$miss)" >&2
        export DEBIAN_FRONTEND=noninteractive
        timeout 600 apt-get update -qq || echo "compare.sh: apt-get update failed; trying the install anyway" >&2
        # shellcheck disable=SC2086
        timeout 1200 apt-get install -y -qq --no-install-recommends $pkgs >&2 \
            || die "apt-get install$pkgs failed"
        for t in $miss; do
            command -v "$t" >/dev/null 2>&1 || die "$t still missing after apt-get install$pkgs"
        done
        echo "compare.sh: note: the Debian packages may have started system nsd/knot services on" \
             "port 53; they stay idle, but 'systemctl stop nsd knot' gives a quieter machine" >&2
    else
        die "missing:$miss. Install them (Debian/Ubuntu: sudo apt-get install -y$pkgs) or run as root to let this script do it"
    fi
}
need_tools

if has_peer beacon; then
    case $BEACON in /*) ;; *) [ -e "$BEACON" ] || BEACON=$ROOT/$BEACON ;; esac
    if [ ! -x "$BEACON" ]; then
        cat >&2 <<EOF
compare.sh: no Beacon binary at ${BEACON} (set BEACON=/path/to/beacon to use another one).
Build it from the repository root first:
    meson setup build && ninja -C build
or leave Beacon out for now: PEERS="nsd knot" bench/compare.sh
EOF
        exit 2
    fi
    BEACON=$(cd "$(dirname "$BEACON")" && pwd)/$(basename "$BEACON")
fi

NCPU=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
if [ "$NCPU" -gt "$SRV_CORE" ] && [ "$NCPU" -gt "$DP_CORE" ] && [ "$SRV_CORE" != "$DP_CORE" ]; then
    PIN_SRV="taskset -c $SRV_CORE"; PIN_DP="taskset -c $DP_CORE"; PINNED=yes
else
    PIN_SRV=""; PIN_DP=""; PINNED=no
fi

mkdir -p "$RES" "$DATA" || die "cannot create $RES or $DATA"
RES=$(cd "$RES" && pwd)
TSV=$RES/results.tsv
COLS="peer size run start_s qps sent completed lost avg_ms sd_ms resp_bytes noerror_pct srv_cpu_s us_per_q srv_util dp_cpu_s other_cpu_s hwm_kb rss_kb pss_kb lat_qps lat_n lat_timeouts p50_ms p90_ms p99_ms p999_ms pinned status"
[ -f "$TSV" ] || echo "$COLS" | tr ' ' '\t' > "$TSV"

log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$RES/run.log" >&2; }

# ---------------------------------------------------------------------------------------------
# Server lifecycle. Every server we start is recorded in LIVE_PIDS and stopped by its own PID.
LIVE_PIDS=""
WORKS=""
cleanup() {
    local p w
    for p in $LIVE_PIDS; do stop_pid "$p"; done
    for w in $WORKS; do rm -rf "$w"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tree_pids() { # the process and its descendants (from /proc; no procps needed)
    "$PY" "$HERE/procstat.py" --tree "$1" 2>/dev/null || echo "$1"
}

alive() { # pid: running (not gone, not a zombie)
    kill -0 "$1" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]
}

describe_exit() { # wait status -> words
    if [ "$1" -gt 128 ]; then echo "killed by signal $(($1 - 128)) ($(kill -l $(($1 - 128)) 2>/dev/null))"
    else echo "exit status $1"; fi
}

stop_pid() { # SIGTERM a server we started (and its descendants); SIGKILL after STOP_LIMIT s
    local pid=$1 all p rc
    all=$(tree_pids "$pid")
    if ! alive "$pid"; then
        wait "$pid" 2>/dev/null; rc=$?
        log "pid $pid had already exited: $(describe_exit "$rc")"
    else
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq $((STOP_LIMIT * 10))); do alive "$pid" || break; sleep 0.1; done
        if alive "$pid"; then
            log "pid $pid did not stop within ${STOP_LIMIT}s of SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
    fi
    for p in $all; do [ "$p" != "$pid" ] && alive "$p" && kill -KILL "$p" 2>/dev/null; done
    LIVE_PIDS=$(echo " $LIVE_PIDS " | sed "s/ $pid / /")
}

USED_PORTS=" "
pick_port() { # wanted -> first port from there that is free and not already given to another server
    local p
    for p in $(seq "$1" $(($1 + 49))); do
        case $USED_PORTS in *" $p "*) continue ;; esac
        if "$PY" "$HERE/dnsprobe.py" free "$p" 1 > /dev/null; then
            USED_PORTS="$USED_PORTS$p "
            echo "$p"
            return 0
        fi
    done
    die "no free port in $1..$(($1 + 49))"
}

# Not in $(...): pick_port must update USED_PORTS in this shell.
declare -A PORT
for k in beacon:${BEACON_PORT:-5310} beacon_http:${BEACON_HTTP_PORT:-5320} \
         beacon_serf:${BEACON_SERF_PORT:-5330} beacon_server:${BEACON_SERVER_PORT:-5340} nsd:${NSD_PORT:-5301} knot:${KNOT_PORT:-5302}; do
    pick_port "${k#*:}" > "$RES/.port" || exit 1
    PORT[${k%%:*}]=$(cat "$RES/.port")
done
rm -f "$RES/.port"

write_conf() { # peer workdir datadir port
    local peer=$1 W=$2 D=$3 port=$4
    case $peer in
    nsd) cat > "$W/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$port
    port: $port
    do-ip4: yes
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$D"
    database: ""
    zonelistfile: "$W/zone.list"
    xfrdfile: "$W/xfrd.state"
    xfrdir: "$W"
    pidfile: "$W/nsd.pid"
    logfile: "$W/nsd.log"
    verbosity: 0
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: consul
    zonefile: "$D/consul.zone"
EOF
    ;;
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

finish_server() { # tag: stop the current server, keep its log, drop its work dir
    stop_pid "$SRV_PID"
    cat "$WORK"/*.log > "$RES/$1.server.log" 2>/dev/null
    [ -s "$RES/$1.server.log" ] || rm -f "$RES/$1.server.log"
    rm -rf "$WORK"
    WORKS=$(echo " $WORKS " | sed "s| $WORK | |")
}

# ---------------------------------------------------------------------------------------------
# Data and measurement helpers
data_dir() { # size -> directory with consul.zone, catalog-seed.json, queries.txt, catalog.json
    local size=$1 d
    d=$DATA/s$size-q$QCOUNT
    if [ ! -f "$d/catalog.json" ] || [ ! -f "$d/queries.txt" ]; then
        log "generating catalog for $size services into $d"
        timeout 1800 "$PY" "$HERE/gen_catalog.py" --services "$size" --count "$QCOUNT" --out "$d" >&2 \
            || die "gen_catalog.py failed for $size services"
    fi
    echo "$d"
}

cat_field() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1/catalog.json" "$2"; }

kv() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1==k{print $2}'; }

busy_s() { # busy time of all CPUs (user+nice+system+irq+softirq+steal), seconds
    awk -v hz="$(getconf CLK_TCK)" '/^cpu /{printf "%.2f", ($2+$3+$4+$7+$8+$9)/hz}' /proc/stat
}

dnsperf_run() { # log-file dnsperf-args...: dnsperf pinned to DP_CORE, bounded by a timeout
    local out=$1; shift
    # dnsperf stops by itself after -l s plus its 5 s timeout for stragglers; the outer timeout
    # only guards against a hang.
    # shellcheck disable=SC2086
    timeout -k 5 $((DURATION + WARM + LAT_SECS + 60)) $PIN_DP dnsperf -s 127.0.0.1 "$@" > "$out" 2>&1
}

dp_stats() { # dnsperf log -> "qps sent completed lost avg_ms sd_ms resp_bytes noerror_pct"
    awk '/Queries sent:/{s=$3} /Queries completed:/{c=$3} /Queries lost:/{l=$3}
         /Queries per second:/{q=$4} /Average Latency/{a=$4*1000} /Latency StdDev/{d=$4*1000}
         /Average packet size:/{for(i=1;i<=NF;i++) if($i=="response") r=$(i+1)}
         /Response codes:/{for(i=1;i<=NF;i++) if($i ~ /^NOERROR,?$/) {n=$(i+1); sub(/,$/,"",n)}}
         END{printf "%.0f %d %d %d %.3f %.3f %s %s", q, s, c, l, a, d, (r==""?"nan":r),
             (c>0 ? sprintf("%.2f", 100*n/c) : "nan")}' "$1"
}

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

row() { # values in COLS order -> one TSV line (a missing value becomes nan)
    local v out=()
    for v in "$@"; do out+=("${v:-nan}"); done
    local IFS=$'\t'
    echo "${out[*]}" >> "$TSV"
}

fail_row() { # peer size run status: a run that produced no figures
    local c=()
    for _ in $(seq $(($(echo "$COLS" | wc -w) - 5))); do c+=(nan); done
    row "$1" "$2" "$3" "${c[@]}" "$PINNED" "$4"
}

# measure peer size run datadir tag: warm-up, throughput, fixed-rate latency, /proc figures
measure() {
    local peer=$1 size=$2 run=$3 D=$4 tag=$5 port=${PORT[$1]} q0 q1 b0 b1 m lat dpcpu srv util usq other status
    local qps sent comp lost avg sd resp noerr TIMEFORMAT
    # shellcheck disable=SC2086
    dnsperf_run "$RES/$tag.warm.log" -p "$port" -d "$D/queries.txt" -l "$WARM" $DP_ARGS
    q0=$(kv "$("$PY" "$HERE/procstat.py" "$SRV_PID")" cpu_s)
    b0=$(busy_s)
    TIMEFORMAT='dp_cpu_s=%U %S'
    # shellcheck disable=SC2086
    { time dnsperf_run "$RES/$tag.dnsperf.log" -p "$port" -d "$D/queries.txt" -l "$DURATION" $DP_ARGS ; } 2> "$RES/$tag.dpcpu"
    b1=$(busy_s)
    m=$("$PY" "$HERE/procstat.py" "$SRV_PID")
    q1=$(kv "$m" cpu_s)
    status=ok
    alive "$SRV_PID" || status=died-in-throughput-run
    read -r qps sent comp lost avg sd resp noerr <<< "$(dp_stats "$RES/$tag.dnsperf.log")"
    dpcpu=$(sed -n 's/^dp_cpu_s=//p' "$RES/$tag.dpcpu" | awk '{printf "%.2f", $1+$2}')
    rm -f "$RES/$tag.dpcpu"
    srv=$(awk -v a="$q0" -v b="$q1" 'BEGIN{printf "%.3f", b-a}')
    usq=$(awk -v s="$srv" -v c="$comp" 'BEGIN{ if (c>0) printf "%.3f", s*1e6/c; else print "nan"}')
    util=$(awk -v s="$srv" -v d="$DURATION" 'BEGIN{printf "%.3f", s/d}')
    other=$(awk -v t0="$b0" -v t1="$b1" -v s="$srv" -v d="${dpcpu:-0}" 'BEGIN{printf "%.2f", t1-t0-s-d}')
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
    v="$v dnsperf=$(dnsperf -h 2>&1 | awk '/^Version/{print $2; exit}')"
    echo "$v"
}

if has_peer beacon; then
    # Run a private copy: a rebuild of build/beacon during the benchmark must not mix two binaries.
    BEACON_SRC=$BEACON
    BEACON_COPY=$(mktemp -d /tmp/beacon-bench-bin.XXXXXX) || die "mktemp failed"
    WORKS="$WORKS $BEACON_COPY"
    cp "$BEACON_SRC" "$BEACON_COPY/beacon" || die "cannot copy $BEACON_SRC"
    BEACON=$BEACON_COPY/beacon
fi

log "results in $RES"
log "peers=[$PEERS] sizes=[$SIZES] runs=$RUNS duration=${DURATION}s warm=${WARM}s latency=${LAT_SECS}s@${LAT_QPS}qps dnsperf=[$DP_ARGS]"
log "ports: beacon dns ${PORT[beacon]} http ${PORT[beacon_http]} serf ${PORT[beacon_serf]} server ${PORT[beacon_server]}, nsd ${PORT[nsd]}, knot ${PORT[knot]}; pinned=$PINNED (server core $SRV_CORE, dnsperf core $DP_CORE, $NCPU CPUs)"
log "versions:$(versions)"
if has_peer beacon; then
    log "beacon binary: $BEACON_SRC ($(stat -c '%y' "$BEACON_SRC" | cut -d. -f1), sha256 $(sha256sum "$BEACON" | cut -c1-16))"
fi
log "machine: $(uname -r), $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
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
            [ "$run" = 1 ] && checks "$peer" "${PORT[$peer]}" "$D" "$peer-$size"
            measure "$peer" "$size" "$run" "$D" "$tag"
            finish_server "$tag"
        done
    done
    compare_answers "$size"
done

log "done: $TSV"
"$PY" "$HERE/summarize.py" "$TSV" | tee "$RES/summary.txt"
