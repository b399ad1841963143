// Lockstep for GoogleTest: the one header a test includes.
//
//   #include "gtest_ext/lockstep_test.h"
//
//   TEST_LOCKSTEP(AccountTest, ConcurrentWithdrawals) {
//     Account account(100);
//     lockstep::Thread a = lockstep::spawn([&] { account.Withdraw(80); });
//     lockstep::Thread b = lockstep::spawn([&] { account.Withdraw(80); });
//     a.join();
//     b.join();
//     EXPECT_GE(account.balance(), 0);
//   }
//
// The body runs once per iteration (default 100), each time under the
// schedule a strategy chooses (default PCT). EXPECT_*/ASSERT_* work in every
// logical thread; the first failing iteration ends exploration and the test
// fails with a report that names the seed, iteration, step, thread and
// location, the saved trace file, and commands that replay the schedule.
//
// Per-test options follow the name, as designated initializers of
// lockstep::Options in declaration order (flags override them):
//
//   TEST_LOCKSTEP(QueueTest, NoLostWakeup, .iterations = 1000,
//                 .strategy = lockstep::StrategyKind::kPos) { ... }
//
// TEST_LOCKSTEP_F(Fixture, Name, options...) does the same with a test
// fixture; every iteration gets a fresh fixture object (constructor, SetUp,
// body, TearDown, destructor), so iterations cannot leak state.
//
// With .strategy = lockstep::StrategyKind::kDfs or kDpor (or
// --lockstep_strategy=dfs|dpor) the iterations explore every schedule, and a
// test whose search ends without a failure reports "verified".
//
// TEST_LOCKSTEP_LINEARIZABLE(Suite, Name, options...) checks that a
// concurrent object is linearizable: its body returns a
// lockstep::LinearizabilitySpec (lockstep/linearizability.h), and every
// iteration runs one scenario of it on lockstep threads and checks the
// history against the sequential model.
//
//   TEST_LOCKSTEP_LINEARIZABLE(QueueTest, IsLinearizable) {
//     return lockstep::LinearizabilitySpec<MyQueue, std::deque<int>>()
//         .Operation("push", std::vector<int>{1, 2},
//                    [](MyQueue& q, int v) { q.Push(v); },
//                    [](std::deque<int>& m, int v) { m.push_back(v); })
//         .Operation("pop", [](MyQueue& q) { return q.Pop(); },
//                    [](std::deque<int>& m) { ... return the front ... })
//         .Threads(2).OperationsPerThread(3);
//   }
#ifndef GTEST_EXT_LOCKSTEP_TEST_H_
#define GTEST_EXT_LOCKSTEP_TEST_H_

#include <functional>

#include "gtest/gtest.h"
#include "gtest_ext/init.h"
#include "gtest_ext/sharding.h"
#include "lockstep/atomic.h"
#include "lockstep/condvar.h"
#include "lockstep/failure.h"
#include "lockstep/linearizability.h"
#include "lockstep/mailbox.h"
#include "lockstep/mutex.h"
#include "lockstep/options.h"
#include "lockstep/semaphore.h"
#include "lockstep/thread.h"
#include "lockstep/time.h"

namespace lockstep::gtest_internal {

// Runs `iteration` under lockstep::Runner as the current GoogleTest test and
// reports the outcome to GoogleTest. (The logic behind TEST_LOCKSTEP.)
void RunLockstepTest(const Options& per_test, const std::function<void()>& iteration);

// One iteration of a TEST_LOCKSTEP_F test: a fresh fixture, SetUp, body,
// TearDown. TearDown also runs (best effort) when the body throws; an
// iteration stopped by a failure at a Lockstep operation is abandoned with
// its fixture (nothing of it runs any more).
template <typename Iteration>
void RunFixtureIteration() {
  Iteration fixture;
  fixture.LockstepSetUp();
  try {
    fixture.LockstepBody();
  } catch (...) {
    try {
      fixture.LockstepTearDown();
    } catch (...) {
    }
    throw;
  }
  fixture.LockstepTearDown();
}

}  // namespace lockstep::gtest_internal

#define LOCKSTEP_INTERNAL_NAME_(suite, name, what) LockstepInternal_##suite##_##name##_##what

#define TEST_LOCKSTEP(suite, name, ...)                                                       \
  static void LOCKSTEP_INTERNAL_NAME_(suite, name, Body)();                                   \
  LOCKSTEP_INTERNAL_REGISTER_(suite, name);                                                   \
  TEST(suite, name) {                                                                         \
    ::lockstep::gtest_internal::RunLockstepTest(::lockstep::Options{__VA_ARGS__},             \
                                                &LOCKSTEP_INTERNAL_NAME_(suite, name, Body)); \
  }                                                                                           \
  static void LOCKSTEP_INTERNAL_NAME_(suite, name, Body)()

// A spec's scenario per iteration, on lockstep threads (see the top).
#define TEST_LOCKSTEP_LINEARIZABLE(suite, name, ...)                                     \
  static ::lockstep::LinearizabilityCheck LOCKSTEP_INTERNAL_NAME_(suite, name, Spec)();  \
  TEST_LOCKSTEP(suite, name, __VA_ARGS__) {                                              \
    LOCKSTEP_INTERNAL_NAME_(suite, name, Spec)().Run(&::lockstep::RunOnLockstepThreads); \
  }                                                                                      \
  static ::lockstep::LinearizabilityCheck LOCKSTEP_INTERNAL_NAME_(suite, name, Spec)()

// The registered test derives from the fixture (so it shares the suite with
// TEST_F tests of the same fixture) but does no SetUp/TearDown of its own:
// those run around every iteration, on a fresh fixture.
#define TEST_LOCKSTEP_F(fixture, name, ...)                                                       \
  LOCKSTEP_INTERNAL_REGISTER_(fixture, name);                                                     \
  class LOCKSTEP_INTERNAL_NAME_(fixture, name, Iteration) : public fixture {                      \
   public:                                                                                        \
    void LockstepSetUp() { this->SetUp(); }                                                       \
    void LockstepTearDown() { this->TearDown(); }                                                 \
    void LockstepBody();                                                                          \
                                                                                                  \
   private:                                                                                       \
    void TestBody() override {}                                                                   \
  };                                                                                              \
  class LOCKSTEP_INTERNAL_NAME_(fixture, name, Test) : public fixture {                           \
   public:                                                                                        \
    void SetUp() override {}                                                                      \
    void TearDown() override {}                                                                   \
    void TestBody() override {                                                                    \
      ::lockstep::gtest_internal::RunLockstepTest(                                                \
          ::lockstep::Options{__VA_ARGS__},                                                       \
          &::lockstep::gtest_internal::RunFixtureIteration<LOCKSTEP_INTERNAL_NAME_(fixture, name, \
                                                                                   Iteration)>);  \
    }                                                                                             \
  };                                                                                              \
  [[maybe_unused]] static ::testing::TestInfo* const LOCKSTEP_INTERNAL_NAME_(fixture, name,       \
                                                                             Registered) =        \
      ::testing::RegisterTest(                                                                    \
          #fixture, #name, nullptr, nullptr, __FILE__, __LINE__,                                  \
          []() -> fixture* { return new LOCKSTEP_INTERNAL_NAME_(fixture, name, Test)(); });       \
  void LOCKSTEP_INTERNAL_NAME_(fixture, name, Iteration)::LockstepBody()

#endif  // GTEST_EXT_LOCKSTEP_TEST_H_
