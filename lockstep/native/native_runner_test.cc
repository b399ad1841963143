// The native runner on unmodified std::thread programs.
#undef NDEBUG  // the order-violation program fails through assert()
#include "lockstep/native/native_runner.h"

#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/failure.h"
#include "lockstep/trace_io.h"

namespace lockstep {
namespace {

using ::testing::HasSubstr;

// Tests run beside others on a loaded machine: a generous quantum keeps a
// descheduled thread from being taken for a spinning one (which would make
// the schedule uncontrolled and the re-execution diverge).
NativeOptions Control(uint64_t iterations = 200) {
  NativeOptions options;
  options.iterations = iterations;
  options.resume_quantum_us = 20000;
  return options;
}

// --- Programs under test: plain standard-library code -----------------------

// Check-then-act across two critical sections: the balance check and the
// withdrawal are each locked, but not together.
struct Account {
  std::mutex mutex;
  int balance = 100;
  bool atomic_withdraw = false;

  void Withdraw(int amount) {
    if (atomic_withdraw) {
      std::lock_guard<std::mutex> lock(mutex);
      if (balance >= amount) balance -= amount;
      return;
    }
    bool enough;
    {
      std::lock_guard<std::mutex> lock(mutex);
      enough = balance >= amount;
    }
    if (enough) {
      std::lock_guard<std::mutex> lock(mutex);
      balance -= amount;
    }
  }
};

void Overdraft(bool fixed) {
  Account account;
  account.atomic_withdraw = fixed;
  std::thread a([&] { account.Withdraw(80); });
  std::thread b([&] { account.Withdraw(80); });
  a.join();
  b.join();
  if (account.balance < 0)
    lockstep::RecordFailure(Failure::ASSERTION, "overdrawn", __FILE__, __LINE__);
}

void LockOrder(bool fixed) {
  std::mutex first;
  std::mutex second;
  std::thread a([&] {
    std::lock_guard<std::mutex> x(first);
    std::lock_guard<std::mutex> y(second);
  });
  std::thread b([&] {
    if (fixed) {
      std::scoped_lock both(first, second);
      return;
    }
    std::lock_guard<std::mutex> y(second);
    std::lock_guard<std::mutex> x(first);
  });
  a.join();
  b.join();
}

// Lost wake-up: the consumer checks the flag, then waits without a
// predicate loop under the lock... but the producer sets the flag without it.
void LostWakeup(bool fixed) {
  std::mutex mutex;
  std::condition_variable cv;
  bool ready = false;
  std::thread consumer([&] {
    std::unique_lock<std::mutex> lock(mutex);
    if (fixed) {
      cv.wait(lock, [&] { return ready; });
    } else if (!ready) {
      lock.unlock();  // "check, then wait" with a window in between
      lock.lock();
      cv.wait(lock);
    }
  });
  std::thread producer([&] {
    std::lock_guard<std::mutex> lock(mutex);
    ready = true;
    cv.notify_one();
  });
  producer.join();
  consumer.join();
}

// Order violation: the reader assumes the writer ran first.
void OrderViolation(bool fixed) {
  std::mutex mutex;
  std::condition_variable cv;
  int* config = nullptr;
  int value = 42;
  std::thread writer([&] {
    std::lock_guard<std::mutex> lock(mutex);
    config = &value;
    cv.notify_all();
  });
  std::thread reader([&] {
    std::unique_lock<std::mutex> lock(mutex);
    if (fixed) cv.wait(lock, [&] { return config != nullptr; });
    assert(config != nullptr && "reader ran before writer");
  });
  writer.join();
  reader.join();
}

// A counter that lives across iterations: each iteration starts it fresh
// only when iterations are isolated in child processes.
int g_registrations = 0;
void RegisterOnce() {
  std::mutex mutex;
  std::thread t([&] {
    std::lock_guard<std::mutex> lock(mutex);
    ++g_registrations;
  });
  t.join();
  if (g_registrations != 1) {
    lockstep::RecordFailure(Failure::ASSERTION, "registered more than once", __FILE__, __LINE__);
  }
}

// A spin-wait on std::atomic with no pthread call in the loop: the quantum
// lets the setter run.
void SpinWait() {
  std::atomic<bool> flag{false};
  std::thread setter([&] { flag.store(true); });
  while (!flag.load()) {
  }
  setter.join();
}

TEST(NativeRunnerTest, FindsCheckThenActLostUpdate) {
  for (bool isolate : {true, false}) {
    NativeOptions options = Control();
    options.isolate = isolate;
    RunResult result = NativeRunner::Run([] { Overdraft(false); }, options);
    ASSERT_TRUE(result.status.ok()) << result.status;
    ASSERT_TRUE(result.failed()) << "isolate=" << isolate << ", " << result.iterations;
    EXPECT_EQ(result.trace->failure().kind(), Failure::ASSERTION);
    EXPECT_EQ(result.trace->runner(), RUNNER_NATIVE_CONTROL);
    EXPECT_LE(result.iterations, 50u);
    EXPECT_TRUE(ValidateTrace(*result.trace).ok()) << ValidateTrace(*result.trace);
  }
}

TEST(NativeRunnerTest, FixedCheckThenActPasses) {
  RunResult result = NativeRunner::Run([] { Overdraft(true); }, Control(100));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
  EXPECT_EQ(result.iterations, 100u);
  EXPECT_GT(result.distinct_schedules, 1u);
}

TEST(NativeRunnerTest, FindsLockOrderDeadlock) {
  RunResult result = NativeRunner::Run([] { LockOrder(false); }, Control());
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(result.trace->failure().kind(), Failure::DEADLOCK);
  EXPECT_THAT(result.trace->failure().message(), HasSubstr("held by thread"));
  RunResult fixed = NativeRunner::Run([] { LockOrder(true); }, Control(100));
  EXPECT_FALSE(fixed.failed()) << fixed.trace->failure().message();
}

TEST(NativeRunnerTest, FindsLostWakeupOnConditionVariable) {
  RunResult result = NativeRunner::Run([] { LostWakeup(false); }, Control());
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(result.trace->failure().kind(), Failure::DEADLOCK);
  EXPECT_THAT(result.trace->failure().message(), HasSubstr("condvar.wait"));
  EXPECT_LE(result.iterations, 100u);
  EXPECT_FALSE(NativeRunner::Run([] { LostWakeup(true); }, Control(100)).failed());
}

TEST(NativeRunnerTest, AssertInChildIsACrashWithItsLocation) {
  RunResult result = NativeRunner::Run([] { OrderViolation(false); }, Control());
  ASSERT_TRUE(result.failed());
  const Failure& failure = result.trace->failure();
  EXPECT_EQ(failure.kind(), Failure::CRASH) << failure.message();
  EXPECT_THAT(failure.message(), HasSubstr("SIGABRT"));
  EXPECT_THAT(failure.message(), HasSubstr("reader ran before writer"));
  EXPECT_THAT(failure.location().file(), HasSubstr("native_runner_test.cc"));
  EXPECT_GT(failure.location().line(), 0u);
  EXPECT_FALSE(NativeRunner::Run([] { OrderViolation(true); }, Control(100)).failed());
}

TEST(NativeRunnerTest, IsolationStartsEveryIterationWithFreshGlobals) {
  RunResult isolated = NativeRunner::Run(RegisterOnce, Control(20));
  EXPECT_FALSE(isolated.failed()) << isolated.trace->failure().message();
  NativeOptions shared = Control(20);
  shared.isolate = false;
  RunResult in_process = NativeRunner::Run(RegisterOnce, shared);
  ASSERT_TRUE(in_process.failed());
  EXPECT_EQ(in_process.iterations, 2u);  // the second iteration sees the first's count
  g_registrations = 0;
}

TEST(NativeRunnerTest, SpinWaitOnAtomicEndsThroughTheQuantum) {
  RunResult result = NativeRunner::Run(SpinWait, Control(20));
  ASSERT_TRUE(result.status.ok());
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
  EXPECT_EQ(result.iterations, 20u);
}

TEST(NativeRunnerTest, ReplayReproducesTheFailure) {
  RunResult found = NativeRunner::Run([] { Overdraft(false); }, Control());
  ASSERT_TRUE(found.failed());
  NativeOptions options = Control();
  options.replay = &*found.trace;
  RunResult replayed = NativeRunner::Run([] { Overdraft(false); }, options);
  ASSERT_TRUE(replayed.status.ok()) << replayed.status;
  ASSERT_TRUE(replayed.failed());
  EXPECT_TRUE(SameFailure(replayed.trace->failure(), found.trace->failure()));
  EXPECT_EQ(replayed.trace->events_size(), found.trace->events_size());
  // Replayed against the fixed program, the schedule no longer fits.
  RunResult diverged = NativeRunner::Run([] { Overdraft(true); }, options);
  ASSERT_TRUE(diverged.failed());
  EXPECT_EQ(diverged.trace->failure().kind(), Failure::NONDETERMINISM);
}

TEST(NativeRunnerTest, ObserveModeRecordsEventsAndReportsTheCrash) {
  NativeOptions options = Control(200);
  options.mode = NativeMode::kObserve;
  RunResult ok = NativeRunner::Run([] { Overdraft(true); }, options);
  EXPECT_FALSE(ok.failed());
  RunResult crashed = NativeRunner::Run([] { OrderViolation(false); }, options);
  ASSERT_TRUE(crashed.failed()) << "the race did not show in " << crashed.iterations;
  const Trace& trace = *crashed.trace;
  EXPECT_EQ(trace.runner(), RUNNER_NATIVE_OBSERVE);
  EXPECT_EQ(trace.failure().kind(), Failure::CRASH);
  EXPECT_GT(trace.events_size(), 2);
  EXPECT_EQ(trace.threads_size(), 3);
  // The crashing thread is the reader, whose last recorded call is the
  // mutex lock it made before the assert.
  EXPECT_NE(trace.failure().thread(), 0u);
}

TEST(NativeRunnerTest, ObserveModeWatchdogReportsAHang) {
  NativeOptions options = Control(50);
  options.mode = NativeMode::kObserve;
  options.watchdog = std::chrono::milliseconds(300);
  // Waits for a notification that never comes.
  RunResult result = NativeRunner::Run(
      [] {
        std::mutex mutex;
        std::condition_variable cv;
        std::thread waiter([&] {
          std::unique_lock<std::mutex> lock(mutex);
          cv.wait(lock);
        });
        waiter.join();
      },
      options);
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(result.trace->failure().kind(), Failure::TIMEOUT);
  EXPECT_THAT(result.trace->failure().message(), HasSubstr("condvar.wait"));
}

TEST(NativeRunnerTest, OutsideARunCallsPassThrough) {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::thread t([&] {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
    cv.notify_one();
  });
  {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return done; });
  }
  t.join();
  EXPECT_TRUE(done);
}

