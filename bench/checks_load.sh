#!/usr/bin/env bash
# Health-check load on one agent: 10,000 TTL checks and 2,000 HTTP checks at 1 s against a local
# HTTP server; prints the agent's CPU and RSS and its CPU per 1,000 probes/s.
# Run from the repository root after building: bench/checks_load.sh
# Knobs (environment): BEACON (build/beacon), TTL_CHECKS (10000), HTTP_CHECKS (2000),
# DURATION (10 s per phase). See bench/checks_load.py.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
exec python3 "$HERE/checks_load.py" "$@"
