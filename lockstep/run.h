// Running a test body under controlled scheduling: the controlled runner.
#ifndef LOCKSTEP_RUN_H_
#define LOCKSTEP_RUN_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "absl/status/status.h"
#include "lockstep/options.h"
#include "lockstep/trace.pb.h"

namespace lockstep {

struct RunResult {
  // Not OK when the options were invalid (nothing ran then).
  absl::Status status;
  // Iterations executed (including the failing one).
  uint64_t iterations = 0;
  // Distinct decision sequences among them.
  uint64_t distinct_schedules = 0;
  // Distinct ordered pairs of conflicting operations by call site that the
  // schedules made happen (see internal/conflict_coverage.h): when more
  // schedules stop adding pairs, they are unlikely to find new behaviour.
  uint64_t conflict_pairs = 0;
  // Exhaustive strategies (dfs, dpor): every schedule was explored and
  // passed (the run stopped before `iterations` because none was left): the
  // test is verified for every schedule, up to the preemption bound if any.
  bool exhausted = false;
  // Exhaustive strategies: iterations cut short as redundant or belonging to
  // another shard (Strategy::RedundantIterations); the schedules explored are
  // iterations - redundant_iterations.
  uint64_t redundant_iterations = 0;
  // Scheduling steps over all iterations.
  uint64_t total_steps = 0;
  std::chrono::nanoseconds elapsed{0};
  // The failing iteration, re-executed with full recording: its trace has a
  // failure. For a replay (Options::replay), the replayed iteration's trace,
  // with or without a failure.
  std::optional<Trace> trace;

  bool failed() const { return trace.has_value() && trace->has_failure(); }
};

class Runner {
 public:
  // Runs `body` as the main logical thread, once per iteration, each time
  // under the schedule the strategy chooses, until an iteration fails, the
  // iterations or the time budget run out. Same seed and options give the
  // same decisions on every platform. Must not be called from inside a run.
  static RunResult Run(const std::function<void()>& body, const Options& options = Options());
};

}  // namespace lockstep

#endif  // LOCKSTEP_RUN_H_
