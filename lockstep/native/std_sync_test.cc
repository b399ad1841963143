// The native runner steers the standard primitives built on futexes and on
// pthread_once (libstdc++: atomic wait/notify, latch, barrier,
// counting_semaphore, promise/future, call_once) and thread start and exit:
// for each, a bug that needs an interleaving at the primitive is found at
// seed 1 within a stated budget, its trace shows the primitive's
// operations, and the fixed twin passes 1,000 schedules.
#include <pthread.h>
#include <sys/time.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <future>
#include <latch>
#include <mutex>
#include <semaphore>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/failure.h"
#include "lockstep/native/native_runner.h"
#include "lockstep/native/sync_test_util.h"
#include "lockstep/trace_io.h"

namespace lockstep {
namespace {

using native_test::Check;
using native_test::Control;
using native_test::CountEvents;
using ::testing::HasSubstr;

void ExpectFoundAndFixed(const std::function<void()>& buggy, const std::function<void()>& fixed,
                         Failure::Kind kind, uint64_t budget, std::string_view prefix,
                         StrategyKind strategy = StrategyKind::kPct) {
  native_test::ExpectFoundAndFixed(buggy, fixed, kind, budget, prefix, "std_sync_test.cc",
                                   strategy);
}

// --- std::atomic<T>::wait / notify_one --------------------------------------

// Bug: the producer notifies before it stores, so a consumer already asleep
// is woken, sees the old value, sleeps again and is never notified.
void AtomicNotify(bool fixed) {
  std::atomic<int> state{0};
  std::thread consumer([&] { state.wait(0); });
  if (fixed) {
    state.store(1);
    state.notify_one();
  } else {
    state.notify_one();
    state.store(1);
  }
  consumer.join();
}

TEST(StdSyncTest, AtomicWaitNotifyLostWakeupIsADeadlockOnTheFutex) {
  ExpectFoundAndFixed([] { AtomicNotify(false); }, [] { AtomicNotify(true); }, Failure::DEADLOCK,
                      200, "futex.", StrategyKind::kPos);
  NativeOptions options = Control(200);
  options.strategy = StrategyKind::kPos;
  RunResult found = NativeRunner::Run([] { AtomicNotify(false); }, options);
  ASSERT_TRUE(found.failed());
  EXPECT_THAT(found.trace->failure().message(), HasSubstr("futex"));
}

// --- std::latch --------------------------------------------------------------

// Bug: the worker counts down before it publishes its result; the main
// thread, woken by the count-down, reads it too early.
void LatchPublish(bool fixed) {
  std::latch done(1);
  int result = 0;
  std::thread worker([&] {
    if (fixed) {
      result = 42;
      done.count_down();
    } else {
      done.count_down();
      result = 42;
    }
  });
  done.wait();
  Check(result == 42, "read the result before the worker published it");
  worker.join();
}

TEST(StdSyncTest, LatchCountDownBeforePublishIsFound) {
  ExpectFoundAndFixed([] { LatchPublish(false); }, [] { LatchPublish(true); }, Failure::ASSERTION,
                      200, "futex.", StrategyKind::kPos);
}

// --- std::barrier ------------------------------------------------------------

// Bug: one barrier per phase, but a thread overwrites its slot for the next
// phase before the other thread has read this phase's value.
void BarrierPhases(bool fixed) {
  std::barrier sync(2);
  int slot[2] = {0, 0};
  auto worker = [&](int me) {
    for (int phase = 1; phase <= 2; ++phase) {
      slot[me] = phase;
      sync.arrive_and_wait();
      const int other = slot[1 - me];
      if (fixed) sync.arrive_and_wait();
      Check(other == phase, "read the other thread's slot from the wrong phase");
    }
  };
  std::thread a(worker, 0);
  std::thread b(worker, 1);
  a.join();
  b.join();
}

TEST(StdSyncTest, BarrierPhaseOverlapIsFound) {
  // libstdc++'s tree barrier picks a thread's node from a hash of its
  // thread id (an address that varies from process to process), so whether
  // the failing schedule blocks on a futex varies too.
  ExpectFoundAndFixed([] { BarrierPhases(false); }, [] { BarrierPhases(true); }, Failure::ASSERTION,
                      200, "");
}

// --- std::counting_semaphore ---------------------------------------------------

// Bug: the producer releases the item's permit before it writes the item.
void SemaphoreHandOff(bool fixed) {
  std::counting_semaphore<4> items(0);
  int item = 0;
  std::thread consumer([&] {
    items.acquire();
    Check(item == 7, "took an item before it was written");
  });
  if (fixed) {
    item = 7;
    items.release();
  } else {
    items.release();
    item = 7;
  }
  consumer.join();
}

TEST(StdSyncTest, SemaphoreReleaseBeforeWriteIsFound) {
  // The consumer runs at the scheduling point of the release's futex wake
  // (the producer's only one between the release and the write), before
  // the wake is recorded: the trace has no futex event.
  ExpectFoundAndFixed([] { SemaphoreHandOff(false); }, [] { SemaphoreHandOff(true); },
                      Failure::ASSERTION, 200, "");
}

// --- std::promise / std::future ------------------------------------------------

// Bug: the value travels through the future, but a side result through a
// plain variable written after set_value.
void PromiseSideEffect(bool fixed) {
  std::promise<int> promise;
  std::future<int> future = promise.get_future();
  int side = 0;
  std::thread producer([&] {
    if (fixed) side = 1;
    promise.set_value(5);
    if (!fixed) side = 1;
  });
  const int value = future.get();
  Check(value == 5 && side == 1, "saw the future's value before the side result");
  producer.join();
}

TEST(StdSyncTest, PromiseSetBeforeSideResultIsFound) {
  ExpectFoundAndFixed([] { PromiseSideEffect(false); }, [] { PromiseSideEffect(true); },
                      Failure::ASSERTION, 200, "futex.");
}

// --- std::call_once ------------------------------------------------------------

// Bug: one thread calls call_once while holding a mutex that the init
// function (run by the other thread) needs: a deadlock between the once
// and the mutex, when the other thread starts the init first.
void OnceUnderLock(bool fixed) {
  std::once_flag once;
  std::mutex mutex;
  int config = 0;
  auto init = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    config = 1;
  };
  std::thread a([&] { std::call_once(once, init); });
  std::thread b([&] {
    if (fixed) {
      std::call_once(once, init);
      std::lock_guard<std::mutex> lock(mutex);
    } else {
      std::lock_guard<std::mutex> lock(mutex);
      std::call_once(once, init);
    }
  });
  a.join();
  b.join();
  Check(config == 1, "init did not run");
}

TEST(StdSyncTest, CallOnceUnderALockIsADeadlockNamingTheOnce) {
  ExpectFoundAndFixed([] { OnceUnderLock(false); }, [] { OnceUnderLock(true); }, Failure::DEADLOCK,
                      200, "once.");
  RunResult found = NativeRunner::Run([] { OnceUnderLock(false); }, Control(200));
  ASSERT_TRUE(found.failed());
  EXPECT_THAT(found.trace->failure().message(), HasSubstr("once.wait"));
  EXPECT_THAT(found.trace->failure().message(), HasSubstr("run by thread"));
}

// --- std::jthread and std::stop_token -------------------------------------------

// Bug: assumes a thread stopped right after it starts never does its work;
// the new thread may run before the parent's request_stop.
void StopAtOnce(bool fixed) {
  std::atomic<bool> worked{false};
  {
    std::jthread worker([&](std::stop_token stop) {
      if (fixed) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (!stop.stop_requested()) worked = true;
    });
    worker.request_stop();
  }
  Check(!worked, "the worker ran before the stop request");
}

TEST(StdSyncTest, NewThreadRunningBeforeItsParentGoesOnIsExplored) {
  RunResult found = NativeRunner::Run([] { StopAtOnce(false); }, Control(200));
  ASSERT_TRUE(found.failed()) << found.iterations;
  EXPECT_EQ(found.trace->failure().kind(), Failure::ASSERTION);
}

// --- Thread exit and virtual time ------------------------------------------------

// A thread_local destructor that synchronizes runs before the thread ends
// in the model: join() returns after it, and nothing diverges.
std::mutex g_tls_mutex;
int g_tls_destroyed = 0;
struct CountsItsDestruction {
  ~CountsItsDestruction() {
    std::lock_guard<std::mutex> lock(g_tls_mutex);
    ++g_tls_destroyed;
  }
};
thread_local CountsItsDestruction t_counted;

TEST(StdSyncTest, ThreadEndsAfterItsThreadLocalDestructors) {
  RunResult result = NativeRunner::Run(
      [] {
        std::thread t([] { (void)&t_counted; });
        t.join();
        std::lock_guard<std::mutex> lock(g_tls_mutex);
        Check(g_tls_destroyed == 1, "join returned before the thread_local destructor ran");
        g_tls_destroyed = 0;
      },
      Control(200));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

// --- Raw pthreads: spin locks, barriers, pthread_exit -------------------------

// Bug: the balance is checked and debited under two separate spin-lock holds.
void SpinWithdrawals(bool fixed) {
  pthread_spinlock_t spin;
  pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
  int balance = 100;
  auto withdraw = [&] {
    pthread_spin_lock(&spin);
    bool enough = balance >= 80;
    if (!fixed) {
      pthread_spin_unlock(&spin);
      pthread_spin_lock(&spin);
    }
    if (enough) balance -= 80;
    pthread_spin_unlock(&spin);
  };
  std::thread other(withdraw);
  withdraw();
  other.join();
  Check(balance >= 0, "overdrawn");
  pthread_spin_destroy(&spin);
}

TEST(StdSyncTest, SpinLockCheckThenActIsFound) {
  ExpectFoundAndFixed([] { SpinWithdrawals(false); }, [] { SpinWithdrawals(true); },
                      Failure::ASSERTION, 100, "spin.");
}

// Bug: the worker writes its value after the barrier, not before.
void PthreadBarrierPublish(bool fixed) {
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, nullptr, 2);
  int value = 0;
  std::thread worker([&] {
    if (fixed) value = 42;
    pthread_barrier_wait(&barrier);
    if (!fixed) value = 42;
  });
  pthread_barrier_wait(&barrier);
  Check(value == 42, "read the value the barrier should have published");
  worker.join();
  pthread_barrier_destroy(&barrier);
}

TEST(StdSyncTest, PthreadBarrierPublishAfterWaitIsFound) {
  ExpectFoundAndFixed([] { PthreadBarrierPublish(false); }, [] { PthreadBarrierPublish(true); },
                      Failure::ASSERTION, 100, "barrier.wait");
}

TEST(StdSyncTest, ABarrierForMoreThreadsThanArriveIsADeadlock) {
  RunResult found = NativeRunner::Run(
      [] {
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, nullptr, 3);
        std::thread worker([&] { pthread_barrier_wait(&barrier); });
        pthread_barrier_wait(&barrier);
        worker.join();
      },
      Control(5));
  ASSERT_TRUE(found.failed());
  EXPECT_EQ(found.trace->failure().kind(), Failure::DEADLOCK);
  EXPECT_THAT(found.trace->failure().message(), HasSubstr("barrier"));
}

