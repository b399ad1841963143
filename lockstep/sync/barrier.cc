#include "lockstep/sync/barrier.h"

#include <exception>

#include "absl/strings/str_cat.h"

namespace lockstep::sync::internal {

using ::lockstep::internal::Controller;
using ::lockstep::internal::WakeReason;

BarrierBase::BarrierBase(ptrdiff_t expected, std::source_location created_at)
    : ObjectBase("barrier", {}, created_at),
      initial_(expected),
      expected_(expected),
      pending_(expected),
      next_expected_(expected) {
  // Outside a run, the first operation reports it.
  Controller* c = Controller::CurrentOrNull();
  if (expected < 0 && c != nullptr && !c->aborting()) {
    c->Fail(Failure::MISUSE,
            absl::StrCat(Label(), " constructed with a negative expected count (", expected, ")"),
            created_at);
  }
}

void BarrierBase::ResetState() {
  expected_ = pending_ = next_expected_ = initial_;
  phase_ = 0;
  completing_ = false;
}

std::string BarrierBase::DescribeState(const Controller&) const {
  return absl::StrCat("phase ", phase_, ", ", expected_ - pending_, " of ", expected_, " arrived",
                      completing_ ? ", completion function running" : "");
}

std::optional<uint64_t> BarrierBase::ArriveAt(Controller& c, uint32_t id, ptrdiff_t update,
                                              bool drop, const char* op,
                                              std::source_location location) {
  if (c.aborting()) return std::nullopt;
  if (initial_ < 0) {
    c.Fail(Failure::MISUSE,
           absl::StrCat(op, " on ", Label(), ", constructed with a negative expected count (",
                        initial_, ")"),
           location);
    return std::nullopt;
  }
  if (completing_) {
    c.Fail(Failure::MISUSE,
           absl::StrCat(op, " on ", Label(), " while its completion function runs (phase ", phase_,
                        " has no arrivals left)"),
           location);
    return std::nullopt;
  }
  if (update < 1) {
    c.Fail(Failure::MISUSE,
           absl::StrCat(op, "(", update, ") on ", Label(), ": update must be >= 1"), location);
    return std::nullopt;
  }
  if (update > pending_) {
    c.Fail(Failure::MISUSE,
           absl::StrCat(op, "(", update, ") on ", Label(), " in phase ", phase_, ", where ",
                        expected_ - pending_, " of ", expected_,
                        " have arrived: more arrivals than the phase expects"),
           location);
    return std::nullopt;
  }
  if (drop) --next_expected_;
  pending_ -= update;
  const uint64_t phase = phase_;
  c.Record(op, id, location, expected_ - pending_, absl::StrCat("phase ", phase));
  if (pending_ == 0) CompletePhase(c, id, location);
  return phase;
}

void BarrierBase::CompletePhase(Controller& c, uint32_t id, std::source_location location) {
  completing_ = true;
  std::string thrown;
  try {
    Complete();
  } catch (const std::exception& e) {
    thrown = absl::StrCat(": ", e.what());
  } catch (...) {
    thrown = " (an exception of unknown type)";
  }
  // Outside the catch block: failing abandons this fiber.
  if (!thrown.empty() && !c.aborting()) {
    return c.Fail(Failure::MISUSE,
                  absl::StrCat("the completion function of ", Label(), " threw in phase ", phase_,
                               thrown, " (std::barrier requires it not to)"),
                  location);
  }
  // What the completion function did is released to the waiters it frees.
  if (::lockstep::internal::RaceDetector* races = c.race_detector();
      races != nullptr && !c.aborting()) {
    races->Synchronize(c.current_thread(), id);
  }
  completing_ = false;
  ++phase_;
  expected_ = pending_ = next_expected_;
  c.Record("barrier.phase_completed", id, location, static_cast<int64_t>(phase_ - 1));
  c.WakeAll(*this);
}

void BarrierBase::WaitFor(Controller& c, uint32_t id, uint64_t phase,
                          std::source_location location) const {
  while (phase_ == phase) {
    if (c.Block(*this, "barrier.wait", PendingOp{PendingOp::Kind::kRead, id}, location) ==
        WakeReason::kAborted) {
      return;
    }
  }
  c.Record("barrier.wait", id, location, static_cast<int64_t>(phase));
}

BarrierToken BarrierBase::Arrive(ptrdiff_t update) {
  Controller& c = Controller::Current("lockstep::sync::barrier::arrive");
  const uint32_t id = Id(c);
  const std::source_location location = std::source_location::current();
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  const std::optional<uint64_t> phase = ArriveAt(c, id, update, false, "barrier.arrive", location);
  return phase ? BarrierToken(this, *phase) : BarrierToken(nullptr, 0);
}

void BarrierBase::Wait(BarrierToken&& arrival) const {
  Controller& c = Controller::Current("lockstep::sync::barrier::wait");
  const uint32_t id = const_cast<BarrierBase*>(this)->Id(c);
  const std::source_location location = std::source_location::current();
  c.SchedulePoint(PendingOp{PendingOp::Kind::kRead, id}, location);
  if (c.aborting()) return;
  if (arrival.barrier_ != this) {
    return c.Fail(
        Failure::MISUSE,
        absl::StrCat("barrier.wait on ", Label(), " with an arrival_token ",
                     arrival.barrier_ == nullptr ? "that was moved from" : "of another barrier"),
        location);
  }
  if (arrival.phase_ + 1 == phase_) {  // completed already
    c.Record("barrier.wait", id, location, static_cast<int64_t>(arrival.phase_));
    return;
  }
  if (arrival.phase_ != phase_) {
    return c.Fail(Failure::MISUSE,
                  absl::StrCat("barrier.wait on ", Label(), " in phase ", phase_,
                               " with an arrival_token of phase ", arrival.phase_,
                               " (only the current phase or the one before may be waited for)"),
                  location);
  }
  WaitFor(c, id, arrival.phase_, location);
}

void BarrierBase::ArriveAndWait() {
  Controller& c = Controller::Current("lockstep::sync::barrier::arrive_and_wait");
  const uint32_t id = Id(c);
  const std::source_location location = std::source_location::current();
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  const std::optional<uint64_t> phase =
      ArriveAt(c, id, 1, false, "barrier.arrive_and_wait", location);
  if (phase) WaitFor(c, id, *phase, location);
}

void BarrierBase::ArriveAndDrop() {
  Controller& c = Controller::Current("lockstep::sync::barrier::arrive_and_drop");
  const uint32_t id = Id(c);
  const std::source_location location = std::source_location::current();
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, id}, location);
  ArriveAt(c, id, 1, true, "barrier.arrive_and_drop", location);
}

}  // namespace lockstep::sync::internal
