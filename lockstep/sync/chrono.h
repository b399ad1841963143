// lockstep::sync::chrono: std::chrono with clocks whose now() is the
// iteration's virtual time (lockstep/time.h), for code that switches its
// sync namespace between std:: and lockstep::sync (lockstep/sync.h).
#ifndef LOCKSTEP_SYNC_CHRONO_H_
#define LOCKSTEP_SYNC_CHRONO_H_

#include <chrono>
#include <ctime>

#include "lockstep/time.h"

namespace lockstep::sync::chrono {

// Durations, time_point, duration_cast, literals... are std::chrono's; only
// the clocks are Lockstep's.
using namespace std::chrono;

// Virtual time since the iteration began (only inside a run).
using steady_clock = ::lockstep::VirtualClock;
using high_resolution_clock = steady_clock;

// Virtual wall-clock time: 2000-01-01T00:00:00Z when the iteration begins,
// then advancing with virtual time, so every iteration sees the same dates.
struct system_clock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<system_clock>;
  static constexpr bool is_steady = false;
  // Seconds from 1970 to the start of every iteration.
  static constexpr std::chrono::seconds kEpochOffset{946684800};

  static time_point now() {
    return time_point(kEpochOffset + steady_clock::now().time_since_epoch());
  }
  static std::time_t to_time_t(const time_point& t) noexcept {
    return static_cast<std::time_t>(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  }
  static time_point from_time_t(std::time_t t) noexcept {
    return time_point(std::chrono::seconds(t));
  }
};

}  // namespace lockstep::sync::chrono

namespace lockstep::sync::internal {

// A deadline on any clock as virtual time: Lockstep's clocks convert
// exactly; a real clock's (std::chrono::steady_clock) counts from its own
// now(), so such a deadline depends on real time and is not reproducible.
template <typename Clock, typename Duration>
VirtualClock::time_point ToVirtual(const std::chrono::time_point<Clock, Duration>& deadline) {
  using std::chrono::ceil;
  using Nanos = VirtualClock::duration;
  if constexpr (std::is_same_v<Clock, VirtualClock>) {
    return VirtualClock::time_point(ceil<Nanos>(deadline.time_since_epoch()));
  } else if constexpr (std::is_same_v<Clock, chrono::system_clock>) {
    return VirtualClock::time_point(ceil<Nanos>(deadline.time_since_epoch()) -
                                    chrono::system_clock::kEpochOffset);
  } else {
    return VirtualClock::now() + ceil<Nanos>(deadline - Clock::now());
  }
}

// `timeout` from now, as a virtual deadline.
template <typename Rep, typename Period>
VirtualClock::time_point After(const std::chrono::duration<Rep, Period>& timeout) {
  return VirtualClock::now() + std::chrono::ceil<VirtualClock::duration>(timeout);
}

}  // namespace lockstep::sync::internal

#endif  // LOCKSTEP_SYNC_CHRONO_H_
