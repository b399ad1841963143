// What process isolation (Options::isolate, on by default) costs the
// controlled runner: schedules per second of the same workload explored in
// process and in a forked explorer, side by side in one run. The explorer's
// work happens in a child process, so times are wall-clock (UseRealTime),
// not the parent's CPU time.
//
// Workload "mutex 3x10" (as in controlled_bench): 3 threads each do 10
// increments of a plain int under a lockstep::Mutex. Each benchmark
// iteration is one Runner::Run exploring `schedules` schedules with PCT, so
// the fixed cost of isolation (one fork for the explorer, shared memory)
// shows at small counts and the per-step cost (mirroring each decision into
// shared memory) at large ones.
//
//   bazel run -c opt //bench:isolation_bench -- --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true   (one command line)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <mutex>

#include "lockstep/mutex.h"
#include "lockstep/options.h"
#include "lockstep/run.h"
#include "lockstep/thread.h"

namespace {

void Mutex3x10() {
  lockstep::Mutex m;
  int counter = 0;
  auto work = [&] {
    for (int i = 0; i < 10; ++i) {
      std::lock_guard<lockstep::Mutex> lock(m);
      ++counter;
    }
  };
  lockstep::Thread a = lockstep::spawn(work);
  lockstep::Thread b = lockstep::spawn(work);
  lockstep::Thread c = lockstep::spawn(work);
  a.join();
  b.join();
  c.join();
  benchmark::DoNotOptimize(counter);
}

void BM_Mutex3x10(benchmark::State& state, bool isolate) {
  lockstep::Options options;
  options.iterations = static_cast<uint64_t>(state.range(0));
  options.isolate = isolate;
  uint64_t schedules = 0;
  uint64_t steps = 0;
  for (auto _ : state) {
    lockstep::RunResult result = lockstep::Runner::Run(Mutex3x10, options);
    if (!result.status.ok() || result.failed()) {
      state.SkipWithError("the run failed");
      return;
    }
    schedules += result.iterations;
    steps += result.total_steps;
  }
  state.counters["schedules/s"] =
      benchmark::Counter(static_cast<double>(schedules), benchmark::Counter::kIsRate);
  state.counters["steps/s"] =
      benchmark::Counter(static_cast<double>(steps), benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(BM_Mutex3x10, in_process, false)->Arg(100)->Arg(10000)->UseRealTime();
BENCHMARK_CAPTURE(BM_Mutex3x10, isolated, true)->Arg(100)->Arg(10000)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
