// Throughput of the controlled runner against Relacy (Dmitry Vyukov's race
// detector, Debian relacy-dev, header-only) on the same two workloads, in one
// process:
//
//   (a) "mutex 3x10": 3 threads each do 10 mutex-protected increments of a
//       plain int.
//   (b) "lost update 2x1": 2 threads each do x.store(x.load() + 1) on an
//       atomic int. Nothing asserts on the final value, so both tools explore
//       the full iteration count.
//
// A schedule is one execution of the test body under one interleaving chosen
// by the scheduler (one Lockstep iteration, one Relacy iteration); a
// scheduling point is one place where the scheduler decides which thread
// runs next (one of Lockstep's RunResult::total_steps). Each benchmark
// iteration explores kSchedules schedules in one Runner::Run / rl::simulate
// call and reports `schedules/s`; the Lockstep benchmarks also report
// `ns/step` and `steps/schedule`. Times are CPU time (the benchmark default).
//
// Relacy runs with rl::random_scheduler_type: a fresh uniformly random
// interleaving per iteration, which is what Lockstep's random strategy does,
// and the closest Relacy has to PCT's one-sampled-schedule-per-iteration
// (its other schedulers are systematic searches).
//
// After the benchmarks, main() prints the Lockstep/Relacy ratio of
// schedules/s per workload, taken from the benchmarks' own measurements (the
// median with --benchmark_repetitions).

// Relacy's fibers need glibc's longjmp unfortified (see bench/relacy.h).
#undef _FORTIFY_SOURCE

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <ostream>
#include <set>
#include <streambuf>
#include <string>
#include <vector>

#include "lockstep/atomic.h"
#include "lockstep/mutex.h"
#include "lockstep/options.h"
#include "lockstep/run.h"
#include "lockstep/thread.h"

// After every other header: it undefines macros they may use.
#include "bench/relacy.h"

namespace {

// Schedules explored per benchmark iteration, the same for both tools.
constexpr int kSchedules = 1000;

constexpr int kMutexThreads = 3;
constexpr int kMutexIncrements = 10;

// ---------------------------------------------------------------------------
// Lockstep.

void MutexWorkload() {
  lockstep::Mutex mu;
  int counter = 0;
  std::array<lockstep::Thread, kMutexThreads> threads;
  for (lockstep::Thread& thread : threads) {
    thread = lockstep::spawn([&] {
      for (int i = 0; i < kMutexIncrements; ++i) {
        std::lock_guard<lockstep::Mutex> lock(mu);
        ++counter;
      }
    });
  }
  for (auto& t : threads) t.join();
  benchmark::DoNotOptimize(counter);
}

void LostUpdateWorkload() {
  lockstep::Atomic<int> x(0);
  auto increment = [&] { x.store(x.load() + 1); };
  lockstep::Thread a = lockstep::spawn(increment);
  lockstep::Thread b = lockstep::spawn(increment);
  a.join();
  b.join();
}

void RunLockstep(benchmark::State& state, void (*workload)(), lockstep::StrategyKind strategy) {
  lockstep::Options options;
  options.iterations = kSchedules;
  options.strategy = strategy;
  // In process: a forked explorer's work would not count in this thread's
  // CPU time (isolation_bench measures what isolation costs).
  options.isolate = false;
  uint64_t schedules = 0;
  uint64_t steps = 0;
  for (auto _ : state) {
    lockstep::RunResult result = lockstep::Runner::Run(workload, options);
    if (!result.status.ok() || result.failed() || result.iterations != kSchedules) {
      state.SkipWithError("lockstep run did not complete every schedule");
      return;
    }
    schedules += result.iterations;
    steps += result.total_steps;
    // A different seed per benchmark iteration, as a longer run would see.
    ++options.seed;
  }
  state.counters["schedules/s"] =
      benchmark::Counter(static_cast<double>(schedules), benchmark::Counter::kIsRate);
  // The reporter turns this into ns/step (same time base as schedules/s).
  state.counters["steps/s"] =
      benchmark::Counter(static_cast<double>(steps), benchmark::Counter::kIsRate);
  state.counters["steps/schedule"] =
      static_cast<double>(steps) / static_cast<double>(schedules ? schedules : 1);
}

void BM_Lockstep_Mutex3x10_Pct(benchmark::State& state) {
  RunLockstep(state, MutexWorkload, lockstep::StrategyKind::kPct);
}
void BM_Lockstep_Mutex3x10_Random(benchmark::State& state) {
  RunLockstep(state, MutexWorkload, lockstep::StrategyKind::kRandom);
}
void BM_Lockstep_LostUpdate2x1_Pct(benchmark::State& state) {
  RunLockstep(state, LostUpdateWorkload, lockstep::StrategyKind::kPct);
}
void BM_Lockstep_LostUpdate2x1_Random(benchmark::State& state) {
  RunLockstep(state, LostUpdateWorkload, lockstep::StrategyKind::kRandom);
}

// ---------------------------------------------------------------------------
// Relacy. The suites' threads are Relacy's static threads (no main thread
// spawning and joining them, unlike the Lockstep body).

struct RelacyMutex3x10 : rl::test_suite<RelacyMutex3x10, kMutexThreads> {
  rl::mutex mu;
  rl::var<int> counter;

  void before() { counter(RL_INFO) = 0; }

  void thread(unsigned /*index*/) {
    for (int i = 0; i < kMutexIncrements; ++i) {
      mu.lock(RL_INFO);
      counter(RL_INFO) = counter(RL_INFO) + 1;
      mu.unlock(RL_INFO);
    }
  }
};

struct RelacyLostUpdate2x1 : rl::test_suite<RelacyLostUpdate2x1, 2> {
  rl::atomic<int> x;

