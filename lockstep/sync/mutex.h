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
  }
  bool Available(bool shared) const {
    return owner_ == ::lockstep::internal::kNoThread && (shared || readers_.empty());
  }

  const bool recursive_;
  uint32_t owner_ = ::lockstep::internal::kNoThread;
  uint32_t depth_ = 0;
  std::vector<uint32_t> readers_;  // one entry per shared hold
};

// try_lock_for / try_lock_until and their shared versions, for `Self`
// whose Model() is its MutexModel.
template <typename Self>
class TimedLocking {
 public:
  template <typename Rep, typename Period>
  bool try_lock_for(const std::chrono::duration<Rep, Period>& timeout) {
    return Model().Lock(false, false, After(timeout));
  }
  template <typename Clock, typename Duration>
  bool try_lock_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    return Model().Lock(false, false, ToVirtual(deadline));
  }

 protected:
  MutexModel& Model() { return static_cast<Self&>(*this).model_; }
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
class timed_mutex : public internal::TimedLocking<timed_mutex> {
 public:
  timed_mutex(std::source_location created_at = std::source_location::current())
      : model_("timed_mutex", false, created_at) {}
  timed_mutex(const timed_mutex&) = delete;
  timed_mutex& operator=(const timed_mutex&) = delete;

  void lock() { model_.Lock(false, false, std::nullopt); }
  bool try_lock() { return model_.Lock(false, true, std::nullopt); }
  void unlock() { model_.Unlock(false); }

 private:
  friend class internal::TimedLocking<timed_mutex>;
  internal::MutexModel model_;
};

// Like std::recursive_mutex.
class recursive_mutex {
 public:
  recursive_mutex(std::source_location created_at = std::source_location::current())
      : model_("recursive_mutex", true, created_at) {}
  recursive_mutex(const recursive_mutex&) = delete;
  recursive_mutex& operator=(const recursive_mutex&) = delete;

  void lock() { model_.Lock(false, false, std::nullopt); }
  bool try_lock() { return model_.Lock(false, true, std::nullopt); }
  void unlock() { model_.Unlock(false); }

 private:
  internal::MutexModel model_;
};

// Like std::recursive_timed_mutex.
class recursive_timed_mutex : public internal::TimedLocking<recursive_timed_mutex> {
 public:
  recursive_timed_mutex(std::source_location created_at = std::source_location::current())
      : model_("recursive_timed_mutex", true, created_at) {}
  recursive_timed_mutex(const recursive_timed_mutex&) = delete;
  recursive_timed_mutex& operator=(const recursive_timed_mutex&) = delete;

  void lock() { model_.Lock(false, false, std::nullopt); }
  bool try_lock() { return model_.Lock(false, true, std::nullopt); }
  void unlock() { model_.Unlock(false); }

 private:
  friend class internal::TimedLocking<recursive_timed_mutex>;
  internal::MutexModel model_;
};

// Like std::shared_mutex: one writer or many readers; any reader may get in
// whenever no writer holds it (no writer preference is assumed).
class shared_mutex {
 public:
  shared_mutex(std::source_location created_at = std::source_location::current())
      : model_("shared_mutex", false, created_at) {}
  shared_mutex(const shared_mutex&) = delete;
  shared_mutex& operator=(const shared_mutex&) = delete;

  void lock() { model_.Lock(false, false, std::nullopt); }
  bool try_lock() { return model_.Lock(false, true, std::nullopt); }
  void unlock() { model_.Unlock(false); }
  void lock_shared() { model_.Lock(true, false, std::nullopt); }
  bool try_lock_shared() { return model_.Lock(true, true, std::nullopt); }
  void unlock_shared() { model_.Unlock(true); }

 private:
  internal::MutexModel model_;
};

// Like std::shared_timed_mutex.
class shared_timed_mutex : public internal::TimedLocking<shared_timed_mutex> {
 public:
  shared_timed_mutex(std::source_location created_at = std::source_location::current())
      : model_("shared_timed_mutex", false, created_at) {}
  shared_timed_mutex(const shared_timed_mutex&) = delete;
  shared_timed_mutex& operator=(const shared_timed_mutex&) = delete;

  void lock() { model_.Lock(false, false, std::nullopt); }
  bool try_lock() { return model_.Lock(false, true, std::nullopt); }
  void unlock() { model_.Unlock(false); }
  void lock_shared() { model_.Lock(true, false, std::nullopt); }
  bool try_lock_shared() { return model_.Lock(true, true, std::nullopt); }
  void unlock_shared() { model_.Unlock(true); }
  template <typename Rep, typename Period>
  bool try_lock_shared_for(const std::chrono::duration<Rep, Period>& timeout) {
    return model_.Lock(true, false, internal::After(timeout));
  }
  template <typename Clock, typename Duration>
  bool try_lock_shared_until(const std::chrono::time_point<Clock, Duration>& deadline) {
    return model_.Lock(true, false, internal::ToVirtual(deadline));
  }

 private:
  friend class internal::TimedLocking<shared_timed_mutex>;
  internal::MutexModel model_;
};

}  // namespace lockstep::sync

#endif  // LOCKSTEP_SYNC_MUTEX_H_
