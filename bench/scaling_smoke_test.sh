#!/usr/bin/env bash
# Runs scaling_bench on a tiny corner of its matrix: it must start, measure
# every cell (every run completing all its schedules) and exit 0.
set -euo pipefail
"${1:?usage: scaling_smoke_test.sh SCALING_BENCH_BINARY}" \
  --schedules=20 --rounds=1 --threads=2,4 --ops=1,10 --floor_round_trips=1000
