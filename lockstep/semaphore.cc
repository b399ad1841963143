#include "lockstep/semaphore.h"

#include "absl/strings/str_cat.h"

namespace lockstep {

using internal::Controller;
using internal::WakeReason;

Semaphore::Semaphore(int64_t initial, std::string_view name, std::source_location created_at)
    : ObjectBase("semaphore", name, created_at), count_(initial) {}

std::string Semaphore::DescribeState(const Controller&) const {
  return absl::StrCat("count ", count_);
}

void Semaphore::acquire(std::source_location location) {
  Controller& c = Controller::Current("lockstep::Semaphore::acquire");
  const uint32_t id = Id(c);
  const PendingOp op{PendingOp::Kind::kWrite, id};
  c.SchedulePoint(op, location);
  while (count_ <= 0) {
    if (c.Block(*this, "semaphore.acquire", op, location) == WakeReason::kAborted) return;
  }
  --count_;
  c.Record("semaphore.acquire", id, location, count_);
}

bool Semaphore::try_acquire(std::source_location location) {
  Controller& c = Controller::Current("lockstep::Semaphore::try_acquire");
  const uint32_t id = Id(c);
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  const bool acquired = count_ > 0;
  if (acquired) --count_;
  c.Record("semaphore.try_acquire", id, location, acquired ? 1 : 0);
  return acquired;
}

void Semaphore::release(int64_t n, std::source_location location) {
  Controller& c = Controller::Current("lockstep::Semaphore::release");
  const uint32_t id = Id(c);
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  if (n < 0) {
    return c.Fail(Failure::MISUSE, absl::StrCat("release(", n, ") on ", Label()), location);
  }
  count_ += n;
  if (n > 0) c.WakeAll(*this);
  c.Record("semaphore.release", id, location, count_);
}

}  // namespace lockstep