  void before() { x(RL_INFO).store(0, rl::mo_relaxed); }

  void thread(unsigned /*index*/) {
    const int v = x(RL_INFO).load(rl::mo_seq_cst);
    x(RL_INFO).store(v + 1, rl::mo_seq_cst);
  }
};

// Discards everything written to it (Relacy prints a report per simulate()).
class NullBuffer : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

template <typename Suite>
void RunRelacy(benchmark::State& state) {
  NullBuffer null_buffer;
  std::ostream null_stream(&null_buffer);
  uint64_t schedules = 0;
  for (auto _ : state) {
    rl::test_params params;
    params.iteration_count = kSchedules;
    params.search_type = rl::random_scheduler_type;
    params.output_stream = &null_stream;
    params.progress_stream = &null_stream;
    if (!rl::simulate<Suite>(params) || params.stop_iteration != kSchedules) {
      state.SkipWithError("relacy run did not complete every schedule");
      return;
    }
    schedules += params.stop_iteration;
  }
  state.counters["schedules/s"] =
      benchmark::Counter(static_cast<double>(schedules), benchmark::Counter::kIsRate);
}

void BM_Relacy_Mutex3x10_Random(benchmark::State& state) { RunRelacy<RelacyMutex3x10>(state); }
void BM_Relacy_LostUpdate2x1_Random(benchmark::State& state) {
  RunRelacy<RelacyLostUpdate2x1>(state);
}

BENCHMARK(BM_Lockstep_Mutex3x10_Pct);
BENCHMARK(BM_Lockstep_Mutex3x10_Random);
BENCHMARK(BM_Relacy_Mutex3x10_Random);
BENCHMARK(BM_Lockstep_LostUpdate2x1_Pct);
BENCHMARK(BM_Lockstep_LostUpdate2x1_Random);
BENCHMARK(BM_Relacy_LostUpdate2x1_Random);

// ---------------------------------------------------------------------------
// Ratios.

// The console reporter, plus: shows steps/s as ns/step, and keeps each
// benchmark's schedules/s for the ratios. Counters arrive finalized (rates
// are per second of the benchmark's CPU time, the default time base).
class RateCollector : public benchmark::ConsoleReporter {
 public:
  explicit RateCollector(OutputOptions options) : ConsoleReporter(options) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    std::vector<Run> shown = runs;
    for (Run& run : shown) {
      auto steps = run.counters.find("steps/s");
      if (steps != run.counters.end()) {
        const double steps_per_second = steps->second.value;
        run.counters.erase(steps);
        // Inverting a stddev or a cv means nothing: those just lose it.
        const bool invertible = run.run_type == Run::RT_Iteration || run.aggregate_name == "mean" ||
                                run.aggregate_name == "median";
        if (invertible && steps_per_second > 0) run.counters["ns/step"] = 1e9 / steps_per_second;
      }
      if (run.error_occurred) continue;
      auto it = run.counters.find("schedules/s");
      if (it == run.counters.end()) continue;
      // With --benchmark_repetitions, the median wins over single runs.
      const std::string name = run.run_name.str();
      if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name == "median") {
          rates_[name] = it->second.value;
          from_median_.insert(name);
        }
      } else if (!from_median_.contains(name)) {
        rates_[name] = it->second.value;
      }
    }
    ConsoleReporter::ReportRuns(shown);
  }

  // 0 when the benchmark did not run (filtered out, or skipped with an error).
  double Rate(const std::string& name) const {
    auto it = rates_.find(name);
    return it == rates_.end() ? 0.0 : it->second;
  }

 private:
  std::map<std::string, double> rates_;
  std::set<std::string> from_median_;
};

void PrintRatio(const RateCollector& rates, const char* label, const char* workload,
                const std::string& lockstep_bm, const std::string& relacy_bm) {
  const double lockstep_rate = rates.Rate(lockstep_bm);
  const double relacy_rate = rates.Rate(relacy_bm);
  if (lockstep_rate <= 0 || relacy_rate <= 0) {
    std::printf("ratio %s/relacy on %s: n/a (not both measured)\n", label, workload);
    return;
  }
  std::printf("ratio %s/relacy on %s: %.2fx (%.0f vs %.0f schedules/s)\n", label, workload,
              lockstep_rate / relacy_rate, lockstep_rate, relacy_rate);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // Color only on a terminal, as the default reporter does.
  RateCollector reporter(isatty(STDOUT_FILENO) != 0 ? benchmark::ConsoleReporter::OO_Defaults
                                                    : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::fflush(stdout);
  PrintRatio(reporter, "lockstep(pct)", "(a) mutex 3x10", "BM_Lockstep_Mutex3x10_Pct",
             "BM_Relacy_Mutex3x10_Random");
  PrintRatio(reporter, "lockstep(random)", "(a) mutex 3x10", "BM_Lockstep_Mutex3x10_Random",
             "BM_Relacy_Mutex3x10_Random");
  PrintRatio(reporter, "lockstep(pct)", "(b) lost update 2x1", "BM_Lockstep_LostUpdate2x1_Pct",
             "BM_Relacy_LostUpdate2x1_Random");
  PrintRatio(reporter, "lockstep(random)", "(b) lost update 2x1",
             "BM_Lockstep_LostUpdate2x1_Random", "BM_Relacy_LostUpdate2x1_Random");
  std::fflush(stdout);
  return 0;
}
