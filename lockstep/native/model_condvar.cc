// Condition variables: pthread's (std::condition_variable) and, through the
// same wait, absl::CondVar.
#include <errno.h>
#include <pthread.h>

#include "lockstep/native/model.h"

namespace lockstep::native_internal {

using internal::Controller;
using internal::kNoThread;
using internal::WakeReason;

WakeReason Session::WaitOnCondVar(Turn& turn, NativeObject& cond, const char* op,
                                  const SteeredLock& lock, bool write,
                                  std::optional<uint64_t> deadline_ns) {
  Controller& c = *controller_;
  NativeObject& mutex = Object(lock.address, lock.kind);
  const uint32_t mutex_id = mutex.IdIn(c);
  // A spurious wake-up is a controlled choice made as the wait starts.
  const bool may_wake_spuriously = c.spurious_wakeups() && c.Choose(2) == 1;
  if (c.aborting()) {
    HandleFailure();
    turn.Leave();
    return WakeReason::kAborted;
  }
  // Release the lock and start waiting in one step: no signal slips in.
  lock.unlock(write);
  Released(mutex, turn.me(), write, /*wake_awaiting=*/true);
  const WakeReason reason = c.Block(
      cond, op, PendingOp{write ? PendingOp::Kind::kWrite : PendingOp::Kind::kRead, mutex_id},
      std::source_location::current(), deadline_ns, may_wake_spuriously);
  if (reason == WakeReason::kAborted) {
    HandleFailure();
    turn.Leave();
    lock.lock(write);
    return reason;
  }
  Record(op, cond.IdIn(c), std::nullopt,
         reason == WakeReason::kTimeout    ? "timed out"
         : reason == WakeReason::kSpurious ? "spurious wake-up"
                                           : "notified");
  TakeSteered(turn, mutex, lock, lock.relock_op, write);
  if (turn.modelled()) Record(lock.relock_op, mutex_id, 1);
  return reason;
}

int Session::CondWait(pthread_cond_t* cond, pthread_mutex_t* mutex, clockid_t clock,
                      const timespec* deadline) {
  const RealFunctions& real = Real();
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, cond, "condvar", "condvar.wait", PendingOp::Kind::kWrite);
  if (model == nullptr) {
    if (deadline != nullptr) return real.pthread_cond_clockwait(cond, mutex, clock, deadline);
    return real.pthread_cond_wait(cond, mutex);
  }
  auto try_lock = [&](bool) { return real.pthread_mutex_trylock(mutex) == 0; };
  auto lock_op = [&](bool) { real.pthread_mutex_lock(mutex); };
  auto unlock = [&](bool) { real.pthread_mutex_unlock(mutex); };
  const SteeredLock lock{mutex, "mutex", try_lock, lock_op, unlock, "mutex.lock"};
  const WakeReason reason =
      WaitOnCondVar(turn, *model, "condvar.wait", lock, true, VirtualDeadline(clock, deadline));
  return reason == WakeReason::kTimeout ? ETIMEDOUT : 0;
}

int Session::CondSignal(const void* cond, const char* kind, const char* op, bool all,
                        absl::FunctionRef<int()> real) {
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, cond, kind, op, PendingOp::Kind::kWrite);
  if (model == nullptr) return real();
  NativeObject& object = *model;
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  if (all) {
    Record(op, id, c.WakeAll(object));
  } else {
    const uint32_t woken = c.WakeOne(object);
    Record(op, id, std::nullopt, woken == kNoThread ? "no waiter" : "", woken);
  }
  // Threads outside the run may wait on it for real: wake them too.
  return real();
}

}  // namespace lockstep::native_internal
