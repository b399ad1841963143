// Plain memory accesses of instrumented code: data races found and reported
// with both accesses, and racing instructions made scheduling points.
#include <atomic>
#include <mutex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/failure.h"
#include "lockstep/native/native_runner.h"

namespace lockstep {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;

NativeOptions Options(Accesses accesses, RaceMode races, uint64_t iterations = 200) {
  NativeOptions options;
  options.iterations = iterations;
  options.resume_quantum_us = 20000;
  options.accesses = accesses;
  options.races = races;
  return options;
}

// A publisher that sets its flag before the data (the order violation):
// the reader sees ready and stale data.
struct Published {
  int data = 0;
  bool ready = false;
};

void OrderViolation(bool fixed) {
  Published p;
  std::mutex m;
  std::thread writer([&] {
    if (fixed) {
      std::lock_guard<std::mutex> lock(m);
      p.data = 42;
      p.ready = true;
    } else {
      p.ready = true;
      p.data = 42;
    }
  });
  std::thread reader([&] {
    bool ready;
    int data;
    if (fixed) {
      std::lock_guard<std::mutex> lock(m);
      ready = p.ready;
      data = p.data;
    } else {
      ready = p.ready;
      data = p.data;
    }
    if (ready && data != 42) {
      lockstep::RecordFailure(Failure::ASSERTION, "ready but data is stale", __FILE__, __LINE__);
    }
  });
  writer.join();
  reader.join();
}

TEST(RacesTest, OrderViolationIsADataRaceNamingBothAccesses) {
  RunResult result = NativeRunner::Run([] { OrderViolation(false); },
                                       Options(Accesses::kRacy, RaceMode::kFail));
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(result.failed());
  const Failure& failure = result.trace->failure();
  EXPECT_EQ(failure.kind(), Failure::DATA_RACE) << failure.message();
  ASSERT_EQ(failure.race_size(), 2);
  EXPECT_THAT(failure.race(0).location().file(), HasSubstr("races_test.cc"));
  EXPECT_THAT(failure.race(1).location().file(), HasSubstr("races_test.cc"));
  EXPECT_NE(failure.race(0).thread(), failure.race(1).thread());
  EXPECT_TRUE(failure.race(0).write() || failure.race(1).write());
  EXPECT_THAT(failure.message(), ContainsRegex("data race at 0x[0-9a-f]+: "));
}

TEST(RacesTest, RacyAccessesBecomeSchedulingPointsAndReachTheAssertion) {
  RunResult result = NativeRunner::Run([] { OrderViolation(false); },
                                       Options(Accesses::kRacy, RaceMode::kIgnore));
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(result.failed()) << "not found in " << result.iterations << " iterations";
  EXPECT_EQ(result.trace->failure().kind(), Failure::ASSERTION) << result.trace->failure().message();
  EXPECT_GT(result.trace->instrumentation().racy_sites_size(), 0);
}

TEST(RacesTest, FixedOrderViolationPasses) {
  RunResult result = NativeRunner::Run([] { OrderViolation(true); },
                                       Options(Accesses::kRacy, RaceMode::kFail));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

}  // namespace
}  // namespace lockstep
