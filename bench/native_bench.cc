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
// The physical limits the runner is measured against, in the same process:
//   BM_ForkFloor       fork() + the child's _exit(0) + waitpid, one
//                      benchmark iteration each: the least an isolated
//                      iteration can cost in a process of this size.
//   BM_FutexHandoff    two OS threads handing a turn back and forth through
//                      a futex (store + FUTEX_WAKE, FUTEX_WAIT until it is
//                      theirs, as the runner's baton does); ns_per_handoff.
//                      Argument 0: unpinned; 1: both pinned to one CPU.
//
// After the benchmarks, main() times each workload and configuration again
// for kTableIterations executions with std::chrono, and the fork floor and
// the hand-offs, in kRounds interleaved rounds (each of them once per
// round), and prints the medians: executions/s, ns per interposed call and
// the slowdowns; then the runner's costs beside the physical limits:
//   isolated iteration / fork floor: the wall time of one isolated
//     iteration over the fork floor's.
//   ns per interposed call: RunResult::elapsed / total_steps, which also
//     counts what the body costs by itself (creating and joining its
//     threads); "added" is what the runner adds per call, (control time per
//     execution - uncontrolled time per execution) / steps per execution,
//     over the futex hand-off (unpinned, as the runner's threads are).

#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
// Hand-offs per measurement of the futex hand-off.
constexpr int kHandoffs = 20000;

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

// ---------------------------------------------------------------------------
// Physical limits.

// fork() + the child's _exit(0) + waitpid: microseconds.
double ForkFloorUs(int count) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    const pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid < 0) {
      std::perror("native_bench: fork");
      std::abort();
    }
    int status = 0;
    waitpid(pid, &status, 0);
  }
  const std::chrono::duration<double, std::micro> elapsed =
      std::chrono::steady_clock::now() - start;
  return elapsed.count() / count;
}

void FutexWait(uint32_t* word, uint32_t value) {
  syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, nullptr, nullptr, 0);
}
void FutexWake(uint32_t* word) {
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

// Pins the calling thread to `cpu`.
void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) std::perror("native_bench: sched_setaffinity");
}

// Two threads hand a turn back and forth `count` times through a futex, as
// the runner's baton does (Signal::Post/Wait in lockstep/native/real.h):
// the turn's owner stores the other's number and wakes it, then waits until
// the turn is back. Nanoseconds per hand-off; `pinned`: both threads on the
// first CPU this process may use, else wherever the scheduler puts them.
double FutexHandoffNs(int count, bool pinned) {
  int cpu = 0;
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
    while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &allowed)) ++cpu;
  }
  alignas(64) uint32_t turn = 0;
  std::atomic<int> ready{0};
  double ns = 0;
  auto player = [&](uint32_t me) {
    if (pinned) PinTo(cpu);
    ready.fetch_add(1);
    while (ready.load() < 2) std::this_thread::yield();
    const auto start = std::chrono::steady_clock::now();
    for (int i = static_cast<int>(me); i < count; i += 2) {
      for (uint32_t now; (now = __atomic_load_n(&turn, __ATOMIC_ACQUIRE)) != me;) {
        FutexWait(&turn, now);
      }
      __atomic_store_n(&turn, me ^ 1, __ATOMIC_RELEASE);
      FutexWake(&turn);
    }
    if (me == 0) {
      // Until the last hand-off has arrived.
      for (uint32_t now; (now = __atomic_load_n(&turn, __ATOMIC_ACQUIRE)) != (count & 1);) {
        FutexWait(&turn, now);
      }
      const std::chrono::duration<double, std::nano> elapsed =
          std::chrono::steady_clock::now() - start;
      ns = elapsed.count() / count;
    }
  };
  std::thread a(player, 0);
  std::thread b(player, 1);
  a.join();
  b.join();
  return ns;
}

void BM_ForkFloor(benchmark::State& state) {
  for (auto _ : state) ForkFloorUs(1);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_FutexHandoff(benchmark::State& state) {
  const bool pinned = state.range(0) != 0;
  state.SetLabel(pinned ? "pinned to one CPU" : "unpinned");
  double ns = 0;
  int64_t measured = 0;
  for (auto _ : state) {
    ns += FutexHandoffNs(kHandoffs, pinned);
    ++measured;
  }
  state.SetItemsProcessed(measured * kHandoffs);
  state.counters["ns_per_handoff"] = ns / static_cast<double>(measured);
}

// ---------------------------------------------------------------------------
// The runner.

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

BENCHMARK(BM_ForkFloor)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FutexHandoff)->DenseRange(0, 1)->UseRealTime()->Unit(benchmark::kMillisecond);
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

double MedianOf(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

void PrintTable() {
  // Per workload: uncontrolled, control, isolated; one of each per round.
  std::vector<std::array<std::vector<Measured>, 3>> measured(kWorkloadCount);
  std::vector<double> fork_floor_us;
  std::vector<double> handoff_ns;         // unpinned
  std::vector<double> pinned_handoff_ns;  // both threads on one CPU
  for (const Workload& workload : kWorkloads) {
    // Warm up (first thread creations, the isolation stream's first mapping).
    MeasureUncontrolled(workload, 10);
    MeasureControlled(workload, 10, false);
    MeasureControlled(workload, 10, true);
  }
  ForkFloorUs(10);
  FutexHandoffNs(kHandoffs / 10, false);
  for (int round = 0; round < kRounds; ++round) {
    fork_floor_us.push_back(ForkFloorUs(static_cast<int>(kTableIterations)));
    handoff_ns.push_back(FutexHandoffNs(kHandoffs, false));
    pinned_handoff_ns.push_back(FutexHandoffNs(kHandoffs, true));
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

  // The runner's costs beside the physical limits, from the same rounds.
  const double floor_us = MedianOf(fork_floor_us);
  const double handoff = MedianOf(handoff_ns);
  const double pinned_handoff = MedianOf(pinned_handoff_ns);
  std::printf(
      "\nPhysical limits (same rounds, medians):\n"
      "  fork floor: fork() + child _exit(0) + waitpid, this process   %9.1f us\n"
      "  futex hand-off between two threads, unpinned                  %9.0f ns\n"
      "  futex hand-off between two threads, pinned to one CPU         %9.0f ns\n",
      floor_us, handoff, pinned_handoff);
  std::printf(
      "\nns/call = RunResult::elapsed / total_steps (includes the body's own thread creation and "
      "joins);\nadded ns/call = (control - uncontrolled time per execution) / steps per "
      "execution.\n");
  std::printf("%-30s %12s %10s %9s %13s %12s %12s\n", "workload", "isolated us", "/fork floor",
              "ns/call", "added ns/call", "/hand-off", "/pinned h-o");
  for (int w = 0; w < kWorkloadCount; ++w) {
    const Measured uncontrolled = Median(measured[w][0]);
    const Measured control = Median(measured[w][1]);
    const Measured isolated = Median(measured[w][2]);
    const double isolated_us = 1e6 / isolated.per_second;
    const double added_ns =
        (1e9 / control.per_second - 1e9 / uncontrolled.per_second) / control.steps_per_iteration;
    std::printf("%-30s %12.1f %9.2fx %9.0f %13.0f %11.2fx %11.2fx\n", kWorkloads[w].name,
                isolated_us, isolated_us / floor_us, control.ns_per_call, added_ns,
                added_ns / handoff, added_ns / pinned_handoff);
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
