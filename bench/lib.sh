# shellcheck shell=bash disable=SC2034
# Shared by bench/compare.sh (DNS), bench/http_compare.sh (HTTP/KV) and bench/health_load.sh (checks
# under DNS load); sourced, not run.
#
# The sourcing script sets HERE (this directory) first; sourcing sets ROOT (the repository root),
# PY (python3 unless set), SELF (the script's name, for messages), adds /usr/sbin:/sbin to PATH and
# installs the EXIT/INT/TERM traps that stop every server started (LIVE_PIDS) and remove every work
# dir made (WORKS). Before calling the functions, the script sets STOP_LIMIT (stop_pid), RES
# (open_results; it then sets TSV, which row uses), and SRV_PID and WORK (finish_server).

export PATH="$PATH:/usr/sbin:/sbin"
ROOT=$(cd "$HERE/.." && pwd)
PY=${PY:-python3}
SELF=$(basename "$0")

die() { echo "$SELF: $*" >&2; exit 1; }

check_uint() { # VAR...: each must be a non-negative integer
    local v
    for v in "$@"; do
        case ${!v} in ''|*[!0-9]*) die "$v must be a non-negative integer (got '${!v}')" ;; esac
    done
}

in_list() { # word list: is word one of the space-separated list?
    case " $2 " in *" $1 "*) return 0 ;; esac
    return 1
}

# ---------------------------------------------------------------------------------------------
# Tools: install what is missing when we can (root on Debian/Ubuntu), otherwise say what to install.
# A script's need_tools calls want for each tool, then install_missing.
TOOLS_MISS=""
TOOLS_PKGS=""
TOOLS_CMDS=""
want() { # name command package: note the tool as missing unless command is on PATH
    command -v "$2" >/dev/null 2>&1 && return 0
    TOOLS_MISS="$TOOLS_MISS $1"; TOOLS_PKGS="$TOOLS_PKGS $3"; TOOLS_CMDS="$TOOLS_CMDS $2"
}

install_missing() { # note: apt-get install what want found missing (note is printed after it), or die
    local miss=$TOOLS_MISS pkgs=$TOOLS_PKGS t
    [ -z "$miss" ] && return 0
    if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
        echo "$SELF: installing$pkgs (missing:$miss)" >&2
        export DEBIAN_FRONTEND=noninteractive
        timeout 600 apt-get update -qq || echo "$SELF: apt-get update failed; trying the install anyway" >&2
        # shellcheck disable=SC2086
        timeout 1200 apt-get install -y -qq --no-install-recommends $pkgs >&2 \
            || die "apt-get install$pkgs failed"
        for t in $TOOLS_CMDS; do
            command -v "$t" >/dev/null 2>&1 || die "$t still missing after apt-get install$pkgs"
        done
        echo "$SELF: note: $1" >&2
    else
        die "missing:$miss. Install them (Debian/Ubuntu: sudo apt-get install -y$pkgs) or run as root to let this script do it"
    fi
}

