// A condition variable whose waits and notifications are scheduling points.
#ifndef LOCKSTEP_CONDVAR_H_
#define LOCKSTEP_CONDVAR_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <source_location>
#include <string_view>

#include "lockstep/internal/controller.h"
#include "lockstep/mutex.h"
#include "lockstep/time.h"

namespace lockstep {

// Like std::condition_variable over lockstep::Mutex. wait() releases the
// mutex and starts waiting atomically, and re-acquires it before returning.
// With Options::spurious_wakeups, any wait may return without a notify when
// the strategy decides so (code that waits without a predicate loop is then
// caught). notify_one wakes a waiter the strategy chooses.
class CondVar : public internal::ObjectBase {
 public:
  explicit CondVar(std::string_view name = {},
                   std::source_location created_at = std::source_location::current());

  void wait(std::unique_lock<Mutex>& lock,
            std::source_location location = std::source_location::current());

  template <typename Predicate>
  void wait(std::unique_lock<Mutex>& lock, Predicate predicate,
            std::source_location location = std::source_location::current()) {
    while (!predicate()) wait(lock, location);
  }

  // Waits at most `timeout` of virtual time.
  template <typename Rep, typename Period>
  std::cv_status wait_for(std::unique_lock<Mutex>& lock, std::chrono::duration<Rep, Period> timeout,
                          std::source_location location = std::source_location::current()) {
    return WaitUntil(lock, now() + std::chrono::ceil<VirtualClock::duration>(timeout), location);
  }

  // Waits until `predicate` holds or `timeout` passes; returns predicate().
  template <typename Rep, typename Period, typename Predicate>
  bool wait_for(std::unique_lock<Mutex>& lock, std::chrono::duration<Rep, Period> timeout,
                Predicate predicate,
                std::source_location location = std::source_location::current()) {
    const auto deadline = now() + std::chrono::ceil<VirtualClock::duration>(timeout);
    while (!predicate()) {
      if (WaitUntil(lock, deadline, location) == std::cv_status::timeout) return predicate();
    }
    return true;
  }

  // Waits until virtual time reaches `deadline`.
  std::cv_status wait_until(std::unique_lock<Mutex>& lock, VirtualClock::time_point deadline,
                            std::source_location location = std::source_location::current()) {
    return WaitUntil(lock, deadline, location);
  }

  void notify_one(std::source_location location = std::source_location::current());
  void notify_all(std::source_location location = std::source_location::current());

 private:
  std::cv_status WaitUntil(std::unique_lock<Mutex>& lock, VirtualClock::time_point deadline,
                           std::source_location location);
  std::cv_status Wait(std::unique_lock<Mutex>& lock, const VirtualClock::time_point* deadline,
                      std::source_location location);
};

}  // namespace lockstep

#endif  // LOCKSTEP_CONDVAR_H_
