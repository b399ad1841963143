// The native runner on unmodified std::thread programs.
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

NativeOptions Control(uint64_t iterations = 200) {
  NativeOptions options;
  options.iterations = iterations;
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
  if (account.balance < 0) lockstep::RecordFailure(Failure::ASSERTION, "overdrawn", __FILE__, __LINE__);
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

}  // namespace
}  // namespace lockstep
