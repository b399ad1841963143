// Schedule shrinking: the smallest failing schedule near a failing one.
#ifndef LOCKSTEP_SHRINK_H_
#define LOCKSTEP_SHRINK_H_

#include <chrono>
#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "lockstep/trace.pb.h"

namespace lockstep {

struct ShrinkResult {
  // The shrunk trace: same test and failure (kind and location), fewer
  // preemptions and decisions; replays like any trace. Its `shrink` field
  // holds the counts below.
  Trace trace;
  uint32_t preemptions_before = 0;
  uint32_t preemptions_after = 0;
  uint32_t decisions_before = 0;
  uint32_t decisions_after = 0;
  // Candidate schedules executed.
  uint32_t runs = 0;
};

// Minimizes the failing schedule of `trace` (recorded from `body` by the
// controlled runner) while keeping its failure's kind and location: first the
// number of preemptions (switching away from a thread that could have gone
// on), then the number of decisions. A schedule is treated as its list of
// context switches; between switches the running thread keeps running.
// Greedy: removes one switch at a time while the failure persists, at most
// `max_runs` executions. Errors: the trace has no failure, was not recorded
// by the controlled runner, or does not reproduce its failure.
// Failures of the whole process (CRASH, EXIT, TIMEOUT) cannot be shrunk:
// every candidate would run in this process.
absl::StatusOr<ShrinkResult> ShrinkTrace(const std::function<void()>& body, const Trace& trace,
                                         uint32_t max_runs = 5000);

// ShrinkTrace in a forked child process (as Options::isolate runs
// exploration): a candidate schedule that crashes, exits or reaches no
// scheduling point for `watchdog` ends the shrinking with an error instead
// of ending the calling process.
absl::StatusOr<ShrinkResult> ShrinkTraceIsolated(const std::function<void()>& body,
                                                 const Trace& trace,
                                                 std::chrono::milliseconds watchdog,
                                                 uint32_t max_runs = 5000);

}  // namespace lockstep

#endif  // LOCKSTEP_SHRINK_H_
