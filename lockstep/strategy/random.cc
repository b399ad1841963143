// The RandomStrategy; what it does, its parameters, source paper and
// guarantee are documented at the top of random.h.

#include "lockstep/strategy/random.h"

#include <cstdint>

namespace lockstep {

void RandomStrategy::BeginIteration(uint64_t /*iteration*/, uint64_t seed) { prng_.Reseed(seed); }

void RandomStrategy::OnThreadCreated(uint32_t /*thread*/) {}

uint32_t RandomStrategy::PickThread(const SchedulingPoint& point) {
  return point.enabled[prng_.Below(static_cast<uint32_t>(point.enabled.size()))];
}

uint32_t RandomStrategy::PickValue(uint32_t n) { return prng_.Below(n); }

StrategyConfig RandomStrategy::Config() const {
  StrategyConfig config;
  config.set_name("random");
  return config;
}

}  // namespace lockstep
