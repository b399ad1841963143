// Helpers for tests of the controlled runner: options and a run's verdict.
#ifndef LOCKSTEP_RUN_TEST_UTIL_H_
#define LOCKSTEP_RUN_TEST_UTIL_H_

#include <cstdint>
#include <string>

#include "lockstep/options.h"
#include "lockstep/run.h"

namespace lockstep::testing_util {

// `iterations` schedules of a body named `suite`.Body, process isolation on
// (the default).
inline Options WithIterations(uint64_t iterations, const char* suite = "Test") {
  Options options;
  options.iterations = iterations;
  options.test_suite = suite;
  options.test_name = "Body";
  return options;
}

// The same in this process: for tests that look at what the body did.
inline Options InProcess(uint64_t iterations, const char* suite = "Test") {
  Options options = WithIterations(iterations, suite);
  options.isolate = false;
  return options;
}

inline Failure::Kind FailureKind(const RunResult& result) {
  return result.failed() ? result.trace->failure().kind() : Failure::KIND_UNSPECIFIED;
}

inline std::string FailureMessage(const RunResult& result) {
  return result.failed() ? result.trace->failure().message() : "";
}

}  // namespace lockstep::testing_util

#endif  // LOCKSTEP_RUN_TEST_UTIL_H_
