// The logic shared by TEST_LOCKSTEP and TEST_LOCKSTEP_NATIVE.
#ifndef GTEST_EXT_TEST_RUNNER_H_
#define GTEST_EXT_TEST_RUNNER_H_

#include <functional>

#include "lockstep/options.h"
#include "lockstep/run.h"

namespace lockstep::gtest_internal {

// Applies the --lockstep_* flags to `per_test`, runs `run` as the current
// GoogleTest test with assertions routed into the run (from every OS thread
// when `all_threads`), saves the failing trace and reports the outcome.
// `iteration` is the body, for shrinking.
void RunAndReport(const Options& per_test, const std::function<RunResult(const Options&)>& run,
                  const std::function<void()>& iteration, bool all_threads);

}  // namespace lockstep::gtest_internal

#endif  // GTEST_EXT_TEST_RUNNER_H_
