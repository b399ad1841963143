// The ReplayStrategy; what it does, its parameters, source paper and
// guarantee are documented at the top of replay.h.

#include "lockstep/strategy/replay.h"

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace lockstep {
namespace {

constexpr absl::string_view kNondeterminism =
    ". The test body behaves nondeterministically: given the same decisions it "
    "did something different, so it depends on something Lockstep does not "
    "control (wall-clock time, unseeded randomness, addresses, uncontrolled "
    "threads or I/O)";

std::string EnabledThreads(std::span<const uint32_t> enabled) {
  return absl::StrCat("enabled threads {", absl::StrJoin(enabled, ", "), "}");
}

}  // namespace

ReplayStrategy::ReplayStrategy(const Trace& trace, bool tolerant)
    : config_(trace.strategy()), tolerant_(tolerant) {
  decisions_.reserve(trace.decisions_size());
  for (const Decision& d : trace.decisions()) {
    decisions_.push_back({d.kind(), d.value(), d.options()});
  }
}

void ReplayStrategy::BeginIteration(uint64_t /*iteration*/, uint64_t /*seed*/) {
  next_ = 0;
  step_ = 0;
  divergence_.clear();
  off_trace_ = false;
}

void ReplayStrategy::OnThreadCreated(uint32_t /*thread*/) {}

std::string ReplayStrategy::DescribeRecorded(const Recorded& d) const {
  switch (d.kind) {
    case Decision::SCHEDULE:
      return absl::StrCat("SCHEDULE thread ", d.value, " of ", d.options, " enabled threads");
    case Decision::CHOOSE:
      return absl::StrCat("CHOOSE value ", d.value, " of choose(", d.options, ")");
    default:
      return absl::StrCat("an invalid decision (kind ", static_cast<int>(d.kind), ", value ",
                          d.value, ", options ", d.options, ")");
  }
}

uint32_t ReplayStrategy::Diverge(absl::string_view now) {
  if (next_ >= decisions_.size()) {
    divergence_ = absl::StrCat("replay diverged at step ", step_,
                               ": the test made more decisions than the trace holds (",
                               decisions_.size(), "); it now ", now, kNondeterminism);
  } else {
    divergence_ = absl::StrCat("replay diverged at step ", step_, " (decision ", next_ + 1, " of ",
                               decisions_.size(), ", index ", next_, "): the trace recorded ",
                               DescribeRecorded(decisions_[next_]), ", but the test now ", now,
                               kNondeterminism);
  }
  return kDiverged;
}

uint32_t ReplayStrategy::PickThread(const SchedulingPoint& point) {
  step_ = point.step;
  if (!divergence_.empty()) return kDiverged;
  if (off_trace_) {
    const bool current_enabled =
        std::find(point.enabled.begin(), point.enabled.end(), point.current) != point.enabled.end();
    return current_enabled ? point.current : point.enabled[0];
  }
  const auto matches = [&point](const Recorded& d) {
    return d.kind == Decision::SCHEDULE && d.options == point.enabled.size() &&
           std::find(point.enabled.begin(), point.enabled.end(), d.value) != point.enabled.end();
  };
  if (next_ >= decisions_.size() || !matches(decisions_[next_])) {
    if (tolerant_) {
      off_trace_ = true;
      return PickThread(point);
    }
    return Diverge(absl::StrCat("reached a scheduling point with ", EnabledThreads(point.enabled)));
  }
  return decisions_[next_++].value;
}

uint32_t ReplayStrategy::PickValue(uint32_t n) {
  if (!divergence_.empty()) return kDiverged;
  if (off_trace_) return 0;
  if (next_ >= decisions_.size() || decisions_[next_].kind != Decision::CHOOSE ||
      decisions_[next_].options != n || decisions_[next_].value >= n) {
    if (tolerant_) {
      off_trace_ = true;
      return 0;
    }
    return Diverge(absl::StrCat("asked choose(", n, ")"));
  }
  return decisions_[next_++].value;
}

void ReplayStrategy::EndIteration(uint64_t steps) {
  if (!divergence_.empty() || next_ == decisions_.size()) return;
  if (tolerant_) {
    off_trace_ = true;  // ended before the trace did
    return;
  }
  divergence_ =
      absl::StrCat("replay diverged: the test finished after ", next_, " of the trace's ",
                   decisions_.size(), " decisions (after step ", steps, ")", kNondeterminism);
}

StrategyConfig ReplayStrategy::Config() const { return config_; }

}  // namespace lockstep
