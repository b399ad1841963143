// What the native runner's tests of synchronization primitives share: a bug
// at a primitive is found within a budget, its trace shows the primitive's
// operations located in the test's file and replays, and the fixed twin
// passes. Test-only.
#ifndef LOCKSTEP_NATIVE_SYNC_TEST_UTIL_H_
#define LOCKSTEP_NATIVE_SYNC_TEST_UTIL_H_

#include <cstdint>
#include <functional>
#include <string_view>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/failure.h"
#include "lockstep/native/native_runner.h"
#include "lockstep/trace_io.h"

namespace lockstep::native_test {

constexpr uint64_t kFixedSchedules = 1000;

inline NativeOptions Control(uint64_t iterations) {
  NativeOptions options;
  options.iterations = iterations;
  // A generous quantum: tests run beside others on a loaded machine.
  options.resume_quantum_us = 20000;
  return options;
}

inline void Check(bool ok, const char* what) {
  if (!ok) RecordFailure(Failure::ASSERTION, what, __FILE__, __LINE__);
}

inline int CountEvents(const Trace& trace, std::string_view prefix) {
  int n = 0;
  for (const Event& event : trace.events()) n += event.op().starts_with(prefix);
  return n;
}

// Runs the buggy body: it must fail with `kind` within `budget` schedules,
// with events of the primitive (ops starting with `prefix`, unless empty)
// in its trace, all located in `test_file`, and replay; then the fixed body
// must pass kFixedSchedules schedules.
inline void ExpectFoundAndFixed(const std::function<void()>& buggy,
                                const std::function<void()>& fixed, Failure::Kind kind,
                                uint64_t budget, std::string_view prefix,
                                std::string_view test_file, StrategyKind strategy) {
  NativeOptions options = Control(budget);
  options.strategy = strategy;
  RunResult found = NativeRunner::Run(buggy, options);
  ASSERT_TRUE(found.status.ok()) << found.status;
  ASSERT_TRUE(found.failed()) << "not found in " << found.iterations << " schedules";
  const Trace& trace = *found.trace;
  EXPECT_EQ(trace.failure().kind(), kind) << trace.failure().message();
  if (!prefix.empty()) {
    EXPECT_GT(CountEvents(trace, prefix), 0) << "no " << prefix << " event in the failing schedule";
  }
  EXPECT_EQ(trace.native().quantum_expirations(), 0u) << "the schedule was not fully controlled";
  // Every event is located in the test's file (not in the standard library's
  // headers nor in Lockstep), at a line (the build keeps line tables).
  for (const Event& event : trace.events()) {
    EXPECT_THAT(event.location().file(), ::testing::EndsWith(test_file)) << event.op();
    EXPECT_GT(event.location().line(), 0u) << event.op() << " in " << event.location().function();
  }
  EXPECT_TRUE(ValidateTrace(trace).ok()) << ValidateTrace(trace);

  NativeOptions replay = options;
  replay.replay = &trace;
  RunResult replayed = NativeRunner::Run(buggy, replay);
  ASSERT_TRUE(replayed.failed());
  EXPECT_TRUE(SameFailure(replayed.trace->failure(), trace.failure()))
      << replayed.trace->failure().message();

  options.iterations = kFixedSchedules;
  RunResult passed = NativeRunner::Run(fixed, options);
  ASSERT_TRUE(passed.status.ok()) << passed.status;
  EXPECT_FALSE(passed.failed()) << passed.trace->failure().message();
  EXPECT_EQ(passed.iterations, kFixedSchedules);
  EXPECT_GT(passed.distinct_schedules, 1u);
}

}  // namespace lockstep::native_test

#endif  // LOCKSTEP_NATIVE_SYNC_TEST_UTIL_H_
