// PosStrategy: partial order sampling (POS), from Yuan, Yang and Gu,
// "Partial Order Aware Concurrency Sampling", CAV 2018.
//
// What it does: every thread's pending operation carries a random priority.
// At each scheduling point the enabled thread whose pending operation has the
// highest priority runs. After an operation executes:
//  * the thread that executed it gets a fresh priority for its next
//    operation, and
//  * every other thread whose pending operation conflicts with the executed
//    one (PendingOp::ConflictsWith: same object, at least one write) gets a
//    fresh priority too.
// Threads whose pending operations are independent of the executed one keep
// their priorities, so the relative order of independent operations is not
// re-rolled at every step. That is what makes POS sample partial orders
// (classes of equivalent interleavings) far more evenly than a random walk,
// which over-samples partial orders with many equivalent interleavings.
// A new thread gets a fresh priority when created.
//
// Implementation choice: the re-draw is lazy. OnExecuted(thread, op) only
// remembers what executed; the next PickThread re-draws, comparing the
// executed op with the pending ops in *that* point (SchedulingPoint::pending
// holds every thread's, including threads just woken, whose pending ops are
// the up-to-date ones). The executed thread is re-drawn first, then the
// conflicting threads in ascending id order, so the draws are deterministic.
// If the controller does not call OnExecuted, the op the picked thread had
// pending when picked stands in for the executed one.
//
// Parameters: none (only the per-iteration seed).
// Guarantee: the paper proves a lower bound on the probability that POS
// samples any given partial order of the test's operations, and shows that
// for programs with many independent operations it is exponentially larger
// than a random walk's (which favours partial orders with many equivalent
// interleavings). choose(n) is uniform.
#ifndef LOCKSTEP_STRATEGY_POS_H_
#define LOCKSTEP_STRATEGY_POS_H_

#include <cstdint>
#include <vector>

#include "lockstep/internal/prng.h"
#include "lockstep/strategy/strategy.h"

namespace lockstep {

class PosStrategy final : public Strategy {
 public:
  PosStrategy();

  // Reseeds and forgets all priorities.
  void BeginIteration(uint64_t iteration, uint64_t seed) override;
  // Gives `thread` a fresh priority.
  void OnThreadCreated(uint32_t thread) override;
  // Applies the re-draws owed to the last executed operation(s), then returns
  // the enabled thread with the highest priority (ties: lower id).
  uint32_t PickThread(const SchedulingPoint& point) override;
  // Uniform in [0, n).
  uint32_t PickValue(uint32_t n) override;
  // Remembers the executed op for the next PickThread.
  void OnExecuted(uint32_t thread, const PendingOp& op) override;
  // name "pos".
  StrategyConfig Config() const override;

  // The current priority of `thread`'s pending operation (tests, debugging).
  uint64_t PriorityOf(uint32_t thread) const {
    return thread < priorities_.size() ? priorities_[thread] : 0;
  }

 private:
  struct Executed {
    uint32_t thread;
    PendingOp op;
    bool provisional;  // recorded at pick time, not yet confirmed
  };

  void Redraw(uint32_t thread);

  internal::Prng prng_{0};
  // Reused across iterations; indexed by thread id.
  std::vector<uint64_t> priorities_;
  // Operations executed since the last PickThread, oldest first (normally
  // exactly one).
  std::vector<Executed> executed_;
};

}  // namespace lockstep

#endif  // LOCKSTEP_STRATEGY_POS_H_
