// Lockstep's command-line flags (Abseil flags). Each is also read from an
// environment variable of the same name in upper case (LOCKSTEP_SEED, ...)
// when the flag was not set otherwise (on the command line, in a --flagfile,
// or by absl::SetFlag before the first test), even to its default value.
// Flags win over per-test options. An empty value (--lockstep_seed=, or
// LOCKSTEP_SEED=) is an error, as is any value a flag does not accept.
//
//   --lockstep_seed=N|random   base seed (default: the test's, else 1);
//                              random: a fresh one per test, printed;
//                              --gtest_repeat derives one per repetition
//   --lockstep_iterations=N    schedules to explore per test
//   --lockstep_iteration=I     run only iteration I (one-step reproduction)
//   --lockstep_strategy=NAME   random | pct | fair_pct | pos | idpct |
//                              dfs | dpor (exhaustive: every schedule)
//   --lockstep_pct_depth=D     PCT bug depth (>= 1)
//   --lockstep_pct_steps=K     PCT step estimate (default: iteration 0's)
//   --lockstep_fair_prefix=N   fair_pct: PCT steps before random (>= 1)
//   --lockstep_preemption_bound=P  dfs: only schedules with <= P preemptions
//   --lockstep_spurious_wakeups=BOOL  CondVar waits may wake spuriously
//   --lockstep_max_steps=N     steps before an iteration counts as livelock
//   --lockstep_time_budget=T   explore each test for this long (e.g. 30s);
//                              without --lockstep_iterations, iterations are
//                              then unlimited; sharded, each shard gets
//                              its share
//   --lockstep_progress=T      progress line on stderr this often (10s)
//   --lockstep_summary=FILE    JSON summary of the binary's Lockstep tests
//   --lockstep_regression_traces=F,...  traces replayed before each test
//                              explores (gtest_ext/regression.h)
//   --lockstep_replay=FILE     replay one trace file; runs only its test
//   --lockstep_shrink          minimize a failing schedule (found, or
//                              replayed) into <name>.shrunk.lockstep
//   --lockstep_isolate=BOOL    run the code under test in forked children
//                              (default true): crashes, exit() and hangs
//                              become reported failures
//   --lockstep_watchdog=T      with isolation: no scheduling point for this
//                              long is a TIMEOUT (default 10s)
//   --lockstep_stack_size=N    TEST_LOCKSTEP: bytes of stack per logical
//                              thread (default 262144)
//   --lockstep_accesses=L      instrumented code: none | racy | all plain
//                              accesses are scheduling points (default racy)
//   --lockstep_races=M         instrumented code: a data race does
//                              fail | report | ignore (default fail)
//   --lockstep_trace_dir=DIR   where failing traces go when not under
//                              `bazel test` (default: lockstep-traces)
//
// TEST_LOCKSTEP_NATIVE tests also read (gtest_ext/native_test_runner.cc):
//   --lockstep_native_mode=M   control | observe
//   --lockstep_resume_quantum_us=N  control mode quantum (>= 1)
#ifndef GTEST_EXT_FLAGS_H_
#define GTEST_EXT_FLAGS_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lockstep/options.h"
#include "lockstep/trace.pb.h"

ABSL_DECLARE_FLAG(std::optional<std::string>, lockstep_seed);
ABSL_DECLARE_FLAG(std::optional<uint64_t>, lockstep_iterations);
ABSL_DECLARE_FLAG(std::optional<uint64_t>, lockstep_iteration);
ABSL_DECLARE_FLAG(std::optional<uint64_t>, lockstep_pct_steps);
ABSL_DECLARE_FLAG(std::optional<absl::Duration>, lockstep_progress);
ABSL_DECLARE_FLAG(std::string, lockstep_summary);
ABSL_DECLARE_FLAG(std::optional<std::string>, lockstep_strategy);
ABSL_DECLARE_FLAG(std::optional<uint32_t>, lockstep_pct_depth);
ABSL_DECLARE_FLAG(std::optional<uint32_t>, lockstep_fair_prefix);
ABSL_DECLARE_FLAG(std::optional<uint32_t>, lockstep_preemption_bound);
ABSL_DECLARE_FLAG(std::optional<bool>, lockstep_spurious_wakeups);
ABSL_DECLARE_FLAG(std::optional<uint64_t>, lockstep_max_steps);
ABSL_DECLARE_FLAG(std::optional<absl::Duration>, lockstep_time_budget);
ABSL_DECLARE_FLAG(std::string, lockstep_replay);
ABSL_DECLARE_FLAG(bool, lockstep_shrink);
ABSL_DECLARE_FLAG(std::optional<bool>, lockstep_isolate);
ABSL_DECLARE_FLAG(std::optional<absl::Duration>, lockstep_watchdog);
ABSL_DECLARE_FLAG(std::optional<uint64_t>, lockstep_stack_size);
ABSL_DECLARE_FLAG(std::optional<std::string>, lockstep_accesses);
ABSL_DECLARE_FLAG(std::optional<std::string>, lockstep_races);
ABSL_DECLARE_FLAG(std::string, lockstep_trace_dir);

// Defines a Lockstep flag: an ABSL_FLAG that records being set, so that its
// environment variable never overrides a value given explicitly. Every
// --lockstep_* flag is defined with it, and then registered with
// RegisterFlags in the same file.
#define LOCKSTEP_FLAG(Type, name, default_value, help)     \
  ABSL_FLAG(Type, name, default_value, help).OnUpdate([] { \
    ::lockstep::gtest_internal::NoteFlagSet(#name);        \
  })

namespace lockstep::gtest_internal {

// Makes LOCKSTEP_FLAG flags known to ApplyEnvironment, and adds `validate`
// (may be null) to the checks ValidateFlags runs; it should name a bad flag
// with FlagSource. Call during static initialization, after the flags'
// definitions in the same file: a flag counts as set only from here on,
// which leaves out Abseil's call of the callback when it is attached. This
// lets a library that is only sometimes linked (//gtest_ext:native) have
// its flags checked before any test runs. Returns true, to initialize a
// variable with.
bool RegisterFlags(std::initializer_list<const char*> names, absl::Status (*validate)());

// The names of the registered flags, in registration order.
std::vector<std::string> RegisteredFlags();

// The update callback of LOCKSTEP_FLAG: records that `name` was set by
// anything but ApplyEnvironment. Ignored for a flag not registered yet.
void NoteFlagSet(const char* name);

// Run once after the command line is parsed (later calls return the first
// result): rejects a registered flag that was set to an empty value, then
// sets every registered flag that was not set explicitly from its LOCKSTEP_*
// environment variable. The error names the flag, and the variable with its
// value when it came from the environment, and what is accepted.
absl::Status ApplyEnvironment();

// Checks every registered flag's value (runs the registered validators) and
// loads the --lockstep_replay trace; the error names the flag and the
// accepted values.
absl::Status ValidateFlags();

// How an error names `flag` ("lockstep_seed"): "--lockstep_seed", or
// "LOCKSTEP_SEED='7' (--lockstep_seed)" when the environment set it.
std::string FlagSource(std::string_view flag);

// The options a test runs with: `per_test` overridden by every flag that is
// set. Call after ValidateFlags().
Options EffectiveOptions(const Options& per_test);

// The trace named by --lockstep_replay, loaded and validated once; null when
// the flag is empty. Check ReplayTraceStatus() first.
const Trace* ReplayTrace();
absl::Status ReplayTraceStatus();

}  // namespace lockstep::gtest_internal

#endif  // GTEST_EXT_FLAGS_H_
