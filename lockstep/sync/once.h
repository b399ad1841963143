// lockstep::sync::once_flag and call_once: std::call_once whose calls are
// scheduling points, for code that switches its sync namespace between
// std:: and lockstep::sync.
#ifndef LOCKSTEP_SYNC_ONCE_H_
#define LOCKSTEP_SYNC_ONCE_H_

#include <cstdint>
#include <functional>
#include <source_location>
#include <string>
#include <utility>

#include "lockstep/internal/controller.h"

namespace lockstep::sync {

// The state of a call_once, like std::once_flag.
//
// Differences from std::once_flag:
//  * The constructor is not constexpr (a namespace-scope once_flag is
//    initialized dynamically).
//  * A once_flag that outlives an iteration (a fixture member, a global)
//    starts every iteration not yet called, so every iteration runs its
//    callable once.
class once_flag : public ::lockstep::internal::ObjectBase {
 public:
  // Not explicit, as std's default constructor: `once_flag f = {};` and
  // aggregates with a once_flag member work.
  once_flag(  // NOLINT(google-explicit-constructor)
      std::source_location created_at = std::source_location::current()) noexcept;
  ~once_flag() override = default;
  once_flag(const once_flag&) = delete;
  once_flag& operator=(const once_flag&) = delete;

 private:
  template <class Callable, class... Args>
  friend void call_once(once_flag& flag, Callable&& f, Args&&... args);

  enum class State : uint8_t { kIdle, kActive, kDone };

  // A scheduling point; waits while another thread's call is active. True
  // when the caller must run its callable (the flag is then active).
  bool Begin();
  // The active call returned: every caller returns from now on.
  void Finish();
  // The active call threw: the flag is idle again, and a waiting or later
  // caller runs its callable. No scheduling point (it runs in a catch block).
  void Abandon();

  std::string DescribeState(const ::lockstep::internal::Controller& controller) const override;
  void ResetState() override {
    state_ = State::kIdle;
    active_ = ::lockstep::internal::kNoThread;
  }

  State state_ = State::kIdle;
  uint32_t active_ = ::lockstep::internal::kNoThread;  // the thread running its callable
};

// Like std::call_once: runs std::invoke(f, args...) unless a call on `flag`
// has returned already. Concurrent callers wait while one of them runs its
// callable; when it returns, they all return (what it did happens before);
// when it throws, the exception goes to its caller and another caller (a
// waiting one or a later one) runs its own callable. A scheduling point.
//
// Differs from std::call_once in one way: calling call_once on `flag` from
// within the callable running on it (std: deadlock) fails the iteration as
// MISUSE. Outside a Lockstep run it throws lockstep::UsageError.
template <class Callable, class... Args>
void call_once(once_flag& flag, Callable&& f, Args&&... args) {
  if (!flag.Begin()) return;
  try {
    std::invoke(std::forward<Callable>(f), std::forward<Args>(args)...);
  } catch (...) {
    flag.Abandon();
    throw;
  }
  flag.Finish();
}

}  // namespace lockstep::sync

#endif  // LOCKSTEP_SYNC_ONCE_H_
