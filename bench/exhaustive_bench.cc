// The exhaustive strategies (dfs, dpor; lockstep/strategy/dfs.h) and the
// linearizability checker (lockstep/linearizability.h), in one process.
//
// Part 1, exhaustive search. Small cells of scaling_bench's matrix, where
// the tree of schedules is finite and affordable, on its two workloads:
//
//   mutex:  N threads each K times lock a lockstep::Mutex, increment a plain
//           int and unlock (std::lock_guard).
//   atomic: N threads each K times fetch_add(1) on one lockstep::Atomic<int>.
//
// The body is a main thread that spawns and joins the N threads, as a test
// is written (and as in scaling_bench). Default cells: N=2 x K in {1, 2, 3}
// and N=3 x K in {1, 2} (--cells=2x1,2x2,...). Per cell, one
// lockstep::Runner::Run (isolation off: in-process exploration is what is
// measured) with:
//
//   dfs      Options::strategy = kDfs, to exhaustion (RunResult::exhausted)
//            or --cap iterations (default 2,000,000; "capped" is printed);
//   dpor     kDpor, likewise;
//   dfs-pb2  kDfs with Options::preemption_bound = 2;
//   random   kRandom, --random_schedules iterations (default 20,000).
//
// The schedules an exhaustive run explores are RunResult::iterations -
// redundant_iterations (dpor cuts an execution short when it could only
// repeat an equivalence class it has explored; those iterations cost time
// and count as no schedule). Printed per cell: the schedules each explores,
// the reduction dfs/dpor, and "orders", (NK)! / (K!)^N: the orders of the
// N*K fetch_adds (atomic) or critical sections (mutex) on the one shared
// object. On the atomic workload that is the number of equivalence classes
// (Mazurkiewicz traces), which an optimal dpor explores once each; on the
// mutex workload dpor's classes are finer (a lock attempt that finds the
// mutex held, blocks and retries after the unlock is an operation on the
// mutex of its own). Then the rates: schedules per second of CPU time, ns
// per scheduling step, steps per executed iteration, and CPU per Run call.
//
// A measurement repeats its Runner::Run call until --min_time seconds of CPU
// have passed (default 0.2; a tree of 2 schedules is a few microseconds), so
// a small tree's rate includes the fixed cost of a Run call (creating the
// strategy and the controller) once per tree, as a test pays it. --rounds=R
// (default 3) interleaved repetitions: each round measures every (cell,
// strategy) once, the order of a cell's four strategies rotating from round
// to round; random's seed is 1 + round (dfs and dpor are not random). Every
// rate is the median over the rounds. CPU time is CLOCK_PROCESS_CPUTIME_ID
// (the process is one thread); the CPU/wall percentage shows whether
// something else took the core.
//
// Part 2, the linearizability checker. lockstep::CheckLinearizable on
// generated histories of M operations (--lin_ops, default 100, 200, 400) by
// 4 threads (M/4 each, --lin_threads), on two sequential models
// (--lin_models):
//
//   queue:    push(v) with v in 1..5 (returns nothing) and pop() (the front
//             value, or "empty"), a std::deque; half the operations push.
//   register: write(v) with v in 1..4 and read() (initially 0); half write.
//
// A history is made by simulating a linearizable execution: each thread's
// operations follow one another, each operation's call comes 0..3 time
// units after the previous return (--lin_max_gap) and lasts 1..10 units
// (--lin_max_duration; uniform, real numbers); its linearization point is
// uniform inside its interval; the operations are applied to the model in
// the order of their linearization points, which gives their results; the
// calls and returns are then numbered in time order (the logical times of
// HistoryEntry). With these defaults an operation overlaps about 4.5 others
// (printed as "overlap"). The non-linearizable variant ("corrupt") is the
// same history with the result of one read or pop, chosen at random,
// replaced by a value no operation wrote (one above the largest): no order
// explains it, so the checker must exhaust its search (up to that
// operation) before it says so. Every verdict is checked (linearizable,
// resp. not).
// --lin_histories (default 20) histories per (model, size, variant), the
// same ones in every run (seeded by size, index and model;
// --lin_first_history picks others).
//
// Each history is checked --rounds times in a forked child process, each
// check limited to --lin_limit_s seconds of CPU (default 2, an ITIMER_PROF
// whose SIGPROF ends the child) and the child to --lin_limit_mib MiB of
// address space (default 4096, RLIMIT_AS; 0: none): the checker's search is
// exponential in the worst case, and a history it cannot finish is reported
// as over the limit instead of taking the machine's memory. The child also
// starts every history on a clean heap (in one process, a check right after
// a huge one was seen to take seconds instead of milliseconds). Printed per
// (model, size, variant): the median, 90th percentile and maximum over the
// histories of each one's median CPU time per check (a history with any
// check over a limit counts as slowest, "limit"), how many took a second or
// more, how many went over a limit, and the search states visited
// (LinearizabilityVerdict::states) with the CPU per state, over the
// histories within the limits. Checks over 100 ms or a limit are named on
// stderr.
//
// Flags: --parts=exhaustive,linearizability --cells=2x1,2x2,2x3,3x1,3x2
// --workloads=mutex,atomic --cap=C --random_schedules=S --min_time=T
// --rounds=R --lin_ops=100,200,400 --lin_models=queue,register
// --lin_threads=4 --lin_histories=H --lin_first_history=F --lin_max_gap=G
// --lin_max_duration=D --lin_queue_values=V --lin_register_values=V
// --lin_limit_s=S --lin_limit_mib=M --quick (for the smoke test, a few
// seconds under ThreadSanitizer: N=2 x K in {1, 2} with a cap of 200 (which
// dfs reaches on all but atomic 2x1), 50 random schedules, one round, no
// minimum time, 3 histories of 40 operations, no memory limit (the
// sanitizers reserve terabytes of address space)).

