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

# The downstream projects are built from README.md's own words: its code
# blocks marked <!-- consumer: NAME --> ("Using Lockstep from Bazel" and
# "... from CMake"), with only /path/to/lockstep replaced by this checkout,
# and the sources they name from testdata/consumers/.
readme_block() {  # readme_block NAME DEST
  awk -v marker="<!-- consumer: $1 -->" '
    $0 == marker { marked = 1; next }
    marked && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }
  ' README.md | sed "s|/path/to/lockstep|$root|g" > "$2"
  if [[ ! -s "$2" ]]; then
    echo "README.md has no code block marked <!-- consumer: $1 -->" >&2
    exit 1
  fi
}

echo "== bazel: downstream workspace using @lockstep, as README.md shows"
mkdir -p "$scratch/bazel"
readme_block WORKSPACE "$scratch/bazel/WORKSPACE"
readme_block .bazelrc "$scratch/bazel/.bazelrc"
readme_block BUILD "$scratch/bazel/BUILD"
grep -q "$root" "$scratch/bazel/WORKSPACE"
cp testdata/consumers/*.h testdata/consumers/*.cc "$scratch/bazel/"
# Its own Bazel server and output tree, removed afterwards. Warnings are
# errors here too (on the command line: the README's .bazelrc is the user's).
consumer_bazel() { (cd "$scratch/bazel" && bazel --output_user_root="$scratch/bazel-root" "$@"); }
status=0
# Builds the trace tool (README: bazel run @lockstep//tools:lockstep_trace) too.
{ consumer_bazel test --copt=-Wall --copt=-Wextra --copt=-Werror --test_output=errors \
    //... @lockstep//tools:lockstep_trace &&
  # The quiet sandbox: no linux-sandbox debug log in the test logs.
  ! grep -l "linux-sandbox" "$scratch"/bazel/bazel-testlogs/*/test.log; } || status=$?
consumer_bazel clean --expunge
[[ $status == 0 ]] || exit "$status"

echo "== cmake: downstream project using add_subdirectory(lockstep), as README.md shows"
mkdir -p "$scratch/cmake"
readme_block CMakeLists.txt "$scratch/cmake/CMakeLists.txt"
grep -q "$root" "$scratch/cmake/CMakeLists.txt"
cp testdata/consumers/*.h testdata/consumers/*.cc "$scratch/cmake/"
cmake -S "$scratch/cmake" -B "$scratch/cmake/build" -DLOCKSTEP_WERROR=ON >/dev/null
cmake --build "$scratch/cmake/build" -j2 >/dev/null
(cd "$scratch/cmake/build" && ctest --output-on-failure)
# The trace tool is built for the parent project too.
"$scratch/cmake/build/lockstep/tools/lockstep_trace" --help >/dev/null

echo "== cmake build + ctest"
cmake -S . -B build -DLOCKSTEP_WERROR=ON
cmake --build build -j2
(cd build && ctest --output-on-failure)
