#!/usr/bin/env bash
# Health-check load on one agent: 10,000 TTL checks and 2,000 HTTP checks at 1 s against a local
# HTTP server; prints the agent's CPU and RSS and its CPU per 1,000 probes/s.
# Run from the repository root after building: bench/checks_load.sh
# Knobs (environment): BEACON (build/beacon), TTL_CHECKS (10000), HTTP_CHECKS (2000),
# DURATION (10 s per phase). See bench/checks_load.py.
#
# Result on the shared 2-core dev VM (load average ~13 from other jobs, release build, 2026-12-02):
#   ttl only    10000 TTL checks:                agent 2% CPU, RSS 82 MiB
#   ttl + http  + 500 HTTP checks at 1 s:        503 probes/s, agent 12.9% CPU, RSS 87 MiB
#                                                -> ~26% of a core per 1,000 probes/s
#   ttl + http  + 2000 HTTP checks at 1 s:       the Python target got ~17% of a core and served
#                                                only ~1,200 probes/s; agent 33.6% CPU (28%/1k/s),
#                                                RSS 144 MiB. Re-measure on an idle machine.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
exec python3 "$HERE/checks_load.py" "$@"
