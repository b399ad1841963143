#include "lockstep/sync/latch.h"

#include "absl/strings/str_cat.h"

namespace lockstep::sync {

using ::lockstep::internal::Controller;
using ::lockstep::internal::WakeReason;

latch::latch(ptrdiff_t expected, std::source_location created_at)
    : ObjectBase("latch", {}, created_at), expected_(expected), count_(expected) {
  // Outside a run, the first operation reports it.
  Controller* c = Controller::CurrentOrNull();
  if (expected < 0 && c != nullptr && !c->aborting()) {
    c->Fail(Failure::MISUSE,
            absl::StrCat(Label(), " constructed with a negative expected count (", expected, ")"),
            created_at);
  }
}

std::string latch::DescribeState(const Controller&) const { return absl::StrCat("count ", count_); }

bool latch::CountDown(Controller& c, uint32_t id, ptrdiff_t update, const char* op,
                      std::source_location location) {
  if (c.aborting()) return false;
  if (expected_ < 0) {
    c.Fail(Failure::MISUSE,
           absl::StrCat(op, " on ", Label(), ", constructed with a negative expected count (",
                        expected_, ")"),
           location);
    return false;
  }
  if (update < 0) {
    c.Fail(Failure::MISUSE, absl::StrCat(op, "(", update, ") on ", Label(), ": negative update"),
           location);
    return false;
  }
  if (update > count_) {
    c.Fail(Failure::MISUSE,
           absl::StrCat(op, "(", update, ") on ", Label(), " whose count is ", count_,
                        ": counting down below zero"),
           location);
    return false;
  }
  count_ -= update;
  c.Record(op, id, location, count_);
  if (count_ == 0 && update > 0) c.WakeAll(*this);
  return true;
}

void latch::Wait(Controller& c, uint32_t id, const char* op, std::source_location location) const {
  while (count_ > 0) {
    if (c.Block(*this, op, PendingOp{PendingOp::Kind::kRead, id}, location) ==
        WakeReason::kAborted) {
      return;
    }
  }
  c.Record(op, id, location, count_);
}

void latch::count_down(ptrdiff_t update) {
  Controller& c = Controller::Current("lockstep::sync::latch::count_down");
  const uint32_t id = Id(c);
  const std::source_location location = std::source_location::current();
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  CountDown(c, id, update, "latch.count_down", location);
}

bool latch::try_wait() const {
  Controller& c = Controller::Current("lockstep::sync::latch::try_wait");
  const uint32_t id = IdIn(c);
  const std::source_location location = std::source_location::current();
  c.SchedulePoint(PendingOp{PendingOp::Kind::kRead, id}, location);
  const bool ready = count_ <= 0;
  c.Record("latch.try_wait", id, location, ready ? 1 : 0);
  return ready;
}

void latch::wait() const {
  Controller& c = Controller::Current("lockstep::sync::latch::wait");
  const uint32_t id = IdIn(c);
  const std::source_location location = std::source_location::current();
  c.SchedulePoint(PendingOp{PendingOp::Kind::kRead, id}, location);
  if (expected_ < 0 && !c.aborting()) {
    return c.Fail(Failure::MISUSE,
                  absl::StrCat("latch.wait on ", Label(),
                               ", constructed with a negative expected count (", expected_, ")"),
                  location);
  }
  Wait(c, id, "latch.wait", location);
}

void latch::arrive_and_wait(ptrdiff_t update) {
  Controller& c = Controller::Current("lockstep::sync::latch::arrive_and_wait");
  const uint32_t id = Id(c);
  const std::source_location location = std::source_location::current();
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  if (!CountDown(c, id, update, "latch.arrive_and_wait", location)) return;
  Wait(c, id, "latch.wait", location);
}

}  // namespace lockstep::sync
