// Each bug of examples/thread_pool.h under the scenario that shows it. These
// tests are expected to FAIL (they are not part of the default test run; see
// examples/BUILD.bazel). At seed 1 with the default strategy (PCT, d=3):
//
//   ShutdownRace:      DEADLOCK (Shutdown joins a worker waiting for ever)
//   PromiseSetTwice:   EXCEPTION std::future_error (promise already satisfied)
//   WaitWithoutRecheck: ASSERTION (WaitIdle returned with tasks running)
//   LatchMisuse:       DEADLOCK (every worker waits on the latch)
//
// gtest_ext/e2e_test.cc runs each and checks the kind; the iteration each is
// found at is printed in its report.
#include "examples/thread_pool.h"
#include "examples/thread_pool_scenario.h"
#include "gtest_ext/lockstep_test.h"

namespace {

using examples::PoolBug;
using examples::ThreadPool;

TEST_LOCKSTEP(BuggyThreadPool, ShutdownRace, .iterations = 1000) {
  examples::SubmitThenShutdown<ThreadPool<PoolBug::kShutdownRace>>();
}

TEST_LOCKSTEP(BuggyThreadPool, PromiseSetTwice, .iterations = 1000) {
  examples::ShutdownFailsUnfinishedTasks<ThreadPool<PoolBug::kPromiseSetTwice>>();
}

TEST_LOCKSTEP(BuggyThreadPool, WaitWithoutRecheck, .iterations = 1000) {
  examples::WaitIdleWaitsForEveryTask<ThreadPool<PoolBug::kWaitWithoutRecheck>>();
}

TEST_LOCKSTEP(BuggyThreadPool, LatchMisuse, .iterations = 1000) {
  examples::ParallelForRunsEveryIteration<ThreadPool<PoolBug::kLatchMisuse>>();
}

}  // namespace
