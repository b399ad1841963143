// lockstep::sync::condition_variable and condition_variable_any (see
// lockstep/sync.h): waits and notifications are scheduling points, timeouts
// fire in virtual time, and with Options::spurious_wakeups any wait may end
// spuriously when the strategy says so.
#ifndef LOCKSTEP_SYNC_CONDITION_VARIABLE_H_
#define LOCKSTEP_SYNC_CONDITION_VARIABLE_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <source_location>

#include "lockstep/condvar.h"
#include "lockstep/mutex.h"
#include "lockstep/sync/chrono.h"
#include "lockstep/sync/mutex.h"
#include "lockstep/sync/stop_token.h"

namespace lockstep::sync {

using std::cv_status;

// Like std::condition_variable, over lockstep::sync::mutex.
class condition_variable {
 public:
  condition_variable(std::source_location created_at = std::source_location::current())
      : impl_({}, created_at) {}
  condition_variable(const condition_variable&) = delete;
  condition_variable& operator=(const condition_variable&) = delete;

  void notify_one() { impl_.notify_one(std::source_location::current()); }
  void notify_all() { impl_.notify_all(std::source_location::current()); }

  void wait(std::unique_lock<mutex>& lock) { WaitUntil(lock, std::nullopt); }
  template <typename Predicate>
  void wait(std::unique_lock<mutex>& lock, Predicate predicate) {
    while (!predicate()) wait(lock);
  }
  template <typename Clock, typename Duration>
  cv_status wait_until(std::unique_lock<mutex>& lock,
                       const std::chrono::time_point<Clock, Duration>& deadline) {
    return WaitUntil(lock, internal::ToVirtual(deadline));
  }
  template <typename Clock, typename Duration, typename Predicate>
  bool wait_until(std::unique_lock<mutex>& lock,
                  const std::chrono::time_point<Clock, Duration>& deadline, Predicate predicate) {
    const VirtualClock::time_point end = internal::ToVirtual(deadline);
    while (!predicate()) {
      if (WaitUntil(lock, end) == cv_status::timeout) return predicate();
    }
    return true;
  }
  template <typename Rep, typename Period>
  cv_status wait_for(std::unique_lock<mutex>& lock,
                     const std::chrono::duration<Rep, Period>& timeout) {
    return WaitUntil(lock, internal::After(timeout));
  }
  template <typename Rep, typename Period, typename Predicate>
  bool wait_for(std::unique_lock<mutex>& lock, const std::chrono::duration<Rep, Period>& timeout,
                Predicate predicate) {
    return wait_until(lock, internal::After(timeout), std::move(predicate));
  }

 private:
  // Waits on the lockstep::Mutex inside `lock`'s mutex (a lock that does
  // not hold one is MISUSE, reported by CondVar).
  cv_status WaitUntil(std::unique_lock<mutex>& lock,
                      std::optional<VirtualClock::time_point> deadline) {
    std::unique_lock<::lockstep::Mutex> inner;
    if (lock.owns_lock()) inner = std::unique_lock(lock.mutex()->impl_, std::adopt_lock);
    const cv_status status =
        deadline ? impl_.wait_until(inner, *deadline, std::source_location::current())
                 : (impl_.wait(inner, std::source_location::current()), cv_status::no_timeout);
    inner.release();  // `lock` owns it
    return status;
  }

  ::lockstep::CondVar impl_;
};

// Like std::condition_variable_any: waits with any lock (a unique_lock of
// any sync mutex, a shared_lock, a user's own lockable), and with a
// stop_token. As in std, an internal mutex makes unlocking the user's lock
// and starting to wait one step for notifiers; its operations appear in the
// trace.
class condition_variable_any {
 public:
  condition_variable_any(std::source_location created_at = std::source_location::current())
      : mutex_({}, created_at), cv_({}, created_at) {}
  condition_variable_any(const condition_variable_any&) = delete;
  condition_variable_any& operator=(const condition_variable_any&) = delete;