#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bench/matrix.h"
#include "lockstep/atomic.h"
#include "lockstep/linearizability.h"
#include "lockstep/mutex.h"
#include "lockstep/options.h"
#include "lockstep/run.h"
#include "lockstep/thread.h"

namespace {

using bench::CpuSeconds;
using bench::LoadAverage;
using bench::LockstepAtomicBody;
using bench::LockstepMaxSteps;
using bench::LockstepMutexBody;
using bench::Median;
using bench::WallSeconds;

// ---------------------------------------------------------------------------
// Clocks and small helpers (bench/matrix.h has the shared ones).

// The calling thread's CPU time. The checking child (one thread) reads this
// one: with a process CPU timer armed (its ITIMER_PROF limit; RLIMIT_CPU
// does the same), Linux serves CLOCK_PROCESS_CPUTIME_ID from the timer's
// counters, which advance only at scheduler ticks.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The nearest-rank q-quantile (q in (0, 1]).
double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

[[noreturn]] void Die(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "exhaustive_bench: %s\n", message.c_str());
  std::exit(1);
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

// ---------------------------------------------------------------------------
// Configuration.

enum class Workload { kMutex, kAtomic };
const char* WorkloadName(Workload w) { return w == Workload::kMutex ? "mutex" : "atomic"; }

// Part 2's sequential models.
enum class Model { kQueue, kRegister };
const char* ModelName(Model m) { return m == Model::kQueue ? "queue" : "register"; }

struct CellSize {
  int n;
  int k;
};

struct Config {
  std::vector<CellSize> cells{{2, 1}, {2, 2}, {2, 3}, {3, 1}, {3, 2}};
  std::vector<Workload> workloads{Workload::kMutex, Workload::kAtomic};
  uint64_t cap = 2'000'000;
  uint64_t random_schedules = 20'000;
  double min_time = 0.2;
  int rounds = 3;
  std::vector<int> lin_ops{100, 200, 400};
  int lin_threads = 4;
  int lin_histories = 20;
  int lin_first_history = 0;  // histories lin_first_history .. + lin_histories - 1
  double lin_max_gap = 3;
  double lin_max_duration = 10;
  int lin_queue_values = 5;
  std::vector<Model> lin_models{Model::kQueue, Model::kRegister};
  double lin_limit_s = 2;     // CPU per check
  long lin_limit_mib = 4096;  // address space per checking child; 0: none
  int lin_register_values = 4;
  bool exhaustive_part = true;
  bool linearizability_part = true;
};

// ---------------------------------------------------------------------------
// Part 1: the workloads (scaling_bench's, in bench/matrix.h).

// (NK)! / (K!)^N: the orders of N threads' K operations each on one object.
uint64_t Orders(int n, int k) {
  // Product of binomials C(ik, k), i = 1..n.
  uint64_t total = 1;
  for (int i = 1; i <= n; ++i) {
    uint64_t binom = 1;
    const int m = i * k;
    for (int j = 1; j <= k; ++j) binom = binom * static_cast<uint64_t>(m - k + j) / j;
    total *= binom;
  }
  return total;
}

enum Strat { kDfs = 0, kDpor = 1, kDfsPb2 = 2, kRandom = 3, kStrats = 4 };
constexpr std::array<const char*, kStrats> kStratNames = {"dfs", "dpor", "dfs-pb2", "random"};

// One measurement: one or more identical Runner::Run calls.
struct Sample {
  double cpu_s = 0;
  double wall_s = 0;
  uint64_t calls = 0;
  uint64_t schedules = 0;   // explored: iterations - redundant_iterations
  uint64_t iterations = 0;  // executed
  uint64_t steps = 0;
  // Of one call (every call of an exhaustive search explores the same tree).
  uint64_t schedules_per_call = 0;
  uint64_t redundant_per_call = 0;
  bool exhausted = false;
};

lockstep::RunResult RunOnce(Workload workload, int n, int k, int strat, const Config& config,
                            uint64_t seed) {
  lockstep::Options options;
  options.isolate = false;  // in-process exploration is what is measured
  options.max_steps = LockstepMaxSteps(n, k);
  options.seed = seed;
  switch (strat) {
    case kDfs:
      options.strategy = lockstep::StrategyKind::kDfs;
      options.iterations = config.cap;
      break;
    case kDpor:
      options.strategy = lockstep::StrategyKind::kDpor;
      options.iterations = config.cap;
      break;
    case kDfsPb2:
      options.strategy = lockstep::StrategyKind::kDfs;
      options.preemption_bound = 2;
      options.iterations = config.cap;
      break;
    default:
      options.strategy = lockstep::StrategyKind::kRandom;
      options.iterations = config.random_schedules;
      break;
  }
  std::function<void()> body;
  if (workload == Workload::kMutex) {
    body = [n, k] { LockstepMutexBody(n, k); };
  } else {
    body = [n, k] { LockstepAtomicBody(n, k); };
  }
  lockstep::RunResult result = lockstep::Runner::Run(body, options);
  if (!result.status.ok()) Die(std::string(kStratNames[strat]) + ": " + result.status.ToString());
  if (result.failed()) {
    Die(std::string(kStratNames[strat]) + " " + WorkloadName(workload) + " N=" + std::to_string(n) +
        " K=" + std::to_string(k) + ": iteration failed: " + result.trace->failure().message());
  }
  if (strat == kRandom && result.iterations != options.iterations) {
    Die("random ran " + std::to_string(result.iterations) + " of " +
        std::to_string(options.iterations) + " schedules");
  }
  if (strat != kRandom && !result.exhausted && result.iterations != options.iterations) {
    Die(std::string(kStratNames[strat]) + " stopped after " + std::to_string(result.iterations) +
        " iterations, neither exhausted nor capped");
  }
  return result;
}

Sample Measure(Workload workload, int n, int k, int strat, const Config& config, int round) {
  Sample sample;
  const double wall = WallSeconds();
  const double cpu = CpuSeconds();
  do {
    const lockstep::RunResult result =
        RunOnce(workload, n, k, strat, config, 1 + static_cast<uint64_t>(round));
    const uint64_t explored = result.iterations - result.redundant_iterations;
    if (sample.calls > 0 && strat != kRandom &&
        (explored != sample.schedules_per_call || result.exhausted != sample.exhausted)) {
      Die(std::string(kStratNames[strat]) + ": two runs of one search explored " +
          std::to_string(sample.schedules_per_call) + " and " + std::to_string(explored) +
          " schedules");
    }
    ++sample.calls;
    sample.schedules += explored;
    sample.iterations += result.iterations;
    sample.steps += result.total_steps;
    sample.schedules_per_call = explored;
    sample.redundant_per_call = result.redundant_iterations;
    sample.exhausted = result.exhausted;
  } while (CpuSeconds() - cpu < config.min_time);
  sample.cpu_s = CpuSeconds() - cpu;
  sample.wall_s = WallSeconds() - wall;
  return sample;
}

struct Cell {
  Workload workload;
  int n;
  int k;
  std::array<std::vector<Sample>, kStrats> samples;

