// TEST_LOCKSTEP and TEST_LOCKSTEP_F: iterations, per-test options, fresh
// fixtures, assertions in logical threads, and the failure report reaching
// GoogleTest exactly once. Tests that count what bodies did from the test
// process run without isolation (with it, bodies run in a child process).
#include "gtest_ext/lockstep_test.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "gtest_ext/flags.h"

namespace {

int g_plain_runs = 0;

TEST_LOCKSTEP(TestLockstep, RunsTheBodyOncePerIteration, .iterations = 25, .isolate = false) {
  ++g_plain_runs;
  lockstep::Atomic<int> value(0);
  lockstep::Thread t = lockstep::spawn([&] { value.store(1); });
  t.join();
  EXPECT_EQ(value.load(), 1);
}

TEST(TestLockstep, RanTwentyFiveIterations) { EXPECT_EQ(g_plain_runs, 25); }

// A correct counter passes its linearizability check in every schedule of
// every scenario: dpor's search ends, so the test is verified.
struct LockedCounter {
  lockstep::Mutex m{"counter"};
  int n = 0;
  int Add(int v) {
    std::lock_guard<lockstep::Mutex> lock(m);
    return n += v;
  }
};

int g_linearizable_runs = 0;

TEST_LOCKSTEP_LINEARIZABLE(TestLockstep, LockedCounterIsLinearizable, .iterations = 100000,
                           .strategy = lockstep::StrategyKind::kDpor, .isolate = false) {
  ++g_linearizable_runs;
  return lockstep::LinearizabilitySpec<LockedCounter, int>()
      .Operation(
          "add", std::vector<int>{1, 2}, [](LockedCounter& c, int v) { return c.Add(v); },
          [](int& m, int v) { return m += v; })
      .Threads(2)
      .OperationsPerThread(2);
}

TEST(TestLockstep, TheLinearizabilitySearchEndedBeforeItsCap) {
  // Every scenario (2^4 argument draws) and every class of schedules of
  // each: more than one iteration, far fewer than the cap.
  EXPECT_GT(g_linearizable_runs, 16);
  EXPECT_LT(g_linearizable_runs, 100000);
}

struct Counts {
  int constructed = 0;
  int set_up = 0;
  int set_up_in_run = 0;
  int torn_down = 0;
  int destroyed = 0;
};
Counts g_counts;

class FixtureTest : public testing::Test {
 protected:
  FixtureTest() { ++g_counts.constructed; }
  ~FixtureTest() override { ++g_counts.destroyed; }
  void SetUp() override {
    ++g_counts.set_up;
    if (lockstep::InRun()) ++g_counts.set_up_in_run;
  }
  void TearDown() override { ++g_counts.torn_down; }

  int touched_ = 0;  // fresh in every iteration
  lockstep::Mutex mutex_{"fixture"};
};

TEST_LOCKSTEP_F(FixtureTest, GetsAFreshFixtureEveryIteration, .iterations = 30, .isolate = false) {
  EXPECT_EQ(touched_, 0) << "state leaked from an earlier iteration";
  lockstep::Thread t = lockstep::spawn([&] {
    std::lock_guard<lockstep::Mutex> lock(mutex_);
    ++touched_;
  });
  {
    std::lock_guard<lockstep::Mutex> lock(mutex_);
    ++touched_;
  }
  t.join();
  EXPECT_EQ(touched_, 2);
}

TEST_F(FixtureTest, SharesTheSuiteWithPlainTestF) {
  // Construction of this plain TEST_F's own fixture counts once more.
  EXPECT_EQ(g_counts.set_up, 30 + 1);
  EXPECT_EQ(g_counts.set_up_in_run, 30);  // every iteration's SetUp ran inside it
  EXPECT_EQ(g_counts.torn_down, 30);
  // 30 iterations + the registered test object + this test's object.
  EXPECT_EQ(g_counts.constructed, 30 + 2);
  EXPECT_EQ(g_counts.destroyed, 30 + 1);
}

void LostUpdateBody() {
  lockstep::Atomic<int> counter(0, "counter");
  auto increment = [&] { counter.store(counter.load() + 1); };
  lockstep::Thread a = lockstep::spawn(increment, "a");
  lockstep::Thread b = lockstep::spawn(increment, "b");
  a.join();
  b.join();
  EXPECT_EQ(counter.load(), 2) << "lost update";
}

int g_failing_expectations = 0;
void AssertInThreadBody() {
  lockstep::Thread t = lockstep::spawn(
      [] {
        ++g_failing_expectations;
        ASSERT_EQ(1, 2) << "inside a logical thread";
      },
      "asserter");
  t.join();
}

class ReportToGoogleTest : public testing::Test {
 protected:
  void SetUp() override {
    // Keep this test's own traces out of Bazel's outputs.
    unsetenv("TEST_UNDECLARED_OUTPUTS_DIR");
    dir_ = std::filesystem::path(testing::TempDir()) / "lockstep_test_test_traces";
    std::filesystem::remove_all(dir_);
    absl::SetFlag(&FLAGS_lockstep_trace_dir, dir_.string());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ReportToGoogleTest, FailingScheduleIsReportedOnceWithItsTrace) {
  EXPECT_NONFATAL_FAILURE(lockstep::gtest_internal::RunLockstepTest(
                              lockstep::Options{.iterations = 200}, &LostUpdateBody),
                          "lockstep found a failing schedule");
  ASSERT_TRUE(std::filesystem::exists(dir_));
  int traces = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    EXPECT_THAT(entry.path().filename().string(),
                testing::StartsWith("ReportToGoogleTest.FailingScheduleIsReportedOnceWithItsTrace"
                                    ".seed-1.iter-"));
    ++traces;
  }
  EXPECT_EQ(traces, 1);
}

TEST_F(ReportToGoogleTest, AssertInALogicalThreadEndsTheIteration) {
  testing::TestPartResultArray results;
  {
    testing::ScopedFakeTestPartResultReporter reporter(
        testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    lockstep::gtest_internal::RunLockstepTest(lockstep::Options{.iterations = 50, .isolate = false},
                                              &AssertInThreadBody);
  }
  // One failure for the whole test, from the first (and only) iteration.
  ASSERT_EQ(results.size(), 1);
  EXPECT_EQ(g_failing_expectations, 2);  // explored once, re-executed once for the trace
  const std::string message = results.GetTestPartResult(0).message();
  EXPECT_THAT(message, testing::HasSubstr("inside a logical thread"));
  EXPECT_THAT(message, testing::HasSubstr("in thread 1 'asserter'"));
  EXPECT_THAT(message, testing::HasSubstr("lockstep_test_test.cc:"));
}

}  // namespace