// A long computation without interposed calls outlives the quantum: the
// report says where the schedule was not controlled, and the trace's count
// agrees with its events.
TEST(NativeRunnerTest, QuantumExpirationsAreNamedInTheReport) {
  NativeOptions options = Control(1);
  options.resume_quantum_us = 1000;
  RunResult result = NativeRunner::Run(
      [] {
        // One thread, so that the expiration (the only one: nobody else
        // can be given the baton) happens the same way when re-executed.
        std::mutex m;
        m.lock();
        m.unlock();
        volatile uint64_t sum = 0;
        for (uint64_t i = 0; i < 50'000'000; ++i) sum = sum + i;
        RecordFailure(Failure::ASSERTION, "fails after a long computation", __FILE__, __LINE__);
      },
      options);
  ASSERT_TRUE(result.failed());
  const Trace& trace = *result.trace;
  EXPECT_EQ(trace.failure().kind(), Failure::ASSERTION) << trace.failure().message();
  int expired = 0;
  for (const Event& event : trace.events()) expired += event.op() == "quantum.expired";
  EXPECT_EQ(trace.failure().note().find("diverged"), std::string::npos) << trace.failure().note();
  EXPECT_GT(trace.native().quantum_expirations(), 0u);
  EXPECT_EQ(trace.native().quantum_expirations(), static_cast<uint32_t>(expired));
  EXPECT_THAT(trace.failure().note(), HasSubstr("not fully controlled"));
  EXPECT_THAT(trace.failure().note(), HasSubstr("last modelled call"));
  // Bazel names the file relative to the workspace, CMake absolute.
  EXPECT_THAT(trace.failure().note(),
              ::testing::ContainsRegex("was running at [^ ]*native_runner_test\\.cc:[0-9]+"));
}

TEST(NativeRunnerTest, RejectsBadOptionsAndObserveTraces) {
  NativeOptions options;
  options.resume_quantum_us = 0;
  EXPECT_FALSE(NativeRunner::Run([] {}, options).status.ok());
  Trace observe;
  observe.set_format_version(kTraceFormatVersion);
  observe.set_runner(RUNNER_NATIVE_OBSERVE);
  NativeOptions replay;
  replay.replay = &observe;
  EXPECT_FALSE(NativeRunner::Run([] {}, replay).status.ok());
}

}  // namespace
}  // namespace lockstep
