#!/usr/bin/env bash
# Runs exhaustive_bench on its --quick sizes: it must start, explore every
# cell (to exhaustion or the cap), check every history with the expected
# verdict and exit 0.
set -euo pipefail
"${1:?usage: exhaustive_smoke_test.sh EXHAUSTIVE_BENCH_BINARY}" --quick
