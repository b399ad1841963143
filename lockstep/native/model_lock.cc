// Mutexes and reader-writer locks.
#include <errno.h>
#include <pthread.h>

#include "lockstep/native/model.h"

namespace lockstep::native_internal {

using internal::Controller;
using internal::kNoThread;
using internal::WakeReason;

int Session::Acquire(Turn& turn, NativeObject& object, const char* op, PendingOp pending,
                     const std::function<int()>& try_op, const std::function<int()>& blocking_op,
                     std::optional<uint64_t> deadline_ns, bool owned) {
  Controller& c = *controller_;
  while (true) {
    const int r = try_op();
    if (r != EBUSY && r != EAGAIN) return r;
    // Held, but by no thread of the run: wait for the real owner, outside
    // the model.
    if (owned && object.owner == kNoThread && object.readers == 0) return turn.Outside(blocking_op);
    const WakeReason reason =
        c.Block(object, op, pending, std::source_location::current(), deadline_ns);
    if (reason == WakeReason::kAborted) {
      HandleFailure();
      turn.Leave();
      return blocking_op();
    }
    if (reason == WakeReason::kTimeout) return try_op() == 0 ? 0 : ETIMEDOUT;
  }
}

void Session::TakeSteered(Turn& turn, NativeObject& object, const SteeredLock& lock, const char* op,
                          bool write) {
  const PendingOp pending{write ? PendingOp::Kind::kWrite : PendingOp::Kind::kRead,
                          object.IdIn(*controller_)};
  Acquire(
      turn, object, op, pending, [&] { return lock.try_lock(write) ? 0 : EBUSY; },
      [&] {
        lock.lock(write);
        return 0;
      },
      std::nullopt, /*owned=*/true);
  if (turn.modelled()) object.Hold(turn.me(), write);
}

int Session::Released(NativeObject& object, uint32_t me, bool write, bool wake_awaiting) {
  object.Drop(me, write);
  if (wake_awaiting) return controller_->WakeAll(object);
  return controller_->WakeAll(object,
                              [&](uint32_t t) { return t >= awaiting_.size() || !awaiting_[t]; });
}

int Session::MutexLock(pthread_mutex_t* mutex, bool try_only, clockid_t clock,
                       const timespec* deadline) {
  const RealFunctions& real = Real();
  auto blocking = [&] {
    if (try_only) return real.pthread_mutex_trylock(mutex);
    if (deadline != nullptr) return real.pthread_mutex_clocklock(mutex, clock, deadline);
    return real.pthread_mutex_lock(mutex);
  };
  const char* op = try_only              ? "mutex.try_lock"
                   : deadline != nullptr ? "mutex.timedlock"
                                         : "mutex.lock";
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, mutex, "mutex", op, PendingOp::Kind::kWrite);
  if (model == nullptr) return blocking();
  NativeObject& object = *model;
  const uint32_t id = object.IdIn(*controller_);
  const uint32_t me = turn.me();
  int r;
  if (object.owner == me && (mutex->__data.__kind & 3) == PTHREAD_MUTEX_ERRORCHECK) {
    r = EDEADLK;  // what the real error-checking mutex says
  } else if (try_only) {
    r = real.pthread_mutex_trylock(mutex);
  } else {
    r = Acquire(
        turn, object, op, Write(id), [&] { return real.pthread_mutex_trylock(mutex); }, blocking,
        VirtualDeadline(clock, deadline), /*owned=*/true);
  }
  if (!turn.modelled()) return r;
  if (r == 0) object.Hold(me, true);
  Record(op, id, r == 0 ? 1 : 0, r == ETIMEDOUT ? "timed out" : "");
  return r;
}

int Session::MutexUnlock(pthread_mutex_t* mutex) {
  const RealFunctions& real = Real();
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, mutex, "mutex", "mutex.unlock", PendingOp::Kind::kWrite);
  if (model == nullptr) return real.pthread_mutex_unlock(mutex);
  NativeObject& object = *model;
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  const int r = real.pthread_mutex_unlock(mutex);
  if (r == 0 && object.owner == turn.me() && --object.depth == 0) {
    object.owner = kNoThread;
    // One waiter, chosen by the strategy; another thread may still take the
    // mutex first, and the woken one then blocks again (as lockstep::Mutex).
    c.WakeOne(object);
  }
  Record("mutex.unlock", id);
  return r;
}

