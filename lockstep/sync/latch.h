// lockstep::sync::latch: std::latch whose operations are scheduling points,
// for code that switches its sync namespace between std:: and lockstep::sync.
#ifndef LOCKSTEP_SYNC_LATCH_H_
#define LOCKSTEP_SYNC_LATCH_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <source_location>
#include <string>

#include "lockstep/internal/controller.h"

namespace lockstep::sync {

// A single-use downward counter, like std::latch: count_down() decrements
// it, wait() blocks until it reaches zero. Every operation is a scheduling
// point, and waiting for a count that stays above zero is reported as a
// deadlock naming the count.
//
// Differences from std::latch:
//  * What std leaves undefined fails the iteration as MISUSE: a negative
//    expected count, a negative update, or counting down by more than the
//    count left.
//  * The constructor is not constexpr, and try_wait() is not noexcept: used
//    outside a Lockstep run, every operation throws lockstep::UsageError.
//  * A latch that outlives an iteration (a fixture member, a global) starts
//    every iteration with its expected count again.
class latch : public ::lockstep::internal::ObjectBase {
 public:
  static constexpr ptrdiff_t max() noexcept { return std::numeric_limits<ptrdiff_t>::max(); }

  explicit latch(ptrdiff_t expected,
                 std::source_location created_at = std::source_location::current());
  ~latch() override = default;
  latch(const latch&) = delete;
  latch& operator=(const latch&) = delete;

  // Decrements the count by `update` (>= 0, at most the count left); at zero,
  // releases every waiter.
  void count_down(ptrdiff_t update = 1);
  // Whether the count has reached zero.
  bool try_wait() const;
  // Blocks until the count reaches zero.
  void wait() const;
  // count_down(update) then wait(), as one scheduling point.
  void arrive_and_wait(ptrdiff_t update = 1);

 private:
  std::string DescribeState(const ::lockstep::internal::Controller& controller) const override;
  void ResetState() override { count_ = expected_; }
  // The iteration's controller and this latch's id in it (a const member
  // registers the latch too).
  uint32_t IdIn(::lockstep::internal::Controller& c) const {
    return const_cast<latch*>(this)->Id(c);
  }
  // Checks and applies count_down(update); false when the iteration failed.
  bool CountDown(::lockstep::internal::Controller& c, uint32_t id, ptrdiff_t update, const char* op,
                 std::source_location location);
  // Blocks until the count is zero (no scheduling point of its own).
  void Wait(::lockstep::internal::Controller& c, uint32_t id, const char* op,
            std::source_location location) const;

  ptrdiff_t expected_;
  ptrdiff_t count_;
};

}  // namespace lockstep::sync

#endif  // LOCKSTEP_SYNC_LATCH_H_