  double SchedulesPerSecond(int strat) const {
    std::vector<double> v;
    for (const Sample& s : samples[strat]) {
      v.push_back(static_cast<double>(s.schedules) / s.cpu_s);
    }
    return Median(v);
  }
  double NsPerStep(int strat) const {
    std::vector<double> v;
    for (const Sample& s : samples[strat])
      v.push_back(s.cpu_s * 1e9 / static_cast<double>(s.steps));
    return Median(v);
  }
  // Per executed iteration (dpor's redundant ones included).
  double StepsPerIteration(int strat) const {
    std::vector<double> v;
    for (const Sample& s : samples[strat]) {
      v.push_back(static_cast<double>(s.steps) / static_cast<double>(s.iterations));
    }
    return Median(v);
  }
  // Microseconds of CPU per Run call.
  double UsPerCall(int strat) const {
    std::vector<double> v;
    for (const Sample& s : samples[strat]) {
      v.push_back(s.cpu_s * 1e6 / static_cast<double>(s.calls));
    }
    return Median(v);
  }
  double CpuPerWall(int strat) const {
    std::vector<double> v;
    for (const Sample& s : samples[strat]) v.push_back(s.cpu_s / s.wall_s);
    return Median(v);
  }
  const Sample& First(int strat) const { return samples[strat].front(); }
};

// "1234" or "≥2000000 (capped)".
std::string Count(const Sample& s) {
  std::string text = std::to_string(s.schedules_per_call);
  if (!s.exhausted) text = ">=" + text + " capped";
  return text;
}

void PrintCounts(const std::vector<Cell>& cells) {
  std::printf(
      "\n== Schedules explored to exhaustion (dfs-pb2: dfs with preemption_bound 2; orders = "
      "(NK)!/(K!)^N, the orders of the N*K fetch_adds or critical sections on the shared "
      "object)\n");
  std::printf("%-7s %2s %2s | %8s | %18s %12s %9s %9s | %18s\n", "work", "N", "K", "orders", "dfs",
              "dpor", "dpor red", "dfs/dpor", "dfs-pb2");
  for (const Cell& cell : cells) {
    const Sample& dfs = cell.First(kDfs);
    const Sample& dpor = cell.First(kDpor);
    const Sample& pb2 = cell.First(kDfsPb2);
    char ratio[32];
    std::snprintf(
        ratio, sizeof(ratio), "%s%.1fx", dfs.exhausted ? "" : ">=",
        static_cast<double>(dfs.schedules_per_call) / static_cast<double>(dpor.schedules_per_call));
    std::printf("%-7s %2d %2d | %8llu | %18s %12s %9llu %9s | %18s\n", WorkloadName(cell.workload),
                cell.n, cell.k, static_cast<unsigned long long>(Orders(cell.n, cell.k)),
                Count(dfs).c_str(), Count(dpor).c_str(),
                static_cast<unsigned long long>(dpor.redundant_per_call), ratio,
                Count(pb2).c_str());
  }
  std::printf(
      "(dpor red: iterations dpor cut short as redundant, beyond the schedules it explored)\n");
}

void PrintRates(const Config& config, const std::vector<Cell>& cells) {
  std::printf(
      "\n== Schedules per CPU second (median of %d round(s); each measurement repeats its Run call"
      " for >= %.2f s CPU; random: %llu schedules per call)\n",
      config.rounds, config.min_time, static_cast<unsigned long long>(config.random_schedules));
  std::printf("%-7s %2s %2s | %9s %9s %9s %9s | %12s %12s | %7s %7s %7s %7s | %6s %6s %6s %6s\n",
              "work", "N", "K", "dfs", "dpor", "dfs-pb2", "random", "random/dfs", "random/dpor",
              "ns/st", "ns/st", "ns/st", "ns/st", "st/it", "st/it", "st/it", "st/it");
  std::printf("%-7s %2s %2s | %9s %9s %9s %9s | %12s %12s | %7s %7s %7s %7s | %6s %6s %6s %6s\n",
              "", "", "", "", "", "", "", "", "", "dfs", "dpor", "pb2", "random", "dfs", "dpor",
              "pb2", "random");
  for (const Cell& cell : cells) {
    std::printf("%-7s %2d %2d |", WorkloadName(cell.workload), cell.n, cell.k);
    for (int s = 0; s < kStrats; ++s) std::printf(" %9s", Rate(cell.SchedulesPerSecond(s)).c_str());
    std::printf(" | %11.2fx %11.2fx |",
                cell.SchedulesPerSecond(kRandom) / cell.SchedulesPerSecond(kDfs),
                cell.SchedulesPerSecond(kRandom) / cell.SchedulesPerSecond(kDpor));
    for (int s = 0; s < kStrats; ++s) std::printf(" %7.1f", cell.NsPerStep(s));
    std::printf(" |");
    for (int s = 0; s < kStrats; ++s) std::printf(" %6.1f", cell.StepsPerIteration(s));
    std::printf("\n");
  }
  std::printf(
      "(ns/st: ns of CPU per scheduling step; st/it: steps per executed iteration, dpor's"
      " redundant ones included)\n");

  std::printf("\n== CPU per Run call (us, median) and CPU/wall\n");
  std::printf("%-7s %2s %2s | %10s %10s %10s %10s | %5s %5s %5s %5s\n", "work", "N", "K", "dfs",
              "dpor", "dfs-pb2", "random", "cpu%", "cpu%", "cpu%", "cpu%");
  for (const Cell& cell : cells) {
    std::printf("%-7s %2d %2d |", WorkloadName(cell.workload), cell.n, cell.k);
    for (int s = 0; s < kStrats; ++s) std::printf(" %10.1f", cell.UsPerCall(s));
    std::printf(" |");
    for (int s = 0; s < kStrats; ++s) std::printf(" %4.0f%%", 100 * cell.CpuPerWall(s));
    std::printf("\n");
  }
}

void RunExhaustivePart(const Config& config) {
  std::vector<Cell> cells;
  for (Workload w : config.workloads) {
    for (const CellSize& size : config.cells) {
      cells.push_back(Cell{.workload = w, .n = size.n, .k = size.k, .samples = {}});
    }
  }
  // Warm-up, untimed (the stack pool, first-touch page faults).
  for (Workload w : config.workloads) {
    for (int s = 0; s < kStrats; ++s) RunOnce(w, 2, 1, s, config, 1);
  }
  for (int round = 0; round < config.rounds; ++round) {
    for (Cell& cell : cells) {
      for (int i = 0; i < kStrats; ++i) {
        const int strat = (i + round) % kStrats;
        const Sample sample = Measure(cell.workload, cell.n, cell.k, strat, config, round);
        cell.samples[strat].push_back(sample);
        std::fprintf(stderr,
                     "round %d/%d %-6s N=%d K=%d %-7s %9llu schedules/call %6llu calls %7.3f s "
                     "cpu\n",
                     round + 1, config.rounds, WorkloadName(cell.workload), cell.n, cell.k,
                     kStratNames[strat], static_cast<unsigned long long>(sample.schedules_per_call),
                     static_cast<unsigned long long>(sample.calls), sample.cpu_s);
      }
    }
  }
  PrintCounts(cells);
  PrintRates(config, cells);
}

// ---------------------------------------------------------------------------
// Part 2: the linearizability checker.

// The generator's random numbers: a fixed engine (std::mt19937_64's output
// is specified by the standard), with our own draws.
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(engine_() % n); }
  double Uniform(double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(engine_() >> 11) * 0x1.0p-53;
  }

 private:
  std::mt19937_64 engine_;
};

