// How the controlled runner's throughput scales with the number of threads
// and the length of the test body, against Relacy (Dmitry Vyukov's race
// detector, Debian relacy-dev, header-only), in one process, on a matrix:
//
//   N threads in {2, 4, 8, 16, 32} x K operations per thread in
//   {1, 10, 100, 1000}, on two workloads:
//
//   mutex:  each thread K times locks a mutex, increments a plain int and
//           unlocks (Lockstep: lockstep::Mutex + std::lock_guard; Relacy:
//           rl::mutex + rl::var<int>).
//   atomic: each thread K times does fetch_add(1) on one shared atomic int
//           (Lockstep: lockstep::Atomic<int>; Relacy: rl::atomic<int>,
//           mo_seq_cst).
//
// A schedule is one execution of the test body under one interleaving chosen
// by the scheduler (one Lockstep iteration, one Relacy iteration); a step is
// one of Lockstep's scheduling decisions (RunResult::total_steps: at
// primitive operations, spawns, joins and thread exits). Each measurement is
// one call exploring --schedules schedules (default 10,000; but see
// --max_ops_per_call below): one lockstep::Runner::Run with
// Options::iterations, isolation off (in-process exploration is what is
// measured), with the random strategy and with PCT (depth 3, the default);
// one rl::simulate with iteration_count and rl::random_scheduler_type (a
// fresh random interleaving per iteration, the closest Relacy has to
// either). The Lockstep body is a main thread that spawns the N threads with
// lockstep::spawn and joins them, as a test is written; Relacy's threads are
// the static threads of an rl::test_suite<Suite, N> (no spawn, join or main
// thread), so Lockstep's schedules carry up to 3N+2 steps more than the
// workload's own operations.
//
// Timing: plain std::chrono/clock_gettime around each call, not Google
// Benchmark (a matrix of single long calls fits it badly). --rounds=R
// (default 3) interleaved repetitions: each round runs every (cell, tool,
// strategy) once, the order of the three runs in a cell rotating from round
// to round, with a different seed per round (Lockstep: Options::seed = 1 +
// round; Relacy, whose random scheduler seeds iteration i with i: iterations
// round*S+1 .. (round+1)*S, through test_params::initial_state). Every figure
// is the median over the rounds of the per-round figure. Rates are per second
// of process CPU time (CLOCK_PROCESS_CPUTIME_ID; the process is one thread);
// wall time is recorded too, and the CPU/wall percentage shows whether
// something else took the core. The load average (/proc/loadavg) is printed
// at the start and at the end.
//
// Printed: per cell, Lockstep's schedules/s, ns/step and steps/schedule,
// Relacy's schedules/s and ns per workload operation, and the ratio
// (Lockstep schedules/s / Relacy schedules/s, the ratio of the medians); a
// compact ratio table; the flatness of ns/step (N=32 / N=2); the fixed cost
// per schedule (a line fitted through time/schedule against steps/schedule
// over K, for each N; see Fit); and, measured first in the same
// process, the physical floor: one fiber switch (lockstep/internal/fiber.h,
// Boost.Context's fcontext) and one fiber create+start+finish.
//
// Schedules per call: --schedules (10,000), but at most --max_ops_per_call
// (default 32,000,000) divided by the N*K workload operations of a schedule,
// the same for both tools. With the defaults, every cell up to N*K = 3,200
// (all of K <= 100) runs 10,000 schedules; the K=1000 cells run 8,000 (N=4)
// down to 1,000 (N=32), each call still seconds long, and a round takes
// about 160 s of CPU on the reference machine (2 cores, 24 GiB). Without
// the cap (--max_ops_per_call=0) a round takes about 580 s of CPU, over a
// third of it in the three N=32, K=1000 calls of Relacy (about 105 s each)
// and of Lockstep random on the mutex (about 70 s); the rates agree with
// the capped ones within the run-to-run noise.
//
// Flags: --schedules=S --max_ops_per_call=B --rounds=R --threads=2,4,...
// --ops=1,10,... --workloads=mutex,atomic --floor_round_trips=T.

