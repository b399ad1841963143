// MakeStrategy: Options -> Strategy; see factory.h.

#include "lockstep/strategy/factory.h"

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lockstep/options.h"
#include "lockstep/strategy/dfs.h"
#include "lockstep/strategy/fair_pct.h"
#include "lockstep/strategy/idpct.h"
#include "lockstep/strategy/pct.h"
#include "lockstep/strategy/pos.h"
#include "lockstep/strategy/random.h"
#include "lockstep/strategy/replay.h"
#include "lockstep/trace.pb.h"

namespace lockstep {

absl::StatusOr<std::unique_ptr<Strategy>> MakeStrategy(const Options& options) {
  if (options.pct_depth < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("pct_depth must be at least 1, got ", options.pct_depth));
  }
  if (options.fair_prefix < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("fair_prefix must be at least 1, got ", options.fair_prefix));
  }
  if (options.replay != nullptr) {
    return std::make_unique<ReplayStrategy>(*options.replay, options.replay_tolerant);
  }
  switch (options.strategy) {
    case StrategyKind::kRandom:
      return std::make_unique<RandomStrategy>();
    case StrategyKind::kPct:
      return std::make_unique<PctStrategy>(options.pct_depth, options.pct_step_estimate);
    case StrategyKind::kFairPct:
      return std::make_unique<FairPctStrategy>(options.pct_depth, options.fair_prefix,
                                               options.pct_step_estimate);
    case StrategyKind::kPos:
      return std::make_unique<PosStrategy>();
    case StrategyKind::kIdPct:
      return std::make_unique<IdPctStrategy>(options.pct_depth, options.pct_step_estimate);
    case StrategyKind::kDfs:
    case StrategyKind::kDpor:
      return std::make_unique<DfsStrategy>(
          options.strategy == StrategyKind::kDpor ? DfsStrategy::Reduction::kDpor
                                                  : DfsStrategy::Reduction::kNone,
          options.preemption_bound, options.shard.index, options.shard.count);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown strategy kind ", static_cast<int>(options.strategy)));
}

}  // namespace lockstep
