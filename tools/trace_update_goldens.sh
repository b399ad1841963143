#!/usr/bin/env bash
# Regenerates the golden traces in testdata/ (from real runs of the bodies in
# tools/trace_golden_gen.cc) and the expected outputs of `lockstep_trace
# print` and `slice` that //tools:lockstep_trace_test compares against.
# Review the diff before committing: a changed golden means changed output.
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build //tools:trace_golden_gen //tools:lockstep_trace
for name in lost_update deadlock handoff; do
  bazel-bin/tools/trace_golden_gen "$name" > "testdata/$name.txtpb"
done
bazel build //testdata:golden_traces
for name in lost_update deadlock handoff; do
  bazel-bin/tools/lockstep_trace print "bazel-bin/testdata/$name.lockstep" > "testdata/$name.print.txt"
  bazel-bin/tools/lockstep_trace slice "bazel-bin/testdata/$name.lockstep" > "testdata/$name.slice.txt"
done
echo "trace_update_goldens: rewrote testdata/{lost_update,deadlock,handoff}.{txtpb,print.txt,slice.txt}"
