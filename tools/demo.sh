#!/usr/bin/env bash
# The README's first command: builds the examples. The runnable race-finding
# demo arrives with the controlled runner and TEST_LOCKSTEP (issues #3, #4).
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build //examples/...
echo "lockstep demo: examples built; the race-finding demo needs the runner, which is not in this revision yet."