// Operation 0 modifies (push(v) / write(v), argument v), operation 1
// observes (pop() / read()).
constexpr uint32_t kModify = 0;
constexpr uint32_t kObserve = 1;

class QueueState final : public lockstep::ModelState {
 public:
  std::unique_ptr<lockstep::ModelState> Clone() const override {
    return std::make_unique<QueueState>(*this);
  }
  std::string Apply(uint32_t operation, uint32_t argument) override {
    if (operation == kModify) {
      q_.push_back(argument);
      return "";
    }
    if (q_.empty()) return "empty";
    const uint32_t v = q_.front();
    q_.pop_front();
    return std::to_string(v);
  }
  bool Equals(const lockstep::ModelState& other) const override {
    return q_ == static_cast<const QueueState&>(other).q_;
  }
  size_t Hash() const override {
    size_t h = q_.size();
    for (uint32_t v : q_) h = h * 31 + v;
    return h;
  }

 private:
  std::deque<uint32_t> q_;
};

class RegisterState final : public lockstep::ModelState {
 public:
  std::unique_ptr<lockstep::ModelState> Clone() const override {
    return std::make_unique<RegisterState>(*this);
  }
  std::string Apply(uint32_t operation, uint32_t argument) override {
    if (operation == kModify) {
      value_ = argument;
      return "";
    }
    return std::to_string(value_);
  }
  bool Equals(const lockstep::ModelState& other) const override {
    return value_ == static_cast<const RegisterState&>(other).value_;
  }
  size_t Hash() const override { return value_; }

