// Builds the strategy a run's Options ask for.
#ifndef LOCKSTEP_STRATEGY_FACTORY_H_
#define LOCKSTEP_STRATEGY_FACTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "lockstep/options.h"
#include "lockstep/strategy/strategy.h"

namespace lockstep {

// Returns a ReplayStrategy over *options.replay when it is set, otherwise the
// strategy named by options.strategy with its parameters:
//   kRandom  -> RandomStrategy
//   kPct     -> PctStrategy(pct_depth)
//   kFairPct -> FairPctStrategy(pct_depth, fair_prefix)
//   kPos     -> PosStrategy
//   kIdPct   -> IdPctStrategy(pct_depth)   (pct_depth is the maximum depth)
//   kDfs     -> DfsStrategy(no reduction, preemption_bound, shard)
//   kDpor    -> DfsStrategy(dpor, shard)
// Fails with InvalidArgumentError naming the option when pct_depth < 1 or
// fair_prefix < 1. Both are checked whatever the strategy, so a bad flag is
// reported even if the current strategy ignores it.
absl::StatusOr<std::unique_ptr<Strategy>> MakeStrategy(const Options& options);

}  // namespace lockstep

#endif  // LOCKSTEP_STRATEGY_FACTORY_H_
