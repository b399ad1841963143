// Schedule shrinking: the smallest failing schedule near a failing one.
#ifndef LOCKSTEP_SHRINK_H_
#define LOCKSTEP_SHRINK_H_

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
absl::StatusOr<ShrinkResult> ShrinkTrace(const std::function<void()>& body, const Trace& trace,
                                         uint32_t max_runs = 5000);

}  // namespace lockstep

#endif  // LOCKSTEP_SHRINK_H_