 private:
  uint32_t value_ = 0;
};

std::unique_ptr<lockstep::ModelState> InitialState(Model model) {
  if (model == Model::kQueue) return std::make_unique<QueueState>();
  return std::make_unique<RegisterState>();
}

struct GeneratedHistory {
  std::vector<lockstep::HistoryEntry> linearizable;
  std::vector<lockstep::HistoryEntry> corrupt;  // one observation's result replaced
  double overlap = 0;                           // other operations each one overlaps, mean
};

struct Shape {
  double max_gap = 3;            // between an operation's call and the previous return
  double max_duration = 10;      // of an operation (at least 1)
  uint32_t queue_values = 5;     // push(1..queue_values)
  uint32_t register_values = 4;  // write(1..register_values)
};

GeneratedHistory Generate(Model model, int threads, int ops, const Shape& shape, uint64_t seed) {
  Random random(seed);
  struct Op {
    lockstep::HistoryEntry entry;
    double invoked, linearized, responded;
  };
  std::vector<Op> history;
  const int per_thread = ops / threads;
  for (int t = 1; t <= threads; ++t) {
    double now = 0;
    for (int i = 0; i < per_thread; ++i) {
      Op op;
      op.entry.part = static_cast<uint32_t>(t);
      op.entry.operation = random.Below(2) == 0 ? kModify : kObserve;
      const uint32_t values = model == Model::kQueue ? shape.queue_values : shape.register_values;
      op.entry.argument = op.entry.operation == kModify ? 1 + random.Below(values) : 0;
      const char* name = model == Model::kQueue
                             ? (op.entry.operation == kModify ? "push" : "pop")
                             : (op.entry.operation == kModify ? "write" : "read");
      op.entry.call = std::string(name) + "(" +
                      (op.entry.operation == kModify ? std::to_string(op.entry.argument) : "") +
                      ")";
      op.invoked = now + random.Uniform(0, shape.max_gap);
      op.responded = op.invoked + random.Uniform(1, shape.max_duration);
      op.linearized = random.Uniform(op.invoked, op.responded);
      now = op.responded;
      history.push_back(std::move(op));
    }
  }
  // The results: the model applied in the order of the linearization points.
  std::vector<size_t> by_point(history.size());
  for (size_t i = 0; i < by_point.size(); ++i) by_point[i] = i;
  std::sort(by_point.begin(), by_point.end(),
            [&](size_t a, size_t b) { return history[a].linearized < history[b].linearized; });
  std::unique_ptr<lockstep::ModelState> state = InitialState(model);
  for (size_t i : by_point) {
    history[i].entry.result = state->Apply(history[i].entry.operation, history[i].entry.argument);
  }
  // Logical times: the calls and returns numbered in time order.
  struct Event {
    double time;
    size_t op;
    bool call;
  };
  std::vector<Event> events;
  for (size_t i = 0; i < history.size(); ++i) {
    events.push_back({history[i].invoked, i, true});
    events.push_back({history[i].responded, i, false});
  }
  std::sort(events.begin(), events.end(),
            [](const Event& a, const Event& b) { return a.time < b.time; });
  for (size_t e = 0; e < events.size(); ++e) {
    lockstep::HistoryEntry& entry = history[events[e].op].entry;
    (events[e].call ? entry.invoked : entry.responded) = e + 1;
  }

  GeneratedHistory out;
  uint64_t overlapping = 0;  // ordered pairs
  for (const Op& a : history) {
    for (const Op& b : history) {
      if (&a != &b && a.invoked < b.responded && b.invoked < a.responded) ++overlapping;
    }
  }
  out.overlap = static_cast<double>(overlapping) / static_cast<double>(history.size());
  for (const Op& op : history) out.linearizable.push_back(op.entry);
  out.corrupt = out.linearizable;
  std::vector<size_t> observations;
  for (size_t i = 0; i < out.corrupt.size(); ++i) {
    if (out.corrupt[i].operation == kObserve) observations.push_back(i);
  }
  if (observations.empty()) Die("a generated history has no observation to corrupt");
  out.corrupt[observations[random.Below(static_cast<uint32_t>(observations.size()))]].result =
      std::to_string((model == Model::kQueue ? shape.queue_values : shape.register_values) + 1);
  return out;
}

// One history's checks, run in a child process (see CheckInChild).
struct Checks {
  std::vector<double> ms;  // CPU per check, one per round completed
  uint64_t states = 0;
  bool over_time = false;    // killed at --lin_limit_s (some checks may have completed)
  bool over_memory = false;  // out of memory at --lin_limit_mib
};

