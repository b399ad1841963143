#include "lockstep/time.h"

#include "lockstep/internal/controller.h"

namespace lockstep {

using internal::Controller;

VirtualClock::time_point VirtualClock::now() {
  const Controller& c = Controller::Current("lockstep::now");
  return time_point(duration(static_cast<rep>(c.now_ns())));
}

void sleep_until(VirtualClock::time_point deadline, std::source_location location) {
  Controller& c = Controller::Current("lockstep::sleep_until");
  const auto target = deadline.time_since_epoch().count();
  if (target <= static_cast<VirtualClock::rep>(c.now_ns())) {
    c.SchedulePoint(PendingOp{PendingOp::Kind::kYield, 0}, location);
  } else {
    c.SleepUntil(static_cast<uint64_t>(target), location);
  }
  c.Record("sleep", 0, location, static_cast<int64_t>(target));
}

}  // namespace lockstep
