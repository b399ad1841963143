#include "lockstep/sync/semaphore.h"

#include <chrono>
#include <cstddef>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/atomic.h"
#include "lockstep/failure.h"
#include "lockstep/run.h"
#include "lockstep/run_test_util.h"
#include "lockstep/sync/chrono.h"
#include "lockstep/thread.h"
#include "lockstep/time.h"

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
  return ::lockstep::testing_util::InProcess(iterations, "SemaphoreTest");
}
using namespace std::chrono_literals;

static_assert(sync::counting_semaphore<>::max() == std::numeric_limits<std::ptrdiff_t>::max());
static_assert(sync::counting_semaphore<5>::max() == 5);
static_assert(sync::binary_semaphore::max() == 1);

// A pool of `slots` connections shared by four clients, which the code
// assumes never has more than two in use.
void Pool(std::ptrdiff_t slots) {
  sync::counting_semaphore<4> pool(slots);
  Atomic<int> in_use(0);
  std::vector<Thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(spawn([&] {
      pool.acquire();
      LOCKSTEP_CHECK(in_use.fetch_add(1) + 1 <= 2);
      in_use.fetch_sub(1);
      pool.release();
    }));
  }
  for (Thread& t : clients) t.join();
}

TEST(SemaphoreTest, BoundedPoolStaysWithinItsBound) {
  RunResult result = Runner::Run([] { Pool(2); }, InProcess(1000));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_EQ(result.iterations, 1000u);
  EXPECT_GT(result.distinct_schedules, 1u);
}

TEST(SemaphoreTest, PoolWithTheWrongBoundIsFound) {
  RunResult result = Runner::Run([] { Pool(3); }, InProcess(1000));
  ASSERT_EQ(FailureKind(result), Failure::ASSERTION) << FailureMessage(result);
  EXPECT_THAT(FailureMessage(result), HasSubstr("in_use.fetch_add(1) + 1 <= 2"));
}