// Relacy's fibers need glibc's longjmp unfortified (see bench/relacy.h).
#undef _FORTIFY_SOURCE

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

#include "bench/matrix.h"
#include "lockstep/atomic.h"
#include "lockstep/internal/fiber.h"
#include "lockstep/mutex.h"
#include "lockstep/options.h"
#include "lockstep/run.h"
#include "lockstep/thread.h"

// After every other header: it undefines macros they may use.
#include "bench/relacy.h"

namespace {

using bench::CpuSeconds;
using bench::LoadAverage;
using bench::LockstepAtomicBody;
using bench::LockstepMaxSteps;
using bench::LockstepMutexBody;
using bench::Median;
using bench::WallSeconds;

// ---------------------------------------------------------------------------
// The physical floor: Lockstep's own fiber switch (lockstep/internal/fiber.h,
// a raw Boost.Context fcontext jump), outside any run.

using lockstep::internal::Fiber;

constexpr size_t kFiberStackSize = 64 * 1024;

struct FiberBench {
  Fiber main;
  Fiber worker;
  bool done = false;
};

// Ping-pong partner: switches straight back each time it is resumed.
void PingPongEntry(void* arg) {
  auto& bench = *static_cast<FiberBench*>(arg);
  while (!bench.done) Fiber::Switch(bench.worker, bench.main);
  Fiber::Exit(bench.worker, bench.main);
}

// Starts and finishes at once.
void ExitEntry(void* arg) {
  auto& bench = *static_cast<FiberBench*>(arg);
  Fiber::Exit(bench.worker, bench.main);
}

struct FiberFloor {
  double switch_ns = 0;  // one switch (half a round trip)
  double create_ns = 0;  // Prepare on a reused stack + switch in + Exit back
};

// Medians of 5 batches each.
FiberFloor MeasureFiberFloor(int round_trips) {
  constexpr int kBatches = 5;
  const int kRoundTrips = round_trips;
  const int kCreates = std::max(round_trips / 5, 1);
  // A reused stack, as Lockstep's stack pool reuses stacks across
  // iterations (so no mmap in the figure).
  std::vector<char> stack(kFiberStackSize);
  std::vector<double> switches, creates;
  for (int batch = 0; batch < kBatches; ++batch) {
    FiberBench bench;
    bench.worker.Prepare(stack.data(), stack.size(), PingPongEntry, &bench);
    Fiber::Switch(bench.main, bench.worker);  // started; now parked in its loop
    double start = CpuSeconds();
    for (int i = 0; i < kRoundTrips; ++i) Fiber::Switch(bench.main, bench.worker);
    switches.push_back((CpuSeconds() - start) * 1e9 / (2.0 * kRoundTrips));
    bench.done = true;
    Fiber::Switch(bench.main, bench.worker);  // lets it exit

    start = CpuSeconds();
    for (int i = 0; i < kCreates; ++i) {
      bench.worker.Prepare(stack.data(), stack.size(), ExitEntry, &bench);
      Fiber::Switch(bench.main, bench.worker);
    }
    creates.push_back((CpuSeconds() - start) * 1e9 / kCreates);
  }
  return {.switch_ns = Median(switches), .create_ns = Median(creates)};
}

// ---------------------------------------------------------------------------
// The matrix.

enum class Workload { kMutex, kAtomic };
const char* WorkloadName(Workload w) { return w == Workload::kMutex ? "mutex" : "atomic"; }

// The three measured runs of a cell.
enum Tool { kLockstepRandom = 0, kLockstepPct = 1, kRelacy = 2, kTools = 3 };
const char* ToolName(int tool) {
  static constexpr std::array<const char*, kTools> kNames = {"lockstep-random", "lockstep-pct",
                                                             "relacy-random"};
  return kNames[tool];
}

// The N Relacy is instantiated for (its thread count is a template argument).
constexpr std::array<int, 5> kSupportedThreads = {2, 4, 8, 16, 32};

struct Config {
  uint64_t schedules = 10'000;
  // Fiber round trips per batch of the floor measurement (and a fifth as
  // many creations); the smoke test lowers it (ThreadSanitizer makes every
  // fiber costly).
  int floor_round_trips = 1'000'000;
  uint64_t max_ops_per_call = 32'000'000;  // 0: no cap
  int rounds = 3;
  std::vector<int> threads{2, 4, 8, 16, 32};
  std::vector<int> ops{1, 10, 100, 1000};
  std::vector<Workload> workloads{Workload::kMutex, Workload::kAtomic};
};

// One call's figures.
struct Sample {
  double cpu_s = 0;
  double wall_s = 0;
  uint64_t schedules = 0;
  uint64_t steps = 0;  // Lockstep only
};

[[noreturn]] void Die(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "scaling_bench: %s\n", message.c_str());
  std::exit(1);
}

