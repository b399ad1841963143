#include "lockstep/sync/barrier.h"

#include <cstddef>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
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
  return ::lockstep::testing_util::InProcess(iterations, "BarrierTest");
}

static_assert(sync::barrier<>::max() == std::numeric_limits<std::ptrdiff_t>::max());

constexpr int kThreads = 3;
constexpr int kPhases = 3;

// Every phase, each thread writes its slot and arrives; the completion
// function checks that it sees every slot of the phase, and the threads
// check after the barrier that the completion ran. With `write_after_arrive`
// a thread arrives (arrive()) before writing its slot: a real bug.
void Phases(bool write_after_arrive) {
  std::vector<Atomic<int>> slots(kThreads);
  Atomic<int> completions(0);
  sync::barrier sync_point(kThreads, [&]() noexcept {
    const int phase = completions.load();
    for (int i = 0; i < kThreads; ++i) LOCKSTEP_CHECK(slots[i].load() == phase + 1);
    completions.store(phase + 1);
  });
  std::vector<Thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.push_back(spawn([&, i] {
      for (int phase = 0; phase < kPhases; ++phase) {
        if (write_after_arrive) {
          auto token = sync_point.arrive();
          slots[i].store(phase + 1);
          sync_point.wait(std::move(token));
        } else {
          slots[i].store(phase + 1);
          sync_point.arrive_and_wait();
        }
        // The completion step happens before the waiters are released.
        LOCKSTEP_CHECK(completions.load() == phase + 1);
      }
    }));
  }
  for (Thread& t : threads) t.join();
  LOCKSTEP_CHECK(completions.load() == kPhases);
}

TEST(BarrierTest, CompletionRunsOncePerPhaseBeforeWaitersAreReleased) {
  RunResult result = Runner::Run([] { Phases(false); }, InProcess(500));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_EQ(result.iterations, 500u);
  EXPECT_GT(result.distinct_schedules, 1u);
}

TEST(BarrierTest, CompletionMissingAnArrivalsWriteIsFound) {
  RunResult result = Runner::Run([] { Phases(true); }, InProcess(1000));
  ASSERT_EQ(FailureKind(result), Failure::ASSERTION) << FailureMessage(result);
  EXPECT_THAT(FailureMessage(result), HasSubstr("slots[i].load() == phase + 1"));
}