TEST(SemaphoreTest, BinarySemaphoreSignals) {
  RunResult result = Runner::Run(
      [] {
        sync::binary_semaphore ready(0);
        Atomic<int> data(0);
        Thread producer = spawn([&] {
          data.store(42);
          ready.release();
        });
        ready.acquire();
        LOCKSTEP_CHECK(data.load() == 42);
        producer.join();
      },
      InProcess(200));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(SemaphoreTest, TryAcquireTakesOnlyWhatIsThere) {
  RunResult result = Runner::Run(
      [] {
        sync::counting_semaphore<> s(2);
        LOCKSTEP_CHECK(s.try_acquire());
        LOCKSTEP_CHECK(s.try_acquire());
        LOCKSTEP_CHECK(!s.try_acquire());
        s.release(2);
        LOCKSTEP_CHECK(s.try_acquire());
        s.release(0);  // allowed, changes nothing
      },
      InProcess(5));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(SemaphoreTest, TimedAcquireTimesOutInVirtualTime) {
  RunResult result = Runner::Run(
      [] {
        sync::counting_semaphore<> s(0);
        const auto start = sync::chrono::steady_clock::now();
        LOCKSTEP_CHECK(!s.try_acquire_for(10ms));
        LOCKSTEP_CHECK(sync::chrono::steady_clock::now() - start >= 10ms);
        LOCKSTEP_CHECK(!s.try_acquire_until(sync::chrono::steady_clock::now() + 5ms));
        LOCKSTEP_CHECK(!s.try_acquire_until(sync::chrono::system_clock::now() + 1s));
        LOCKSTEP_CHECK(sync::chrono::steady_clock::now() - start >= 1015ms);
        // A deadline already passed is a try_acquire: no waiting.
        const auto before = sync::chrono::steady_clock::now();
        LOCKSTEP_CHECK(!s.try_acquire_for(-1s));
        LOCKSTEP_CHECK(!s.try_acquire_until(start));
        LOCKSTEP_CHECK(sync::chrono::steady_clock::now() == before);
        s.release();
        LOCKSTEP_CHECK(s.try_acquire_for(1h));
        LOCKSTEP_CHECK(sync::chrono::steady_clock::now() == before);
      },
      InProcess(20));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(SemaphoreTest, TimeoutRacesWithRelease) {
  // Whether the release comes before the timeout is a scheduling decision:
  // across iterations, both outcomes happen, and the count stays right.
  std::set<bool> outcomes;
  RunResult result = Runner::Run(
      [&] {
        sync::counting_semaphore<1> s(0);
        Thread releaser = spawn([&] { s.release(); });
        const bool acquired = s.try_acquire_for(5ms);
        releaser.join();
        LOCKSTEP_CHECK(s.try_acquire() == !acquired);
        outcomes.insert(acquired);
      },
      InProcess(200));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
  EXPECT_EQ(outcomes, (std::set<bool>{false, true}));
}

TEST(SemaphoreTest, AcquireThatNeverEndsIsADeadlockNamingTheCount) {
  RunResult result = Runner::Run(
      [] {
        sync::binary_semaphore s(0);
        s.acquire();
      },
      InProcess(5));
  ASSERT_EQ(FailureKind(result), Failure::DEADLOCK) << FailureMessage(result);
  EXPECT_THAT(FailureMessage(result),
              HasSubstr("semaphore.acquire on semaphore #1 (count 0 (max 1))"));
}

std::string Misuse(const std::function<void()>& body) {
  RunResult result = Runner::Run(body, InProcess(1));
  EXPECT_EQ(FailureKind(result), Failure::MISUSE) << FailureMessage(result);
  return FailureMessage(result);
}

TEST(SemaphoreTest, MisuseIsReported) {
  EXPECT_THAT(Misuse([] {
                sync::binary_semaphore s(0);
                s.release();
                s.release();  // a binary semaphore released twice
              }),
              HasSubstr("release(1) on semaphore #1 whose count is 1: the count would exceed "
                        "max() = 1"));
  EXPECT_THAT(Misuse([] {
                sync::counting_semaphore<> s(1);
                s.release(std::numeric_limits<std::ptrdiff_t>::max());
              }),
              HasSubstr("the count would exceed max()"));
  EXPECT_THAT(Misuse([] {
                sync::counting_semaphore<> s(1);
                s.release(-1);
              }),
              HasSubstr("release(-1) on semaphore #1: negative update"));
  EXPECT_THAT(Misuse([] { sync::binary_semaphore s(2); }),
              HasSubstr("semaphore #1 constructed with count 2, outside [0, max() = 1]"));
  EXPECT_THAT(Misuse([] { sync::counting_semaphore<> s(-1); }),
              HasSubstr("semaphore #1 constructed with count -1"));
}

TEST(SemaphoreTest, BadCountMadeOutsideARunIsReportedAtFirstUse) {
  sync::binary_semaphore s(3);
  RunResult result = Runner::Run([&] { s.acquire(); }, InProcess(1));
  ASSERT_EQ(FailureKind(result), Failure::MISUSE);
  EXPECT_THAT(FailureMessage(result),
              HasSubstr("semaphore.acquire on semaphore #1 constructed with count 3"));
}

TEST(SemaphoreTest, SemaphoreOutlivingAnIterationStartsEachWithItsCount) {
  sync::counting_semaphore<2> shared(1);
  RunResult result = Runner::Run(
      [&] {
        shared.acquire();
        LOCKSTEP_CHECK(!shared.try_acquire());
      },
      InProcess(20));
  EXPECT_FALSE(result.failed()) << FailureMessage(result);
}

TEST(SemaphoreTest, OperationsOutsideARunThrowUsageError) {
  sync::counting_semaphore<> s(1);  // constructing is fine
  EXPECT_THROW(s.acquire(), lockstep::UsageError);
  EXPECT_THROW(s.try_acquire(), lockstep::UsageError);
  EXPECT_THROW(s.release(), lockstep::UsageError);
  EXPECT_THROW(s.try_acquire_until(std::chrono::steady_clock::now()), lockstep::UsageError);
  try {
    s.try_acquire_for(1s);
    ADD_FAILURE() << "no UsageError";
  } catch (const lockstep::UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("lockstep::sync::counting_semaphore::try_acquire_for"));
  }
}

}  // namespace