int Session::RwLock(pthread_rwlock_t* lock, bool write, bool try_only, clockid_t clock,
                    const timespec* deadline) {
  const RealFunctions& real = Real();
  auto try_op = [&] {
    return write ? real.pthread_rwlock_trywrlock(lock) : real.pthread_rwlock_tryrdlock(lock);
  };
  auto blocking = [&] {
    if (try_only) return try_op();
    if (deadline != nullptr) {
      return write ? real.pthread_rwlock_clockwrlock(lock, clock, deadline)
                   : real.pthread_rwlock_clockrdlock(lock, clock, deadline);
    }
    return write ? real.pthread_rwlock_wrlock(lock) : real.pthread_rwlock_rdlock(lock);
  };
  const char* op = write ? (try_only ? "rwlock.try_wrlock" : "rwlock.wrlock")
                         : (try_only ? "rwlock.try_rdlock" : "rwlock.rdlock");
  const PendingOp::Kind access = write ? PendingOp::Kind::kWrite : PendingOp::Kind::kRead;
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, lock, "rwlock", op, access);
  if (model == nullptr) return blocking();
  NativeObject& object = *model;
  const uint32_t id = object.IdIn(*controller_);
  const PendingOp pending{access, id};
  const int r = try_only ? try_op()
                         : Acquire(turn, object, op, pending, try_op, blocking,
                                   VirtualDeadline(clock, deadline), /*owned=*/true);
  if (!turn.modelled()) return r;
  if (r == 0) object.Hold(turn.me(), write);
  Record(op, id, r == 0 ? 1 : 0, r == ETIMEDOUT ? "timed out" : "");
  return r;
}

int Session::RwUnlock(pthread_rwlock_t* lock) {
  const RealFunctions& real = Real();
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, lock, "rwlock", "rwlock.unlock", PendingOp::Kind::kWrite);
  if (model == nullptr) return real.pthread_rwlock_unlock(lock);
  NativeObject& object = *model;
  const int r = real.pthread_rwlock_unlock(lock);
  if (r == 0) Released(object, turn.me(), object.owner == turn.me(), /*wake_awaiting=*/true);
  Record("rwlock.unlock", object.IdIn(*controller_));
  return r;
}

int Session::SpinLock(pthread_spinlock_t* lock, bool try_only) {
  const RealFunctions& real = Real();
  const char* op = try_only ? "spin.try_lock" : "spin.lock";
  const void* address = const_cast<const int*>(lock);  // a volatile int
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, address, "spinlock", op, PendingOp::Kind::kWrite);
  if (model == nullptr)
    return try_only ? real.pthread_spin_trylock(lock) : real.pthread_spin_lock(lock);
  NativeObject& object = *model;
  const uint32_t id = object.IdIn(*controller_);
  if (try_only) {
    const int r = real.pthread_spin_trylock(lock);
    if (r == 0) object.Hold(turn.me(), true);
    Record(op, id, r == 0 ? 1 : 0);
    return r;
  }
  auto try_lock = [&](bool) { return real.pthread_spin_trylock(lock) == 0; };
  auto lock_op = [&](bool) { real.pthread_spin_lock(lock); };
  auto unlock = [&](bool) { real.pthread_spin_unlock(lock); };
  TakeSteered(turn, object, SteeredLock{address, "spinlock", try_lock, lock_op, unlock, op}, op,
              true);
  if (turn.modelled()) Record(op, id, 1);
  return 0;
}

int Session::SpinUnlock(pthread_spinlock_t* lock) {
  Turn turn(*this, PendingOp{});
  NativeObject* model =
      Begin(turn, const_cast<const int*>(lock), "spinlock", "spin.unlock", PendingOp::Kind::kWrite);
  const int r = Real().pthread_spin_unlock(lock);
  if (model == nullptr) return r;
  Record("spin.unlock", model->IdIn(*controller_), Released(*model, turn.me(), true, true));
  return r;
}

}  // namespace lockstep::native_internal
