#!/usr/bin/env bash
# Loading a catalog seed: wall time, CPU and peak RSS of `beacon agent -dev -catalog-seed`.
#
#   BEACON=build/beacon bench/seed_load.sh                 # 100,000 services, 3 runs
#   SIZE=1000 RUNS=5 CORES=0 BEACON=build/beacon bench/seed_load.sh
#
# Per run: start the agent (one DNS worker) on the cores in CORES (taskset; default "0,1", both
# cores; CORES=0 pins it to one core as compare.sh does); poll until the seed's last service
# answers over DNS (dnsprobe.py, every 10 ms). Reported per run and as medians:
#   wall_s  start of the process until the last service answers (includes process start-up)
#   load_ms the agent's own "catalog loaded ... in N ms" figure (reading the seed to the first
#           published snapshot)
#   cpu_s   the process's CPU (user+sys, every thread) when the last service answers
#   hwm_mb  peak RSS (VmHWM) at that moment, MiB
# plus the load average at the start of each run (the machine is shared; say so with the figures).
# Knobs: BEACON (build/beacon), SIZE (100000), RUNS (3), CORES ("0,1"), DATA (bench/out), QCOUNT
# (200000, only to share compare.sh's data directory), DNS_PORT (5410), HTTP_PORT (5420).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

BEACON=${BEACON:-build/beacon}
SIZE=${SIZE:-100000}
RUNS=${RUNS:-3}
CORES=${CORES:-0,1}
DATA=${DATA:-$HERE/out}
QCOUNT=${QCOUNT:-200000}
START_LIMIT=${START_LIMIT:-120}
STOP_LIMIT=${STOP_LIMIT:-20}
check_uint SIZE RUNS START_LIMIT
RES=${RES:-$HERE/results/seed-$(date +%Y%m%d-%H%M%S)}
resolve_beacon "    meson setup build && ninja -C build"
open_results "run wall_s load_ms cpu_s hwm_mb loadavg"
assign_ports 50 dns:"${DNS_PORT:-5410}" http:"${HTTP_PORT:-5420}" serf:"${SERF_PORT:-5430}" \
    server:"${SERVER_PORT:-5440}"
D=$(data_dir "$SIZE")
probe=$(cat_field "$D" last_service)
log "seed $D/catalog-seed.json, cores $CORES, $RUNS runs, beacon $BEACON"

for run in $(seq "$RUNS"); do
    W=$(mktemp -d /tmp/beacon-seed.XXXXXX) || die "mktemp failed"
    WORKS="$WORKS $W"
    la=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(date +%s.%N)
    (cd "$W" && exec taskset -c "$CORES" "$BEACON" agent -dev -node bench \
        -catalog-seed "$D/catalog-seed.json" -dns-port "${PORT[dns]}" -http-port "${PORT[http]}" \
        -serf-lan-port "${PORT[serf]}" -server-port "${PORT[server]}" -log-level info \
        -dns-workers 1) > "$W/server.log" 2>&1 &
    SRV_PID=$!
    LIVE_PIDS="$LIVE_PIDS $SRV_PID"
    wall=$(timeout $((START_LIMIT + 30)) "$PY" "$HERE/dnsprobe.py" wait "${PORT[dns]}" "$probe" A \
        "$t0" "$START_LIMIT" "$SRV_PID")
    m=$("$PY" "$HERE/procstat.py" "$SRV_PID")
    load_ms=$(sed -n 's/.*catalog loaded: .* in \([0-9]*\) ms.*/\1/p' "$W/server.log" | head -1)
    cpu=$(kv "$m" cpu_s)
    hwm=$(awk -v k="$(kv "$m" hwm_max_kb)" 'BEGIN{printf "%.1f", k/1024}')
    row "$run" "$wall" "${load_ms:-nan}" "$cpu" "$hwm" "$la"
    log "run $run: wall=${wall}s load=${load_ms:-?}ms cpu=${cpu}s hwm=${hwm}MiB loadavg=$la"
    cp "$W/server.log" "$RES/run$run.server.log"
    stop_pid "$SRV_PID"
done

"$PY" - "$TSV" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def med(k):
    v = [float(r[k]) for r in rows if r[k] not in ("", "nan", "timeout", "died")]
    return "%.3g" % statistics.median(v) if v else "nan"
print("median of %d: wall %s s, load %s ms, cpu %s s, peak RSS %s MiB (load average %s)"
      % (len(rows), med("wall_s"), med("load_ms"), med("cpu_s"), med("hwm_mb"), med("loadavg")))
EOF
