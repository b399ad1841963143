#!/usr/bin/env bash
# Runs a benchmark binary briefly: it must start, measure and exit 0.
set -euo pipefail
"${1:?usage: smoke_test.sh BENCH_BINARY}" --benchmark_min_time=0.001
