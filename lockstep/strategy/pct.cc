// The PctStrategy; what it does, its parameters, source paper and
// guarantee are documented at the top of pct.h.

#include "lockstep/strategy/pct.h"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace lockstep {

PctStrategy::PctStrategy(uint32_t depth, uint64_t step_estimate)
    : depth_(std::max<uint32_t>(depth, 1)),
      fixed_step_estimate_(step_estimate),
      step_estimate_(step_estimate != 0 ? step_estimate : kInitialStepEstimate) {
  priorities_.reserve(16);
}

void PctStrategy::set_depth(uint32_t depth) { depth_ = std::max<uint32_t>(depth, 1); }

void PctStrategy::BeginIteration(uint64_t iteration, uint64_t seed) {
  prng_.Reseed(seed);
  iteration_ = iteration;
  if (fixed_step_estimate_ != 0) {
    step_estimate_ = fixed_step_estimate_;
  } else {
    step_estimate_ = iteration > 0 && calibrated_ != 0 ? calibrated_ : kInitialStepEstimate;
  }
  // Every thread unknown (0), without giving back the memory.
  std::fill(priorities_.begin(), priorities_.end(), 0);
  next_yield_priority_ = kChangeBase;
  ForgetTop();

  // Draw k_1..k_{d-1} in [1, k]. Prng::Below takes 32 bits; no test runs
  // anywhere near 2^32 steps, so the clamp only guards the arithmetic.
  const auto k = static_cast<uint32_t>(
      std::min<uint64_t>(step_estimate_, std::numeric_limits<uint32_t>::max()));
  const uint32_t count = depth_ - 1;
  // Distinct points when there are enough steps for them: two change points
  // on one step would waste a unit of depth.
  const bool distinct = count <= k;
  change_points_.clear();
  change_points_.reserve(count);
  for (uint32_t i = 1; i <= count; ++i) {
    uint64_t step;
    bool taken;
    do {
      step = uint64_t{1} + prng_.Below(k);
      taken = distinct && std::any_of(change_points_.begin(), change_points_.end(),
                                      [step](const ChangePoint& c) { return c.step == step; });
    } while (taken);
    change_points_.push_back({step, kChangeBase + (depth_ - i)});
  }
  // By step; on a shared step (only when k < d-1) the higher priority, i.e.
  // the earlier-drawn point, applies first.
  std::sort(change_points_.begin(), change_points_.end(),
            [](const ChangePoint& a, const ChangePoint& b) {
              return a.step != b.step ? a.step < b.step : a.priority > b.priority;
            });
  next_change_ = 0;
}

void PctStrategy::OnThreadCreated(uint32_t thread) {
  if (thread >= priorities_.size()) priorities_.resize(thread + 1, 0);
  priorities_[thread] = DrawInitialPriority();
  ForgetTop();
}

uint32_t PctStrategy::Top(const SchedulingPoint& point) {
  if (point.enabled_version != 0 && point.enabled_version == top_version_) return top_;
  uint32_t best = point.enabled[0];
  uint64_t best_priority = 0;  // every priority is above 0
  for (uint32_t thread : point.enabled) {
    // A thread the controller never announced still gets a random priority
    // rather than a crash; the draw order stays deterministic.
    if (thread >= priorities_.size() || priorities_[thread] == 0) OnThreadCreated(thread);
    const uint64_t priority = priorities_[thread];
    if (priority > best_priority) {  // ascending ids: ties keep the lower
      best = thread;
      best_priority = priority;
    }
  }
  top_ = best;
  top_version_ = point.enabled_version;
  return best;
}

uint32_t PctStrategy::PickThread(const SchedulingPoint& point) {
  // Yield rule: see the header.
  if (point.current < point.pending.size() &&
      point.pending[point.current].kind == PendingOp::Kind::kYield &&
      point.current < priorities_.size() && next_yield_priority_ > 1) {
    priorities_[point.current] = next_yield_priority_--;
    ForgetTop();
  }
  while (next_change_ < change_points_.size() && change_points_[next_change_].step <= point.step) {
    priorities_[Top(point)] = change_points_[next_change_].priority;
    ForgetTop();
    ++next_change_;
  }
  return Top(point);
}

uint32_t PctStrategy::PickValue(uint32_t n) { return prng_.Below(n); }

void PctStrategy::EndIteration(uint64_t steps) {
  if (iteration_ == 0) calibrated_ = std::max<uint64_t>(steps, 1);
}

StrategyConfig PctStrategy::Config() const {
  StrategyConfig config;
  config.set_name("pct");
  config.set_pct_depth(depth_);
  config.set_pct_step_estimate(step_estimate());
  return config;
}

}  // namespace lockstep
