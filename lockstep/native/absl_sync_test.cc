// The native runner steers Abseil's synchronization at its API (the system
// Abseil): absl::Mutex (writer and reader locks, conditions, timeouts),
// absl::CondVar, absl::Notification, absl::BlockingCounter and
// absl::Barrier. For each, a bug that needs an interleaving at the primitive
// is found at seed 1 within a stated budget, its trace shows the primitive's
// operations located in this file, and the fixed twin passes 1,000
// schedules.
#include <deque>
#include <memory>
#include <thread>

#include "absl/synchronization/barrier.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/failure.h"
#include "lockstep/native/native_runner.h"
#include "lockstep/native/sync_test_util.h"

namespace lockstep {
namespace {

using native_test::Check;
using native_test::Control;
using ::testing::HasSubstr;

void ExpectFoundAndFixed(const std::function<void()>& buggy, const std::function<void()>& fixed,
                         Failure::Kind kind, uint64_t budget, std::string_view prefix) {
  native_test::ExpectFoundAndFixed(buggy, fixed, kind, budget, prefix, "absl_sync_test.cc",
                                   StrategyKind::kPct);
}

// --- absl::Mutex --------------------------------------------------------------

// Bug: the balance is checked and debited in two critical sections; two
// withdrawals both pass the check.
void Withdrawals(bool fixed) {
  absl::Mutex mu;
  int balance = 100;
  auto withdraw = [&] {
    if (fixed) {
      absl::MutexLock lock(&mu);
      if (balance >= 80) balance -= 80;
      return;
    }
    bool enough;
    {
      absl::MutexLock lock(&mu);
      enough = balance >= 80;
    }
    if (enough) {
      absl::MutexLock lock(&mu);
      balance -= 80;
    }
  };
  std::thread other(withdraw);
  withdraw();
  other.join();
  Check(balance >= 0, "overdrawn");
}

TEST(AbslSyncTest, MutexCheckThenActIsFound) {
  ExpectFoundAndFixed([] { Withdrawals(false); }, [] { Withdrawals(true); }, Failure::ASSERTION,
                      100, "absl.mutex.lock");
}

// Bug: a miss seen under the reader lock is filled under the writer lock
// without looking again; two readers both fill it.
void FillOnce(bool fixed) {
  absl::Mutex mu;
  bool filled = false;
  int fills = 0;
  auto get = [&] {
    {
      absl::ReaderMutexLock read(&mu);
      if (filled) return;
    }
    absl::WriterMutexLock write(&mu);
    if (fixed && filled) return;
    ++fills;
    filled = true;
  };
  std::thread other(get);
  get();
  other.join();
  Check(fills == 1, "filled twice");
}

TEST(AbslSyncTest, ReaderLockUpgradeWithoutRecheckIsFound) {
  ExpectFoundAndFixed([] { FillOnce(false); }, [] { FillOnce(true); }, Failure::ASSERTION, 100,
                      "absl.mutex.reader_lock");
}

// Bug: the producer publishes `ready` and the data in two critical sections;
// the consumer's LockWhen can get in between.
void PublishWhen(bool fixed) {
  absl::Mutex mu;
  bool ready = false;
  int data = 0;
  std::thread producer([&] {
    if (fixed) {
      absl::MutexLock lock(&mu);
      data = 42;
      ready = true;
      return;
    }
    {
      absl::MutexLock lock(&mu);
      ready = true;
    }
    absl::MutexLock lock(&mu);
    data = 42;
  });
  mu.LockWhen(absl::Condition(&ready));
  Check(data == 42, "saw ready before the data");
  mu.Unlock();
  producer.join();
}

TEST(AbslSyncTest, LockWhenSeesAHalfPublishedState) {
  ExpectFoundAndFixed([] { PublishWhen(false); }, [] { PublishWhen(true); }, Failure::ASSERTION,
                      100, "absl.mutex.lock_when");
}

// Bug: the consumer assumes its timed Await never times out (the producer
// "only has to take the lock"); the timeout races the producer.
void AwaitDeadline(bool fixed) {
  absl::Mutex mu;
  bool ready = false;
  std::thread producer([&] {
    absl::MutexLock lock(&mu);
    ready = true;
  });
  {
    absl::MutexLock lock(&mu);
    const bool arrived = mu.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(100));
    if (!fixed) Check(arrived, "the timed Await timed out");
    if (!arrived) mu.Await(absl::Condition(&ready));
  }
  producer.join();
}

TEST(AbslSyncTest, TimedAwaitRacesTheProducer) {
  ExpectFoundAndFixed([] { AwaitDeadline(false); }, [] { AwaitDeadline(true); }, Failure::ASSERTION,
                      100, "absl.mutex.await");
}

TEST(AbslSyncTest, LockOrderInversionIsADeadlockNamingTheHolders) {
  NativeOptions options = Control(100);
  RunResult found = NativeRunner::Run(
      [] {
        absl::Mutex a;
        absl::Mutex b;
        std::thread other([&] {
          absl::MutexLock lb(&b);
          absl::MutexLock la(&a);
        });
        {
          absl::MutexLock la(&a);
          absl::MutexLock lb(&b);
        }
        other.join();
      },
      options);
  ASSERT_TRUE(found.failed());
  EXPECT_EQ(found.trace->failure().kind(), Failure::DEADLOCK);
  EXPECT_THAT(found.trace->failure().message(), HasSubstr("absl::Mutex"));
  EXPECT_THAT(found.trace->failure().message(), HasSubstr("held by thread"));
}

// --- absl::CondVar ------------------------------------------------------------

// Bug: a consumer waits with `if`, not `while`: the other consumer can take
// the item between the signal and its wake-up.
void TwoConsumers(bool fixed) {
  absl::Mutex mu;
  absl::CondVar cv;
  std::deque<int> items;
  auto consume = [&] {
    absl::MutexLock lock(&mu);
    if (fixed) {
      while (items.empty()) cv.Wait(&mu);
    } else if (items.empty()) {
      cv.Wait(&mu);
    }
    Check(!items.empty(), "woke up to an empty queue");
    if (!items.empty()) items.pop_front();
  };
  std::thread a(consume);
  std::thread b(consume);
  for (int i = 0; i < 2; ++i) {
    {
      absl::MutexLock lock(&mu);
      items.push_back(i);
    }
    cv.Signal();
  }
  a.join();
  b.join();
}

TEST(AbslSyncTest, CondVarWaitWithoutALoopIsFound) {
  ExpectFoundAndFixed([] { TwoConsumers(false); }, [] { TwoConsumers(true); }, Failure::ASSERTION,
                      300, "absl.condvar.");
}

// --- absl::Notification -------------------------------------------------------

// Bug: the worker notifies before it writes its result.
void NotifyEarly(bool fixed) {
  absl::Notification done;
  int result = 0;
  std::thread worker([&] {
    if (fixed) result = 42;
    done.Notify();
    if (!fixed) result = 42;
  });
  done.WaitForNotification();
  Check(result == 42, "read the result before the worker wrote it");
  worker.join();
}

TEST(AbslSyncTest, NotifyBeforeTheResultIsFound) {
  ExpectFoundAndFixed([] { NotifyEarly(false); }, [] { NotifyEarly(true); }, Failure::ASSERTION,
                      100, "absl.notification.");
}

TEST(AbslSyncTest, ANotificationNeverNotifiedIsADeadlockNamingIt) {
  RunResult found = NativeRunner::Run(
      [] {
        absl::Notification never;
        never.WaitForNotification();
      },
      Control(5));
  ASSERT_TRUE(found.failed());
  EXPECT_EQ(found.trace->failure().kind(), Failure::DEADLOCK);
  EXPECT_THAT(found.trace->failure().message(), HasSubstr("absl::Notification"));
}

// --- absl::BlockingCounter ----------------------------------------------------

// Bug: each worker counts down before it writes its part.
void CountDownEarly(bool fixed) {
  absl::BlockingCounter counter(2);
  int parts[2] = {0, 0};
  auto work = [&](int i) {
    if (fixed) parts[i] = 1;
    counter.DecrementCount();
    if (!fixed) parts[i] = 1;
  };
  std::thread a(work, 0);
  std::thread b(work, 1);
  counter.Wait();
  Check(parts[0] + parts[1] == 2, "Wait returned before every part was written");
  a.join();
  b.join();
}

TEST(AbslSyncTest, BlockingCounterDecrementBeforeTheWorkIsFound) {
  ExpectFoundAndFixed([] { CountDownEarly(false); }, [] { CountDownEarly(true); },
                      Failure::ASSERTION, 100, "absl.blocking_counter.");
}

// --- absl::Barrier ------------------------------------------------------------

// Bug: the worker writes its value after the barrier, not before.
void BarrierPublish(bool fixed) {
  auto* barrier = new absl::Barrier(2);
  int value = 0;
  auto block = [barrier] {
    if (barrier->Block()) delete barrier;
  };
  std::thread worker([&] {
    if (fixed) value = 42;
    block();
    if (!fixed) value = 42;
  });
  block();
  Check(value == 42, "read the value the barrier should have published");
  worker.join();
}

TEST(AbslSyncTest, BarrierPublishAfterBlockIsFound) {
  ExpectFoundAndFixed([] { BarrierPublish(false); }, [] { BarrierPublish(true); },
                      Failure::ASSERTION, 100, "absl.barrier.block");
}

// --- Outside a run ------------------------------------------------------------

TEST(AbslSyncTest, OutsideARunAbseilIsItself) {
  absl::Mutex mu;
  bool ready = false;
  absl::Notification done;
  std::thread t([&] {
    absl::MutexLock lock(&mu);
    ready = true;
    done.Notify();
  });
  EXPECT_TRUE(mu.LockWhenWithTimeout(absl::Condition(&ready), absl::Seconds(30)));
  mu.Unlock();
  done.WaitForNotification();
  t.join();
}

}  // namespace
}  // namespace lockstep