// ---------------------------------------------------------------------------
// Lockstep.

Sample RunLockstep(Workload workload, int n, int k, lockstep::StrategyKind strategy,
                   uint64_t schedules, uint64_t seed) {
  lockstep::Options options;
  options.iterations = schedules;
  options.strategy = strategy;  // PCT: the default depth, 3
  options.seed = seed;
  options.isolate = false;  // in-process exploration is what is measured
  options.max_steps = LockstepMaxSteps(n, k);
  std::function<void()> body;
  if (workload == Workload::kMutex) {
    body = [n, k] { LockstepMutexBody(n, k); };
  } else {
    body = [n, k] { LockstepAtomicBody(n, k); };
  }

  const double wall = WallSeconds();
  const double cpu = CpuSeconds();
  const lockstep::RunResult result = lockstep::Runner::Run(body, options);
  Sample sample{.cpu_s = CpuSeconds() - cpu, .wall_s = WallSeconds() - wall};

  if (!result.status.ok()) Die("lockstep: " + result.status.ToString());
  if (result.failed()) {
    Die(std::string("lockstep ") + WorkloadName(workload) + " N=" + std::to_string(n) +
        " K=" + std::to_string(k) + ": iteration failed: " + result.trace->failure().message());
  }
  if (result.iterations != schedules) {
    Die("lockstep ran " + std::to_string(result.iterations) + " of " + std::to_string(schedules) +
        " schedules");
  }
  sample.schedules = result.iterations;
  sample.steps = result.total_steps;
  return sample;
}

// ---------------------------------------------------------------------------
// Relacy. K is a run-time value (read only, the same in every iteration, so
// determinism holds); N is the suite's static thread count.

int g_relacy_ops = 1;

template <int N>
struct RelacyMutexSuite : rl::test_suite<RelacyMutexSuite<N>, N> {
  rl::mutex mu;
  rl::var<int> counter;

  void before() { counter(RL_INFO) = 0; }

  void thread(unsigned /*index*/) {
    for (int i = 0; i < g_relacy_ops; ++i) {
      mu.lock(RL_INFO);
      counter(RL_INFO) = counter(RL_INFO) + 1;
      mu.unlock(RL_INFO);
    }
  }
};

template <int N>
struct RelacyAtomicSuite : rl::test_suite<RelacyAtomicSuite<N>, N> {
  rl::atomic<int> x;

  void before() { x(RL_INFO).store(0, rl::mo_relaxed); }

  void thread(unsigned /*index*/) {
    for (int i = 0; i < g_relacy_ops; ++i) x(RL_INFO).fetch_add(1, rl::mo_seq_cst);
  }
};

