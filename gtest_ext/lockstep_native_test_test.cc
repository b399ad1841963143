// TEST_LOCKSTEP_NATIVE as a user writes it, and the failures it reports.
#include "gtest_ext/lockstep_native_test.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

// A std::mutex counter passes its linearizability check under the native
// runner.
struct StdLockedCounter {
  std::mutex m;
  int n = 0;
  int Add(int v) {
    std::lock_guard<std::mutex> lock(m);
    return n += v;
  }
};

TEST_LOCKSTEP_NATIVE_LINEARIZABLE(NativeMacroTest, StdLockedCounterIsLinearizable,
                                  .iterations = 30) {
  return lockstep::LinearizabilitySpec<StdLockedCounter, int>()
      .Operation(
          "add", std::vector<int>{1, 2}, [](StdLockedCounter& c, int v) { return c.Add(v); },
          [](int& m, int v) { return m += v; })
      .Threads(2)
      .OperationsPerThread(2);
}

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

// The failures `run` reports (GoogleTest failures of any thread), joined.
std::string ReportOf(const std::function<void()>& run) {
  testing::TestPartResultArray results;
  {
    testing::ScopedFakeTestPartResultReporter reporter(
        testing::ScopedFakeTestPartResultReporter::INTERCEPT_ALL_THREADS, &results);
    run();
  }
  std::string report;
  for (int i = 0; i < results.size(); ++i) {
    if (results.GetTestPartResult(i).failed()) report += results.GetTestPartResult(i).message();
  }
  return report;
}

// An invalid pointer the compiler cannot see through (not null: UBSan would
// report a null store before the fault).
int* volatile g_null = reinterpret_cast<int*>(16);

TEST(NativeMacroTest, AbortInTheCodeUnderTestIsAReportedCrash) {
  const std::string report = ReportOf([] {
    lockstep::gtest_internal::RunLockstepNativeTest(lockstep::NativeOptions{.iterations = 5}, [] {
      std::thread t([] { std::abort(); });
      t.join();
    });
  });
  EXPECT_NE(report.find("failure:   crash at step"), std::string::npos) << report;
  EXPECT_NE(report.find("SIGABRT"), std::string::npos) << report;
  EXPECT_NE(report.find("trace:"), std::string::npos) << report;
  EXPECT_EQ(report.find("NOT WRITTEN"), std::string::npos) << report;
}

TEST(NativeMacroTest, SegfaultInAThreadIsAReportedCrashOfThatThread) {
  const std::string report = ReportOf([] {
    lockstep::gtest_internal::RunLockstepNativeTest(lockstep::NativeOptions{.iterations = 5}, [] {
      std::thread t([] { *g_null = 1; });
      t.join();
    });
  });
  EXPECT_NE(report.find("failure:   crash at step"), std::string::npos) << report;
  EXPECT_NE(report.find("SIGSEGV (invalid memory access), in thread 1"), std::string::npos)
      << report;
  EXPECT_EQ(report.find("NOT WRITTEN"), std::string::npos) << report;
}

TEST(NativeMacroTest, SpinningThreadIsAReportedTimeoutWithItsTrace) {
  const std::string report = ReportOf([] {
    lockstep::gtest_internal::RunLockstepNativeTest(
        lockstep::NativeOptions{.iterations = 2, .watchdog = std::chrono::milliseconds(300)}, [] {
          std::thread t([] {
            std::atomic<bool> stop{false};
            while (!stop.load(std::memory_order_relaxed)) {
            }
          });
          t.join();
        });
  });
  EXPECT_NE(report.find("failure:   timeout at step"), std::string::npos) << report;
  EXPECT_NE(report.find("thread 1 stopped reaching interposed calls"), std::string::npos) << report;
  EXPECT_EQ(report.find("NOT WRITTEN"), std::string::npos) << report;
}

}  // namespace
