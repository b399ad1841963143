// lockstep::sync's mutexes: std::mutex, timed_mutex, recursive_mutex,
// recursive_timed_mutex, shared_mutex and shared_timed_mutex, every
// operation a scheduling point (see lockstep/sync.h). They work with
// std::lock_guard, std::unique_lock, std::scoped_lock, std::shared_lock and
// std::lock. What std calls undefined (unlocking a mutex another thread
// holds, locking a non-recursive mutex twice) fails the iteration as MISUSE.
#ifndef LOCKSTEP_SYNC_MUTEX_H_
#define LOCKSTEP_SYNC_MUTEX_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <source_location>
#include <string>
#include <vector>

#include "lockstep/internal/controller.h"
#include "lockstep/mutex.h"
#include "lockstep/sync/chrono.h"

namespace lockstep::sync {

class condition_variable;

// Lock types and tags are std's: they work with these mutexes.
using std::adopt_lock;
using std::adopt_lock_t;
using std::defer_lock;
using std::defer_lock_t;
using std::lock;
using std::lock_guard;
using std::scoped_lock;
using std::shared_lock;
using std::try_lock;
using std::try_to_lock;
using std::try_to_lock_t;
using std::unique_lock;

namespace internal {

// The model behind every mutex here but `mutex`: an owner (with a depth
// when recursive) or a set of shared holders, and timed acquisition in
// virtual time.
class MutexModel : public ::lockstep::internal::ObjectBase {
 public:
  MutexModel(const char* kind, bool recursive, std::source_location created_at)
      : ObjectBase(kind, {}, created_at), recursive_(recursive) {}

  // Acquires exclusively (`shared` false) or shared. With `try_only`, fails
  // at once when it cannot; with a deadline, when it passes first.
  bool Lock(bool shared, bool try_only, std::optional<VirtualClock::time_point> deadline);
  void Unlock(bool shared);

 private:
  std::string DescribeState(const ::lockstep::internal::Controller& c) const override;
  void ResetState() override {
    owner_ = ::lockstep::internal::kNoThread;
    depth_ = 0;
    readers_.clear();
    shared_waiters_ = 0;
  }
  bool Available(bool shared) const {
    return owner_ == ::lockstep::internal::kNoThread && (shared || readers_.empty());
  }

  const bool recursive_;
  uint32_t owner_ = ::lockstep::internal::kNoThread;
  uint32_t depth_ = 0;
  std::vector<uint32_t> readers_;  // one entry per shared hold
  uint32_t shared_waiters_ = 0;    // threads blocked in a shared lock
};

// lock, try_lock and unlock over a MutexModel: the base of every mutex here
// but `mutex`.
class ExclusiveLocking {
 public:
  ExclusiveLocking(const ExclusiveLocking&) = delete;
  ExclusiveLocking& operator=(const ExclusiveLocking&) = delete;

  void lock() { model_.Lock(false, false, std::nullopt); }
  bool try_lock() { return model_.Lock(false, true, std::nullopt); }
  void unlock() { model_.Unlock(false); }

 protected:
  ExclusiveLocking(const char* kind, bool recursive, std::source_location created_at)
      : model_(kind, recursive, created_at) {}
  MutexModel model_;
};

// Adds lock_shared, try_lock_shared and unlock_shared.
class SharedLocking : public ExclusiveLocking {
 public:
  void lock_shared() { model_.Lock(true, false, std::nullopt); }
  bool try_lock_shared() { return model_.Lock(true, true, std::nullopt); }
  void unlock_shared() { model_.Unlock(true); }

 protected:
  using ExclusiveLocking::ExclusiveLocking;
};

// Adds try_lock_for and try_lock_until (in virtual time).
template <typename Base>
class TimedLocking : public Base {
 public:
  template <typename Rep, typename Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout) {
    return this->model_.Lock(false, false, After(timeout));
  }
  template <typename Clock, typename Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    return this->model_.Lock(false, false, ToVirtual(deadline));
  }

 protected:
  using Base::Base;
};

}  // namespace internal

// Like std::mutex.
class mutex {
 public:
  mutex(std::source_location created_at = std::source_location::current())
      : impl_({}, created_at) {}
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  void lock() { impl_.lock(std::source_location::current()); }
  bool try_lock() { return impl_.try_lock(std::source_location::current()); }
  void unlock() { impl_.unlock(std::source_location::current()); }

 private:
  friend class condition_variable;
  ::lockstep::Mutex impl_;
};

// Like std::timed_mutex: lock times out in virtual time.
class timed_mutex : public internal::TimedLocking<internal::ExclusiveLocking> {
 public:
  timed_mutex(std::source_location created_at = std::source_location::current())
      : TimedLocking("timed_mutex", false, created_at) {}
};

// Like std::recursive_mutex.
class recursive_mutex : public internal::ExclusiveLocking {
 public:
  recursive_mutex(std::source_location created_at = std::source_location::current())
      : ExclusiveLocking("recursive_mutex", true, created_at) {}
};

// Like std::recursive_timed_mutex.
class recursive_timed_mutex : public internal::TimedLocking<internal::ExclusiveLocking> {
 public:
  recursive_timed_mutex(std::source_location created_at = std::source_location::current())
      : TimedLocking("recursive_timed_mutex", true, created_at) {}
};

// Like std::shared_mutex: one writer or many readers; any reader may get in
// whenever no writer holds it (no writer preference is assumed).
class shared_mutex : public internal::SharedLocking {
 public:
  shared_mutex(std::source_location created_at = std::source_location::current())
      : SharedLocking("shared_mutex", false, created_at) {}
};

// Like std::shared_timed_mutex.
class shared_timed_mutex : public internal::TimedLocking<internal::SharedLocking> {
 public:
  shared_timed_mutex(std::source_location created_at = std::source_location::current())
      : TimedLocking("shared_timed_mutex", false, created_at) {}

  template <typename Rep, typename Period>
  bool try_lock_shared_for(const std::chrono::duration<Rep, Period>& timeout) {
    return model_.Lock(true, false, internal::After(timeout));
  }
  template <typename Clock, typename Duration>
  bool try_lock_shared_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    return model_.Lock(true, false, internal::ToVirtual(deadline));
  }
};

}  // namespace lockstep::sync

#endif  // LOCKSTEP_SYNC_MUTEX_H_