// What the child writes to the pipe after each check.
struct CheckRecord {
  double ms;
  uint64_t states;
  bool linearizable;
};

constexpr int kOutOfMemoryExit = 3;

// Checks `history` `rounds` times in a forked child, with its CPU time and
// (when limit_mib > 0) its address space limited: a check that explodes
// reports over_time or over_memory instead of taking the machine. Every
// check starts on the heap the parent left (no earlier check's garbage).
// The verdicts are checked against `expect_linearizable`.
Checks CheckInChild(const std::vector<lockstep::HistoryEntry>& history, Model model,
                    uint32_t threads, bool expect_linearizable, const Config& config,
                    const std::string& what) {
  int fds[2];
  if (pipe(fds) != 0) Die("pipe failed");
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) Die("fork failed");
  if (pid == 0) {
    close(fds[0]);
    rlimit core{0, 0};
    setrlimit(RLIMIT_CORE, &core);
    if (config.lin_limit_mib > 0) {
      const rlim_t bytes = static_cast<rlim_t>(config.lin_limit_mib) << 20;
      rlimit as{bytes, bytes};
      setrlimit(RLIMIT_AS, &as);
    }
    const std::unique_ptr<lockstep::ModelState> initial = InitialState(model);
    try {
      for (int round = 0; round < config.rounds; ++round) {
        // The CPU limit of this check: SIGPROF (which ends the child) once
        // the process has used lin_limit_s more CPU.
        const auto limit_us = static_cast<long long>(config.lin_limit_s * 1e6);
        itimerval limit{};
        limit.it_value.tv_sec = static_cast<time_t>(limit_us / 1'000'000);
        limit.it_value.tv_usec = static_cast<suseconds_t>(limit_us % 1'000'000);
        setitimer(ITIMER_PROF, &limit, nullptr);
        const double start = ThreadCpuSeconds();
        const lockstep::LinearizabilityVerdict verdict =
            lockstep::CheckLinearizable(history, *initial, threads);
        const CheckRecord record{(ThreadCpuSeconds() - start) * 1e3, verdict.states,
                                 verdict.linearizable};
        if (write(fds[1], &record, sizeof record) != static_cast<ssize_t>(sizeof record)) {
          _exit(2);
        }
      }
    } catch (const std::bad_alloc&) {
      _exit(kOutOfMemoryExit);
    }
    _exit(0);
  }
  close(fds[1]);
  Checks checks;
  CheckRecord record{};
  size_t got = 0;
  for (;;) {
    const ssize_t n = read(fds[0], reinterpret_cast<char*>(&record) + got, sizeof record - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
    if (got < sizeof record) continue;
    got = 0;
    if (record.linearizable != expect_linearizable) {
      Die(what + ": the checker says " +
          (record.linearizable ? "linearizable" : "not linearizable"));
    }
    checks.ms.push_back(record.ms);
    checks.states = record.states;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) Die("waitpid failed");
  }
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGPROF) {
    checks.over_time = true;
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == kOutOfMemoryExit) {
    checks.over_memory = true;
  } else if (config.lin_limit_mib > 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) {
    // std::bad_alloc where it cannot propagate (std::terminate).
    std::fprintf(stderr, "  %s: the checking child aborted; taken as out of memory\n",
                 what.c_str());
    checks.over_memory = true;
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Die(what + ": the checking child failed (status " + std::to_string(status) + ")");
  }
  if (checks.ms.empty() && !checks.over_time && !checks.over_memory) {
    Die(what + ": the checking child reported nothing");
  }
  return checks;
}

struct LinCase {
  Model model;
  int ops;
  bool corrupt;
  std::vector<std::vector<lockstep::HistoryEntry>> histories;
  std::vector<Checks> checks;  // per history
  double overlap = 0;          // mean over the histories
};