// Discards everything written to it (Relacy prints a report per simulate()).
class NullBuffer : public std::streambuf {
 protected:
  int_type overflow(int_type c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

// Relacy's per-iteration limit on scheduling points (test_params::
// execution_depth_limit, default 2000: an iteration over it fails as a
// livelock; 2000 is below N=2, K=1000's mutex schedule). Its points are the
// sync operations and rl::var accesses: at most mutex 4NK (lock, read,
// write, unlock; its unlock wakes one waiter, unpark_one, whose retry is no
// point), atomic NK. The limit is ten times 4NK, plus 1000.
unsigned RelacyDepthLimit(int n, int k) {
  const uint64_t nk = static_cast<uint64_t>(n) * static_cast<uint64_t>(k);
  return static_cast<unsigned>(10 * 4 * nk + 1000);
}

// Runs iterations round*S+1 .. (round+1)*S: Relacy's random scheduler seeds
// iteration i with i, and test_params::initial_state is where simulate()
// starts (the form it prints to reproduce a failure), so each round sees
// different schedules, as Lockstep's per-round seed gives it.
template <typename Suite>
Sample RunRelacySuite(int n, int k, uint64_t schedules, int round) {
  NullBuffer null_buffer;
  std::ostream null_stream(&null_buffer);
  rl::test_params params;
  const uint64_t first = static_cast<uint64_t>(round) * schedules + 1;
  params.iteration_count = first + schedules - 1;
  params.initial_state = std::to_string(first);
  params.search_type = rl::random_scheduler_type;
  params.execution_depth_limit = RelacyDepthLimit(n, k);
  params.output_stream = &null_stream;
  params.progress_stream = &null_stream;
  g_relacy_ops = k;

  const double wall = WallSeconds();
  const double cpu = CpuSeconds();
  const bool ok = rl::simulate<Suite>(params);
  Sample sample{.cpu_s = CpuSeconds() - cpu, .wall_s = WallSeconds() - wall};

  if (!ok || params.test_result != rl::test_result_success) {
    Die("relacy N=" + std::to_string(n) + " K=" + std::to_string(k) + ": iteration " +
        std::to_string(params.stop_iteration) +
        " failed: " + rl::test_result_str(params.test_result));
  }
  if (params.stop_iteration != params.iteration_count) {
    Die("relacy stopped at iteration " + std::to_string(params.stop_iteration) + " of " +
        std::to_string(params.iteration_count));
  }
  sample.schedules = schedules;
  return sample;
}

template <template <int> class Suite>
Sample RunRelacyN(int n, int k, uint64_t schedules, int round) {
  switch (n) {
    case 2:
      return RunRelacySuite<Suite<2>>(n, k, schedules, round);
    case 4:
      return RunRelacySuite<Suite<4>>(n, k, schedules, round);
    case 8:
      return RunRelacySuite<Suite<8>>(n, k, schedules, round);
    case 16:
      return RunRelacySuite<Suite<16>>(n, k, schedules, round);
    case 32:
      return RunRelacySuite<Suite<32>>(n, k, schedules, round);
    default:
      Die("no Relacy suite for N=" + std::to_string(n));
  }
}

Sample RunRelacy(Workload workload, int n, int k, uint64_t schedules, int round) {
  return workload == Workload::kMutex ? RunRelacyN<RelacyMutexSuite>(n, k, schedules, round)
                                      : RunRelacyN<RelacyAtomicSuite>(n, k, schedules, round);
}

Sample RunTool(int tool, Workload workload, int n, int k, uint64_t schedules, int round) {
  switch (tool) {
    case kLockstepRandom:
      return RunLockstep(workload, n, k, lockstep::StrategyKind::kRandom, schedules,
                         1 + static_cast<uint64_t>(round));
    case kLockstepPct:
      return RunLockstep(workload, n, k, lockstep::StrategyKind::kPct, schedules,
                         1 + static_cast<uint64_t>(round));
    default:
      return RunRelacy(workload, n, k, schedules, round);
  }
}

// ---------------------------------------------------------------------------
// Results: per (workload, N, K) cell, per tool, one Sample per round.

struct Cell {
  Workload workload;
  int n;
  int k;
  uint64_t schedules;  // per call, for every tool
  std::array<std::vector<Sample>, kTools> samples;

  bool measured(int tool) const { return !samples[tool].empty(); }
  double SchedulesPerSecond(int tool) const {
    std::vector<double> v;
    for (const Sample& s : samples[tool]) v.push_back(static_cast<double>(s.schedules) / s.cpu_s);
    return Median(v);
  }
  double NsPerSchedule(int tool) const {
    std::vector<double> v;
    for (const Sample& s : samples[tool])
      v.push_back(s.cpu_s * 1e9 / static_cast<double>(s.schedules));
    return Median(v);
  }
  double NsPerStep(int tool) const {
    std::vector<double> v;
    for (const Sample& s : samples[tool]) v.push_back(s.cpu_s * 1e9 / static_cast<double>(s.steps));
    return Median(v);
  }
  double StepsPerSchedule(int tool) const {
    std::vector<double> v;
    for (const Sample& s : samples[tool]) {
      v.push_back(static_cast<double>(s.steps) / static_cast<double>(s.schedules));
    }
    return Median(v);
  }
  // The workload's own operations per schedule (N threads x K), the unit
  // the two tools share.
  double OpsPerSchedule() const { return static_cast<double>(n) * k; }
  double CpuPerWall(int tool) const {
    std::vector<double> v;
    for (const Sample& s : samples[tool]) v.push_back(s.cpu_s / s.wall_s);
    return Median(v);
  }
  double Ratio(int lockstep_tool) const {
    return SchedulesPerSecond(lockstep_tool) / SchedulesPerSecond(kRelacy);
  }
};

const Cell* FindCell(const std::vector<Cell>& cells, Workload w, int n, int k) {
  for (const Cell& cell : cells) {
    if (cell.workload == w && cell.n == n && cell.k == k) return &cell;
  }
  return nullptr;
}

std::string Rate(double per_second) {
  char buf[32];
  if (per_second >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2fM", per_second / 1e6);
  } else if (per_second >= 1e3) {
    std::snprintf(buf, sizeof(buf), "%.1fk", per_second / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f", per_second);
  }
  return buf;
}

// The line y = a + b x minimizing the sum of squared relative residuals
// ((y_i - a - b x_i) / y_i)^2, i.e. least squares weighted by 1 / y_i^2: the
// points span three orders of magnitude (K = 1 .. 1000), and with plain least
// squares the largest one alone would set the intercept (its 1% noise is more
// than the small ones' whole value).
struct Line {
  double intercept = 0;
  double slope = 0;
};
std::optional<Line> Fit(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() < 2) return std::nullopt;
  double sw = 0, swx = 0, swy = 0, swxx = 0, swxy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double w = 1 / (y[i] * y[i]);
    sw += w;
    swx += w * x[i];
    swy += w * y[i];
    swxx += w * x[i] * x[i];
    swxy += w * x[i] * y[i];
  }
  const double det = sw * swxx - swx * swx;
  if (det == 0) return std::nullopt;
  return Line{.intercept = (swxx * swy - swx * swxy) / det, .slope = (sw * swxy - swx * swy) / det};
}

// --schedules, capped by --max_ops_per_call.
uint64_t SchedulesPerCall(const Config& config, int n, int k) {
  if (config.max_ops_per_call == 0) return config.schedules;
  const uint64_t ops = static_cast<uint64_t>(n) * static_cast<uint64_t>(k);
  return std::clamp<uint64_t>(config.max_ops_per_call / ops, 1, config.schedules);
}

void PrintCells(const Config& config, const std::vector<Cell>& cells) {
  std::printf(
      "\n== Per cell (medians over %d round(s); rates per CPU second; ratio = Lockstep "
      "schedules/s / Relacy schedules/s)\n",
      config.rounds);
  std::printf("%-7s %3s %5s %6s %-7s | %9s %8s %10s %5s | %9s %9s %5s | %7s\n", "work", "N", "K",
              "sched", "strat", "LS sch/s", "ns/step", "steps/sch", "cpu%", "RL sch/s", "RL ns/op",
              "cpu%", "ratio");
  for (const Cell& cell : cells) {
    for (int tool : {kLockstepRandom, kLockstepPct}) {
      if (!cell.measured(tool)) continue;
      std::printf(
          "%-7s %3d %5d %6llu %-7s | %9s %8.1f %10.1f %4.0f%% | %9s %9.1f %4.0f%% | %6.2fx\n",
          WorkloadName(cell.workload), cell.n, cell.k,
          static_cast<unsigned long long>(cell.schedules),
          tool == kLockstepRandom ? "random" : "pct", Rate(cell.SchedulesPerSecond(tool)).c_str(),
          cell.NsPerStep(tool), cell.StepsPerSchedule(tool), 100 * cell.CpuPerWall(tool),
          Rate(cell.SchedulesPerSecond(kRelacy)).c_str(),
          cell.NsPerSchedule(kRelacy) / cell.OpsPerSchedule(), 100 * cell.CpuPerWall(kRelacy),
          cell.Ratio(tool));
    }
  }
}

void PrintRatioTable(const Config& config, const std::vector<Cell>& cells) {
  std::printf("\n== Ratio Lockstep/Relacy, schedules/s (N x K)\n");
  std::printf("%3s %5s | %12s %12s %12s %12s\n", "N", "K", "mutex-random", "mutex-pct",
              "atomic-random", "atomic-pct");
  for (int n : config.threads) {
    for (int k : config.ops) {
      std::printf("%3d %5d |", n, k);
      for (Workload w : {Workload::kMutex, Workload::kAtomic}) {
        const Cell* cell = FindCell(cells, w, n, k);
        for (int tool : {kLockstepRandom, kLockstepPct}) {
          if (cell == nullptr) {
            std::printf(" %12s", "-");
          } else {
            std::printf(" %11.2fx", cell->Ratio(tool));
          }
        }
      }
      std::printf("\n");
    }
  }
}

// ns/step at the largest N over ns/step at the smallest (N=32 / N=2 on the
// full matrix). For Relacy, which counts no steps, ns per workload operation.
void PrintFlatness(const Config& config, const std::vector<Cell>& cells) {
  const int lo = config.threads.front();
  const int hi = config.threads.back();
  if (lo == hi) return;
  std::printf(
      "\n== Flatness: ns/step at N=%d / ns/step at N=%d (1.00 = a step costs the same at any N;"
      " Relacy: ns per workload op)\n",
      hi, lo);
  std::printf("%5s | %-20s %-20s %-20s | %-20s %-20s %-20s\n", "K", "mutex-random", "mutex-pct",
              "mutex-relacy", "atomic-random", "atomic-pct", "atomic-relacy");
  for (int k : config.ops) {
    std::printf("%5d |", k);
    for (Workload w : {Workload::kMutex, Workload::kAtomic}) {
      const Cell* a = FindCell(cells, w, lo, k);
      const Cell* b = FindCell(cells, w, hi, k);
      for (int tool : {kLockstepRandom, kLockstepPct, kRelacy}) {
        char buf[64];
        if (a == nullptr || b == nullptr) {
          std::snprintf(buf, sizeof(buf), "-");
        } else if (tool == kRelacy) {
          const double x = a->NsPerSchedule(tool) / a->OpsPerSchedule();
          const double y = b->NsPerSchedule(tool) / b->OpsPerSchedule();
          std::snprintf(buf, sizeof(buf), "%.2f (%.0f->%.0f)", y / x, x, y);
        } else {
          const double x = a->NsPerStep(tool);
          const double y = b->NsPerStep(tool);
          std::snprintf(buf, sizeof(buf), "%.2f (%.1f->%.1f)", y / x, x, y);
        }
        std::printf(" %-20s", buf);
      }
      if (w == Workload::kMutex) std::printf(" |");
    }
    std::printf("\n");
  }
}

// For each N: the line through (steps/schedule, ns/schedule) over the K
// values (relative least squares, see Fit). Its intercept is the fixed cost of a schedule (what a
// schedule costs beyond its steps: iteration setup, fiber creation for the
// threads, strategy reset), its slope the marginal ns per step. Relacy: the
// same against workload ops/schedule. Plus, at the smallest N, the simpler
// estimate: ns/schedule at the smallest K minus its steps x ns/step at the
// largest K.
void PrintFixedCost(const Config& config, const std::vector<Cell>& cells) {
  if (config.ops.size() < 2) return;
  std::printf(
      "\n== Fixed cost per schedule: fit of ns/schedule = fixed + marginal x steps/schedule over "
      "K=%d..%d, per N, least squares of relative residuals (Lockstep: x = steps; Relacy: x = N*K "
      "workload ops)\n",
      config.ops.front(), config.ops.back());
  std::printf("%3s | %-22s %-22s %-22s | %-22s %-22s %-22s\n", "N", "mutex-random", "mutex-pct",
              "mutex-relacy", "atomic-random", "atomic-pct", "atomic-relacy");
  std::printf("%3s | %-22s\n", "", "fixed us + marginal ns/step (or /op)");
  for (int n : config.threads) {
    std::printf("%3d |", n);
    for (Workload w : {Workload::kMutex, Workload::kAtomic}) {
      for (int tool : {kLockstepRandom, kLockstepPct, kRelacy}) {
        std::vector<double> x, y;
        for (int k : config.ops) {
          const Cell* cell = FindCell(cells, w, n, k);
          if (cell == nullptr) continue;
          x.push_back(tool == kRelacy ? cell->OpsPerSchedule() : cell->StepsPerSchedule(tool));
          y.push_back(cell->NsPerSchedule(tool));
        }
        char buf[64];
        const std::optional<Line> line = Fit(x, y);
        if (line) {
          std::snprintf(buf, sizeof(buf), "%.2f + %.1f", line->intercept / 1e3, line->slope);
        } else {
          std::snprintf(buf, sizeof(buf), "-");
        }
        std::printf(" %-22s", buf);
      }
      if (w == Workload::kMutex) std::printf(" |");
    }
    std::printf("\n");
  }

  std::printf(
      "(A negative fixed cost means the line does not fit: the marginal ns/step grows with K,"
      " as the per-cell ns/step shows.)\n");
  const int n = config.threads.front();
  const int k_lo = config.ops.front();
  const int k_hi = config.ops.back();
  std::printf(
      "Simple estimate at N=%d: ns/schedule at K=%d - steps/schedule at K=%d x ns/step at K=%d "
      "(us):",
      n, k_lo, k_lo, k_hi);
  for (Workload w : {Workload::kMutex, Workload::kAtomic}) {
    const Cell* a = FindCell(cells, w, n, k_lo);
    const Cell* b = FindCell(cells, w, n, k_hi);
    if (a == nullptr || b == nullptr) continue;
    for (int tool : {kLockstepRandom, kLockstepPct}) {
      std::printf(" %s-%s %.2f", WorkloadName(w), tool == kLockstepRandom ? "random" : "pct",
                  (a->NsPerSchedule(tool) - a->StepsPerSchedule(tool) * b->NsPerStep(tool)) / 1e3);
    }
  }
  std::printf("\n");
}

// ---------------------------------------------------------------------------
// Flags.

std::vector<std::string> Split(std::string_view list) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = list.find(',', start);
    const size_t end = comma == std::string_view::npos ? list.size() : comma;
    parts.emplace_back(list.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

long ParsePositive(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value <= 0) Die(flag + ": not a positive number: " + text);
  return value;
}

void Usage() {
  std::printf(
      "usage: scaling_bench [--schedules=S] [--max_ops_per_call=B (0: no cap)] [--rounds=R]\n"
      "                     [--threads=2,4,8,16,32] [--ops=1,10,100,1000]\n"
      "                     [--workloads=mutex,atomic] [--floor_round_trips=1000000]\n");
}

Config ParseFlags(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (name == "--help" || name == "-h") {
      Usage();
      std::exit(0);
    } else if (name == "--schedules") {
      config.schedules = static_cast<uint64_t>(ParsePositive(name, value));
    } else if (name == "--max_ops_per_call") {
      config.max_ops_per_call =
          value == "0" ? 0 : static_cast<uint64_t>(ParsePositive(name, value));
    } else if (name == "--floor_round_trips") {
      config.floor_round_trips = static_cast<int>(ParsePositive(name, value));
    } else if (name == "--rounds") {
      config.rounds = static_cast<int>(ParsePositive(name, value));
    } else if (name == "--threads") {
      config.threads.clear();
      for (const std::string& part : Split(value)) {
        const int n = static_cast<int>(ParsePositive(name, part));
        if (std::find(kSupportedThreads.begin(), kSupportedThreads.end(), n) ==
            kSupportedThreads.end()) {
          Die("--threads: " + part + " is not one of 2,4,8,16,32 (Relacy's suites are templates)");
        }
        config.threads.push_back(n);
      }
    } else if (name == "--ops") {
      config.ops.clear();
      for (const std::string& part : Split(value)) {
        config.ops.push_back(static_cast<int>(ParsePositive(name, part)));
      }
    } else if (name == "--workloads") {
      config.workloads.clear();
      for (const std::string& part : Split(value)) {
        if (part == "mutex") {
          config.workloads.push_back(Workload::kMutex);
        } else if (part == "atomic") {
          config.workloads.push_back(Workload::kAtomic);
        } else {
          Die("--workloads: " + part + " is not mutex or atomic");
        }
      }
    } else {
      Usage();
      Die("unknown flag " + arg);
    }
  }
  std::sort(config.threads.begin(), config.threads.end());
  config.threads.erase(std::unique(config.threads.begin(), config.threads.end()),
                       config.threads.end());
  std::sort(config.ops.begin(), config.ops.end());
  config.ops.erase(std::unique(config.ops.begin(), config.ops.end()), config.ops.end());
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  const Config config = ParseFlags(argc, argv);
  const double start_wall = WallSeconds();
  const double start_cpu = CpuSeconds();

