// Condition variables.
#include <errno.h>
#include <pthread.h>

#include "lockstep/native/model.h"

namespace lockstep::native_internal {

using internal::Controller;
using internal::kNoThread;
using internal::WakeReason;

int Session::CondWait(pthread_cond_t* cond, pthread_mutex_t* mutex, clockid_t clock,
                      const timespec* deadline) {
  const RealFunctions& real = Real();
  auto blocking = [&] {
    if (deadline != nullptr) return real.pthread_cond_clockwait(cond, mutex, clock, deadline);
    return real.pthread_cond_wait(cond, mutex);
  };
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, cond, "condvar", "condvar.wait", PendingOp::Kind::kWrite);
  if (model == nullptr) return blocking();
  NativeObject& object = *model;
  NativeObject& lock = Object(mutex, "mutex");
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  const uint32_t mutex_id = lock.IdIn(c);
  // A spurious wake-up is a controlled choice made as the wait starts.
  const bool may_wake_spuriously = c.spurious_wakeups() && c.Choose(2) == 1;
  if (c.aborting()) {
    HandleFailure();
    turn.Leave();
    return blocking();
  }
  // Release the mutex and start waiting in one step: no signal slips in.
  real.pthread_mutex_unlock(mutex);
  if (lock.owner == turn.me()) {
    lock.owner = kNoThread;
    lock.depth = 0;
    c.WakeAll(lock);
  }
  const WakeReason reason =
      c.Block(object, "condvar.wait", Write(mutex_id), std::source_location::current(),
              VirtualDeadline(clock, deadline), may_wake_spuriously);
  if (reason == WakeReason::kAborted) {
    HandleFailure();
    turn.Leave();
    // Released: come back with the mutex held, as after a spurious wake-up.
    return real.pthread_mutex_lock(mutex);
  }
  Record("condvar.wait", id, std::nullopt,
         reason == WakeReason::kTimeout    ? "timed out"
         : reason == WakeReason::kSpurious ? "spurious wake-up"
                                           : "notified");
  const int r = Acquire(
      turn, lock, "mutex.lock", Write(mutex_id), [&] { return real.pthread_mutex_trylock(mutex); },
      [&] { return real.pthread_mutex_lock(mutex); }, std::nullopt, /*owned=*/true);
  if (turn.modelled() && r == 0) {
    lock.owner = turn.me();
    lock.depth = 1;
    Record("mutex.lock", mutex_id, 1);
  }
  return reason == WakeReason::kTimeout ? ETIMEDOUT : r;
}

int Session::CondSignal(pthread_cond_t* cond, bool all) {
  const RealFunctions& real = Real();
  // Threads outside the run may wait on it for real: wake them too.
  auto real_signal = [&] {
    return all ? real.pthread_cond_broadcast(cond) : real.pthread_cond_signal(cond);
  };
  const char* op = all ? "condvar.notify_all" : "condvar.notify_one";
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, cond, "condvar", op, PendingOp::Kind::kWrite);
  if (model == nullptr) return real_signal();
  NativeObject& object = *model;
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  if (all) {
    Record(op, id, c.WakeAll(object));
  } else {
    const uint32_t woken = c.WakeOne(object);
    Record(op, id, std::nullopt, woken == kNoThread ? "no waiter" : "", woken);
  }
  return real_signal();
}

}  // namespace lockstep::native_internal
