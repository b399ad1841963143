// GuidedStrategy; see guided.h.
#include "lockstep/strategy/guided.h"

#include <algorithm>
#include <utility>

namespace lockstep {

GuidedStrategy::GuidedStrategy(std::vector<SwitchPoint> switches, std::vector<uint32_t> choices,
                               StrategyConfig config)
    : switches_(std::move(switches)), choices_(std::move(choices)), config_(std::move(config)) {}

GuidedStrategy GuidedStrategy::Exact(std::vector<uint32_t> picks, std::vector<uint32_t> choices,
                                     StrategyConfig config) {
  GuidedStrategy strategy({}, std::move(choices), std::move(config));
  strategy.picks_ = std::move(picks);
  return strategy;
}

void GuidedStrategy::BeginIteration(uint64_t, uint64_t) {
  points_reached_.clear();
  next_pick_ = 0;
  next_choice_ = 0;
  executed_switches_.clear();
  executed_choices_.clear();
  possible_preemptions_.clear();
  preemptions_ = 0;
}

void GuidedStrategy::OnThreadCreated(uint32_t thread) {
  if (points_reached_.size() <= thread) points_reached_.resize(thread + 1, 0);
}

uint32_t GuidedStrategy::PickThread(const SchedulingPoint& point) {
  auto enabled = [&point](uint32_t thread) {
    return std::find(point.enabled.begin(), point.enabled.end(), thread) != point.enabled.end();
  };
  const uint32_t current = point.current;
  OnThreadCreated(current);
  const uint32_t index = points_reached_[current]++;
  const bool current_enabled = enabled(current);
  uint32_t pick = current_enabled ? current : point.enabled[0];
  if (next_pick_ < picks_.size()) {
    const uint32_t wanted = picks_[next_pick_++];
    if (enabled(wanted)) pick = wanted;
  } else {
    for (const SwitchPoint& s : switches_) {
      if (s.thread == current && s.index == index) {
        if (enabled(s.target)) pick = s.target;
        break;
      }
    }
  }
  if (current_enabled) {
    for (uint32_t other : point.enabled) {
      if (other != current) possible_preemptions_.push_back({current, index, other, true});
    }
  }
  if (pick != current) {
    executed_switches_.push_back({current, index, pick, current_enabled});
    if (current_enabled) ++preemptions_;
  }
  return pick;
}

uint32_t GuidedStrategy::PickValue(uint32_t n) {
  uint32_t value = 0;
  if (next_choice_ < choices_.size() && choices_[next_choice_] < n) value = choices_[next_choice_];
  ++next_choice_;
  executed_choices_.push_back(value);
  return value;
}

}  // namespace lockstep
