// absl::Mutex (writer and reader locks, conditions, timeouts) and
// absl::CondVar, steered through their real operations (interpose_absl.cc).
// A thread waiting for a condition blocks in the model on the mutex until a
// holder releases it, then takes it back and evaluates the condition again,
// as Abseil does; a waiter whose condition is still false releases the
// mutex without waking the other condition waiters (nothing changed).
// absl::Notification, BlockingCounter and Barrier are built on these calls.
#include "lockstep/native/model.h"

namespace lockstep::native_internal {

using internal::Controller;
using internal::WakeReason;

std::optional<bool> Session::AwaitCondition(Turn& turn, NativeObject& object,
                                            const SteeredLock& lock, bool write,
                                            Condition condition,
                                            std::optional<uint64_t> deadline_ns) {
  Controller& c = *controller_;
  const uint32_t me = turn.me();
  const PendingOp pending{write ? PendingOp::Kind::kWrite : PendingOp::Kind::kRead, object.IdIn(c)};
  bool timed_out = false;
  // Evaluated with the lock held, by the baton holder.
  while (!condition()) {
    if (timed_out) return false;
    lock.unlock(write);
    Released(object, me, write, /*wake_awaiting=*/false);
    if (awaiting_.size() <= me) awaiting_.resize(me + 1, 0);
    awaiting_[me] = 1;
    const WakeReason reason =
        c.Block(object, "absl.mutex.await", pending, std::source_location::current(), deadline_ns);
    awaiting_[me] = 0;
    if (reason == WakeReason::kAborted) {
      HandleFailure();
      turn.Leave();
      lock.lock(write);
      return std::nullopt;
    }
    timed_out = reason == WakeReason::kTimeout;
    TakeSteered(turn, object, lock, lock.relock_op, write);
    if (!turn.modelled()) return std::nullopt;
  }
  return true;
}

bool Session::AbslLock(const SteeredLock& lock, const char* op, bool write, bool try_only,
                       const Condition* condition, clockid_t clock, const timespec* deadline,
                       absl::FunctionRef<bool()> real) {
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, lock.address, lock.kind, op,
                              write ? PendingOp::Kind::kWrite : PendingOp::Kind::kRead);
  if (model == nullptr) return real();
  NativeObject& object = *model;
  const uint32_t id = object.IdIn(*controller_);
  if (try_only) {
    const bool taken = lock.try_lock(write);
    if (taken) object.Hold(turn.me(), write);
    Record(op, id, taken ? 1 : 0);
    return taken;
  }
  TakeSteered(turn, object, lock, op, write);
  bool result = true;
  if (condition != nullptr && turn.modelled()) {
    const std::optional<bool> holds =
        AwaitCondition(turn, object, lock, write, *condition, VirtualDeadline(clock, deadline));
    if (holds.has_value()) result = *holds;
  }
  if (!turn.modelled()) {
    // Released with the lock held: the real call waits for the condition.
    if (condition == nullptr) return true;
    lock.unlock(write);
    return real();
  }
  Record(op, id, result ? 1 : 0, result ? "" : "timed out");
  return result;
}

void Session::AbslUnlock(const SteeredLock& lock, const char* op, bool write) {
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, lock.address, lock.kind, op, PendingOp::Kind::kWrite);
  lock.unlock(write);
  if (model == nullptr) return;
  const int woken = Released(*model, turn.me(), write, /*wake_awaiting=*/true);
  Record(op, model->IdIn(*controller_), woken);
  AfterWake(woken);
}

bool Session::AbslAwait(const SteeredLock& lock, Condition condition, clockid_t clock,
                        const timespec* deadline, absl::FunctionRef<bool()> real) {
  const char* op = "absl.mutex.await";
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, lock.address, lock.kind, op, PendingOp::Kind::kWrite);
  if (model == nullptr) return real();
  NativeObject& object = *model;
  const bool write = object.owner == turn.me();
  if (!write && object.readers == 0) {
    turn.Leave();
    return real();  // not held: Abseil says what it says of that
  }
  const std::optional<bool> holds =
      AwaitCondition(turn, object, lock, write, condition, VirtualDeadline(clock, deadline));
  if (!holds.has_value()) return real();
  Record(op, object.IdIn(*controller_), *holds ? 1 : 0, *holds ? "" : "timed out");
  return *holds;
}

bool Session::AbslCondWait(const void* cond, const SteeredLock& lock, clockid_t clock,
                           const timespec* deadline, absl::FunctionRef<bool()> real) {
  Turn turn(*this, PendingOp{});
  NativeObject* model =
      Begin(turn, cond, "absl::CondVar", "absl.condvar.wait", PendingOp::Kind::kWrite);
  if (model == nullptr) return real();
  const bool write = Object(lock.address, lock.kind).owner == turn.me();
  return WaitOnCondVar(turn, *model, "absl.condvar.wait", lock, write,
                       VirtualDeadline(clock, deadline)) == WakeReason::kTimeout;
}

void Session::Call(const void* address, const char* kind, const char* op) {
  Turn turn(*this, PendingOp{});
  NativeObject* model = Begin(turn, address, kind, op, PendingOp::Kind::kWrite);
  if (model != nullptr) Record(op, model->IdIn(*controller_));
}

}  // namespace lockstep::native_internal
