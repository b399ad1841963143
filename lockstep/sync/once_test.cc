#include "lockstep/sync/once.h"

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/atomic.h"
#include "lockstep/failure.h"
#include "lockstep/run.h"
#include "lockstep/run_test_util.h"
#include "lockstep/sync/semaphore.h"
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
  return ::lockstep::testing_util::InProcess(iterations, "OnceTest");
}

// Lazy initialization, as production code writes it: every caller sees the
// value, and it is computed once.
struct Config {
  sync::once_flag flag;
  Atomic<int> value{0};
  Atomic<int> computations{0};

  int Get() {
    sync::call_once(flag, [this] {
      computations.fetch_add(1);
      value.store(42);  // another caller may run between these two
    });
    return value.load();
  }
};

TEST(OnceTest, RunsExactlyOnceAcrossThreads) {
  RunResult result = Runner::Run(
      [] {
        Config config;
        std::vector<Thread> threads;
        for (int i = 0; i < 3; ++i) {
          threads.push_back(spawn([&] { LOCKSTEP_CHECK(config.Get() == 42); }));
        }
        LOCKSTEP_CHECK(config.Get() == 42);
        for (Thread& t : threads) t.join();
        LOCKSTEP_CHECK(config.computations.load() == 1);
      },
      InProcess(1000));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_EQ(result.iterations, 1000u);
  EXPECT_GT(result.distinct_schedules, 1u);
}

TEST(OnceTest, FlagPerCallerIsFoundRunningTwice) {
  // The bug: each caller has its own flag (say, a once_flag member of a
  // per-thread object), so the initialization runs more than once.
  RunResult result = Runner::Run(
      [] {
        Atomic<int> computations(0);
        auto init = [&] {
          sync::once_flag flag;
          sync::call_once(flag, [&] { computations.fetch_add(1); });
        };
        Thread a = spawn(init);
        Thread b = spawn(init);
        a.join();
        b.join();
        LOCKSTEP_CHECK(computations.load() == 1);
      },
      InProcess(100));
  ASSERT_EQ(FailureKind(result), Failure::ASSERTION);
}

TEST(OnceTest, ForwardsArguments) {
  RunResult result = Runner::Run(
      [] {
        sync::once_flag flag;
        int out = 0;
        sync::call_once(
            flag, [](int& target, int value) { target = value; }, std::ref(out), 7);
        sync::call_once(
            flag, [](int& target, int value) { target = value; }, std::ref(out), 8);
        LOCKSTEP_CHECK(out == 7);
      },
      InProcess(5));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(OnceTest, ExceptionLetsTheNextCallerRun) {
  RunResult result = Runner::Run(
      [] {
        sync::once_flag flag;
        int runs = 0;
        bool threw = false;
        try {
          sync::call_once(flag, [&] {
            ++runs;
            throw std::runtime_error("first attempt fails");
          });
        } catch (const std::runtime_error&) {
          threw = true;
        }
        LOCKSTEP_CHECK(threw);
        sync::call_once(flag, [&] { ++runs; });
        sync::call_once(flag, [&] { ++runs; });
        LOCKSTEP_CHECK(runs == 2);
      },
      InProcess(5));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(OnceTest, ExceptionHandsOverToAWaitingCaller) {
  // A throws from its callable while B may wait for it; whichever order the
  // strategy picks, B's callable runs, and A's exception reaches A only.
  std::vector<int> orders(2);
  RunResult result = Runner::Run(
      [&] {
        sync::once_flag flag;
        Atomic<int> attempts(0);
        Atomic<int> done(0);
        Atomic<bool> a_threw(false);
        Thread a = spawn([&] {
          try {
            sync::call_once(flag, [&] {
              attempts.fetch_add(1);
              throw std::runtime_error("no");
            });
          } catch (const std::runtime_error&) {
            a_threw.store(true);
          }
        });
        Thread b = spawn([&] {
          sync::call_once(flag, [&] {
            attempts.fetch_add(1);
            done.store(1);
          });
          LOCKSTEP_CHECK(done.load() == 1);
        });
        a.join();
        b.join();
        LOCKSTEP_CHECK(done.load() == 1);
        // A's callable ran (and threw) only when it came first.
        LOCKSTEP_CHECK(attempts.load() == (a_threw.load() ? 2 : 1));
        ++orders[a_threw.load() ? 1 : 0];
      },
      InProcess(300));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_GT(orders[0], 0);
  EXPECT_GT(orders[1], 0);
}

TEST(OnceTest, RecursiveCallOnceIsMisuse) {
  RunResult result = Runner::Run(
      [] {
        sync::once_flag flag;
        sync::call_once(flag, [&] { sync::call_once(flag, [] {}); });
      },
      InProcess(1));
  ASSERT_EQ(FailureKind(result), Failure::MISUSE) << FailureMessage(result);
  EXPECT_THAT(FailureMessage(result),
              HasSubstr("call_once on once_flag #1 from within the callable running on it"));
}

TEST(OnceTest, DeadlockNamesTheThreadRunningTheCall) {
  // The callable waits for a signal the other thread sends only after its
  // own call_once: a deadlock when the callable starts first.
  RunResult result = Runner::Run(
      [] {
        sync::once_flag flag;
        sync::binary_semaphore signal(0);
        Thread initializer =
            spawn([&] { sync::call_once(flag, [&] { signal.acquire(); }); }, "initializer");
        Thread other = spawn(
            [&] {
              sync::call_once(flag, [] {});
              signal.release();
            },
            "other");
        initializer.join();
        other.join();
      },
      InProcess(200));
  ASSERT_EQ(FailureKind(result), Failure::DEADLOCK) << FailureMessage(result);
  EXPECT_THAT(FailureMessage(result),
              HasSubstr("once.call_once on once_flag #1 (call in progress in thread 1 "
                        "'initializer')"));
}

TEST(OnceTest, FlagOutlivingAnIterationRunsOncePerIteration) {
  static sync::once_flag global_flag;  // a namespace-scope flag, say
  int runs = 0;
  RunResult result = Runner::Run(
      [&] {
        sync::call_once(global_flag, [&] { ++runs; });
        sync::call_once(global_flag, [&] { ++runs; });
      },
      InProcess(10));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_EQ(runs, 10);
}

TEST(OnceTest, CallOnceOutsideARunThrowsUsageError) {
  sync::once_flag flag;  // constructing is fine
  bool ran = false;
  try {
    sync::call_once(flag, [&] { ran = true; });
    ADD_FAILURE() << "no UsageError";
  } catch (const lockstep::UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("lockstep::sync::call_once"));
  }
  EXPECT_FALSE(ran);
}

}  // namespace
