// Options of a Lockstep run.
#ifndef LOCKSTEP_OPTIONS_H_
#define LOCKSTEP_OPTIONS_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lockstep {

class Trace;

// The exploration strategies (one file each under lockstep/strategy/).
enum class StrategyKind {
  kRandom,   // uniformly random enabled thread at every step
  kPct,      // PCT, Burckhardt et al., ASPLOS'10 (depth pct_depth)
  kFairPct,  // PCT for fair_prefix steps, then random (spin loops terminate)
  kPos,      // partial-order sampling, Yuan et al., CAV'18
  kIdPct,    // PCT whose depth cycles 1, 2, ..., pct_depth over iterations
  // Exhaustive (strategy/dfs.h): every schedule, one per iteration, until
  // all are explored ("verified") or `iterations` is reached.
  kDfs,   // depth-first, optionally bounded by preemption_bound
  kDpor,  // dynamic partial-order reduction: one schedule per equivalence class
};

// Whether `kind` explores every schedule (dfs, dpor) instead of sampling.
bool IsExhaustive(StrategyKind kind);

// "random", "pct", "fair_pct", "pos", "idpct", "dfs", "dpor".
std::string_view StrategyKindName(StrategyKind kind);

// Parses a name produced by StrategyKindName; the error lists the names.
absl::StatusOr<StrategyKind> ParseStrategyKind(std::string_view name);

// Instrumented code (compiled with -fsanitize=thread, see
// lockstep/instrument): which of its plain memory accesses (to memory other
// than the thread's own stack) are scheduling points. Its atomic operations
// always are.
enum class Accesses {
  kNone,  // none
  kRacy,  // those at instructions found racing in earlier iterations
  kAll,   // every one
};
// "none", "racy", "all".
std::string_view AccessesName(Accesses accesses);
absl::StatusOr<Accesses> ParseAccesses(std::string_view name);

// What a data race found in instrumented code does.
enum class RaceMode {
  kFail,    // fails the iteration (DATA_RACE), with both accesses
  kReport,  // printed once per pair of instructions; exploration goes on
  kIgnore,  // nothing (with accesses = racy, the sites still become points)
};
// "fail", "report", "ignore".
std::string_view RaceModeName(RaceMode mode);
absl::StatusOr<RaceMode> ParseRaceMode(std::string_view name);

// One of `count` runs that together explore what one run would (see
// Options::shard).
struct Shard {
  uint32_t index = 0;  // < count
  uint32_t count = 1;  // >= 1
};

struct Options;

// Checks the options every runner shares: iterations, max_steps, budgets,
// watchdog, shard. The error names the option.
absl::Status ValidateExploration(const Options& options);

struct Options {
  // Iterations (schedules) to explore, numbered 0..iterations-1; exploration
  // stops at the first failure. For dfs and dpor, a cap: they stop earlier
  // when every schedule has been explored.
  uint64_t iterations = 100;
  // Base seed; iteration i runs with internal::IterationSeed(seed, i). Its
  // schedule depends only on the seed, i, the strategy's options and
  // pct_step_estimate, never on the iterations run before it.
  uint64_t seed = 1;
  // When set, run only this iteration (one-step reproduction), ignoring
  // `iterations` and `shard`. For dfs and dpor, whose iteration i is the
  // i-th schedule of a search, the run explores iterations 0..i in order
  // (the trace replays one schedule alone).
  std::optional<uint64_t> only_iteration{};
  // Split the iterations across runs (GoogleTest shards, machines): every
  // shard runs iteration 0 (it calibrates the PCT step estimate) and then
  // iterations i >= 1 with i % shard.count == shard.index, and gets
  // time_budget / shard.count. Together the shards run exactly the
  // iterations, with the same schedules, as one run. dfs and dpor instead
  // split the tree of schedules: each shard explores the subtrees below the
  // first few choices that a hash of them deals to it (see strategy/dfs.h),
  // up to `iterations` schedules each.
  Shard shard{};
  StrategyKind strategy = StrategyKind::kPct;
  // PCT bug depth d: d-1 priority change points per iteration (>= 1).
  uint32_t pct_depth = 3;
  // pct, fair_pct, idpct: the step estimate k change points are drawn from
  // (see strategy/pct.h); 0: 100 for iteration 0, then iteration 0's step
  // count. The trace of a failing iteration records the k it ran with.
  uint64_t pct_step_estimate = 0;
  // fair_pct: scheduling steps run under PCT before switching to random.
  uint32_t fair_prefix = 1000;
  // dfs: explore only schedules with at most this many preemptions
  // (switching away from a thread that could go on); nullopt: all.
  std::optional<uint32_t> preemption_bound{};
  // Steps after which an iteration fails as a livelock.
  uint64_t max_steps = 10000;
  // Wall-clock budget: stop starting new iterations once this much time has
  // passed (zero: no budget). At least one iteration always runs.
  std::chrono::nanoseconds time_budget{0};
  // Print a progress line to stderr this often during exploration (zero:
  // never). See internal/progress.h.
  std::chrono::milliseconds progress_interval{0};
  // When set, CondVar waits may wake spuriously, as a strategy decision.
  bool spurious_wakeups = false;
  // Test identity, copied into traces.
  std::string test_suite{};
  std::string test_name{};
  // Replay: when non-null, run one iteration following this trace's
  // decisions (its seed, iteration and strategy config are taken from it).
  // Must outlive the run.
  const Trace* replay = nullptr;
  // With `replay`: a regression trace, replayed on code that may have
  // changed since (see ReplayStrategy's tolerant mode): where the code no
  // longer fits the trace, the run goes on without preemptions instead of
  // failing with NONDETERMINISM.
  bool replay_tolerant = false;
  // Process isolation: explore in a forked child process (one per run, not
  // per iteration), so that a crash, exit() or hang of the code under test
  // becomes a reported failure (CRASH, EXIT, TIMEOUT) with a trace instead of
  // ending the test binary. The failing iteration is then recorded, and a
  // replay run, in a child of its own. Off: everything runs in the calling
  // process. Ignored (off) where fork() is unavailable.
  bool isolate = true;
  // With isolation: an iteration that reaches no scheduling point for this
  // long fails with TIMEOUT (an infinite loop without Lockstep operations,
  // or a thread blocked in something Lockstep does not model).
  std::chrono::milliseconds watchdog{10000};
  // Bytes of stack of each logical thread (a fiber). A thread that needs
  // more fails with a CRASH naming the stack overflow (with isolation).
  size_t stack_size = 256 * 1024;
  // Instrumented code only (no effect without lockstep/instrument linked).
  Accesses accesses = Accesses::kRacy;
  RaceMode races = RaceMode::kFail;
};

}  // namespace lockstep

#endif  // LOCKSTEP_OPTIONS_H_
