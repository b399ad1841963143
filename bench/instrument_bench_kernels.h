// The loops instrument_bench measures, in a file of their own so that the
// same source is compiled three ways (bench/BUILD.bazel): plain, and with
// -fsanitize=thread for Lockstep's runtime (//lockstep:instrument) and for
// ThreadSanitizer's. Only this file's code is instrumented: the harness
// (instrument_bench.cc) is compiled plain in every variant.
#ifndef LOCKSTEP_BENCH_INSTRUMENT_BENCH_KERNELS_H_
#define LOCKSTEP_BENCH_INSTRUMENT_BENCH_KERNELS_H_

#include <atomic>
#include <cstddef>

namespace lockstep_bench {

// data[i] += 1 for every i < n: a 4-byte read and a 4-byte write per
// element (instrumented: __tsan_read4 and __tsan_write4), 2n accesses.
void AddOne(int* data, size_t n);

// n counter->fetch_add(1) (instrumented: __tsan_atomic32_fetch_add).
void FetchAdd(std::atomic<int>* counter, size_t n);

}  // namespace lockstep_bench

#endif  // LOCKSTEP_BENCH_INSTRUMENT_BENCH_KERNELS_H_
