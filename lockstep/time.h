// Virtual time. Nothing in a Lockstep run really sleeps: time stands still
// while threads run and jumps forward when the strategy lets the earliest
// pending timer (a sleep or a timed wait) fire. A timeout is a scheduling
// decision, so it can race with the wake-up that would have prevented it.
#ifndef LOCKSTEP_TIME_H_
#define LOCKSTEP_TIME_H_

#include <chrono>
#include <source_location>

namespace lockstep {

// The clock of the current iteration; starts at 0 in every iteration.
struct VirtualClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<VirtualClock>;
  static constexpr bool is_steady = true;
  // The current virtual time (only inside a run).
  static time_point now();
};

// The current virtual time (only inside a run).
inline VirtualClock::time_point now() { return VirtualClock::now(); }

// Blocks the calling logical thread until virtual time reaches `deadline`.
void sleep_until(VirtualClock::time_point deadline,
                 std::source_location location = std::source_location::current());

// Blocks the calling logical thread for `duration` of virtual time. A zero
// or negative duration is a plain scheduling point.
template <typename Rep, typename Period>
void sleep_for(std::chrono::duration<Rep, Period> duration,
               std::source_location location = std::source_location::current()) {
  sleep_until(now() + std::chrono::ceil<VirtualClock::duration>(duration), location);
}

}  // namespace lockstep

#endif  // LOCKSTEP_TIME_H_