TEST(BarrierTest, ArriveWithUpdateAndSeparateWait) {
  RunResult result = Runner::Run(
      [] {
        sync::barrier<> b(3);
        Atomic<int> done(0);
        Thread t = spawn([&] {
          b.arrive_and_wait();
          LOCKSTEP_CHECK(done.load() == 1);
        });
        done.store(1);
        sync::barrier<>::arrival_token token = b.arrive(2);
        sync::barrier<>::arrival_token moved = std::move(token);
        b.wait(std::move(moved));
        t.join();
      },
      InProcess(200));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(BarrierTest, WaitingForTheCompletedPhaseReturnsAtOnce) {
  RunResult result = Runner::Run(
      [] {
        sync::barrier<> b(1);
        auto token = b.arrive();  // completes phase 0
        b.wait(std::move(token));
        b.arrive_and_wait();  // phase 1, alone
      },
      InProcess(10));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(BarrierTest, ArriveAndDropShrinksLaterPhases) {
  RunResult result = Runner::Run(
      [] {
        Atomic<int> completions(0);
        sync::barrier b(3, [&]() noexcept { completions.fetch_add(1); });
        Thread leaver = spawn([&] { b.arrive_and_drop(); }, "leaver");
        auto stayer = [&] {
          for (int phase = 0; phase < 3; ++phase) {
            b.arrive_and_wait();
            LOCKSTEP_CHECK(completions.load() >= phase + 1);
          }
        };
        Thread a = spawn(stayer, "a");
        Thread c = spawn(stayer, "c");
        leaver.join();
        a.join();
        c.join();
        LOCKSTEP_CHECK(completions.load() == 3);
      },
      InProcess(300));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(BarrierTest, MissingArrivalIsADeadlockNamingThePhase) {
  RunResult result = Runner::Run(
      [] {
        sync::barrier<> b(3);
        Thread t = spawn([&] { b.arrive_and_wait(); }, "worker");
        b.arrive_and_wait();
        t.join();
      },
      InProcess(20));
  ASSERT_EQ(FailureKind(result), Failure::DEADLOCK) << FailureMessage(result);
  EXPECT_THAT(FailureMessage(result), HasSubstr("barrier.wait on barrier #1 (phase 0, 2 of 3 "
                                                "arrived)"));
}

std::string Misuse(const std::function<void()>& body) {
  RunResult result = Runner::Run(body, InProcess(1));
  EXPECT_EQ(FailureKind(result), Failure::MISUSE) << FailureMessage(result);
  return FailureMessage(result);
}

TEST(BarrierTest, MisuseIsReported) {
  EXPECT_THAT(Misuse([] {
                sync::barrier<> b(2);
                (void)b.arrive(3);
              }),
              HasSubstr("barrier.arrive(3) on barrier #1 in phase 0, where 0 of 2 have arrived: "
                        "more arrivals than the phase expects"));
  EXPECT_THAT(Misuse([] {
                sync::barrier<> b(2);
                (void)b.arrive(0);
              }),
              HasSubstr("barrier.arrive(0) on barrier #1: update must be >= 1"));
  EXPECT_THAT(Misuse([] {
                sync::barrier<> b(0);
                b.arrive_and_wait();
              }),
              HasSubstr("more arrivals than the phase expects"));
  EXPECT_THAT(Misuse([] {
                sync::barrier<> b(1);
                auto old = b.arrive();  // phase 0
                b.arrive_and_wait();    // phase 1
                b.wait(std::move(old));
              }),
              HasSubstr("barrier.wait on barrier #1 in phase 2 with an arrival_token of phase 0"));
  EXPECT_THAT(Misuse([] {
                sync::barrier<> b(2);
                auto token = b.arrive();
                auto taken = std::move(token);
                b.wait(std::move(token));
              }),
              HasSubstr("with an arrival_token that was moved from"));
  EXPECT_THAT(Misuse([] {
                sync::barrier<> a(2);
                sync::barrier<> b(2);
                auto token = a.arrive();
                b.wait(std::move(token));
              }),
              HasSubstr("barrier.wait on barrier #2 with an arrival_token of another barrier"));
  EXPECT_THAT(Misuse([] { sync::barrier<> b(-1); }),
              HasSubstr("barrier #1 constructed with a negative expected count (-1)"));
}

TEST(BarrierTest, ArrivingFromTheCompletionFunctionIsMisuse) {
  EXPECT_THAT(Misuse([] {
                std::function<void()> complete;
                sync::barrier b(1, [&]() noexcept { complete(); });
                complete = [&] { b.arrive_and_drop(); };
                b.arrive_and_wait();
              }),
              HasSubstr("barrier.arrive_and_drop on barrier #1 while its completion function "
                        "runs"));
}

TEST(BarrierTest, ThrowingCompletionFunctionIsMisuse) {
  EXPECT_THAT(Misuse([] {
                sync::barrier b(1, [] { throw std::runtime_error("oops"); });
                b.arrive_and_wait();
              }),
              HasSubstr("the completion function of barrier #1 threw in phase 0: oops"));
}

TEST(BarrierTest, BarrierOutlivingAnIterationStartsEachInPhaseZero) {
  sync::barrier<> shared(2);
  RunResult result = Runner::Run(
      [&] {
        Thread t = spawn([&] { shared.arrive_and_wait(); });
        auto token = shared.arrive();
        shared.wait(std::move(token));
        t.join();
      },
      InProcess(50));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  // A failed iteration leaves the phase half done; the next run starts clean.
  RunResult failed = Runner::Run([&] { shared.arrive_and_wait(); }, InProcess(1));
  EXPECT_EQ(FailureKind(failed), Failure::DEADLOCK);
  result = Runner::Run(
      [&] {
        Thread t = spawn([&] { shared.arrive_and_wait(); });
        shared.arrive_and_wait();
        t.join();
      },
      InProcess(10));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(BarrierTest, OperationsOutsideARunThrowUsageError) {
  sync::barrier<> b(1);  // constructing is fine
  EXPECT_THROW((void)b.arrive(), lockstep::UsageError);
  EXPECT_THROW(b.arrive_and_wait(), lockstep::UsageError);
  EXPECT_THROW(b.arrive_and_drop(), lockstep::UsageError);
  try {
    b.arrive_and_wait();
  } catch (const lockstep::UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("lockstep::sync::barrier::arrive_and_wait"));
  }
}

}  // namespace
