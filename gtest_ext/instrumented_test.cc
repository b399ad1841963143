// A library built with lockstep_instrumented_library, tested from an
// uninstrumented test file, as a user would: its atomics are scheduling
// points and its data races are found in the library's own lines.
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "gtest_ext/instrumented_testlib.h"
#include "gtest_ext/lockstep_native_test.h"
#include "lockstep/native/native_runner.h"

namespace {

using lockstep_testing::HitCounter;
using ::testing::HasSubstr;

void TwoHits(HitCounter& counter, bool atomic) {
  std::thread a([&] { atomic ? counter.RecordAtomic() : counter.Record(); });
  std::thread b([&] { atomic ? counter.RecordAtomic() : counter.Record(); });
  a.join();
  b.join();
}

TEST_LOCKSTEP_NATIVE(InstrumentedTest, AtomicCounterCountsEveryHit, .iterations = 50,
                     .accesses = lockstep::Accesses::kAll) {
  HitCounter counter;
  TwoHits(counter, /*atomic=*/true);
  EXPECT_EQ(counter.atomic_hits(), 2);
}

TEST(InstrumentedTest, PlainCounterIsADataRaceInTheLibrary) {
  lockstep::NativeOptions options;
  options.iterations = 50;
  lockstep::RunResult result = lockstep::NativeRunner::Run(
      [] {
        HitCounter counter;
        TwoHits(counter, /*atomic=*/false);
      },
      options);
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(result.failed());
  const lockstep::Failure& failure = result.trace->failure();
  EXPECT_EQ(failure.kind(), lockstep::Failure::DATA_RACE) << failure.message();
  ASSERT_EQ(failure.race_size(), 2);
  for (const lockstep::MemoryAccess& access : failure.race()) {
    EXPECT_THAT(access.location().file(), HasSubstr("instrumented_testlib.cc"));
    EXPECT_THAT(access.location().function(), HasSubstr("Record"));
  }
  EXPECT_THAT(failure.message(), HasSubstr("not ordered by happens-before"));
}

}  // namespace
