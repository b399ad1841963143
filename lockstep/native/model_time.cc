// Virtual time: clocks, sleeps and deadlines; yields.
#include <time.h>

#include "lockstep/native/model.h"

namespace lockstep::native_internal {

using internal::Controller;

namespace {

bool IsRealtime(clockid_t clock) {
  return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE || clock == CLOCK_TAI;
}

bool IsMonotonic(clockid_t clock) {
  return clock == CLOCK_MONOTONIC || clock == CLOCK_MONOTONIC_RAW ||
         clock == CLOCK_MONOTONIC_COARSE || clock == CLOCK_BOOTTIME;
}

}  // namespace

std::optional<uint64_t> Session::VirtualDeadline(clockid_t clock, const timespec* deadline) const {
  if (deadline == nullptr) return std::nullopt;
  const uint64_t base = IsRealtime(clock) ? base_realtime_ns_ : base_monotonic_ns_;
  const uint64_t at = TimespecToNs(*deadline);
  const uint64_t now = controller_->now_ns();
  return at > base + now ? at - base : now;
}

bool Session::VirtualClock(clockid_t clock, timespec* out) {
  if (setup_.mode != NativeMode::kControl || !(IsRealtime(clock) || IsMonotonic(clock))) {
    return false;
  }
  lock_.lock();
  const bool modelled = t_binding.epoch == epoch_ && !released_ && controller_ != nullptr;
  if (modelled) {
    *out = NsToTimespec((IsRealtime(clock) ? base_realtime_ns_ : base_monotonic_ns_) +
                        controller_->now_ns());
  }
  lock_.unlock();
  return modelled;
}

int Session::Yield() {
  Turn turn(*this, PendingOp{PendingOp::Kind::kYield, 0});
  if (turn.modelled()) {
    if (setup_.mode == NativeMode::kObserve) {
      Observe("yield", nullptr, "");
    } else {
      controller_->SchedulePoint(PendingOp{PendingOp::Kind::kYield, 0},
                                 std::source_location::current());
      if (controller_->aborting()) {
        HandleFailure();
      } else {
        Record("yield", 0);
      }
    }
  }
  turn.Leave();
  return Real().sched_yield();
}

int Session::Sleep(const timespec* duration, clockid_t clock, const timespec* deadline) {
  const RealFunctions& real = Real();
  auto blocking = [&] {
    if (deadline != nullptr) return real.clock_nanosleep(clock, TIMER_ABSTIME, deadline, nullptr);
    return real.nanosleep(duration, nullptr);
  };
  Turn turn(*this, PendingOp{});
  if (!turn.modelled()) {
    turn.Leave();
    return blocking();
  }
  if (setup_.mode == NativeMode::kObserve) {
    Observe("sleep", nullptr, "");
    turn.Leave();
    return blocking();
  }
  Controller& c = *controller_;
  const uint64_t until = deadline != nullptr
                             ? *VirtualDeadline(clock, deadline)
                             : c.now_ns() + (duration != nullptr ? TimespecToNs(*duration) : 0);
  c.SleepUntil(until, std::source_location::current());
  if (c.aborting()) {
    HandleFailure();
    turn.Leave();
    return blocking();
  }
  Record("sleep", 0, static_cast<int64_t>(until));
  return 0;
}

}  // namespace lockstep::native_internal
