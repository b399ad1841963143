// Cost of the native runner (lockstep::NativeRunner::Run, control mode) on
// unmodified code, against the same code run directly, for each family of
// synchronization it models:
//
//   mutex      "std::mutex 3x10": 3 std::threads each do 10 increments of a
//              shared int under a std::mutex (pthread_mutex_lock/unlock).
//   semaphore  "binary_semaphore ping-pong 10": 2 threads hand a token back
//              and forth 10 times through two std::binary_semaphores
//              (libstdc++: futex wait/wake when one waits).
//   latch      "std::latch 3": 3 threads count a std::latch down, the
//              parent waits on it (futex).
//   absl       "absl::Mutex 3x10": the mutex workload with absl::Mutex
//              (steered at its API: every Lock/Unlock is interposed).
//
// For each workload (the benchmark's argument, in that order):
//   BM_Uncontrolled               the body called directly, no Lockstep run
//                                 (one benchmark iteration = one execution).
//   BM_NativeControl_NoIsolation  NativeRunner::Run, isolate = false.
//   BM_NativeControl_Isolated     NativeRunner::Run, isolate = true (one
//                                 forked child per Lockstep iteration).
//
// Both control benchmarks use the default strategy (PCT, depth 3), and each
// benchmark iteration is one Run call of kIterationsPerRun (isolated:
// kIsolatedIterationsPerRun) Lockstep iterations, one execution of the body
// each. Reported: items_per_second = executions of the body per second; for
// the control runs also ns_per_interposed_call (the runs' own elapsed time
// over RunResult::total_steps: in control mode every interposed call is one
// scheduling step) and steps_per_iteration.
//
// All use wall time (UseRealTime): the work happens on other threads and,
// with isolation, in child processes, which the benchmark thread's CPU time
// would not see.
//
// The binary links //lockstep:native, so even BM_Uncontrolled's calls go
// through the interposer (which passes them straight to the real ones
// outside a native run), as they would in a test binary using the runner.
//
// After the benchmarks, main() times each workload and configuration again
// for kTableIterations executions with std::chrono, in kRounds interleaved
// rounds (every configuration of every workload once per round), and prints
// the medians: executions/s, ns per interposed call and the slowdowns.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <mutex>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "lockstep/native/native_runner.h"
#include "lockstep/run.h"