// pthread_exit ends a thread as returning does: an event at the call, its
// thread_local destructors, then the thread's end; from the body's own
// thread, it ends the body.
TEST(StdSyncTest, PthreadExitEndsTheThreadInTheModel) {
  NativeOptions options = Control(50);
  RunResult result = NativeRunner::Run(
      [] {
        std::mutex m;
        int done = 0;
        std::thread worker([&] {
          {
            std::lock_guard<std::mutex> lock(m);
            ++done;
          }
          pthread_exit(nullptr);
        });
        worker.join();
        Check(done == 2, "always fails: records the trace");
      },
      options);
  ASSERT_TRUE(result.failed());
  const Trace& trace = *result.trace;
  EXPECT_EQ(trace.failure().kind(), Failure::ASSERTION) << trace.failure().message();
  EXPECT_EQ(CountEvents(trace, "thread.pthread_exit"), 1);
  for (const Event& event : trace.events()) {
    EXPECT_THAT(event.location().file(), HasSubstr("std_sync_test.cc")) << event.op();
  }

  RunResult body_exits = NativeRunner::Run([] { pthread_exit(nullptr); }, Control(20));
  ASSERT_TRUE(body_exits.status.ok()) << body_exits.status;
  EXPECT_FALSE(body_exits.failed()) << body_exits.trace->failure().message();
}

TEST(StdSyncTest, GettimeofdayAndTimeAreVirtual) {
  RunResult result = NativeRunner::Run(
      [] {
        timeval before;
        gettimeofday(&before, nullptr);
        const time_t start = time(nullptr);
        std::this_thread::sleep_for(std::chrono::hours(1));
        timeval after;
        gettimeofday(&after, nullptr);
        Check(after.tv_sec - before.tv_sec == 3600, "gettimeofday is not virtual");
        Check(time(nullptr) - start == 3600, "time() is not virtual");
      },
      Control(5));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
  EXPECT_LT(result.elapsed, std::chrono::seconds(60));
}

}  // namespace
}  // namespace lockstep
