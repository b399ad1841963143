// GuidedStrategy: runs a schedule given as a list of context switches,
// tolerating schedules that no longer fit the test exactly. The shrinker's
// strategy.
//
// What it does: a switch point says "when thread T reaches its k-th
// scheduling point, run thread X". Between switch points the running thread
// keeps running (no preemption); when it cannot continue (blocked or
// finished), the lowest-numbered enabled thread runs. A switch point whose
// target is not enabled when it comes up is ignored. Keying switches by the
// thread's own progress (not the global step) keeps the other switches
// meaningful when one is removed. choose(n) takes the next recorded value if
// it is < n, else 0. It records the switches and choices as they really
// happened, and counts preemptions (switching away from a thread that could
// have continued).
//
// Parameters: the switch points and choose values; or, for the first run of
// a recorded schedule, the exact list of picks (Exact()).
// Source: the schedule-as-context-switches view of CHESS (Musuvathi &
// Qadeer, PLDI'07, preemption bounding), as in the schedule shrinkers of
// Shuttle and the original Lockstep.
// Guarantee: replaying the switches it recorded repeats the run exactly.
#ifndef LOCKSTEP_STRATEGY_GUIDED_H_
#define LOCKSTEP_STRATEGY_GUIDED_H_

#include <cstdint>
#include <vector>

#include "lockstep/strategy/strategy.h"

namespace lockstep {

struct SwitchPoint {
  uint32_t thread;  // the thread at the scheduling point
  uint32_t index;   // its how-manieth scheduling point (0-based)
  uint32_t target;  // the thread that runs next
  bool preemptive;  // `thread` could have continued
};

class GuidedStrategy final : public Strategy {
 public:
  GuidedStrategy(std::vector<SwitchPoint> switches, std::vector<uint32_t> choices,
                 StrategyConfig config);

  // Follows `picks` (one thread per scheduling point, in order) exactly, to
  // turn a recorded decision list into switch points.
  static GuidedStrategy Exact(std::vector<uint32_t> picks, std::vector<uint32_t> choices,
                              StrategyConfig config);

  void BeginIteration(uint64_t iteration, uint64_t seed) override;
  void OnThreadCreated(uint32_t thread) override;
  uint32_t PickThread(const SchedulingPoint& point) override;
  uint32_t PickValue(uint32_t n) override;
  StrategyConfig Config() const override { return config_; }

  // The switches and choose values of the last iteration as it really ran:
  // a GuidedStrategy built from them repeats it exactly.
  const std::vector<SwitchPoint>& executed_switches() const { return executed_switches_; }
  const std::vector<uint32_t>& executed_choices() const { return executed_choices_; }
  // Preemptions in the last iteration.
  uint32_t preemptions() const { return preemptions_; }
  // Every point of the last iteration where a preemption was possible: the
  // switch points that would have preempted there.
  const std::vector<SwitchPoint>& possible_preemptions() const { return possible_preemptions_; }

 private:
  std::vector<SwitchPoint> switches_;
  std::vector<uint32_t> picks_;  // Exact() only
  std::vector<uint32_t> choices_;
  StrategyConfig config_;
  std::vector<uint32_t> points_reached_;  // per thread
  size_t next_pick_ = 0;
  size_t next_choice_ = 0;
  std::vector<SwitchPoint> executed_switches_;
  std::vector<uint32_t> executed_choices_;
  std::vector<SwitchPoint> possible_preemptions_;
  uint32_t preemptions_ = 0;
};

}  // namespace lockstep

#endif  // LOCKSTEP_STRATEGY_GUIDED_H_
