// ReplayStrategy: re-runs one recorded iteration by feeding back the
// decisions stored in its trace, in order.
//
// What it does: the i-th PickThread/PickValue call returns the value of the
// trace's i-th decision after checking that the test is still doing what it
// did when the trace was recorded:
//  * PickThread needs a SCHEDULE decision whose thread is enabled now and
//    whose `options` equals the number of enabled threads now;
//  * PickValue(n) needs a CHOOSE decision with options == n and value < n.
// Anything else (including running out of decisions) is a divergence: the
// call returns kDiverged, Divergence() says at which step and decision it
// happened, what the trace recorded and what the test did instead, and
// every later call returns kDiverged too (the first divergence is the one
// worth reporting). Ending the iteration with decisions left over is also a
// divergence, reported by Divergence() after EndIteration.
//
// Tolerant mode (regression traces, replayed on code that may have changed
// since they were recorded, typically by the fix of the bug they show):
// from the first decision that does not fit on, the strategy stops following
// the trace and goes on without preemptions (the running thread while it is
// enabled, else the lowest enabled one; choose(n) takes 0), so the run ends
// as the current code ends it. Divergence() stays empty; diverged() says
// whether that happened.
//
// Parameters: the trace (its decisions and strategy config are copied, so
// the Trace need not outlive the strategy), and the mode.
// Source: record/replay as in CHESS, Coyote and Shuttle's ReplayScheduler.
// Guarantee: a deterministic test body (one whose behaviour depends only on
// Lockstep's decisions) replays the recorded iteration exactly; a test body
// that does not is reported as nondeterministic at the first decision where
// it differs, instead of silently running a different schedule.
#ifndef LOCKSTEP_STRATEGY_REPLAY_H_
#define LOCKSTEP_STRATEGY_REPLAY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "lockstep/strategy/strategy.h"
#include "lockstep/trace.pb.h"

namespace lockstep {

class ReplayStrategy final : public Strategy {
 public:
  explicit ReplayStrategy(const Trace& trace, bool tolerant = false);

  // Rewinds to the trace's first decision; the seed is ignored (the
  // decisions already encode everything the seed produced).
  void BeginIteration(uint64_t iteration, uint64_t seed) override;
  void OnThreadCreated(uint32_t thread) override;
  // The next SCHEDULE decision's thread, or kDiverged.
  uint32_t PickThread(const SchedulingPoint& point) override;
  // The next CHOOSE decision's value, or kDiverged.
  uint32_t PickValue(uint32_t n) override;
  // Notes whether decisions were left over.
  void EndIteration(uint64_t steps) override;
  // The trace's strategy config.
  StrategyConfig Config() const override;
  // Why replay failed; empty while it follows the trace.
  std::string Divergence() const override { return divergence_; }

  // Decisions consumed so far in this iteration.
  size_t consumed() const { return next_; }
  // Tolerant mode: the test stopped fitting the trace in this iteration.
  bool diverged() const { return off_trace_; }
  // Decisions in the trace.
  size_t size() const { return decisions_.size(); }

 private:
  struct Recorded {
    Decision::Kind kind;
    uint32_t value;
    uint32_t options;
  };

  // Sets the divergence message for the decision at next_ and returns
  // kDiverged. `now` describes what the test did instead.
  uint32_t Diverge(absl::string_view now);
  std::string DescribeRecorded(const Recorded& decision) const;

  std::vector<Recorded> decisions_;
  StrategyConfig config_;
  bool tolerant_;
  bool off_trace_ = false;  // tolerant mode, after the first misfit
  size_t next_ = 0;
  uint64_t step_ = 0;  // step of the latest scheduling point
  std::string divergence_;
};

}  // namespace lockstep

#endif  // LOCKSTEP_STRATEGY_REPLAY_H_
