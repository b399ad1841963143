// Cost of the native runner (lockstep::NativeRunner::Run, control mode) on
// unmodified standard-library code, against the same code run directly.
//
// Workload "mutex 3x10": the body starts 3 std::threads, each doing 10
// increments of a shared int under a plain std::mutex (std::lock_guard), and
// joins them.
//
//   BM_Uncontrolled               the body called directly, no Lockstep run
//                                 (one benchmark iteration = one execution).
//   BM_NativeControl_NoIsolation  NativeRunner::Run, isolate = false.
//   BM_NativeControl_Isolated     NativeRunner::Run, isolate = true (one
//                                 forked child per Lockstep iteration).
//
// Both control benchmarks use the default strategy (PCT, depth 3), and each
// benchmark iteration is one Run call of kIterationsPerRun (isolated:
// kIsolatedIterationsPerRun) Lockstep iterations, one execution of the body
// each. Reported: items_per_second =
// executions of the body per second; for the control runs also
// ns_per_interposed_call (the runs' own elapsed time over
// RunResult::total_steps: in control mode every interposed call is one
// scheduling step) and steps_per_iteration.
//
// All three use wall time (UseRealTime): the work happens on other threads
// and, with isolation, in child processes, which the benchmark thread's CPU
// time would not see.
//
// The binary links //lockstep:native, so even BM_Uncontrolled's pthread
// calls go through the interposer (which passes them straight to libc
// outside a native run), as they would in a test binary using the runner.
//
// After the benchmarks, main() times each configuration once more for a
// fixed kTableIterations executions with std::chrono and prints a table of
// executions/s, ns per interposed call and the ratios to uncontrolled.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "lockstep/native/native_runner.h"
#include "lockstep/run.h"

