// lockstep::sync's threads, mutexes, condition variables and atomics: what
// they do in a run, the bugs they let a run find, their misuse failures, and
// where their events are located.
#include "lockstep/sync.h"

#include <chrono>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/failure.h"
#include "lockstep/options.h"
#include "lockstep/run.h"
#include "lockstep/run_test_util.h"

namespace lockstep {
namespace {

namespace sync = ::lockstep::sync;
using namespace std::chrono_literals;
using ::lockstep::testing_util::FailureKind;
using ::testing::EndsWith;
using ::testing::HasSubstr;

::lockstep::Options WithIterations(uint64_t iterations) {
  return ::lockstep::testing_util::WithIterations(iterations, "SyncTest");
}

TEST(SyncTest, MutexProtectsAndItsAbsenceIsFound) {
  auto body = [](bool locked) {
    return [locked] {
      sync::mutex m;
      int counter = 0;
      auto increment = [&] {
        std::unique_lock lock(m, std::defer_lock);
        if (locked) lock.lock();
        const int seen = counter;
        sync::this_thread::yield();
        counter = seen + 1;
      };
      sync::thread a(increment);
      sync::thread b(increment);
      a.join();
      b.join();
      LOCKSTEP_CHECK(counter == 2);
    };
  };
  EXPECT_FALSE(Runner::Run(body(true), WithIterations(300)).failed());
  EXPECT_EQ(FailureKind(Runner::Run(body(false), WithIterations(300))), Failure::ASSERTION);
}

TEST(SyncTest, ThreadPassesArgumentsByValueAndMovesMoveOnlyOnes) {
  const RunResult result = Runner::Run(
      [] {
        int sum = 0;
        auto owned = std::make_unique<int>(5);
        sync::thread t([&sum](int a, std::unique_ptr<int> b) { sum = a + *b; }, 2,
                       std::move(owned));
        EXPECT_TRUE(t.joinable());
        EXPECT_NE(t.get_id(), sync::this_thread::get_id());
        t.join();
        EXPECT_FALSE(t.joinable());
        EXPECT_EQ(t.get_id(), sync::thread::id());
        LOCKSTEP_CHECK(sum == 7);
      },
      WithIterations(20));
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

TEST(SyncTest, DestroyingAJoinableThreadIsMisuse) {
  const RunResult result = Runner::Run([] { sync::thread t([] {}); }, WithIterations(5));
  ASSERT_EQ(FailureKind(result), Failure::MISUSE);
  EXPECT_THAT(result.trace->failure().message(), HasSubstr("destroyed while joinable"));
}

TEST(SyncTest, DetachedThreadNeedsNoJoin) {
  const RunResult result = Runner::Run(
      [] {
        sync::thread t([] { sync::this_thread::sleep_for(1s); });
        t.detach();
        EXPECT_FALSE(t.joinable());
      },
      WithIterations(20));
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

TEST(SyncTest, RecursiveAndTimedMutexes) {
  const RunResult result = Runner::Run(
      [] {
        sync::recursive_mutex r;
        {
          std::lock_guard a(r);
          std::lock_guard b(r);
          LOCKSTEP_CHECK(r.try_lock());
          r.unlock();
        }
        sync::timed_mutex m;
        m.lock();
        sync::thread other([&] {
          const auto start = sync::chrono::steady_clock::now();
          const bool got = m.try_lock_for(10ms);
          // Either the holder let go in time, or 10ms of virtual time passed.
          LOCKSTEP_CHECK(got || sync::chrono::steady_clock::now() - start >= 10ms);
          if (got) m.unlock();
        });
        sync::this_thread::sleep_for(20ms);
        m.unlock();
        other.join();
      },
      WithIterations(200));
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

TEST(SyncTest, TimedLockTimesOutAndAlsoSucceedsAcrossSchedules) {
  std::set<bool> outcomes;
  Options options = WithIterations(100);
  options.isolate = false;
  Runner::Run(
      [&] {
        sync::timed_mutex m;
        m.lock();
        sync::thread other([&] {
          if (m.try_lock_until(sync::chrono::system_clock::now() + 5ms)) {
            outcomes.insert(true);
            m.unlock();
          } else {
            outcomes.insert(false);
          }
        });
        sync::this_thread::sleep_for(1ms);
        m.unlock();
        other.join();
      },
      options);
  EXPECT_EQ(outcomes, (std::set<bool>{false, true}));
}

TEST(SyncTest, MutexMisuseIsReported) {
  RunResult result = Runner::Run(
      [] {
        sync::mutex m;
        m.unlock();
      },
      WithIterations(1));
  ASSERT_EQ(FailureKind(result), Failure::MISUSE);
  result = Runner::Run(
      [] {
        sync::shared_mutex m;
        std::shared_lock reader(m);
        m.lock();  // upgrading deadlocks with std
      },
      WithIterations(1));
  ASSERT_EQ(FailureKind(result), Failure::MISUSE);
  EXPECT_THAT(result.trace->failure().message(), HasSubstr("which it already holds"));
}

TEST(SyncTest, SharedMutexAdmitsReadersTogether) {
  const RunResult result = Runner::Run(
      [] {
        sync::shared_mutex m;
        sync::atomic<int> readers{0};
        auto read = [&] {
          std::shared_lock lock(m);
          readers.fetch_add(1);
          sync::this_thread::yield();
          readers.fetch_sub(1);
        };
        sync::thread a(read);
        sync::thread b(read);
        {
          std::unique_lock lock(m);
          LOCKSTEP_CHECK(readers.load() == 0);
        }
        a.join();
        b.join();
      },
      WithIterations(300));
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

TEST(SyncTest, LostWakeupIsFoundAndThePredicateFixesIt) {
  auto body = [](bool predicate) {
    return [predicate] {
      sync::mutex m;
      sync::condition_variable cv;
      bool ready = false;
      sync::thread producer([&] {
        {
          std::lock_guard lock(m);
          ready = true;
        }
        cv.notify_one();
      });
      {
        std::unique_lock lock(m);
        if (predicate) {
          cv.wait(lock, [&] { return ready; });
        } else {
          cv.wait(lock);  // the notify may come first: waits forever
        }
      }
      producer.join();
    };
  };
  EXPECT_FALSE(Runner::Run(body(true), WithIterations(300)).failed());
  EXPECT_EQ(FailureKind(Runner::Run(body(false), WithIterations(300))), Failure::DEADLOCK);
}

TEST(SyncTest, ConditionVariableTimesOutInVirtualTime) {
  const RunResult result = Runner::Run(
      [] {
        sync::mutex m;
        sync::condition_variable cv;
        std::unique_lock lock(m);
        const auto start = sync::chrono::steady_clock::now();
        LOCKSTEP_CHECK(cv.wait_for(lock, 50ms) == std::cv_status::timeout);
        LOCKSTEP_CHECK(sync::chrono::steady_clock::now() - start == 50ms);
        LOCKSTEP_CHECK(
            !cv.wait_until(lock, sync::chrono::steady_clock::now() + 1s, [] { return false; }));
      },
      WithIterations(10));
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

TEST(SyncTest, ConditionVariableAnyWaitsWithAnyLockAndAStopToken) {
  const RunResult result = Runner::Run(
      [] {
        sync::shared_mutex m;
        sync::condition_variable_any cv;
        bool ready = false;
        sync::jthread waiter([&](sync::stop_token stop) {
          std::shared_lock lock(m);
          // Never true: only the stop request ends the wait.
          LOCKSTEP_CHECK(!cv.wait(lock, stop, [] { return false; }));
          LOCKSTEP_CHECK(stop.stop_requested());
        });
        sync::thread setter([&] {
          std::unique_lock lock(m);
          ready = true;
          cv.notify_all();
        });
        {
          std::unique_lock lock(m);
          cv.wait(lock, [&] { return ready; });
        }
        setter.join();
        // ~jthread requests the stop and joins.
      },
      WithIterations(300));
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

TEST(SyncTest, StopCallbackRunsOnceWhereverTheStopIsRequested) {
  const RunResult result = Runner::Run(
      [] {
        sync::stop_source source;
        int calls = 0;
        sync::thread requester([&] { source.request_stop(); });
        {
          sync::stop_callback callback(source.get_token(), [&] { ++calls; });
          sync::this_thread::yield();
        }
        requester.join();
        LOCKSTEP_CHECK(source.stop_requested());
        LOCKSTEP_CHECK(calls <= 1);
        sync::stop_callback late(source.get_token(), [&] { calls += 10; });
        LOCKSTEP_CHECK(calls >= 10);  // registered after the stop: ran at once
      },
      WithIterations(300));
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

TEST(SyncTest, AtomicWaitNotifyAndAStaleAssumptionIsFound) {
  // The consumer waits for the state to leave 0 and assumes it is 2, but it
  // may wake while it is 1.
  const RunResult result = Runner::Run(
      [] {
        sync::atomic<int> state{0};
        sync::thread producer([&] {
          state.store(1, sync::memory_order_release);
          state.notify_all();
          state.store(2, sync::memory_order_release);
          state.notify_all();
        });
        state.wait(0, sync::memory_order_acquire);
        LOCKSTEP_CHECK_MSG(state.load(sync::memory_order_acquire) == 2, "woke before 2");
        producer.join();
      },
      WithIterations(300));
  ASSERT_EQ(FailureKind(result), Failure::ASSERTION);
  // Memory orders and sizes are in the events.
  bool saw_acquire_wait = false;
  for (const Event& event : result.trace->events()) {
    if (event.op() == "atomic.wait") {
      EXPECT_EQ(event.order(), ACQUIRE);
      EXPECT_EQ(event.size(), sizeof(int));
      saw_acquire_wait = true;
    }
  }
  EXPECT_TRUE(saw_acquire_wait);
}

TEST(SyncTest, AtomicOperations) {
  const RunResult result = Runner::Run(
      [] {
        sync::atomic<int> i{1};
        LOCKSTEP_CHECK(i.fetch_add(2, sync::memory_order_relaxed) == 1);
        LOCKSTEP_CHECK((i |= 8) == 11);
        LOCKSTEP_CHECK(i.exchange(4) == 11);
        int expected = 3;
        LOCKSTEP_CHECK(!i.compare_exchange_strong(expected, 5) && expected == 4);
        LOCKSTEP_CHECK(i.compare_exchange_strong(expected, 5, sync::memory_order_acq_rel,
                                                 sync::memory_order_acquire));
        LOCKSTEP_CHECK(i-- == 5 && i == 4);
        int values[4] = {};
        sync::atomic<int*> p{values};
        LOCKSTEP_CHECK(++p == values + 1 && p.fetch_add(2) == values + 1 && p == values + 3);
        sync::atomic<double> d{0.5};
        LOCKSTEP_CHECK((d += 1.0) == 1.5);
        struct Pair {
          int a;
          int b;
        };
        sync::atomic<Pair> pair{Pair{1, 2}};
        Pair old{1, 2};
        LOCKSTEP_CHECK(pair.compare_exchange_weak(old, Pair{3, 4}) && pair.load().b == 4);
        sync::atomic_flag flag = ATOMIC_FLAG_INIT;
        LOCKSTEP_CHECK(!flag.test_and_set() && flag.test());
        flag.clear(sync::memory_order_release);
        LOCKSTEP_CHECK(!flag.test());
      },
      WithIterations(1));
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

TEST(SyncTest, WeakCompareExchangeFailsSpuriouslyOnlyWhenAsked) {
  auto body = [] {
    sync::atomic<int> value{0};
    int expected = 0;
    LOCKSTEP_CHECK_MSG(value.compare_exchange_weak(expected, 1), "failed spuriously");
  };
  EXPECT_FALSE(Runner::Run(body, WithIterations(50)).failed());
  Options options = WithIterations(50);
  options.spurious_wakeups = true;
  EXPECT_EQ(FailureKind(Runner::Run(body, options)), Failure::ASSERTION);
}

// A std::thread where a sync::thread was meant: the run stops with a MISUSE
// report naming the OS thread (in the explorer process, which is isolated).
TEST(SyncTest, StdThreadUsingSyncTypesIsMisuse) {
  const RunResult result = Runner::Run(
      [] {
        sync::mutex m;
        std::thread t([&] { std::lock_guard lock(m); });
        t.join();
      },
      WithIterations(5));
  ASSERT_EQ(FailureKind(result), Failure::MISUSE);
  EXPECT_THAT(result.trace->failure().message(),
              HasSubstr("not a logical thread of the running Lockstep iteration"));
}

TEST(SyncTest, OutsideARunEveryOperationThrowsUsageError) {
  sync::mutex m;  // constructing is fine
  sync::atomic<int> a{0};
  sync::condition_variable cv;
  EXPECT_THROW(m.lock(), UsageError);
  EXPECT_THROW(a.load(), UsageError);
  EXPECT_THROW(cv.notify_one(), UsageError);
  EXPECT_THROW(sync::this_thread::yield(), UsageError);
  EXPECT_THROW(sync::thread([] {}), UsageError);
}

// Every event of a lock taken through std's lock types is located at the
// line of this file that made the lock, never in a standard header or in
// Lockstep's own.
TEST(SyncTest, EventsAreLocatedAtTheUsersLines) {
  const RunResult result = Runner::Run(
      [] {
        sync::mutex a;
        sync::mutex b;
        sync::shared_mutex s;
        sync::recursive_mutex r;
        sync::condition_variable_any cv;
        sync::atomic<int> n{0};
        sync::thread t([&] {
          std::scoped_lock both(a, b);
          std::shared_lock reader(s);
          n.fetch_add(1);
        });
        {
          std::lock_guard guard(a);
          std::unique_lock writer(s);
          std::lock_guard again(r);
          cv.wait_for(writer, 1ms);
        }
        std::lock(a, b);
        a.unlock();
        b.unlock();
        t.join();
        LOCKSTEP_CHECK(false);  // fail, for the trace
      },
      WithIterations(1));
  ASSERT_TRUE(result.failed());
  int events = 0;
  for (const Event& event : result.trace->events()) {
    if (event.op().rfind("thread.", 0) == 0) continue;
    ++events;
    EXPECT_THAT(event.location().file(), EndsWith("lockstep/sync/sync_test.cc"))
        << event.op() << " at " << event.location().file() << ":" << event.location().line();
    EXPECT_THAT(event.location().function(), HasSubstr("EventsAreLocatedAtTheUsersLines"));
  }
  EXPECT_GT(events, 20);
  for (const ThreadInfo& thread : result.trace->threads()) {
    if (thread.id() != 0) {
      EXPECT_THAT(thread.created_at().file(), EndsWith("lockstep/sync/sync_test.cc"));
    }
  }
}

}  // namespace
}  // namespace lockstep
