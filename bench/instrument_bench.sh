#!/usr/bin/env bash
# instrument_bench: runs the three builds of bench/instrument_bench.cc
# (plain, Lockstep's instrumentation runtime, ThreadSanitizer's runtime) in
# interleaved rounds, each round every binary once, and prints the median
# of every figure over the rounds.
#
#   bazel run -c opt //bench:instrument_bench [-- --rounds=N]
#   instrument_bench.sh PLAIN LOCKSTEP TSAN [--rounds=N] [--smoke]
#
# --smoke: one round of a hundredth of the work (the smoke test).
set -euo pipefail

usage() {
  echo "usage: $0 PLAIN_BINARY LOCKSTEP_BINARY TSAN_BINARY [--rounds=N] [--smoke]" >&2
  exit 2
}
[[ $# -ge 3 ]] || usage
binaries=("$1" "$2" "$3")
shift 3
rounds=5
flags=()
for arg in "$@"; do
  case "$arg" in
    --smoke) flags=(--smoke); rounds=1 ;;
    --rounds=*) rounds="${arg#--rounds=}" ;;
    *) usage ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || usage

figures="$(mktemp)"
trap 'rm -f "$figures"' EXIT

echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
start_s=$(date +%s.%N)
for ((round = 0; round < rounds; ++round)); do
  for binary in "${binaries[@]}"; do
    "$binary" ${flags[@]+"${flags[@]}"} >>"$figures"
  done
done
end_s=$(date +%s.%N)

# The median of key $1's figures (the mean of the middle two for an even
# count); fails unless every round gave one.
median() {
  local values
  values="$(awk -v key="$1" '$1 == key { print $2 }' "$figures" | sort -g)"
  local count
  count="$(printf '%s\n' "$values" | grep -c . || true)"
  if [[ "$count" -ne "$rounds" ]]; then
    echo "instrument_bench: $count figures for $1, expected $rounds" >&2
    exit 1
  fi
  printf '%s\n' "$values" | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.2f", m
  }'
}

row2() {  # label, stack key, heap key
  printf '%-62s %8s %8s\n' "$1" "$(median "$2")" "$(median "$3")"
}
row1() {  # label, key
  printf '%-62s %8s\n' "$1" "$(median "$2")"
}

echo
echo "ns per access (data[i] += 1 over 1024 ints: a 4-byte read and write each),"
echo "median of $rounds interleaved rounds:"
printf '%-62s %8s %8s\n' "variant" "stack" "heap"
row2 "(a) uninstrumented" plain.stack plain.heap
row2 "(b) Lockstep runtime, outside any run" outside.stack outside.heap
row2 "(c) in a run, accesses=none races=ignore (no race detector)" \
  none_ignore.stack none_ignore.heap
row2 "(c) in a run, accesses=none races=fail" none_fail.stack none_fail.heap
row2 "(c) in a run, accesses=racy races=fail (the defaults)" racy_fail.stack racy_fail.heap
row2 "(c)   the same in a std::thread the body starts" racy_thread.stack racy_thread.heap
row2 "(c) in a run, accesses=all races=fail" all_fail.stack all_fail.heap
row2 "(d) ThreadSanitizer runtime" tsan.stack tsan.heap

echo
echo "ns per std::atomic<int>::fetch_add, median of $rounds interleaved rounds:"
row1 "(a) uninstrumented" plain.atomic
row1 "(b) Lockstep runtime, outside any run" outside.atomic
row1 "(c) in a run, 1 thread, accesses=none races=ignore" none_ignore.atomic
row1 "(c) in a run, 1 thread, accesses=racy races=fail (the defaults)" racy_fail.atomic
row1 "(c) in a run, 2 threads (start and join included), the defaults" racy_2threads.atomic
row1 "(d) ThreadSanitizer runtime" tsan.atomic

echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v s="$start_s" -v e="$end_s" -v n="$rounds" 'BEGIN { printf "%.1f s for %d round(s)\n", e - s, n }'
