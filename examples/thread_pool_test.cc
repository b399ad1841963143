// The fixed thread pool under Lockstep: every scenario passes 1,000
// schedules.
#include "examples/thread_pool.h"

#include "examples/thread_pool_scenario.h"
#include "gtest_ext/lockstep_test.h"

namespace {

using Pool = examples::ThreadPool<>;

TEST_LOCKSTEP(ThreadPool, SubmitThenShutdown, .iterations = 1000) {
  examples::SubmitThenShutdown<Pool>();
}

TEST_LOCKSTEP(ThreadPool, WaitIdleWaitsForEveryTask, .iterations = 1000) {
  examples::WaitIdleWaitsForEveryTask<Pool>();
}

TEST_LOCKSTEP(ThreadPool, ShutdownFailsUnfinishedTasks, .iterations = 1000) {
  examples::ShutdownFailsUnfinishedTasks<Pool>();
}

TEST_LOCKSTEP(ThreadPool, ParallelForRunsEveryIteration, .iterations = 1000) {
  examples::ParallelForRunsEveryIteration<Pool>();
}

}  // namespace
