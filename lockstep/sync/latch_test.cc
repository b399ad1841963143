#include "lockstep/sync/latch.h"

#include <cstddef>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/atomic.h"
#include "lockstep/failure.h"
#include "lockstep/run.h"
#include "lockstep/run_test_util.h"
#include "lockstep/thread.h"

namespace {

// What production code says as `namespace sync = ::std;`.
namespace sync = ::lockstep::sync;

using ::lockstep::Atomic;
using ::lockstep::Failure;
using ::lockstep::Options;
using ::lockstep::Runner;
using ::lockstep::RunResult;
using ::lockstep::spawn;
using ::lockstep::Thread;
using ::lockstep::testing_util::FailureKind;
using ::lockstep::testing_util::FailureMessage;
using ::testing::HasSubstr;

::lockstep::Options InProcess(uint64_t iterations) {
  return ::lockstep::testing_util::InProcess(iterations, "LatchTest");
}

static_assert(sync::latch::max() == std::numeric_limits<std::ptrdiff_t>::max());

// Written against `sync`, as production code would be: workers publish
// their part and count down; the consumer waits, then reads every part.
void PublishThenWait() {
  constexpr int kWorkers = 3;
  std::vector<Atomic<int>> parts(kWorkers);
  sync::latch done(kWorkers);
  std::vector<Thread> workers;
  for (int i = 0; i < kWorkers; ++i) {
    workers.push_back(spawn([&, i] {
      parts[i].store(i + 1);
      done.count_down();
    }));
  }
  done.wait();
  LOCKSTEP_CHECK(done.try_wait());
  for (int i = 0; i < kWorkers; ++i) LOCKSTEP_CHECK(parts[i].load() == i + 1);
  for (Thread& t : workers) t.join();
}

TEST(LatchTest, CountDownThenWaitPasses) {
  RunResult result = Runner::Run(PublishThenWait, InProcess(1000));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_EQ(result.iterations, 1000u);
  EXPECT_GT(result.distinct_schedules, 1u);
}

// Each of two workers adds its part to a total and then reads the total,
// which needs both parts: with count_down (no wait) a worker can read
// before the other has added its part.
void SumParts(bool wait_for_the_other) {
  Atomic<int> total(0);
  sync::latch added(2);
  auto worker = [&](int part) {
    total.fetch_add(part);
    if (wait_for_the_other) {
      added.arrive_and_wait();
    } else {
      added.count_down();
    }
    LOCKSTEP_CHECK(total.load() == 3);
  };
  Thread a = spawn([&] { worker(1); });
  Thread b = spawn([&] { worker(2); });
  a.join();
  b.join();
}

TEST(LatchTest, ReadingAfterCountDownWithoutWaitIsFound) {
  RunResult result = Runner::Run([] { SumParts(false); }, InProcess(1000));
  ASSERT_EQ(FailureKind(result), Failure::ASSERTION) << FailureMessage(result);
  EXPECT_THAT(FailureMessage(result), HasSubstr("total.load() == 3"));
}

TEST(LatchTest, ArriveAndWaitFixesIt) {
  RunResult result = Runner::Run([] { SumParts(true); }, InProcess(1000));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(LatchTest, TryWaitSeesTheCount) {
  RunResult result = Runner::Run(
      [] {
        sync::latch l(2);
        LOCKSTEP_CHECK(!l.try_wait());
        l.count_down(0);  // allowed, changes nothing
        LOCKSTEP_CHECK(!l.try_wait());
        l.count_down(2);
        LOCKSTEP_CHECK(l.try_wait());
        l.wait();  // returns at once
        sync::latch zero(0);
        LOCKSTEP_CHECK(zero.try_wait());
        zero.wait();
      },
      InProcess(10));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(LatchTest, WaitersAreReleasedTogether) {
  RunResult result = Runner::Run(
      [] {
        sync::latch start(1);
        Atomic<int> started(0);
        std::vector<Thread> waiters;
        for (int i = 0; i < 3; ++i) {
          waiters.push_back(spawn([&] {
            start.wait();
            started.fetch_add(1);
          }));
        }
        LOCKSTEP_CHECK(started.load() == 0);
        start.count_down();
        for (Thread& t : waiters) t.join();
        LOCKSTEP_CHECK(started.load() == 3);
      },
      InProcess(300));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(LatchTest, WaitThatNeverEndsIsADeadlockNamingTheCount) {
  RunResult result = Runner::Run(
      [] {
        sync::latch l(2);
        Thread t = spawn([&] { l.count_down(); }, "worker");
        l.wait();
        t.join();
      },
      InProcess(20));
  ASSERT_EQ(FailureKind(result), Failure::DEADLOCK) << FailureMessage(result);
  EXPECT_THAT(FailureMessage(result), HasSubstr("latch.wait on latch #1 (count 1)"));
}

std::string Misuse(const std::function<void()>& body) {
  RunResult result = Runner::Run(body, InProcess(1));
  EXPECT_EQ(FailureKind(result), Failure::MISUSE) << FailureMessage(result);
  return FailureMessage(result);
}

TEST(LatchTest, MisuseIsReported) {
  EXPECT_THAT(Misuse([] {
                sync::latch l(1);
                l.count_down(2);
              }),
              HasSubstr("latch.count_down(2) on latch #1 whose count is 1: counting down below "
                        "zero"));
  EXPECT_THAT(Misuse([] {
                sync::latch l(1);
                l.count_down();
                l.count_down();
              }),
              HasSubstr("latch.count_down(1) on latch #1 whose count is 0"));
  EXPECT_THAT(Misuse([] {
                sync::latch l(1);
                l.count_down(-1);
              }),
              HasSubstr("latch.count_down(-1) on latch #1: negative update"));
  EXPECT_THAT(Misuse([] {
                sync::latch l(1);
                l.arrive_and_wait(3);
              }),
              HasSubstr("latch.arrive_and_wait(3) on latch #1 whose count is 1"));
  EXPECT_THAT(Misuse([] { sync::latch l(-1); }),
              HasSubstr("latch #1 constructed with a negative expected count (-1)"));
}

TEST(LatchTest, MisuseIsLocatedAtTheCallersLine) {
  RunResult result = Runner::Run(
      [] {
        sync::latch l(0);
        l.count_down();
      },
      InProcess(1));
  ASSERT_EQ(FailureKind(result), Failure::MISUSE);
  EXPECT_THAT(result.trace->failure().location().file(), HasSubstr("latch_test.cc"));
}

TEST(LatchTest, NegativeCountMadeOutsideARunIsReportedAtFirstUse) {
  sync::latch l(-2);
  RunResult result = Runner::Run([&] { l.wait(); }, InProcess(1));
  ASSERT_EQ(FailureKind(result), Failure::MISUSE);
  EXPECT_THAT(FailureMessage(result), HasSubstr("constructed with a negative expected count (-2)"));
}

TEST(LatchTest, LatchOutlivingAnIterationStartsEachWithItsCount) {
  sync::latch shared(1);  // a fixture member, say
  RunResult result = Runner::Run(
      [&] {
        LOCKSTEP_CHECK(!shared.try_wait());
        Thread t = spawn([&] { shared.count_down(); });
        shared.wait();
        t.join();
      },
      InProcess(50));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_EQ(result.iterations, 50u);
}

TEST(LatchTest, OperationsOutsideARunThrowUsageError) {
  sync::latch l(1);  // constructing is fine
  EXPECT_THROW(l.count_down(), lockstep::UsageError);
  EXPECT_THROW(l.try_wait(), lockstep::UsageError);
  EXPECT_THROW(l.wait(), lockstep::UsageError);
  EXPECT_THROW(l.arrive_and_wait(), lockstep::UsageError);
  try {
    l.wait();
  } catch (const lockstep::UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("lockstep::sync::latch::wait"));
  }
}

}  // namespace
