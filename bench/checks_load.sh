#!/usr/bin/env bash
# Health-check load on one agent: 10,000 TTL checks and 2,000 HTTP checks at 1 s against a local
# HTTP server; prints the agent's CPU and RSS and its CPU per 1,000 probes/s.
# Run from the repository root after building: bench/checks_load.sh
# Knobs (environment): BEACON (build/beacon), TTL_CHECKS (10000), HTTP_CHECKS (2000),
# DURATION (10 s per phase). See bench/checks_load.py.
#
# Result on the shared 2-core dev VM (load average 9-14 from other jobs, release build, easy
# handles reused, 2026-12-02):
#   ttl only    10000 TTL checks:                agent 2-3% CPU, RSS 82 MiB
#   ttl + http  + 500 HTTP checks at 1 s:        ~502 probes/s, agent 10-12% CPU, RSS 87 MiB
#                                                -> 20-24% of a core per 1,000 probes/s
#   ttl + http  + 2000 HTTP checks at 1 s:       the Python target got only its share of the
#                                                busy CPUs (~17%) and served ~1,050-1,200
#                                                probes/s; slow answers keep probes in flight
#                                                (RSS 142 MiB). Re-measure on an idle machine.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
exec python3 "$HERE/checks_load.py" "$@"
