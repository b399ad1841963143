// FairPctStrategy: PCT for a prefix of each iteration, then uniformly random
// scheduling.
//
// What it does: scheduling steps 1..prefix are decided by a PctStrategy of
// the given depth (see pct.h); every later step picks a uniformly random
// enabled thread. choose(n) is always answered by the PCT part (uniform).
// PCT is deliberately unfair: a thread spinning on a flag with plain loads
// can keep the top priority forever and starve the thread that would set the
// flag, so the iteration only ends at max_steps. Switching to random after
// the prefix makes every enabled thread run eventually, so such spin loops
// terminate, while the prefix keeps PCT's power for bugs early in the run.
//
// Parameters: depth d >= 1 (PCT depth), prefix >= 1 (steps under PCT).
// Source: PCT from Burckhardt et al., ASPLOS'10; the "PCT prefix, then
// random" hybrid is Coyote's fair-prioritization strategy.
// Guarantee: a bug of depth d whose ordering constraints all fall within the
// first `prefix` steps is found with PCT's probability, at least
// 1/(n * k^(d-1)) with k = min(step estimate, prefix); after the prefix the
// random scheduler's guarantee applies (every schedule suffix is possible).
//
// The PCT step estimate is fed min(steps, prefix), because change points
// after the prefix would never fire.
#ifndef LOCKSTEP_STRATEGY_FAIR_PCT_H_
#define LOCKSTEP_STRATEGY_FAIR_PCT_H_

#include <cstdint>

#include "lockstep/internal/prng.h"
#include "lockstep/strategy/pct.h"
#include "lockstep/strategy/strategy.h"

namespace lockstep {

class FairPctStrategy final : public Strategy {
 public:
  // `depth` >= 1, `prefix` >= 1 (MakeStrategy validates both).
  // `step_estimate`: PCT's fixed k; 0 calibrates it on iteration 0.
  FairPctStrategy(uint32_t depth, uint32_t prefix, uint64_t step_estimate = 0);

  // Starts the PCT part and reseeds the random part (from a value derived
  // from `seed`, so the two parts draw independent streams).
  void BeginIteration(uint64_t iteration, uint64_t seed) override;
  void OnThreadCreated(uint32_t thread) override;
  // PCT while point.step <= prefix, uniformly random afterwards.
  uint32_t PickThread(const SchedulingPoint& point) override;
  // Uniform in [0, n).
  uint32_t PickValue(uint32_t n) override;
  void OnExecuted(uint32_t thread, const PendingOp& op) override;
  void EndIteration(uint64_t steps) override;
  // name "fair_pct", pct_depth, fair_prefix.
  StrategyConfig Config() const override;

  uint32_t prefix() const { return prefix_; }
  const PctStrategy& pct() const { return pct_; }

 private:
  PctStrategy pct_;
  uint32_t prefix_;
  internal::Prng random_{0};
};

}  // namespace lockstep

#endif  // LOCKSTEP_STRATEGY_FAIR_PCT_H_
