// Mutexes whose every operation is a scheduling point.
#ifndef LOCKSTEP_MUTEX_H_
#define LOCKSTEP_MUTEX_H_

#include <cstdint>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "lockstep/internal/controller.h"

namespace lockstep {

// A non-recursive mutex. Satisfies Lockable, so std::lock_guard,
// std::unique_lock and std::scoped_lock work with it. Locking a mutex the
// thread already holds, or unlocking one it does not hold, fails the
// iteration as MISUSE instead of being undefined behaviour.
//
// unlock() wakes one of the threads blocked in lock(), chosen by the
// strategy (a choose() decision when several wait); any other thread may
// still take the mutex before the woken one runs, which then blocks again.
// Which thread acquires next is therefore as free as std::mutex leaves it,
// without waking every waiter only for all but one to block again.
class Mutex : public internal::ObjectBase {
 public:
  explicit Mutex(std::string_view name = {},
                 std::source_location created_at = std::source_location::current());

  void lock(std::source_location location = std::source_location::current());
  bool try_lock(std::source_location location = std::source_location::current());
  void unlock(std::source_location location = std::source_location::current());

 private:
  friend class CondVar;
  std::string DescribeState(const internal::Controller& controller) const override;
  void ResetState() override { owner_ = internal::kNoThread; }
  // Acquires without a scheduling point of its own (the caller made one).
  void Acquire(internal::Controller& c, uint32_t id, std::source_location location);
  // Releases without a scheduling point (CondVar::wait releases atomically).
  void Release(internal::Controller& c, uint32_t id, std::source_location location);

  uint32_t owner_ = internal::kNoThread;
};

// A reader-writer mutex (like std::shared_mutex): one writer or many readers.
class SharedMutex : public internal::ObjectBase {
 public:
  explicit SharedMutex(std::string_view name = {},
                       std::source_location created_at = std::source_location::current());

  void lock(std::source_location location = std::source_location::current());
  bool try_lock(std::source_location location = std::source_location::current());
  void unlock(std::source_location location = std::source_location::current());
  void lock_shared(std::source_location location = std::source_location::current());
  bool try_lock_shared(std::source_location location = std::source_location::current());
  void unlock_shared(std::source_location location = std::source_location::current());

 private:
  std::string DescribeState(const internal::Controller& controller) const override;
  void ResetState() override {
    writer_ = internal::kNoThread;
    readers_.clear();
  }
  bool HoldsShared(uint32_t thread) const;

  uint32_t writer_ = internal::kNoThread;
  std::vector<uint32_t> readers_;  // one entry per shared hold
};

}  // namespace lockstep

#endif  // LOCKSTEP_MUTEX_H_
