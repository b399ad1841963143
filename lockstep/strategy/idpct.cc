// The IdPctStrategy; what it does, its parameters, source paper and
// guarantee are documented at the top of idpct.h.

#include "lockstep/strategy/idpct.h"

#include <algorithm>
#include <cstdint>

namespace lockstep {

IdPctStrategy::IdPctStrategy(uint32_t max_depth, uint64_t step_estimate)
    : max_depth_(std::max<uint32_t>(max_depth, 1)), pct_(1, step_estimate) {}

void IdPctStrategy::BeginIteration(uint64_t iteration, uint64_t seed) {
  pct_.set_depth(static_cast<uint32_t>(1 + iteration % max_depth_));
  pct_.BeginIteration(iteration, seed);
}

void IdPctStrategy::OnThreadCreated(uint32_t thread) { pct_.OnThreadCreated(thread); }

uint32_t IdPctStrategy::PickThread(const SchedulingPoint& point) { return pct_.PickThread(point); }

uint32_t IdPctStrategy::PickValue(uint32_t n) { return pct_.PickValue(n); }

void IdPctStrategy::OnExecuted(uint32_t thread, const PendingOp& op) {
  pct_.OnExecuted(thread, op);
}

void IdPctStrategy::EndIteration(uint64_t steps) { pct_.EndIteration(steps); }

StrategyConfig IdPctStrategy::Config() const {
  StrategyConfig config = pct_.Config();
  config.set_name("idpct");
  config.set_max_pct_depth(max_depth_);
  return config;
}

}  // namespace lockstep
