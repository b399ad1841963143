// TEST_LOCKSTEP_NATIVE: Lockstep for unmodified code (std::thread,
// std::mutex, std::condition_variable, pthreads...). Link //gtest_ext:native
// (CMake: lockstep::gtest_native) and //gtest_ext:lockstep_main.
//
//   #include "gtest_ext/lockstep_native_test.h"
//
//   TEST_LOCKSTEP_NATIVE(AccountTest, ConcurrentWithdrawals) {
//     Account account(100);                 // uses std::mutex inside
//     std::thread a([&] { account.Withdraw(80); });
//     std::thread b([&] { account.Withdraw(80); });
//     a.join();
//     b.join();
//     EXPECT_GE(account.balance(), 0);
//   }
//
// The body runs once per iteration, each in a forked child process by
// default, with its threads serialized and scheduled by the strategy at every
// pthread call (see lockstep/native/native_runner.h). EXPECT_*/ASSERT_* work
// in every thread; assert(), abort(), std::terminate, crashes, exit() and
// hangs are reported as failures with their trace. Options follow the name, as designated
// initializers of lockstep::NativeOptions in declaration order:
//
//   TEST_LOCKSTEP_NATIVE(QueueTest, NoLostWakeup, .iterations = 500,
//                        .resume_quantum_us = 2000) { ... }
#ifndef GTEST_EXT_LOCKSTEP_NATIVE_TEST_H_
#define GTEST_EXT_LOCKSTEP_NATIVE_TEST_H_

#include <functional>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "gtest_ext/init.h"
#include "gtest_ext/sharding.h"
#include "lockstep/linearizability.h"
#include "lockstep/native/native_runner.h"

namespace lockstep::gtest_internal {

// Runs `iteration` under lockstep::NativeRunner as the current GoogleTest
// test and reports the outcome (the logic behind TEST_LOCKSTEP_NATIVE).
void RunLockstepNativeTest(const NativeOptions& per_test, const std::function<void()>& iteration);

// A linearizability scenario's threads as std::threads (the native runner
// schedules them).
inline void RunOnStdThreads(std::vector<std::function<void()>>& functions) {
  std::vector<std::thread> threads;
  for (std::function<void()>& f : functions) threads.emplace_back(f);
  for (std::thread& t : threads) t.join();
}

}  // namespace lockstep::gtest_internal

#define LOCKSTEP_INTERNAL_NATIVE_NAME_(suite, name) LockstepInternalNative_##suite##_##name##_Body

#define TEST_LOCKSTEP_NATIVE(suite, name, ...)                                                 \
  static void LOCKSTEP_INTERNAL_NATIVE_NAME_(suite, name)();                                   \
  LOCKSTEP_INTERNAL_REGISTER_(suite, name);                                                    \
  TEST(suite, name) {                                                                          \
    ::lockstep::gtest_internal::RunLockstepNativeTest(                                         \
        ::lockstep::NativeOptions{__VA_ARGS__}, &LOCKSTEP_INTERNAL_NATIVE_NAME_(suite, name)); \
  }                                                                                            \
  static void LOCKSTEP_INTERNAL_NATIVE_NAME_(suite, name)()

// TEST_LOCKSTEP_LINEARIZABLE (gtest_ext/lockstep_test.h) for objects built on
// std::mutex, std::atomic and the like: each scenario's threads are
// std::threads under the native runner.
#define TEST_LOCKSTEP_NATIVE_LINEARIZABLE(suite, name, ...)                                 \
  static ::lockstep::LinearizabilityCheck LockstepInternalNative_##suite##_##name##_Spec(); \
  TEST_LOCKSTEP_NATIVE(suite, name, __VA_ARGS__) {                                          \
    LockstepInternalNative_##suite##_##name##_Spec().Run(                                   \
        &::lockstep::gtest_internal::RunOnStdThreads);                                      \
  }                                                                                         \
  static ::lockstep::LinearizabilityCheck LockstepInternalNative_##suite##_##name##_Spec()

#endif  // GTEST_EXT_LOCKSTEP_NATIVE_TEST_H_
