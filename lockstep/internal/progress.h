// The progress line of a long exploration, printed to stderr every
// Options::progress_interval:
//
//   lockstep: Suite.Name [shard 2/4]: 120000 schedules (2394/s), 118877 distinct,
//   311 conflict pairs, 50.1 s, 9.9 s of budget left
//
// Runners call Update after every iteration; it reads the clock only every
// few iterations (about every millisecond), so it costs next to nothing.
#ifndef LOCKSTEP_INTERNAL_PROGRESS_H_
#define LOCKSTEP_INTERNAL_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "lockstep/options.h"

namespace lockstep::internal {

// What an exploration has done so far.
struct ExplorationCounts {
  uint64_t schedules = 0;
  uint64_t distinct = 0;
  uint64_t conflict_pairs = 0;
};

class ProgressMeter {
 public:
  // `budget`: the run's time budget (its shard's share; zero: none).
  ProgressMeter(const Options& options, std::chrono::nanoseconds budget);

  // After an iteration; prints a line when one is due.
  void Update(const ExplorationCounts& counts) {
    if (interval_.count() <= 0 || ++since_check_ < check_every_) return;
    Check(counts);
  }

  // The line for `counts` after `elapsed` (exposed for tests).
  std::string Line(const ExplorationCounts& counts, std::chrono::nanoseconds elapsed) const;

 private:
  void Check(const ExplorationCounts& counts);

  std::string label_;
  std::chrono::nanoseconds interval_;
  std::chrono::nanoseconds budget_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_check_;
  std::chrono::steady_clock::time_point next_line_;
  uint32_t since_check_ = 0;
  uint32_t check_every_ = 1;
};

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_PROGRESS_H_
