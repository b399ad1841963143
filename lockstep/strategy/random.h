// RandomStrategy: at every scheduling point, run a uniformly random enabled
// thread; choose(n) returns a uniformly random value in [0, n).
//
// Parameters: none (only the per-iteration seed).
// Source: the classic "random walk" scheduler used as the baseline in the PCT
// and POS papers and by Shuttle's RandomScheduler.
// Guarantee: every schedule of the test has a non-zero probability in every
// iteration; a bug that needs a specific ordering of n threads over k steps
// is found with probability at least 1/n^k per iteration (weak for deep
// bugs, which is why PCT and POS exist). Random scheduling is fair: a thread
// that stays enabled eventually runs, so spin loops terminate.
#ifndef LOCKSTEP_STRATEGY_RANDOM_H_
#define LOCKSTEP_STRATEGY_RANDOM_H_

#include <cstdint>

#include "lockstep/internal/prng.h"
#include "lockstep/strategy/strategy.h"

namespace lockstep {

class RandomStrategy final : public Strategy {
 public:
  RandomStrategy() = default;

  // Reseeds the generator from `seed`: iteration decisions depend on nothing
  // else.
  void BeginIteration(uint64_t iteration, uint64_t seed) override;
  void OnThreadCreated(uint32_t thread) override;
  // A uniformly random member of point.enabled.
  uint32_t PickThread(const SchedulingPoint& point) override;
  // Uniform in [0, n).
  uint32_t PickValue(uint32_t n) override;
  // name "random".
  StrategyConfig Config() const override;

 private:
  internal::Prng prng_{0};
};

}  // namespace lockstep

#endif  // LOCKSTEP_STRATEGY_RANDOM_H_
