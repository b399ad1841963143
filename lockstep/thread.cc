#include "lockstep/thread.h"

#include <utility>

#include "lockstep/internal/controller.h"

namespace lockstep {

using internal::Controller;

Thread spawn(std::function<void()> fn, std::string_view name, std::source_location location) {
  Controller& c = Controller::Current("lockstep::spawn");
  c.SchedulePoint(PendingOp{PendingOp::Kind::kWrite, 0}, location);
  const uint32_t id = c.Spawn(std::move(fn), name, /*detached=*/false, location);
  c.Record("thread.spawn", 0, location, id);
  return Thread(id);
}

void Thread::join(std::source_location location) {
  Controller& c = Controller::Current("lockstep::Thread::join");
  if (!valid()) {
    return c.Fail(Failure::MISUSE, "join() on an empty lockstep::Thread handle", location);
  }
  c.Join(id_, location);
}

void yield(std::source_location location) {
  Controller& c = Controller::Current("lockstep::yield");
  c.SchedulePoint(PendingOp{PendingOp::Kind::kYield, 0}, location);
  c.Record("yield", 0, location);
}

uint32_t choose(uint32_t n, std::source_location location) {
  return Controller::Current("lockstep::choose").UserChoose(n, location);
}

bool choose_bool(std::source_location location) { return choose(2, location) == 1; }

uint32_t this_thread_id() {
  return Controller::Current("lockstep::this_thread_id").current_thread();
}

}  // namespace lockstep
