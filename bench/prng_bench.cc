// Cost of one bounded draw from the project's PRNG: every strategy decision
// makes one or two of these.
#include <benchmark/benchmark.h>

#include "lockstep/internal/prng.h"

namespace {

void BM_PrngBelow(benchmark::State& state) {
  lockstep::internal::Prng prng(42);
  const auto bound = static_cast<uint32_t>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(prng.Below(bound));
}
BENCHMARK(BM_PrngBelow)->Arg(3)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