  void notify_one() {
    { std::lock_guard<::lockstep::Mutex> guard(mutex_); }
    cv_.notify_one(std::source_location::current());
  }
  void notify_all() {
    { std::lock_guard<::lockstep::Mutex> guard(mutex_); }
    cv_.notify_all(std::source_location::current());
  }

  template <typename Lock>
  void wait(Lock& lock) {
    WaitUntil(lock, std::nullopt);
  }
  template <typename Lock, typename Predicate>
  void wait(Lock& lock, Predicate predicate) {
    while (!predicate()) wait(lock);
  }
  template <typename Lock, typename Clock, typename Duration>
  cv_status wait_until(Lock& lock, const std::chrono::time_point<Clock, Duration>& deadline) {
    return WaitUntil(lock, internal::ToVirtual(deadline));
  }
  template <typename Lock, typename Clock, typename Duration, typename Predicate>
  bool wait_until(Lock& lock, const std::chrono::time_point<Clock, Duration>& deadline,
                  Predicate predicate) {
    const VirtualClock::time_point end = internal::ToVirtual(deadline);
    while (!predicate()) {
      if (WaitUntil(lock, end) == cv_status::timeout) return predicate();
    }
    return true;
  }
  template <typename Lock, typename Rep, typename Period>
  cv_status wait_for(Lock& lock, const std::chrono::duration<Rep, Period>& timeout) {
    return WaitUntil(lock, internal::After(timeout));
  }
  template <typename Lock, typename Rep, typename Period, typename Predicate>
  bool wait_for(Lock& lock, const std::chrono::duration<Rep, Period>& timeout,
                Predicate predicate) {
    return wait_until(lock, internal::After(timeout), std::move(predicate));
  }

  // Interruptible waits: return when `predicate` holds or a stop is
  // requested; the result is predicate() (false when stopped first).
  template <typename Lock, typename Predicate>
  bool wait(Lock& lock, stop_token token, Predicate predicate) {
    return WaitStoppable(lock, token, std::nullopt, std::move(predicate));
  }
  template <typename Lock, typename Clock, typename Duration, typename Predicate>
  bool wait_until(Lock& lock, stop_token token,
                  const std::chrono::time_point<Clock, Duration>& deadline, Predicate predicate) {
    return WaitStoppable(lock, token, internal::ToVirtual(deadline), std::move(predicate));
  }
  template <typename Lock, typename Rep, typename Period, typename Predicate>
  bool wait_for(Lock& lock, stop_token token, const std::chrono::duration<Rep, Period>& timeout,
                Predicate predicate) {
    return WaitStoppable(lock, token, internal::After(timeout), std::move(predicate));
  }

 private:
  // Unlocks `lock` and waits in one step for notifiers (they take mutex_
  // first), then locks `lock` again.
  template <typename Lock>
  cv_status WaitUntil(Lock& lock, std::optional<VirtualClock::time_point> deadline,
                      const stop_token* token = nullptr) {
    std::unique_lock<::lockstep::Mutex> inner(mutex_);
    if (token != nullptr && token->stop_requested()) return cv_status::no_timeout;
    lock.unlock();
    const cv_status status =
        deadline ? cv_.wait_until(inner, *deadline, std::source_location::current())
                 : (cv_.wait(inner, std::source_location::current()), cv_status::no_timeout);
    if (inner.owns_lock()) inner.unlock();
    lock.lock();
    return status;
  }

  template <typename Lock, typename Predicate>
  bool WaitStoppable(Lock& lock, stop_token& token,
                     std::optional<VirtualClock::time_point> deadline, Predicate predicate) {
    if (token.stop_requested()) return predicate();
    stop_callback wake(token, [this] { notify_all(); });
    while (!predicate()) {
      if (token.stop_requested()) return false;
      if (WaitUntil(lock, deadline, &token) == cv_status::timeout) return predicate();
    }
    return true;
  }

  ::lockstep::Mutex mutex_;
  ::lockstep::CondVar cv_;
};

}  // namespace lockstep::sync

#endif  // LOCKSTEP_SYNC_CONDITION_VARIABLE_H_
