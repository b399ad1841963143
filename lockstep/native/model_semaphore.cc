// POSIX semaphores.
#include <errno.h>
#include <semaphore.h>

#include "lockstep/native/model.h"

namespace lockstep::native_internal {

int Session::SemWait(sem_t* sem, bool try_only, clockid_t clock, const timespec* deadline) {
  const RealFunctions& real = Real();
  auto blocking = [&] {
    if (try_only) return real.sem_trywait(sem);
    if (deadline != nullptr) return real.sem_clockwait(sem, clock, deadline);
    return real.sem_wait(sem);
  };
  const char* op = try_only ? "sem.trywait" : "sem.wait";
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, sem, "semaphore", op, PendingOp::Kind::kWrite);
  if (model == nullptr) return blocking();
  NativeObject& object = *model;
  const uint32_t id = object.IdIn(*controller_);
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
  NativeObject* model = Begin(turn, sem, "semaphore", "sem.post", PendingOp::Kind::kWrite);
  if (model == nullptr) return real.sem_post(sem);
  const int r = real.sem_post(sem);
  if (r == 0) controller_->WakeAll(*model);
  Record("sem.post", model->IdIn(*controller_));
  return r;
}

}  // namespace lockstep::native_internal
