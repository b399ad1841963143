#include "lockstep/sync/semaphore.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace lockstep::sync::internal {

using ::lockstep::internal::Controller;
using ::lockstep::internal::WakeReason;

namespace {

std::string BadDesired(const std::string& label, ptrdiff_t desired, ptrdiff_t max) {
  return absl::StrCat(label, " constructed with count ", desired, ", outside [0, max() = ", max,
                      "]");
}

}  // namespace

SemaphoreBase::SemaphoreBase(ptrdiff_t desired, ptrdiff_t max, std::source_location created_at)
    : ObjectBase("semaphore", {}, created_at), max_(max), desired_(desired), count_(desired) {
  // Outside a run, the first operation reports it.
  Controller* c = Controller::CurrentOrNull();
  if ((desired < 0 || desired > max) && c != nullptr && !c->aborting()) {
    c->Fail(Failure::MISUSE, BadDesired(Label(), desired, max), created_at);
  }
}

std::string SemaphoreBase::DescribeState(const Controller&) const {
  return absl::StrCat("count ", count_, " (max ", max_, ")");
}

bool SemaphoreBase::CheckConstructed(Controller& c, const char* op, std::source_location location) {
  if (c.aborting()) return false;
  if (desired_ >= 0 && desired_ <= max_) return true;
  c.Fail(Failure::MISUSE, absl::StrCat(op, " on ", BadDesired(Label(), desired_, max_)), location);
  return false;
}

void SemaphoreBase::Release(ptrdiff_t update) {
  Controller& c = Controller::Current("lockstep::sync::counting_semaphore::release");
  const uint32_t id = Id(c);
  const std::source_location location = std::source_location::current();
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  if (!CheckConstructed(c, "semaphore.release", location)) return;
  if (update < 0) {
    return c.Fail(Failure::MISUSE,
                  absl::StrCat("release(", update, ") on ", Label(), ": negative update"),
                  location);
  }
  if (update > max_ - count_) {
    return c.Fail(Failure::MISUSE,
                  absl::StrCat("release(", update, ") on ", Label(), " whose count is ", count_,
                               ": the count would exceed max() = ", max_),
                  location);
  }
  count_ += update;
  c.Record("semaphore.release", id, location, count_);
  if (update > 0) c.WakeAll(*this);
}

void SemaphoreBase::Acquire() {
  Controller& c = Controller::Current("lockstep::sync::counting_semaphore::acquire");
  const uint32_t id = Id(c);
  const std::source_location location = std::source_location::current();
  const PendingOp op{PendingOp::Kind::kWrite, id};
  c.SchedulePoint(op, location);
  if (!CheckConstructed(c, "semaphore.acquire", location)) return;
  while (count_ <= 0) {
    if (c.Block(*this, "semaphore.acquire", op, location) == WakeReason::kAborted) return;
  }
  --count_;
  c.Record("semaphore.acquire", id, location, count_);
}

bool SemaphoreBase::TryAcquire() {
  Controller& c = Controller::Current("lockstep::sync::counting_semaphore::try_acquire");
  const uint32_t id = Id(c);
  const std::source_location location = std::source_location::current();
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  if (!CheckConstructed(c, "semaphore.try_acquire", location)) return false;
  const bool acquired = count_ > 0;
  if (acquired) --count_;
  c.Record("semaphore.try_acquire", id, location, count_, acquired ? "acquired" : "count is 0");
  return acquired;
}

bool SemaphoreBase::TryAcquireUntil(VirtualClock::time_point deadline, const char* api) {
  Controller& c = Controller::Current(api);
  const uint32_t id = Id(c);
  const std::source_location location = std::source_location::current();
  const PendingOp op{PendingOp::Kind::kWrite, id};
  c.SchedulePoint(op, location);
  if (!CheckConstructed(c, "semaphore.try_acquire_until", location)) return false;
  const uint64_t deadline_ns =
      static_cast<uint64_t>(std::max<int64_t>(0, deadline.time_since_epoch().count()));
  while (count_ <= 0) {
    // A deadline already passed makes this a try_acquire (std: no waiting).
    WakeReason reason = WakeReason::kTimeout;
    if (deadline_ns > c.now_ns()) {
      reason = c.Block(*this, "semaphore.try_acquire_until", op, location, deadline_ns);
    }
    if (reason == WakeReason::kAborted) return false;
    if (reason == WakeReason::kTimeout) {
      c.Record("semaphore.try_acquire_until", id, location, count_, "timed out");
      return false;
    }
  }
  --count_;
  c.Record("semaphore.try_acquire_until", id, location, count_, "acquired");
  return true;
}

}  // namespace lockstep::sync::internal
