// Thread-pool scenarios, shared by thread_pool_test.cc (the fixed pool under
// Lockstep), thread_pool_buggy_test.cc (each bug under Lockstep) and
// thread_pool_std_test.cc (the fixed pool on real std::threads).
#ifndef EXAMPLES_THREAD_POOL_SCENARIO_H_
#define EXAMPLES_THREAD_POOL_SCENARIO_H_

#include "examples/sync.h"
#include "examples/thread_pool.h"
#include "gtest/gtest.h"

namespace examples {

// Results come back through the futures; the pool then shuts down.
template <typename Pool>
void SubmitThenShutdown() {
  Pool pool(2);
  sync::future<int> a = pool.Submit([] { return 20; });
  sync::future<int> b = pool.Submit([] { return 22; });
  EXPECT_EQ(a.get() + b.get(), 42);
  pool.Shutdown();
}

// WaitIdle returns only when every task has run.
template <typename Pool>
void WaitIdleWaitsForEveryTask() {
  Pool pool(2);
  sync::atomic<int> done{0};
  for (int i = 0; i < 3; ++i) pool.Submit([&done] { done.fetch_add(1); });
  pool.WaitIdle();
  EXPECT_EQ(done.load(), 3) << "WaitIdle returned with tasks still running";
}

// Shutdown with tasks queued and running: each future has its value or
// broken_promise, never both.
template <typename Pool>
void ShutdownFailsUnfinishedTasks() {
  Pool pool(1);
  sync::future<int> first = pool.Submit([] { return 1; });
  sync::future<int> second = pool.Submit([] { return 2; });
  pool.Shutdown();
  for (sync::future<int>* future : {&first, &second}) {
    try {
      const int value = future->get();
      EXPECT_TRUE(value == 1 || value == 2);
    } catch (const sync::future_error& error) {
      EXPECT_EQ(error.code(), sync::future_errc::broken_promise);
    }
  }
}

// ParallelFor with more iterations than workers runs each iteration once.
template <typename Pool>
void ParallelForRunsEveryIteration() {
  Pool pool(2);
  sync::atomic<int> sum{0};
  pool.ParallelFor(3, [&sum](int i) { sum.fetch_add(i + 1); });
  EXPECT_EQ(sum.load(), 1 + 2 + 3);
}

}  // namespace examples

#endif  // EXAMPLES_THREAD_POOL_SCENARIO_H_
