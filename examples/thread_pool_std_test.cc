// The production build of the thread pool and the bounded queue (std::
// types, examples/sync.h without LOCKSTEP_SYNC) on real threads: the code
// Lockstep tests is the code that ships. A plain GoogleTest test.
#include "examples/bounded_queue.h"
#include "examples/bounded_queue_scenario.h"
#include "examples/thread_pool.h"
#include "examples/thread_pool_scenario.h"
#include "gtest/gtest.h"

#ifdef LOCKSTEP_SYNC
#error "thread_pool_std_test is the production build: LOCKSTEP_SYNC must not be defined"
#endif

namespace {

using Pool = examples::ThreadPool<>;

TEST(ThreadPoolOnStdThreads, Scenarios) {
  for (int i = 0; i < 50; ++i) {
    examples::SubmitThenShutdown<Pool>();
    examples::WaitIdleWaitsForEveryTask<Pool>();
    examples::ShutdownFailsUnfinishedTasks<Pool>();
    examples::ParallelForRunsEveryIteration<Pool>();
  }
}

TEST(BoundedQueueOnStdThreads, ProducersAndConsumersFinish) {
  for (int i = 0; i < 50; ++i) {
    examples::ProducersAndConsumersFinish<examples::FixedBoundedQueue>();
  }
}

}  // namespace
