// lockstep::sync::counting_semaphore and binary_semaphore: std's semaphores
// whose operations are scheduling points and whose timed acquires wait in
// virtual time, for code that switches its sync namespace between std:: and
// lockstep::sync.
#ifndef LOCKSTEP_SYNC_SEMAPHORE_H_
#define LOCKSTEP_SYNC_SEMAPHORE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <source_location>
#include <string>

#include "lockstep/internal/controller.h"
#include "lockstep/sync/chrono.h"
#include "lockstep/time.h"

namespace lockstep::sync {
namespace internal {

// The logic of every counting_semaphore<N>, with its max() as a value.
class SemaphoreBase : public ::lockstep::internal::ObjectBase {
 protected:
  SemaphoreBase(ptrdiff_t desired, ptrdiff_t max, std::source_location created_at);

  void Release(ptrdiff_t update);
  void Acquire();
  bool TryAcquire();
  // Acquire() until `deadline` (virtual time) at most; false on timeout.
  bool TryAcquireUntil(VirtualClock::time_point deadline, const char* api);

 private:
  std::string DescribeState(const ::lockstep::internal::Controller& controller) const override;
  void ResetState() override { count_ = desired_; }
  // The misuse of a count out of [0, max()] at construction, or false.
  bool CheckConstructed(::lockstep::internal::Controller& c, const char* op,
                        std::source_location location);

  const ptrdiff_t max_;
  const ptrdiff_t desired_;
  ptrdiff_t count_;
};

}  // namespace internal

// A counting semaphore, like std::counting_semaphore: acquire() waits until
// the count is positive and decrements it, release(n) adds n and wakes the
// waiters. Every operation is a scheduling point. try_acquire_for and
// try_acquire_until wait in virtual time (lockstep/time.h): the timeout is a
// scheduling decision, so it can race with the release that would have
// prevented it. Deadlines on lockstep::sync::chrono's clocks convert
// exactly; a deadline on a real clock counts from that clock's now().
//
// Differences from std::counting_semaphore:
//  * max() is exactly LeastMaxValue (std allows more), so releasing a
//    binary_semaphore twice is caught.
//  * What std leaves undefined fails the iteration as MISUSE: a desired
//    count out of [0, max()], a negative update, or a release that raises
//    the count above max().
//  * The constructor is not constexpr, and try_acquire() is not noexcept:
//    used outside a Lockstep run, every operation throws
//    lockstep::UsageError.
//  * A semaphore that outlives an iteration (a fixture member, a global)
//    starts every iteration with its desired count again.
template <ptrdiff_t LeastMaxValue = std::numeric_limits<ptrdiff_t>::max()>
class counting_semaphore : public internal::SemaphoreBase {
  static_assert(LeastMaxValue >= 0, "counting_semaphore needs a non-negative LeastMaxValue");

 public:
  static constexpr ptrdiff_t max() noexcept { return LeastMaxValue; }

  explicit counting_semaphore(ptrdiff_t desired,
                              std::source_location created_at = std::source_location::current())
      : SemaphoreBase(desired, max(), created_at) {}
  ~counting_semaphore() override = default;
  counting_semaphore(const counting_semaphore&) = delete;
  counting_semaphore& operator=(const counting_semaphore&) = delete;

  // Adds `update` (>= 0, keeping the count at most max()) and wakes waiters.
  void release(ptrdiff_t update = 1) { Release(update); }
  // Waits until the count is positive, then decrements it.
  void acquire() { Acquire(); }
  // Decrements a positive count; false when it is zero.
  bool try_acquire() { return TryAcquire(); }
  // acquire() for at most `rel_time` of virtual time; false on timeout.
  template <class Rep, class Period>
  bool try_acquire_for(const std::chrono::duration<Rep, Period>& rel_time) {
    constexpr const char* kApi = "lockstep::sync::counting_semaphore::try_acquire_for";
    ::lockstep::internal::Controller::Current(kApi);  // before reading the clock
    return TryAcquireUntil(internal::After(rel_time), kApi);
  }
  // acquire() until `abs_time` at most; false on timeout.
  template <class Clock, class Duration>
  bool try_acquire_until(const std::chrono::time_point<Clock, Duration>& abs_time) {
    constexpr const char* kApi = "lockstep::sync::counting_semaphore::try_acquire_until";
    ::lockstep::internal::Controller::Current(kApi);  // before reading the clock
    return TryAcquireUntil(internal::ToVirtual(abs_time), kApi);
  }
};

using binary_semaphore = counting_semaphore<1>;

}  // namespace lockstep::sync

#endif  // LOCKSTEP_SYNC_SEMAPHORE_H_