namespace {

constexpr int kThreads = 3;
constexpr int kIncrements = 10;

// Lockstep iterations per NativeRunner::Run call (per benchmark iteration).
// Fewer with isolation, where each costs a fork, so that the benchmark still
// gets a few calls within its minimum time.
constexpr uint64_t kIterationsPerRun = 200;
constexpr uint64_t kIsolatedIterationsPerRun = 50;
// Executions per configuration in the table main() prints at the end.
constexpr uint64_t kTableIterations = 300;

void MutexWorkload() {
  std::mutex mu;
  int counter = 0;
  std::array<std::thread, kThreads> threads;
  for (std::thread& thread : threads) {
    thread = std::thread([&] {
      for (int i = 0; i < kIncrements; ++i) {
        std::lock_guard<std::mutex> lock(mu);
        ++counter;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  if (counter != kThreads * kIncrements) {
    std::fprintf(stderr, "native_bench: counter is %d, expected %d\n", counter,
                 kThreads * kIncrements);
    std::abort();
  }
  benchmark::DoNotOptimize(counter);
}

lockstep::NativeOptions ControlOptions(uint64_t iterations, bool isolate, uint64_t seed) {
  lockstep::NativeOptions options;
  options.iterations = iterations;
  options.isolate = isolate;
  options.seed = seed;
  return options;
}

// Runs the workload under the native runner; aborts unless every iteration
// ran and passed, so a broken runner is never measured.
lockstep::RunResult RunControlled(const lockstep::NativeOptions& options) {
  lockstep::RunResult result = lockstep::NativeRunner::Run(MutexWorkload, options);
  if (!result.status.ok()) {
    std::fprintf(stderr, "native_bench: NativeRunner::Run failed: %s\n",
                 result.status.ToString().c_str());
    std::abort();
  }
  if (result.failed()) {
    std::fprintf(stderr, "native_bench: an iteration failed (isolate=%d): %s\n",
                 options.isolate ? 1 : 0, result.trace->failure().message().c_str());
    std::abort();
  }
  if (result.iterations != options.iterations || result.total_steps == 0) {
    std::fprintf(stderr, "native_bench: ran %llu of %llu iterations, %llu steps\n",
                 static_cast<unsigned long long>(result.iterations),
                 static_cast<unsigned long long>(options.iterations),
                 static_cast<unsigned long long>(result.total_steps));
    std::abort();
  }
  return result;
}

void BM_Uncontrolled(benchmark::State& state) {
  for (auto _ : state) MutexWorkload();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void RunNative(benchmark::State& state, bool isolate) {
  uint64_t seed = 1;
  uint64_t iterations = 0;
  uint64_t steps = 0;
  std::chrono::nanoseconds elapsed{0};
  for (auto _ : state) {
    // A different seed per benchmark iteration, as a longer run would see.
    const lockstep::RunResult result = RunControlled(
        ControlOptions(isolate ? kIsolatedIterationsPerRun : kIterationsPerRun, isolate, seed++));
    iterations += result.iterations;
    steps += result.total_steps;
    elapsed += result.elapsed;
  }
  state.SetItemsProcessed(static_cast<int64_t>(iterations));
  state.counters["ns_per_interposed_call"] =
      static_cast<double>(elapsed.count()) / static_cast<double>(steps ? steps : 1);
  state.counters["steps_per_iteration"] =
      static_cast<double>(steps) / static_cast<double>(iterations ? iterations : 1);
}

void BM_NativeControl_NoIsolation(benchmark::State& state) { RunNative(state, false); }
void BM_NativeControl_Isolated(benchmark::State& state) { RunNative(state, true); }

BENCHMARK(BM_Uncontrolled)->UseRealTime();
BENCHMARK(BM_NativeControl_NoIsolation)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NativeControl_Isolated)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// The summary table.

struct Measured {
  double per_second = 0;   // executions of the body per second
  double ns_per_call = 0;  // control runs: ns per interposed call
  double steps_per_iteration = 0;
};

Measured MeasureUncontrolled(uint64_t count) {
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < count; ++i) MutexWorkload();
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  return Measured{.per_second = static_cast<double>(count) / seconds.count()};
}

Measured MeasureControlled(uint64_t count, bool isolate) {
  const auto start = std::chrono::steady_clock::now();
  const lockstep::RunResult result = RunControlled(ControlOptions(count, isolate, 1));
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  return Measured{
      .per_second = static_cast<double>(result.iterations) / seconds.count(),
      .ns_per_call = static_cast<double>(std::chrono::nanoseconds(result.elapsed).count()) /
                     static_cast<double>(result.total_steps),
      .steps_per_iteration =
          static_cast<double>(result.total_steps) / static_cast<double>(result.iterations)};
}

void PrintTable() {
  // Warm up (first thread creations, the isolation stream's first mapping).
  MeasureUncontrolled(10);
  MeasureControlled(10, false);
  MeasureControlled(10, true);

  const Measured uncontrolled = MeasureUncontrolled(kTableIterations);
  const Measured control = MeasureControlled(kTableIterations, false);
  const Measured isolated = MeasureControlled(kTableIterations, true);

  std::printf("\nmutex 3x10, %llu executions per configuration (wall time):\n",
              static_cast<unsigned long long>(kTableIterations));
  std::printf("%-30s %14s %12s %12s %12s\n", "configuration", "iterations/s", "ns/call",
              "steps/iter", "slowdown");
  std::printf("%-30s %14.0f %12s %12s %12s\n", "uncontrolled", uncontrolled.per_second, "-", "-",
              "1.00x");
  std::printf("%-30s %14.0f %12.0f %12.1f %11.2fx\n", "native control, no isolation",
              control.per_second, control.ns_per_call, control.steps_per_iteration,
              uncontrolled.per_second / control.per_second);
  std::printf("%-30s %14.0f %12.0f %12.1f %11.2fx\n", "native control, isolated",
              isolated.per_second, isolated.ns_per_call, isolated.steps_per_iteration,
              uncontrolled.per_second / isolated.per_second);
  std::printf("native control (no isolation) / uncontrolled: %.2fx slower per iteration\n",
              uncontrolled.per_second / control.per_second);
  std::printf("native control (isolated) / uncontrolled: %.2fx slower per iteration\n",
              uncontrolled.per_second / isolated.per_second);
  std::printf("isolation (fork per iteration) / no isolation: %.2fx slower per iteration\n",
              control.per_second / isolated.per_second);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::fflush(stdout);
  PrintTable();
  std::fflush(stdout);
  return 0;
}