namespace {

constexpr int kThreads = 3;
constexpr int kIncrements = 10;
constexpr int kPingPongs = 10;

// Lockstep iterations per NativeRunner::Run call (per benchmark iteration).
// Fewer with isolation, where each costs a fork, so that the benchmark still
// gets a few calls within its minimum time.
constexpr uint64_t kIterationsPerRun = 200;
constexpr uint64_t kIsolatedIterationsPerRun = 50;
// Executions per configuration and round in the table main() prints.
constexpr uint64_t kTableIterations = 300;
constexpr int kRounds = 3;

[[noreturn]] void Wrong(const char* workload, int got, int expected) {
  std::fprintf(stderr, "native_bench: %s: counted %d, expected %d\n", workload, got, expected);
  std::abort();
}

template <typename Mutex, typename Guard>
void IncrementUnder(const char* name) {
  Mutex mu;
  int counter = 0;
  std::array<std::thread, kThreads> threads;
  for (std::thread& thread : threads) {
    thread = std::thread([&] {
      for (int i = 0; i < kIncrements; ++i) {
        Guard lock(mu);
        ++counter;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  if (counter != kThreads * kIncrements) Wrong(name, counter, kThreads * kIncrements);
  benchmark::DoNotOptimize(counter);
}

void MutexWorkload() { IncrementUnder<std::mutex, std::lock_guard<std::mutex>>("mutex"); }

// absl::MutexLock takes a pointer.
struct AbslGuard {
  explicit AbslGuard(absl::Mutex& mu) : lock(&mu) {}
  absl::MutexLock lock;
};

void AbslWorkload() { IncrementUnder<absl::Mutex, AbslGuard>("absl"); }

void SemaphoreWorkload() {
  std::binary_semaphore ping(0);
  std::binary_semaphore pong(0);
  int hops = 0;
  std::thread other([&] {
    for (int i = 0; i < kPingPongs; ++i) {
      ping.acquire();
      ++hops;
      pong.release();
    }
  });
  for (int i = 0; i < kPingPongs; ++i) {
    ping.release();
    pong.acquire();
  }
  other.join();
  if (hops != kPingPongs) Wrong("semaphore", hops, kPingPongs);
}

void LatchWorkload() {
  std::latch done(kThreads);
  std::atomic<int> arrived{0};
  std::array<std::thread, kThreads> threads;
  for (std::thread& thread : threads) {
    thread = std::thread([&] {
      arrived.fetch_add(1);
      done.count_down();
    });
  }
  done.wait();
  const int seen = arrived.load();
  for (std::thread& thread : threads) thread.join();
  if (seen != kThreads) Wrong("latch", seen, kThreads);
}

struct Workload {
  const char* name;
  void (*body)();
};
constexpr Workload kWorkloads[] = {
    {"std::mutex 3x10", MutexWorkload},
    {"binary_semaphore ping-pong 10", SemaphoreWorkload},
    {"std::latch 3", LatchWorkload},
    {"absl::Mutex 3x10", AbslWorkload},
};
constexpr int kWorkloadCount = sizeof(kWorkloads) / sizeof(kWorkloads[0]);

lockstep::NativeOptions ControlOptions(uint64_t iterations, bool isolate, uint64_t seed) {
  lockstep::NativeOptions options;
  options.iterations = iterations;
  options.isolate = isolate;
  options.seed = seed;
  return options;
}

// Runs the workload under the native runner; aborts unless every iteration
// ran and passed, so a broken runner is never measured.
lockstep::RunResult RunControlled(const Workload& workload,
                                  const lockstep::NativeOptions& options) {
  lockstep::RunResult result = lockstep::NativeRunner::Run(workload.body, options);
  if (!result.status.ok()) {
    std::fprintf(stderr, "native_bench: NativeRunner::Run failed: %s\n",
                 result.status.ToString().c_str());
    std::abort();
  }
  if (result.failed()) {
    std::fprintf(stderr, "native_bench: %s: an iteration failed (isolate=%d): %s\n", workload.name,
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
  const Workload& workload = kWorkloads[state.range(0)];
  state.SetLabel(workload.name);
  for (auto _ : state) workload.body();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void RunNative(benchmark::State& state, bool isolate) {
  const Workload& workload = kWorkloads[state.range(0)];
  state.SetLabel(workload.name);
  uint64_t seed = 1;
  uint64_t iterations = 0;
  uint64_t steps = 0;
  std::chrono::nanoseconds elapsed{0};
  for (auto _ : state) {
    // A different seed per benchmark iteration, as a longer run would see.
    const lockstep::RunResult result = RunControlled(
        workload,
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

BENCHMARK(BM_Uncontrolled)->DenseRange(0, kWorkloadCount - 1)->UseRealTime();
BENCHMARK(BM_NativeControl_NoIsolation)
    ->DenseRange(0, kWorkloadCount - 1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NativeControl_Isolated)
    ->DenseRange(0, kWorkloadCount - 1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// The summary table.

struct Measured {
  double per_second = 0;   // executions of the body per second
  double ns_per_call = 0;  // control runs: ns per interposed call
  double steps_per_iteration = 0;
};

Measured MeasureUncontrolled(const Workload& workload, uint64_t count) {
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < count; ++i) workload.body();
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  return Measured{.per_second = static_cast<double>(count) / seconds.count()};
}

Measured MeasureControlled(const Workload& workload, uint64_t count, bool isolate) {
  const auto start = std::chrono::steady_clock::now();
  const lockstep::RunResult result = RunControlled(workload, ControlOptions(count, isolate, 1));
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  return Measured{
      .per_second = static_cast<double>(result.iterations) / seconds.count(),
      .ns_per_call = static_cast<double>(std::chrono::nanoseconds(result.elapsed).count()) /
                     static_cast<double>(result.total_steps),
      .steps_per_iteration =
          static_cast<double>(result.total_steps) / static_cast<double>(result.iterations)};
}

// The median of the rounds' measurements, field by field.
Measured Median(std::vector<Measured> rounds) {
  auto median = [&](double Measured::*field) {
    std::sort(rounds.begin(), rounds.end(),
              [&](const Measured& a, const Measured& b) { return a.*field < b.*field; });
    return rounds[rounds.size() / 2].*field;
  };
  return Measured{.per_second = median(&Measured::per_second),
                  .ns_per_call = median(&Measured::ns_per_call),
                  .steps_per_iteration = median(&Measured::steps_per_iteration)};
}

void PrintTable() {
  // Per workload: uncontrolled, control, isolated; one of each per round.
  std::vector<std::array<std::vector<Measured>, 3>> measured(kWorkloadCount);
  for (const Workload& workload : kWorkloads) {
    // Warm up (first thread creations, the isolation stream's first mapping).
    MeasureUncontrolled(workload, 10);
    MeasureControlled(workload, 10, false);
    MeasureControlled(workload, 10, true);
  }
  for (int round = 0; round < kRounds; ++round) {
    for (int w = 0; w < kWorkloadCount; ++w) {
      measured[w][0].push_back(MeasureUncontrolled(kWorkloads[w], kTableIterations));
      measured[w][1].push_back(MeasureControlled(kWorkloads[w], kTableIterations, false));
      measured[w][2].push_back(MeasureControlled(kWorkloads[w], kTableIterations, true));
    }
  }
  std::printf(
      "\n%llu executions per workload and configuration, median of %d interleaved rounds "
      "(wall time):\n",
      static_cast<unsigned long long>(kTableIterations), kRounds);
  std::printf("%-30s %12s %12s %9s %10s %9s %12s %9s\n", "workload", "uncontrolled/s", "control/s",
              "ns/call", "steps/iter", "slowdown", "isolated/s", "slowdown");
  for (int w = 0; w < kWorkloadCount; ++w) {
    const Measured uncontrolled = Median(measured[w][0]);
    const Measured control = Median(measured[w][1]);
    const Measured isolated = Median(measured[w][2]);
    std::printf("%-30s %12.0f %12.0f %9.0f %10.1f %8.2fx %12.0f %8.2fx\n", kWorkloads[w].name,
                uncontrolled.per_second, control.per_second, control.ns_per_call,
                control.steps_per_iteration, uncontrolled.per_second / control.per_second,
                isolated.per_second, uncontrolled.per_second / isolated.per_second);
  }
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