void RunLinearizabilityPart(const Config& config) {
  const uint32_t threads = static_cast<uint32_t>(config.lin_threads);
  const Shape shape{.max_gap = config.lin_max_gap,
                    .max_duration = config.lin_max_duration,
                    .queue_values = static_cast<uint32_t>(config.lin_queue_values),
                    .register_values = static_cast<uint32_t>(config.lin_register_values)};
  std::vector<LinCase> cases;
  for (int ops : config.lin_ops) {
    for (Model model : config.lin_models) {
      LinCase good{.model = model,
                   .ops = ops,
                   .corrupt = false,
                   .histories = {},
                   .checks = {},
                   .overlap = 0};
      LinCase bad = good;
      bad.corrupt = true;
      for (int h = 0; h < config.lin_histories; ++h) {
        const uint64_t seed = 1000003 * static_cast<uint64_t>(ops) +
                              7919 * static_cast<uint64_t>(config.lin_first_history + h) +
                              (model == Model::kQueue ? 0 : 1);
        GeneratedHistory generated = Generate(model, config.lin_threads, ops, shape, seed);
        good.overlap += generated.overlap / config.lin_histories;
        bad.overlap += generated.overlap / config.lin_histories;
        good.histories.push_back(std::move(generated.linearizable));
        bad.histories.push_back(std::move(generated.corrupt));
      }
      cases.push_back(std::move(good));
      cases.push_back(std::move(bad));
    }
  }
  for (LinCase& c : cases) {
    const double start = WallSeconds();
    for (size_t h = 0; h < c.histories.size(); ++h) {
      const std::string what = std::string(ModelName(c.model)) + " " + std::to_string(c.ops) +
                               " ops " + (c.corrupt ? "corrupt" : "linearizable") + " history " +
                               std::to_string(config.lin_first_history + h);
      Checks checks = CheckInChild(c.histories[h], c.model, threads, !c.corrupt, config, what);
      const double ms = checks.ms.empty() ? 0 : Median(checks.ms);
      if (checks.over_time || checks.over_memory || ms >= 100) {
        if (checks.over_time || checks.over_memory) {
          std::string done;
          if (!checks.ms.empty()) {
            char buf[96];
            std::snprintf(buf, sizeof(buf), " after %zu check(s), median %.1f ms", checks.ms.size(),
                          ms);
            done = buf;
          }
          std::fprintf(stderr, "  slow check: %s: over the %s limit%s\n", what.c_str(),
                       checks.over_time ? "CPU" : "memory", done.c_str());
        } else {
          std::fprintf(stderr, "  slow check: %s: %.1f ms, %llu states\n", what.c_str(), ms,
                       static_cast<unsigned long long>(checks.states));
        }
      }
      c.checks.push_back(std::move(checks));
    }
    std::fprintf(stderr, "%-8s %3d ops %-12s %zu histories x %d checks %7.3f s wall\n",
                 ModelName(c.model), c.ops, c.corrupt ? "corrupt" : "linearizable",
                 c.histories.size(), config.rounds, WallSeconds() - start);
  }

  std::printf(
      "\n== Linearizability checker: CheckLinearizable on %d histories per row, %d threads, "
      "gaps 0..%g, durations 1..%g; each history checked %d time(s) in a child process, each "
      "check limited to %g s CPU%s\n",
      config.lin_histories, config.lin_threads, config.lin_max_gap, config.lin_max_duration,
      config.rounds, config.lin_limit_s,
      config.lin_limit_mib > 0 ? (" and " + std::to_string(config.lin_limit_mib) + " MiB").c_str()
                               : "");
  std::printf("%-8s %4s %-12s %7s | %10s %10s %10s %4s %5s | %9s %9s | %8s\n", "model", "ops",
              "variant", "overlap", "ms median", "ms p90", "ms max", ">1s", "limit", "states",
              "states", "us/state");
  std::printf("%-8s %4s %-12s %7s | %10s %10s %10s %4s %5s | %9s %9s | %8s\n", "", "", "", "", "",
              "", "", "", "", "median", "max", "median");
  for (const LinCase& c : cases) {
    // Over a limit: +infinity (they sort last); states: unknown, left out.
    std::vector<double> ms, states, us_per_state;
    int over_limit = 0;
    for (const Checks& checks : c.checks) {
      if (checks.over_time || checks.over_memory) {
        ++over_limit;
        ms.push_back(HUGE_VAL);
        continue;
      }
      const double m = Median(checks.ms);
      ms.push_back(m);
      states.push_back(static_cast<double>(checks.states));
      us_per_state.push_back(m * 1e3 / static_cast<double>(checks.states));
    }
    const auto over_a_second =
        std::count_if(ms.begin(), ms.end(), [](double m) { return m >= 1e3; });
    auto show = [](double m) {
      char buf[32];
      if (m == HUGE_VAL) return std::string("limit");
      std::snprintf(buf, sizeof(buf), "%.3f", m);
      return std::string(buf);
    };
    char states_text[64] = "        -         - |        -";
    if (!states.empty()) {
      std::snprintf(states_text, sizeof(states_text), "%9.0f %9.0f | %8.3f", Median(states),
                    Percentile(states, 1.0), Median(us_per_state));
    }
    std::printf("%-8s %4d %-12s %7.2f | %10s %10s %10s %4ld %5d | %s\n", ModelName(c.model), c.ops,
                c.corrupt ? "corrupt" : "linearizable", c.overlap, show(Median(ms)).c_str(),
                show(Percentile(ms, 0.9)).c_str(), show(Percentile(ms, 1.0)).c_str(),
                static_cast<long>(over_a_second), over_limit, states_text);
  }
  std::printf(
      "(ms: CPU time per check, each history's median over its checks; p90: the 90th percentile "
      "over the histories (nearest rank); >1s: histories whose check took a second or more, "
      "those over a limit included; limit: histories with a check over the CPU or memory limit "
      "(counted as slowest, their states left out); overlap: operations whose interval "
      "overlaps an operation's, mean; states: LinearizabilityVerdict::states)\n");
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

double ParseNonNegative(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value >= 0)) Die(flag + ": not a number >= 0: " + text);
  return value;
}

