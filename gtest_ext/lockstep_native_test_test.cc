// TEST_LOCKSTEP_NATIVE as a user writes it, and the failures it reports.
#include "gtest_ext/lockstep_native_test.h"

#include <mutex>
#include <thread>

#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"

namespace {

struct Counter {
  std::mutex mutex;
  int value = 0;
  void Increment() {
    std::lock_guard<std::mutex> lock(mutex);
    ++value;
  }
};

TEST_LOCKSTEP_NATIVE(NativeMacroTest, LockedCounterIsExact, .iterations = 50) {
  Counter counter;
  std::thread a([&] { counter.Increment(); });
  std::thread b([&] { counter.Increment(); });
  a.join();
  b.join();
  EXPECT_EQ(counter.value, 2);
}

// The unlocked read-modify-write, split by a lock so the scheduler can
// interleave it: an EXPECT failure inside a std::thread of a forked child.
void RacyIncrements() {
  std::mutex mutex;
  int value = 0;
  auto increment = [&] {
    int read;
    {
      std::lock_guard<std::mutex> lock(mutex);
      read = value;
    }
    std::lock_guard<std::mutex> lock(mutex);
    value = read + 1;
  };
  std::thread a(increment);
  std::thread b(increment);
  a.join();
  b.join();
  EXPECT_EQ(value, 2) << "lost update";
}

TEST(NativeMacroTest, AssertionInAThreadFailsTheTestOnceWithReport) {
  EXPECT_NONFATAL_FAILURE_ON_ALL_THREADS(
      lockstep::gtest_internal::RunLockstepNativeTest(lockstep::NativeOptions{.iterations = 100},
                                                      &RacyIncrements),
      "lockstep found a failing schedule");
}

TEST(NativeMacroTest, AbortInTheCodeUnderTestIsAReportedCrash) {
  EXPECT_NONFATAL_FAILURE_ON_ALL_THREADS(
      lockstep::gtest_internal::RunLockstepNativeTest(lockstep::NativeOptions{.iterations = 5},
                                                      [] {
                                                        std::thread t([] { std::abort(); });
                                                        t.join();
                                                      }),
      "crash");
}

}  // namespace
