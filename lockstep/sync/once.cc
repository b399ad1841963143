#include "lockstep/sync/once.h"

#include "absl/strings/str_cat.h"

namespace lockstep::sync {

using ::lockstep::internal::Controller;
using ::lockstep::internal::WakeReason;

once_flag::once_flag(std::source_location created_at) noexcept
    : ObjectBase("once_flag", {}, created_at) {}

std::string once_flag::DescribeState(const Controller& controller) const {
  switch (state_) {
    case State::kIdle:
      return "not called yet";
    case State::kActive:
      return absl::StrCat("call in progress in ", controller.ThreadLabel(active_));
    case State::kDone:
      return "called";
  }
  return {};
}

bool once_flag::Begin() {
  Controller& c = Controller::Current("lockstep::sync::call_once");
  const uint32_t id = Id(c);
  const std::source_location location = std::source_location::current();
  const PendingOp op{PendingOp::Kind::kWrite, id};
  c.SchedulePoint(op, location);
  for (;;) {
    if (c.aborting()) return false;
    switch (state_) {
      case State::kDone:
        c.Record("once.call_once", id, location, 0, "already called");
        return false;
      case State::kIdle:
        state_ = State::kActive;
        active_ = c.current_thread();
        c.Record("once.call_once", id, location, 1, "runs its callable");
        return true;
      case State::kActive:
        if (active_ == c.current_thread()) {
          c.Fail(Failure::MISUSE,
                 absl::StrCat("call_once on ", Label(),
                              " from within the callable running on it (std: deadlock)"),
                 location);
          return false;
        }
        if (c.Block(*this, "once.call_once", op, location) == WakeReason::kAborted) return false;
        break;
    }
  }
}

void once_flag::Finish() {
  Controller& c = Controller::Current("lockstep::sync::call_once");
  const uint32_t id = Id(c);
  if (c.aborting()) return;
  // What the callable did is released to every caller that returns now; a
  // scheduling point here would only let others find the flag still active.
  if (::lockstep::internal::RaceDetector* races = c.race_detector()) {
    races->Synchronize(c.current_thread(), id);
  }
  state_ = State::kDone;
  active_ = ::lockstep::internal::kNoThread;
  c.Record("once.done", id, std::source_location::current());
  c.WakeAll(*this);
}

void once_flag::Abandon() {
  Controller& c = Controller::Current("lockstep::sync::call_once");
  const uint32_t id = Id(c);
  if (c.aborting()) return;
  state_ = State::kIdle;
  active_ = ::lockstep::internal::kNoThread;
  c.Record("once.exception", id, std::source_location::current(), std::nullopt,
           "the callable threw; another call will run");
  c.WakeAll(*this);
}

}  // namespace lockstep::sync