void Usage() {
  std::printf(
      "usage: exhaustive_bench [--parts=exhaustive,linearizability]\n"
      "                        [--cells=2x1,2x2,2x3,3x1,3x2] [--workloads=mutex,atomic]\n"
      "                        [--cap=2000000] [--random_schedules=20000] [--min_time=0.2]\n"
      "                        [--rounds=3] [--lin_ops=100,200,400] [--lin_threads=4]\n"
      "                        [--lin_histories=20] [--lin_first_history=0]\n"
      "                        [--lin_max_gap=3] [--lin_max_duration=10]\n"
      "                        [--lin_queue_values=5] [--lin_register_values=4]\n"
      "                        [--lin_models=queue,register] [--lin_limit_s=2]\n"
      "                        [--lin_limit_mib=4096 (0: none)]\n"
      "                        [--quick]\n");
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
    } else if (name == "--quick") {
      // A few seconds even under the sanitizers: the smoke test.
      config.cells = {{2, 1}, {2, 2}};
      config.cap = 200;
      config.random_schedules = 50;
      config.min_time = 0;
      config.rounds = 1;
      config.lin_ops = {40};
      config.lin_histories = 3;
      config.lin_limit_mib = 0;  // the sanitizers reserve terabytes of address space
    } else if (name == "--cells") {
      config.cells.clear();
      for (const std::string& part : Split(value)) {
        const size_t x = part.find('x');
        if (x == std::string::npos) Die("--cells: " + part + " is not NxK");
        config.cells.push_back({static_cast<int>(ParsePositive(name, part.substr(0, x))),
                                static_cast<int>(ParsePositive(name, part.substr(x + 1)))});
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
    } else if (name == "--parts") {
      config.exhaustive_part = config.linearizability_part = false;
      for (const std::string& part : Split(value)) {
        if (part == "exhaustive") {
          config.exhaustive_part = true;
        } else if (part == "linearizability") {
          config.linearizability_part = true;
        } else {
          Die("--parts: " + part + " is not exhaustive or linearizability");
        }
      }
    } else if (name == "--cap") {
      config.cap = static_cast<uint64_t>(ParsePositive(name, value));
    } else if (name == "--random_schedules") {
      config.random_schedules = static_cast<uint64_t>(ParsePositive(name, value));
    } else if (name == "--min_time") {
      config.min_time = ParseNonNegative(name, value);
    } else if (name == "--lin_max_gap") {
      config.lin_max_gap = ParseNonNegative(name, value);
    } else if (name == "--lin_max_duration") {
      config.lin_max_duration = ParseNonNegative(name, value);
      if (config.lin_max_duration < 1) Die("--lin_max_duration: below 1");
    } else if (name == "--rounds") {
      config.rounds = static_cast<int>(ParsePositive(name, value));
    } else if (name == "--lin_ops") {
      config.lin_ops.clear();
      for (const std::string& part : Split(value)) {
        config.lin_ops.push_back(static_cast<int>(ParsePositive(name, part)));
      }
    } else if (name == "--lin_threads") {
      config.lin_threads = static_cast<int>(ParsePositive(name, value));
    } else if (name == "--lin_models") {
      config.lin_models.clear();
      for (const std::string& part : Split(value)) {
        if (part == "queue") {
          config.lin_models.push_back(Model::kQueue);
        } else if (part == "register") {
          config.lin_models.push_back(Model::kRegister);
        } else {
          Die("--lin_models: " + part + " is not queue or register");
        }
      }
    } else if (name == "--lin_limit_s") {
      config.lin_limit_s = ParseNonNegative(name, value);
      if (config.lin_limit_s < 1) Die("--lin_limit_s: below 1");
    } else if (name == "--lin_limit_mib") {
      config.lin_limit_mib = value == "0" ? 0 : ParsePositive(name, value);
    } else if (name == "--lin_queue_values") {
      config.lin_queue_values = static_cast<int>(ParsePositive(name, value));
    } else if (name == "--lin_register_values") {
      config.lin_register_values = static_cast<int>(ParsePositive(name, value));
    } else if (name == "--lin_first_history") {
      config.lin_first_history = value == "0" ? 0 : static_cast<int>(ParsePositive(name, value));
    } else if (name == "--lin_histories") {
      config.lin_histories = static_cast<int>(ParsePositive(name, value));
    } else {
      Usage();
      Die("unknown flag " + arg);
    }
  }
  for (int ops : config.lin_ops) {
    if (ops % config.lin_threads != 0) {
      Die("--lin_ops: " + std::to_string(ops) + " is not a multiple of --lin_threads");
    }
  }
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  const Config config = ParseFlags(argc, argv);
  const double start_wall = WallSeconds();
  const double start_cpu = CpuSeconds();
  std::printf(
      "exhaustive_bench: dfs/dpor cap %llu iterations, random %llu schedules per call, "
      ">= %.3f s CPU per measurement, %d round(s)\n",
      static_cast<unsigned long long>(config.cap),
      static_cast<unsigned long long>(config.random_schedules), config.min_time, config.rounds);
  std::printf("load average at start: %s\n", LoadAverage().c_str());
  std::fflush(stdout);

  if (config.exhaustive_part) RunExhaustivePart(config);
  std::fflush(stdout);
  if (config.linearizability_part) RunLinearizabilityPart(config);

  std::printf("\nload average at end: %s\n", LoadAverage().c_str());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  rusage children{};
  getrusage(RUSAGE_CHILDREN, &children);
  const double children_cpu =
      static_cast<double>(children.ru_utime.tv_sec + children.ru_stime.tv_sec) +
      static_cast<double>(children.ru_utime.tv_usec + children.ru_stime.tv_usec) * 1e-6;
  std::printf(
      "total: %.1f s wall, %.1f s CPU (and %.1f s in the checking children), peak RSS %.1f MiB "
      "(the largest child's: %.1f MiB)\n",
      WallSeconds() - start_wall, CpuSeconds() - start_cpu, children_cpu,
      static_cast<double>(usage.ru_maxrss) / 1024, static_cast<double>(children.ru_maxrss) / 1024);
  return 0;
}
