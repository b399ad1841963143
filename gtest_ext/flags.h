// Lockstep's command-line flags (Abseil flags). Each is also read from an
// environment variable of the same name in upper case (LOCKSTEP_SEED, ...)
// when not given on the command line. Flags win over per-test options.
//
//   --lockstep_seed=N          base seed (default: the test's, else 1)
//   --lockstep_iterations=N    schedules to explore per test
//   --lockstep_strategy=NAME   random | pct | fair_pct | pos | idpct
//   --lockstep_pct_depth=D     PCT bug depth (>= 1)
//   --lockstep_fair_prefix=N   fair_pct: PCT steps before random (>= 1)
//   --lockstep_spurious_wakeups=BOOL  CondVar waits may wake spuriously
//   --lockstep_max_steps=N     steps before an iteration counts as livelock
//   --lockstep_time_budget=T   explore each test for this long (e.g. 30s);
//                              without --lockstep_iterations, iterations are
//                              then unlimited
//   --lockstep_replay=FILE     replay one trace file; runs only its test
//   --lockstep_shrink          minimize a failing schedule (found, or
//                              replayed) into <name>.shrunk.lockstep
//   --lockstep_trace_dir=DIR   where failing traces go when not under
//                              `bazel test` (default: lockstep-traces)
//
// TEST_LOCKSTEP_NATIVE tests also read (gtest_ext/native_test_runner.cc):
//   --lockstep_native_mode=M   control | observe
//   --lockstep_isolate=BOOL    one forked child process per iteration
//   --lockstep_resume_quantum_us=N  control mode quantum (>= 1)
//   --lockstep_watchdog=T      hang detection (e.g. 10s)
#ifndef GTEST_EXT_FLAGS_H_
#define GTEST_EXT_FLAGS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lockstep/options.h"
#include "lockstep/trace.pb.h"

ABSL_DECLARE_FLAG(std::optional<uint64_t>, lockstep_seed);
ABSL_DECLARE_FLAG(std::optional<uint64_t>, lockstep_iterations);
ABSL_DECLARE_FLAG(std::optional<std::string>, lockstep_strategy);
ABSL_DECLARE_FLAG(std::optional<uint32_t>, lockstep_pct_depth);
ABSL_DECLARE_FLAG(std::optional<uint32_t>, lockstep_fair_prefix);
ABSL_DECLARE_FLAG(std::optional<bool>, lockstep_spurious_wakeups);
ABSL_DECLARE_FLAG(std::optional<uint64_t>, lockstep_max_steps);
ABSL_DECLARE_FLAG(std::optional<absl::Duration>, lockstep_time_budget);
ABSL_DECLARE_FLAG(std::string, lockstep_replay);
ABSL_DECLARE_FLAG(bool, lockstep_shrink);
ABSL_DECLARE_FLAG(std::string, lockstep_trace_dir);

namespace lockstep::gtest_internal {

// Sets every --lockstep_* flag that was not given on the command line from
// its LOCKSTEP_* environment variable. Idempotent. The error names the
// variable, its value and what is accepted.
absl::Status ApplyEnvironment();

// Checks every flag's value; the error names the flag and the accepted
// values.
absl::Status ValidateFlags();

// The options a test runs with: `per_test` overridden by every flag that is
// set. Call after ValidateFlags().
Options EffectiveOptions(const Options& per_test);

// The trace named by --lockstep_replay, loaded and validated once; null when
// the flag is empty. Check ReplayTraceStatus() first.
const Trace* ReplayTrace();
absl::Status ReplayTraceStatus();

}  // namespace lockstep::gtest_internal

#endif  // GTEST_EXT_FLAGS_H_
