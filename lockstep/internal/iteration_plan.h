// Which iterations a run explores, in what order, and when it stops: the
// one place that reads Options::iterations, only_iteration, shard and
// time_budget for the runners (in-process, isolated, native).
#ifndef LOCKSTEP_INTERNAL_ITERATION_PLAN_H_
#define LOCKSTEP_INTERNAL_ITERATION_PLAN_H_

#include <chrono>
#include <cstdint>
#include <optional>

#include "absl/functional/function_ref.h"
#include "lockstep/options.h"

namespace lockstep::internal {

// Whether the strategy's schedules depend on iteration 0's step count (PCT
// and its variants without a fixed pct_step_estimate).
bool CalibratesOnIterationZero(const Options& options);

class IterationPlan {
 public:
  explicit IterationPlan(const Options& options);

  // The iteration the run explores at `position` (0-based), or nullopt when
  // the plan has fewer positions. Position 0 is iteration 0 whenever the
  // schedules depend on it (see CalibratesOnIterationZero) or the run is
  // sharded; then come the run's own iterations in increasing order:
  //  * only_iteration: that one;
  //  * sharded: every i >= 1 with i % count == index, i < iterations;
  //  * otherwise, and for the exhaustive strategies (dfs, dpor) sharded or
  //    not: 1, 2, ..., iterations - 1 (only_iteration i: up to i).
  std::optional<uint64_t> IterationAt(uint64_t position) const;

  // Whether the time budget (this shard's share of it) stops the run before
  // `position` starts, `elapsed` after the run began. Position 0 always runs.
  bool OutOfTime(uint64_t position, std::chrono::nanoseconds elapsed) const {
    return position > 0 && budget_.count() > 0 && elapsed >= budget_;
  }

  // The iteration to run at `position`, `elapsed` after the run began:
  // nullopt once the plan has no more or the time budget is spent.
  std::optional<uint64_t> Next(uint64_t position, std::chrono::nanoseconds elapsed) const {
    if (OutOfTime(position, elapsed)) return std::nullopt;
    return IterationAt(position);
  }

  // The same, reading the clock (`elapsed`) only when there is a budget.
  std::optional<uint64_t> Next(uint64_t position,
                               absl::FunctionRef<std::chrono::nanoseconds()> elapsed) const {
    return Next(position, budget_.count() > 0 ? elapsed() : std::chrono::nanoseconds(0));
  }

  // This shard's share of the time budget (zero: none).
  std::chrono::nanoseconds budget() const { return budget_; }

 private:
  bool zero_first_;                  // position 0 is iteration 0
  std::optional<uint64_t> only_;     // only_iteration
  uint64_t first_;                   // the first of the run's own iterations >= 1
  uint64_t stride_;                  // between the run's own iterations
  uint64_t end_;                     // iterations
  std::chrono::nanoseconds budget_;  // this shard's
};

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_ITERATION_PLAN_H_
