#!/usr/bin/env bash
# Runs Lockstep's whole test suite: the Bazel build (plain, under
# AddressSanitizer + UndefinedBehaviorSanitizer, and under ThreadSanitizer),
# the CMake build, and both as a downstream project would consume them.
# Warnings are errors throughout.
# Run tools/setup.sh first (the README's command does).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "== bazel test //..."
bazel test --config=ci //...

echo "== bazel: the HTML timeline in headless Chromium (installs chromium if missing)"
bash tools/setup.sh --with-chromium
bazel test --config=ci //tools:lockstep_trace_html_test

echo "== bazel test --config=asan //... (AddressSanitizer + UndefinedBehaviorSanitizer)"
bazel test --config=ci --config=asan //...

echo "== bazel test --config=tsan //... (ThreadSanitizer)"
bazel test --config=ci --config=tsan //...

echo "== bazel: downstream workspace using @lockstep"
mkdir -p "$scratch/bazel"
sed "s|@LOCKSTEP_DIR@|$root|g" testdata/consumers/bazel/WORKSPACE.in > "$scratch/bazel/WORKSPACE"
cp testdata/consumers/bazel/BUILD.bazel.in "$scratch/bazel/BUILD.bazel"
cp testdata/consumers/consumer_test.cc .bazelrc "$scratch/bazel/"
(cd "$scratch/bazel" && bazel test --config=ci //... && bazel shutdown)

echo "== cmake: downstream project using add_subdirectory(lockstep)"
cmake -S testdata/consumers/cmake -B "$scratch/cmake" -DLOCKSTEP_DIR="$root" \
  -DLOCKSTEP_WERROR=ON >/dev/null
cmake --build "$scratch/cmake" -j2 >/dev/null
"$scratch/cmake/consumer_test"
# The trace tool is built for the parent project too.
"$scratch/cmake/lockstep/tools/lockstep_trace" --help >/dev/null

echo "== cmake build + ctest"
cmake -S . -B build -DLOCKSTEP_WERROR=ON
cmake --build build -j2
(cd build && ctest --output-on-failure)
