#include "lockstep/internal/iteration_plan.h"

#include <algorithm>

namespace lockstep::internal {

bool CalibratesOnIterationZero(const Options& options) {
  if (options.pct_step_estimate != 0) return false;
  switch (options.strategy) {
    case StrategyKind::kPct:
    case StrategyKind::kFairPct:
    case StrategyKind::kIdPct:
      return true;
    case StrategyKind::kRandom:
    case StrategyKind::kPos:
    case StrategyKind::kDfs:
    case StrategyKind::kDpor:
      return false;
  }
  return false;
}

IterationPlan::IterationPlan(const Options& options)
    : only_(options.only_iteration), end_(options.iterations), budget_(options.time_budget) {
  const uint32_t count = std::max<uint32_t>(options.shard.count, 1);
  if (IsExhaustive(options.strategy)) {
    // Iteration i is the search's i-th schedule: all of them, in order (the
    // strategy splits the search among shards).
    zero_first_ = true;
    first_ = stride_ = 1;
    if (only_) end_ = *only_ + 1;
    only_.reset();
    budget_ /= count;
    return;
  }
  if (only_) {
    zero_first_ = *only_ > 0 && CalibratesOnIterationZero(options);
    first_ = stride_ = 0;
    return;
  }
  // Iteration 0 runs in every shard: one unsharded run's own first.
  zero_first_ = true;
  first_ = options.shard.index == 0 ? count : options.shard.index;
  stride_ = count;
  budget_ /= count;
}

std::optional<uint64_t> IterationPlan::IterationAt(uint64_t position) const {
  if (only_) {
    if (zero_first_ && position == 0) return 0;
    if (position == (zero_first_ ? 1 : 0)) return *only_;
    return std::nullopt;
  }
  if (position == 0) return end_ > 0 ? std::optional<uint64_t>(0) : std::nullopt;
  // Overflow-safe: position - 1 < (end_ - first_) / stride_ + 1.
  if (first_ >= end_ || (position - 1) > (end_ - 1 - first_) / stride_) return std::nullopt;
  return first_ + (position - 1) * stride_;
}

}  // namespace lockstep::internal
