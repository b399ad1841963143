#include "lockstep/condvar.h"

#include "absl/strings/str_cat.h"

namespace lockstep {

using internal::Controller;
using internal::WakeReason;

CondVar::CondVar(std::string_view name, std::source_location created_at)
    : ObjectBase("condvar", name, created_at) {}

void CondVar::wait(std::unique_lock<Mutex>& lock, std::source_location location) {
  Wait(lock, nullptr, location);
}

std::cv_status CondVar::WaitUntil(std::unique_lock<Mutex>& lock, VirtualClock::time_point deadline,
                                  std::source_location location) {
  return Wait(lock, &deadline, location);
}

std::cv_status CondVar::Wait(std::unique_lock<Mutex>& lock,
                             const VirtualClock::time_point* deadline,
                             std::source_location location) {
  Controller& c = Controller::Current("lockstep::CondVar::wait");
  const uint32_t id = Id(c);
  Mutex* mutex = lock.mutex();
  if (!lock.owns_lock() || mutex == nullptr) {
    c.Fail(Failure::MISUSE, absl::StrCat("wait on ", Label(), " with a lock that is not held"),
           location);
    return std::cv_status::no_timeout;
  }
  const uint32_t mutex_id = mutex->Id(c);
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  // Whether this wait may end spuriously is a controlled choice made as it
  // starts (so a predicate loop cannot be woken forever); when it may, the
  // wake-up itself is a scheduling decision, like a timeout.
  const bool may_wake_spuriously = c.spurious_wakeups() && c.Choose(2) == 1;
  // Release the mutex and start waiting in one step: no notify can slip in.
  mutex->Release(c, mutex_id, location);
  std::optional<uint64_t> deadline_ns;
  if (deadline != nullptr) {
    deadline_ns = static_cast<uint64_t>(std::max<int64_t>(0, deadline->time_since_epoch().count()));
  }
  const WakeReason reason =
      c.Block(*this, "condvar.wait", PendingOp{PendingOp::Kind::kWrite, mutex_id}, location,
              deadline_ns, may_wake_spuriously);
  if (reason == WakeReason::kAborted) {
    // On an executor, after a failure: leave the unique_lock consistent.
    lock.release();
    return std::cv_status::no_timeout;
  }
  c.Record("condvar.wait", id, location, std::nullopt,
           reason == WakeReason::kTimeout    ? "timed out"
           : reason == WakeReason::kSpurious ? "spurious wake-up"
                                             : "notified");
  mutex->Acquire(c, mutex_id, location);
  return reason == WakeReason::kTimeout ? std::cv_status::timeout : std::cv_status::no_timeout;
}

void CondVar::notify_one(std::source_location location) {
  Controller& c = Controller::Current("lockstep::CondVar::notify_one");
  const uint32_t id = Id(c);
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  const uint32_t woken = c.WakeOne(*this);
  c.Record("condvar.notify_one", id, location, std::nullopt,
           woken == internal::kNoThread ? "no waiter" : "", woken);
}

void CondVar::notify_all(std::source_location location) {
  Controller& c = Controller::Current("lockstep::CondVar::notify_all");
  const uint32_t id = Id(c);
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  const int woken = c.WakeAll(*this);
  c.Record("condvar.notify_all", id, location, woken);
}

}  // namespace lockstep
