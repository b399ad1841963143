// The PosStrategy; what it does, its parameters, source paper and
// guarantee are documented at the top of pos.h.

#include "lockstep/strategy/pos.h"

#include <cstdint>

namespace lockstep {

PosStrategy::PosStrategy() {
  priorities_.reserve(16);
  executed_.reserve(8);
}

void PosStrategy::BeginIteration(uint64_t /*iteration*/, uint64_t seed) {
  prng_.Reseed(seed);
  priorities_.clear();
  executed_.clear();
}

void PosStrategy::Redraw(uint32_t thread) {
  if (thread >= priorities_.size()) priorities_.resize(thread + 1, 0);
  priorities_[thread] = prng_.Next();
}

void PosStrategy::OnThreadCreated(uint32_t thread) { Redraw(thread); }

uint32_t PosStrategy::PickThread(const SchedulingPoint& point) {
  for (const Executed& done : executed_) {
    Redraw(done.thread);
    for (uint32_t other = 0; other < point.pending.size(); ++other) {
      if (other != done.thread && other < priorities_.size() &&
          point.pending[other].ConflictsWith(done.op)) {
        Redraw(other);
      }
    }
  }
  executed_.clear();

  uint32_t best = point.enabled[0];
  uint64_t best_priority = 0;
  bool first = true;
  for (uint32_t thread : point.enabled) {
    if (thread >= priorities_.size()) Redraw(thread);  // never announced
    if (first || priorities_[thread] > best_priority) {
      best = thread;
      best_priority = priorities_[thread];
      first = false;
    }
  }
  const PendingOp op = best < point.pending.size() ? point.pending[best] : PendingOp{};
  executed_.push_back({best, op, /*provisional=*/true});
  return best;
}

uint32_t PosStrategy::PickValue(uint32_t n) { return prng_.Below(n); }

void PosStrategy::OnExecuted(uint32_t thread, const PendingOp& op) {
  // The executed op is authoritative over the one guessed at pick time.
  if (!executed_.empty() && executed_.back().provisional && executed_.back().thread == thread) {
    executed_.back().op = op;
    executed_.back().provisional = false;
    return;
  }
  executed_.push_back({thread, op, /*provisional=*/false});
}

StrategyConfig PosStrategy::Config() const {
  StrategyConfig config;
  config.set_name("pos");
  return config;
}

}  // namespace lockstep
