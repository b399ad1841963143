// IdPctStrategy: iterative-deepening PCT. Iteration i runs PCT (see pct.h)
// with depth 1 + (i % max_depth): depths cycle 1, 2, ..., max_depth, 1, ...
//
// Why: the depth of an unknown bug is unknown. PCT with a depth below the
// bug's may never find it, and every unneeded unit of depth weakens PCT's
// bound 1/(n * k^(d-1)) by a factor of k. Cycling the depth gives every depth
// up to max_depth a share of the iterations without the user tuning
// --lockstep_pct_depth.
//
// Parameters: max_depth >= 1.
// Source: PCT from Burckhardt et al., ASPLOS'10; iterating the depth is the
// usual iterative-deepening schedule over PCT's depth bound.
// Guarantee: over any max_depth consecutive iterations, each depth
// d <= max_depth runs once, so a bug of depth d <= max_depth is found with
// probability >= 1/(n * k^(d-1)) per cycle of max_depth iterations.
//
// One PctStrategy serves every iteration, with PCT's step estimate k (fixed,
// or iteration 0's step count; see pct.h). The depth depends only on the
// iteration number.
#ifndef LOCKSTEP_STRATEGY_IDPCT_H_
#define LOCKSTEP_STRATEGY_IDPCT_H_

#include <cstdint>

#include "lockstep/strategy/pct.h"
#include "lockstep/strategy/strategy.h"

namespace lockstep {

class IdPctStrategy final : public Strategy {
 public:
  // `max_depth` >= 1 (MakeStrategy validates it; 0 is treated as 1).
  // `step_estimate`: PCT's fixed k; 0 calibrates it on iteration 0.
  explicit IdPctStrategy(uint32_t max_depth, uint64_t step_estimate = 0);

  // Sets the depth to 1 + (iteration % max_depth), then starts PCT.
  void BeginIteration(uint64_t iteration, uint64_t seed) override;
  void OnThreadCreated(uint32_t thread) override;
  uint32_t PickThread(const SchedulingPoint& point) override;
  uint32_t PickValue(uint32_t n) override;
  void OnExecuted(uint32_t thread, const PendingOp& op) override;
  void EndIteration(uint64_t steps) override;
  // name "idpct", pct_depth = this iteration's depth, max_pct_depth.
  StrategyConfig Config() const override;

  uint32_t max_depth() const { return max_depth_; }
  const PctStrategy& pct() const { return pct_; }

 private:
  uint32_t max_depth_;
  PctStrategy pct_;
};

}  // namespace lockstep

#endif  // LOCKSTEP_STRATEGY_IDPCT_H_
