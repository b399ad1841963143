#include "bench/instrument_bench_kernels.h"

namespace lockstep_bench {

void AddOne(int* data, size_t n) {
  for (size_t i = 0; i < n; ++i) data[i] += 1;
}

void FetchAdd(std::atomic<int>* counter, size_t n) {
  for (size_t i = 0; i < n; ++i) counter->fetch_add(1);
}

}  // namespace lockstep_bench
