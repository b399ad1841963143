// The FairPctStrategy; what it does, its parameters, source paper and
// guarantee are documented at the top of fair_pct.h.

#include "lockstep/strategy/fair_pct.h"

#include <algorithm>
#include <cstdint>

namespace lockstep {
namespace {

// Separates the random part's stream from the PCT part's, which is seeded
// with the iteration seed itself.
constexpr uint64_t kRandomPartSalt = 0x6661697270637421ull;  // "fairpct!"

}  // namespace

FairPctStrategy::FairPctStrategy(uint32_t depth, uint32_t prefix, uint64_t step_estimate)
    : pct_(depth, step_estimate), prefix_(std::max<uint32_t>(prefix, 1)) {}

void FairPctStrategy::BeginIteration(uint64_t iteration, uint64_t seed) {
  pct_.BeginIteration(iteration, seed);
  random_.Reseed(internal::Mix64(seed ^ kRandomPartSalt));
}

void FairPctStrategy::OnThreadCreated(uint32_t thread) { pct_.OnThreadCreated(thread); }

uint32_t FairPctStrategy::PickThread(const SchedulingPoint& point) {
  if (point.step <= prefix_) return pct_.PickThread(point);
  return point.enabled[random_.Below(static_cast<uint32_t>(point.enabled.size()))];
}

uint32_t FairPctStrategy::PickValue(uint32_t n) { return pct_.PickValue(n); }

void FairPctStrategy::OnExecuted(uint32_t thread, const PendingOp& op) {
  pct_.OnExecuted(thread, op);
}

void FairPctStrategy::EndIteration(uint64_t steps) {
  pct_.EndIteration(std::min<uint64_t>(steps, prefix_));
}

StrategyConfig FairPctStrategy::Config() const {
  StrategyConfig config = pct_.Config();
  config.set_name("fair_pct");
  config.set_fair_prefix(prefix_);
  return config;
}

}  // namespace lockstep