resolve_beacon() { # build-hint-line...: BEACON -> its absolute path, or exit 2 saying how to build it
    case $BEACON in /*) ;; *) [ -e "$BEACON" ] || BEACON=$ROOT/$BEACON ;; esac
    if [ ! -x "$BEACON" ]; then
        {
            echo "$SELF: no Beacon binary at ${BEACON} (set BEACON=/path/to/beacon to use another one)."
            echo "Build it from the repository root first:"
            printf '%s\n' "$@"
        } >&2
        exit 2
    fi
    BEACON=$(cd "$(dirname "$BEACON")" && pwd)/$(basename "$BEACON")
}

private_beacon_copy() { # mktemp-template: BEACON_SRC = BEACON; BEACON = a copy only this run uses
    # A rebuild of the binary during the benchmark must not mix two binaries.
    BEACON_SRC=$BEACON
    BEACON_COPY=$(mktemp -d "$1") || die "mktemp failed"
    WORKS="$WORKS $BEACON_COPY"
    cp "$BEACON_SRC" "$BEACON_COPY/beacon" || die "cannot copy $BEACON_SRC"
    BEACON=$BEACON_COPY/beacon
}

beacon_binary_desc() { # the copied binary: where from, when built, sha256 prefix
    echo "$BEACON_SRC ($(stat -c '%y' "$BEACON_SRC" | cut -d. -f1), sha256 $(sha256sum "$BEACON" | cut -c1-16))"
}

machine_desc() { echo "$(uname -r), $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"; }

set_pinning() { # server-core load-core -> NCPU, PIN_SRV, PIN_LOAD, PINNED (no pinning below 2 CPUs)
    NCPU=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
    if [ "$NCPU" -gt "$1" ] && [ "$NCPU" -gt "$2" ] && [ "$1" != "$2" ]; then
        PIN_SRV="taskset -c $1"; PIN_LOAD="taskset -c $2"; PINNED=yes
    else
        PIN_SRV=""; PIN_LOAD=""; PINNED=no
    fi
}

open_results() { # columns: RES made absolute, TSV = RES/results.tsv with its header row
    mkdir -p "$RES" || die "cannot create $RES"
    RES=$(cd "$RES" && pwd)
    TSV=$RES/results.tsv
    [ -f "$TSV" ] || echo "$1" | tr ' ' '\t' > "$TSV"
}

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

finish_server() { # tag: stop the current server, keep its log, drop its work dir
    stop_pid "$SRV_PID"
    cat "$WORK"/*.log > "$RES/$1.server.log" 2>/dev/null
    [ -s "$RES/$1.server.log" ] || rm -f "$RES/$1.server.log"
    rm -rf "$WORK"
    WORKS=$(echo " $WORKS " | sed "s| $WORK | |")
}

USED_PORTS=" "
pick_port() { # wanted [span]: first TCP+UDP port from there free on 127.0.0.1 and not yet given out
    local p span=${2:-50}
    for p in $(seq "$1" $(($1 + span - 1))); do
        case $USED_PORTS in *" $p "*) continue ;; esac
        if "$PY" "$HERE/dnsprobe.py" free "$p" 1 > /dev/null; then
            USED_PORTS="$USED_PORTS$p "
            echo "$p"
            return 0
        fi
    done
    die "no free port in $1..$(($1 + span - 1))"
}

assign_ports() { # span name:wanted...: PORT[name] = a free port from wanted on (see pick_port)
    local span=$1 k
    shift
    declare -gA PORT
    for k in "$@"; do
        # Not in $(...): pick_port must update USED_PORTS in this shell.
        pick_port "${k#*:}" "$span" > "$RES/.port" || exit 1
        PORT[${k%%:*}]=$(cat "$RES/.port")
    done
    rm -f "$RES/.port"
}

# ---------------------------------------------------------------------------------------------
# DNS load (compare.sh, health_load.sh): the catalog from gen_catalog.py and dnsperf on PIN_LOAD.
# The script sets DATA and QCOUNT (data_dir) and DURATION and WARM (the dnsperf_run time-out;
# LAT_SECS too when it has a fixed-rate run).
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

write_nsd_conf() { # workdir zone-dir port -> <workdir>/nsd.conf: one server process, no RRL
    local W=$1 D=$2 port=$3
    cat > "$W/nsd.conf" <<EOF
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
}

cat_field() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1/catalog.json" "$2"; }

dnsperf_run() { # log-file dnsperf-args...: dnsperf pinned to the load core, bounded by a timeout
    local out=$1; shift
    # dnsperf stops by itself after -l s plus its 5 s timeout for stragglers; the outer timeout
    # only guards against a hang.
    # shellcheck disable=SC2086
    timeout -k 5 $((DURATION + WARM + ${LAT_SECS:-0} + 60)) $PIN_LOAD dnsperf -s 127.0.0.1 "$@" > "$out" 2>&1
}

dp_stats() { # dnsperf log -> "qps sent completed lost avg_ms sd_ms resp_bytes noerror_pct"
    awk '/Queries sent:/{s=$3} /Queries completed:/{c=$3} /Queries lost:/{l=$3}
         /Queries per second:/{q=$4} /Average Latency/{a=$4*1000} /Latency StdDev/{d=$4*1000}
         /Average packet size:/{for(i=1;i<=NF;i++) if($i=="response") r=$(i+1)}
         /Response codes:/{for(i=1;i<=NF;i++) if($i ~ /^NOERROR,?$/) {n=$(i+1); sub(/,$/,"",n)}}
         END{printf "%.0f %d %d %d %.3f %.3f %s %s", q, s, c, l, a, d, (r==""?"nan":r),
             (c>0 ? sprintf("%.2f", 100*n/c) : "nan")}' "$1"
}

wait_http() { # url pid -> 0 once url answers 200 within START_LIMIT s (needs curl)
    local url=$1 pid=$2 i
    for i in $(seq $((START_LIMIT * 20))); do
        alive "$pid" || return 1
        curl -s -o /dev/null -m 1 -w '%{http_code}' "$url" 2>/dev/null | grep -q '^200$' && return 0
        sleep 0.05
    done
    return 1
}

# ---------------------------------------------------------------------------------------------
# Measurement helpers
kv() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1==k{print $2}'; }

cpu_s() { kv "$("$PY" "$HERE/procstat.py" "$1")" cpu_s; } # pid -> CPU s of it and its descendants

busy_s() { # busy time of all CPUs (user+nice+system+irq+softirq+steal), seconds
    awk -v hz="$(getconf CLK_TCK)" '/^cpu /{printf "%.2f", ($2+$3+$4+$7+$8+$9)/hz}' /proc/stat
}

timed_cpu() { # command...: run it; TIMED_CPU = its user+sys CPU seconds (for the load generator)
    local TIMEFORMAT='timed_cpu_s=%U %S' f=$RES/.timed_cpu
    { time "$@" ; } 2> "$f"
    TIMED_CPU=$(sed -n 's/^timed_cpu_s=//p' "$f" | awk '{printf "%.2f", $1+$2}')
    rm -f "$f"
}

other_cpu() { # busy0 busy1 server-cpu load-cpu -> CPU s that was neither the server nor the load
    awk -v t0="$1" -v t1="$2" -v s="$3" -v d="${4:-0}" 'BEGIN{printf "%.2f", t1-t0-s-d}'
}

row() { # values in COLS order -> one TSV line (a missing value becomes nan)
    local v cols=()
    for v in "$@"; do cols+=("${v:-nan}"); done
    local IFS=$'\t'
    echo "${cols[*]}" >> "$TSV"
}
