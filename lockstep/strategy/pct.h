// PctStrategy: probabilistic concurrency testing (PCT), from Burckhardt,
// Kothari, Musuvathi and Nagarakatte, "A Randomized Scheduler with
// Probabilistic Guarantees of Finding Bugs", ASPLOS 2010.
//
// What it does, per iteration:
//  * Every thread gets a random initial priority when it is created (the
//    main thread right after BeginIteration, spawned threads when they are
//    announced). Priorities are distinct random 64-bit values in a high band,
//    which is the same as inserting the new thread at a uniformly random
//    position of the priority order, as the paper does for dynamic creation.
//  * d-1 priority change points k_1..k_{d-1} are drawn uniformly from [1, k]
//    (distinct whenever k >= d-1). When the scheduling step reaches k_i, the
//    thread that would run (the highest-priority enabled one) gets priority
//    d-i, below every initial priority, before the pick.
//  * At every scheduling point the highest-priority enabled thread runs.
//
// Parameters: depth d >= 1 (d = 1: no change points; every iteration runs the
// threads in one random priority order without preemptions). k is the step
// estimate, see below.
//
// Guarantee (the paper's theorem): for a test with at most n threads and at
// most k steps, a bug of depth d (one that needs d specific ordering
// constraints) is found in each iteration with probability at least
// 1/(n * k^(d-1)).
//
// Step estimate k: fixed when the constructor is given one (the
// pct_step_estimate option). Otherwise 100 for iteration 0, and for every
// later iteration the step count of iteration 0 (at least 1), as reported
// through EndIteration: iteration 0 calibrates. So iteration i's decisions
// depend only on its seed, the depth and k, never on the iterations between:
// any iteration re-runs alone from (seed, i, k), and shards of a run (which
// each run iteration 0 first) make exactly the decisions one run would. An
// iteration i > 0 that begins before iteration 0 has ended on this object
// and without a fixed k uses 100; Config() records the k used either way.
//
// Yield (a Lockstep extension, not in the paper): when the current thread's
// pending operation is kYield, its priority drops below every other thread's
// (below the change-point band too) before the pick. A spin loop that yields
// then lets the thread it waits for progress, instead of PCT's strict priority
// order starving it forever. Each such drop goes below all earlier drops, so
// several yielding threads take turns.
//
// Change points whose step is passed without a scheduling point (if the
// controller skipped calling PickThread) apply at the next scheduling point.
#ifndef LOCKSTEP_STRATEGY_PCT_H_
#define LOCKSTEP_STRATEGY_PCT_H_

#include <cstdint>
#include <span>
#include <vector>

#include "lockstep/internal/prng.h"
#include "lockstep/strategy/strategy.h"

namespace lockstep {

class PctStrategy final : public Strategy {
 public:
  // k for the first iteration, before any step count is known.
  static constexpr uint64_t kInitialStepEstimate = 100;

  // `depth` >= 1 (MakeStrategy validates it; 0 is treated as 1).
  // `step_estimate`: a fixed k; 0 calibrates it on iteration 0.
  explicit PctStrategy(uint32_t depth, uint64_t step_estimate = 0);

  // Reseeds, fixes k for this iteration and draws the change points.
  void BeginIteration(uint64_t iteration, uint64_t seed) override;
  // Gives `thread` a random initial priority.
  void OnThreadCreated(uint32_t thread) override;
  // Applies the yield rule and due change points, then returns the
  // highest-priority enabled thread (ties, which are practically impossible,
  // go to the lower id).
  uint32_t PickThread(const SchedulingPoint& point) override;
  // Uniform in [0, n), from the iteration's generator.
  uint32_t PickValue(uint32_t n) override;
  // Iteration 0: records `steps` as the step estimate of later iterations.
  void EndIteration(uint64_t steps) override;
  // name "pct", pct_depth = depth.
  StrategyConfig Config() const override;

  // The depth of the next BeginIteration onwards (used by idpct; >= 1).
  void set_depth(uint32_t depth);
  uint32_t depth() const { return depth_; }
  // k of the current iteration (before the first BeginIteration: the k the
  // next iteration will use).
  uint64_t step_estimate() const { return step_estimate_; }
  // The priority of `thread` in the current iteration (tests, debugging).
  uint64_t PriorityOf(uint32_t thread) const {
    return thread < priorities_.size() ? priorities_[thread] : 0;
  }

 private:
  struct ChangePoint {
    uint64_t step;
    uint64_t priority;
  };

  uint64_t DrawInitialPriority() { return prng_.Next() | kInitialBand; }
  // Highest-priority enabled thread; announces unknown ids first. Kept from
  // the last call while neither the enabled set nor a priority changed.
  uint32_t Top(const SchedulingPoint& point);
  // A priority changed: the next Top rescans.
  void ForgetTop() { top_version_ = 0; }

  // Initial priorities have the top bit set; change point i gets
  // kChangeBase + d - i; yields count down from kChangeBase. So yielded
  // threads < changed threads < fresh threads, as the comment above says.
  static constexpr uint64_t kInitialBand = uint64_t{1} << 63;
  static constexpr uint64_t kChangeBase = uint64_t{1} << 62;

  uint32_t depth_;
  internal::Prng prng_{0};
  uint64_t fixed_step_estimate_;  // 0: calibrated
  uint64_t step_estimate_;
  uint64_t iteration_ = 0;
  uint64_t calibrated_ = 0;  // iteration 0's step count (at least 1); 0: not yet
  // Reused across iterations; indexed by thread id.
  std::vector<uint64_t> priorities_;
  // This iteration's change points sorted by step; next_change_ is the first
  // one not yet applied.
  std::vector<ChangePoint> change_points_;
  size_t next_change_ = 0;
  uint64_t next_yield_priority_ = kChangeBase;
  // The last Top and the enabled set's version it was computed for (0: none).
  uint32_t top_ = 0;
  uint64_t top_version_ = 0;
};

}  // namespace lockstep

#endif  // LOCKSTEP_STRATEGY_PCT_H_
