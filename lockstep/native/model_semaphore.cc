// POSIX semaphores.
#include <errno.h>
#include <semaphore.h>

#include "lockstep/native/model.h"

namespace lockstep::native_internal {

using internal::Controller;

int Session::SemWait(sem_t* sem, bool try_only, clockid_t clock, const timespec* deadline) {
  const RealFunctions& real = Real();
  auto blocking = [&] {
    if (try_only) return real.sem_trywait(sem);
    if (deadline != nullptr) return real.sem_clockwait(sem, clock, deadline);
    return real.sem_wait(sem);
  };
  Turn turn(*this, PendingOp{});
  if (!turn.modelled()) {
    turn.Leave();
    return blocking();
  }
  NativeObject& object = Object(sem, "semaphore");
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  const char* op = try_only ? "sem.trywait" : "sem.wait";
  if (setup_.mode == NativeMode::kObserve) {
    Observe(op, sem, "semaphore");
    turn.Leave();
    return blocking();
  }
  c.SchedulePoint(Write(id), std::source_location::current());
  if (c.aborting()) {
    HandleFailure();
    turn.Leave();
    return blocking();
  }
  // sem_* report errors through errno.
  auto try_op = [&] { return real.sem_trywait(sem) == 0 ? 0 : errno; };
  const int r = try_only ? try_op()
                         : Acquire(turn, object, op, Write(id), try_op, blocking,
                                   VirtualDeadline(clock, deadline), /*owned=*/false);
  if (!turn.modelled()) return r;
  Record(op, id, r == 0 ? 1 : 0, r == ETIMEDOUT ? "timed out" : "");
  if (r == 0) return 0;
  errno = r;
  return -1;
}

int Session::SemPost(sem_t* sem) {
  const RealFunctions& real = Real();
  Turn turn(*this, PendingOp{});
  if (!turn.modelled()) {
    turn.Leave();
    return real.sem_post(sem);
  }
  NativeObject& object = Object(sem, "semaphore");
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  if (setup_.mode == NativeMode::kObserve) {
    Observe("sem.post", sem, "semaphore");
    turn.Leave();
    return real.sem_post(sem);
  }
  c.SchedulePoint(Write(id), std::source_location::current());
  const int r = real.sem_post(sem);
  if (c.aborting()) {
    HandleFailure();
    return r;
  }
  if (r == 0) c.WakeAll(object);
  Record("sem.post", id);
  return r;
}

}  // namespace lockstep::native_internal