  std::printf(
      "scaling_bench: %llu schedules per call, at most %llu workload ops (N*K per schedule) per "
      "call, %d round(s)\n",
      static_cast<unsigned long long>(config.schedules),
      static_cast<unsigned long long>(config.max_ops_per_call), config.rounds);
  std::printf("load average at start: %s\n", LoadAverage().c_str());

  const FiberFloor floor = MeasureFiberFloor(config.floor_round_trips);
  std::printf(
      "physical floor (lockstep/internal/fiber.h, Boost.Context fcontext, CPU time, median of 5):\n"
      "  fiber switch: %.2f ns (one way; round trip %.2f ns)\n"
      "  fiber create+start+finish (reused stack): %.2f ns\n",
      floor.switch_ns, 2 * floor.switch_ns, floor.create_ns);
  std::fflush(stdout);

  // Warm-up, untimed: first-call costs (Lockstep's stack pool, page faults
  // of Relacy's allocators) stay out of round 1.
  for (Workload w : config.workloads) {
    for (int tool = 0; tool < kTools; ++tool) RunTool(tool, w, 2, 1, 100, config.rounds);
  }

  std::vector<Cell> cells;
  for (Workload w : config.workloads) {
    for (int n : config.threads) {
      for (int k : config.ops) {
        cells.push_back(Cell{.workload = w,
                             .n = n,
                             .k = k,
                             .schedules = SchedulesPerCall(config, n, k),
                             .samples = {}});
      }
    }
  }
  for (int round = 0; round < config.rounds; ++round) {
    for (Cell& cell : cells) {
      // The three runs of a cell, in an order rotating with the round.
      for (int i = 0; i < kTools; ++i) {
        const int tool = (i + round) % kTools;
        const Sample sample = RunTool(tool, cell.workload, cell.n, cell.k, cell.schedules, round);
        cell.samples[tool].push_back(sample);
        std::fprintf(stderr, "round %d/%d %-6s N=%-2d K=%-4d %-15s %8.3f s cpu %8.3f s wall\n",
                     round + 1, config.rounds, WorkloadName(cell.workload), cell.n, cell.k,
                     ToolName(tool), sample.cpu_s, sample.wall_s);
      }
    }
  }

  PrintCells(config, cells);
  PrintRatioTable(config, cells);
  PrintFlatness(config, cells);
  PrintFixedCost(config, cells);

  std::printf("\nload average at end: %s\n", LoadAverage().c_str());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  // Relacy never frees its fibers' stacks (64 KiB per thread per
  // rl::simulate call): the peak shows what that came to.
  std::printf("total: %.1f s wall, %.1f s CPU, peak RSS %.1f MiB\n", WallSeconds() - start_wall,
              CpuSeconds() - start_cpu, static_cast<double>(usage.ru_maxrss) / 1024);
  return 0;
}
