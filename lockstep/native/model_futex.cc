// Futexes reached through syscall(SYS_futex, ...): what libstdc++ builds
// atomic wait/notify, latch, barrier, counting_semaphore, future and
// stop_token on. FUTEX_WAIT(_BITSET) is a scheduling point followed, when
// the word still holds the expected value, by a block in the model on the
// word's address; FUTEX_WAKE(_BITSET) wakes waiters chosen by the strategy.
// Timeouts are virtual deadlines that race the wake-ups. Threads outside
// the run that wait on the same word for real are woken for real too.
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "lockstep/native/model.h"

namespace lockstep::native_internal {

using internal::Controller;
using internal::kNoThread;
using internal::WakeReason;

namespace {

constexpr uint32_t kAnyBit = FUTEX_BITSET_MATCH_ANY;

long Fail(int error) {
  errno = error;
  return -1;
}

}  // namespace

long Session::Futex(uint32_t* word, int op, uint32_t value, const timespec* timeout,
                    uint32_t* word2, uint32_t value3) {
  auto real = [&] { return Real().syscall(SYS_futex, word, op, value, timeout, word2, value3); };
  const int command = op & FUTEX_CMD_MASK;
  const bool wait = command == FUTEX_WAIT || command == FUTEX_WAIT_BITSET;
  const bool wake = command == FUTEX_WAKE || command == FUTEX_WAKE_BITSET;
  if (!wait && !wake) return real();  // REQUEUE, LOCK_PI...: not modelled
  const uint32_t bitset =
      command == FUTEX_WAIT_BITSET || command == FUTEX_WAKE_BITSET ? value3 : kAnyBit;
  if (bitset == 0) return Fail(EINVAL);
  const char* op_name = wait ? "futex.wait" : "futex.wake";

  Turn turn(*this, PendingOp{});
  if (!turn.modelled()) {
    turn.Leave();
    return real();
  }
  NativeObject& object = Object(word, "futex");
  Controller& c = *controller_;
  const uint32_t id = object.IdIn(c);
  if (setup_.mode == NativeMode::kObserve) {
    Observe(op_name, word, "futex");
    turn.Leave();
    return real();
  }
  c.SchedulePoint(Write(id), std::source_location::current());
  // A futex wait may always return early; the strategy may make it do so.
  const bool may_wake_spuriously =
      wait && !c.aborting() && c.spurious_wakeups() && c.Choose(2) == 1;
  if (c.aborting()) {
    HandleFailure();
    turn.Leave();
    // A waiter returns at once (as if woken): its caller re-checks the word.
    return wait ? 0 : real();
  }
  const uint32_t me = turn.me();

  if (wake) {
    const int count = static_cast<int>(std::min<uint32_t>(value, std::numeric_limits<int>::max()));
    auto eligible = [&](uint32_t t) {
      return t < futex_bitsets_.size() && (futex_bitsets_[t] & bitset) != 0;
    };
    int woken = 0;
    uint32_t first = kNoThread;
    if (count >= c.WaitersOn(object, eligible)) {
      woken = c.WakeAll(object, eligible);
    } else {
      for (; woken < count; ++woken) {
        const uint32_t t = c.WakeOne(object, eligible);
        if (t == kNoThread) break;
        if (first == kNoThread) first = t;
      }
    }
    Record(op_name, id, woken, "", woken == 1 ? first : kNoThread);
    AfterWake(woken);
    turn.Leave();
    // Threads outside the run may wait on the word for real.
    const long outside = real();
    return woken + (outside > 0 ? outside : 0);
  }

  // The word is read now, in the model: only the baton holder runs.
  if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != value) {
    Record(op_name, id, value, "the word changed: not waiting");
    return Fail(EAGAIN);
  }
  // FUTEX_WAIT's timeout is relative (monotonic); FUTEX_WAIT_BITSET's is an
  // absolute time on the clock the operation names.
  std::optional<uint64_t> deadline;
  if (timeout != nullptr) {
    deadline =
        command == FUTEX_WAIT
            ? c.now_ns() + TimespecToNs(*timeout)
            : *VirtualDeadline((op & FUTEX_CLOCK_REALTIME) != 0 ? CLOCK_REALTIME : CLOCK_MONOTONIC,
                               timeout);
  }
  if (futex_bitsets_.size() <= me) futex_bitsets_.resize(me + 1, 0);
  futex_bitsets_[me] = bitset;
  const WakeReason reason = c.Block(object, op_name, Write(id), std::source_location::current(),
                                    deadline, may_wake_spuriously);
  futex_bitsets_[me] = 0;
  if (reason == WakeReason::kAborted) {
    HandleFailure();
    return 0;
  }
  Record(op_name, id, value,
         reason == WakeReason::kTimeout    ? "timed out"
         : reason == WakeReason::kSpurious ? "spurious wake-up"
                                           : "woken");
  return reason == WakeReason::kTimeout ? Fail(ETIMEDOUT) : 0;
}

}  // namespace lockstep::native_internal
