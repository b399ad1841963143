#!/usr/bin/env bash
# The README's first command: Lockstep finds a real race in a small cache
# (examples/cache.h), saves the failing schedule as a trace file, and replays
# it. Exits 0 when the bug is found and the replay reproduces it.
set -euo pipefail
cd "$(dirname "$0")/.."

target=//examples:cache_buggy_test
binary=bazel-bin/examples/cache_buggy_test
outputs=bazel-testlogs/examples/cache_buggy_test/test.outputs/outputs.zip

echo "== 1. Explore schedules of BuggyCache (examples/cache.h) with bazel test"
echo "   (this test is expected to FAIL: the failure report is the point)"
if bazel test "$target"; then
  echo "demo: Lockstep did not find the bug, which it should at seed 1" >&2
  exit 1
fi

echo
echo "== 2. The failing schedule was saved as a trace file in the test's outputs"
unzip -l "$outputs"
trace=$(unzip -Z1 "$outputs" | grep '\.lockstep$' | head -n 1)
rm -rf /tmp/lockstep-traces && mkdir -p /tmp/lockstep-traces
unzip -o -q "$outputs" "$trace" -d /tmp/lockstep-traces

echo
echo "== 3. Replay exactly that schedule from the trace file"
if "$binary" --lockstep_replay="/tmp/lockstep-traces/$trace"; then
  echo "demo: the replay did not reproduce the failure" >&2
  exit 1
fi

echo
echo "== 4. What happened, as the events the failure depends on (lockstep_trace slice)"
bazel build //tools:lockstep_trace
bazel-bin/tools/lockstep_trace slice "/tmp/lockstep-traces/$trace"

cat <<MSG

== Done. What you saw:
  1. Lockstep ran the test body under different thread interleavings until
     one broke it, and printed the failure with its seed, iteration, step,
     thread and source line, plus commands to run that schedule again.
  2. The schedule was saved to $trace (inside $outputs,
     where bazel test collects a test's undeclared outputs).
  3. --lockstep_replay ran the test once, following the recorded decisions,
     and said "reproduced".
  4. lockstep_trace slice printed only the events the failure depends on:
     both threads miss "alpha" before either inserts it, so the backend is
     asked twice. (lockstep_trace export --format=html draws it as a timeline.)
The fixed cache (examples/cache.h, FixedCache) passes: bazel test //examples:cache_test
MSG
