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
  RunResult result =
      NativeRunner::Run([] { OrderViolation(false); }, Options(Accesses::kRacy, RaceMode::kFail));
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
  RunResult result =
      NativeRunner::Run([] { OrderViolation(false); }, Options(Accesses::kRacy, RaceMode::kIgnore));
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(result.failed()) << "not found in " << result.iterations << " iterations";
  EXPECT_EQ(result.trace->failure().kind(), Failure::ASSERTION)
      << result.trace->failure().message();
  EXPECT_GT(result.trace->instrumentation().racy_sites_size(), 0);
}

TEST(RacesTest, FixedOrderViolationPasses) {
  RunResult result =
      NativeRunner::Run([] { OrderViolation(true); }, Options(Accesses::kRacy, RaceMode::kFail));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

// Two threads guarding one counter with different mutexes.
void TwoLocks(bool fixed) {
  int counter = 0;
  std::mutex a;
  std::mutex b;
  auto add = [&](std::mutex& mine) {
    std::lock_guard<std::mutex> lock(mine);
    ++counter;
  };
  std::thread first([&] { add(a); });
  std::thread second([&] { add(fixed ? a : b); });
  first.join();
  second.join();
  if (counter != 2) {
    lockstep::RecordFailure(Failure::ASSERTION, "an increment was lost", __FILE__, __LINE__);
  }
}

TEST(RacesTest, CounterGuardedByTwoMutexesIsADataRace) {
  RunResult result =
      NativeRunner::Run([] { TwoLocks(false); }, Options(Accesses::kRacy, RaceMode::kFail));
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(result.trace->failure().kind(), Failure::DATA_RACE)
      << result.trace->failure().message();
}

TEST(RacesTest, CounterGuardedByTwoMutexesLosesAnUpdateOnceItsAccessesAreScheduled) {
  RunResult result =
      NativeRunner::Run([] { TwoLocks(false); }, Options(Accesses::kRacy, RaceMode::kIgnore));
  ASSERT_TRUE(result.failed()) << "not found in " << result.iterations << " iterations";
  EXPECT_EQ(result.trace->failure().kind(), Failure::ASSERTION)
      << result.trace->failure().message();
}

TEST(RacesTest, CounterGuardedByOneMutexPasses) {
  RunResult result =
      NativeRunner::Run([] { TwoLocks(true); }, Options(Accesses::kAll, RaceMode::kFail));
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

// Double-checked locking with a plain flag: the unlocked check races with
// the initialization (a data race, harmless only on paper).
struct Lazy {
  std::mutex mutex;
  bool plain_ready = false;
  std::atomic<bool> ready{false};
  int* value = nullptr;

  int Get(bool fixed) {
    if (fixed ? !ready.load(std::memory_order_acquire) : !plain_ready) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!plain_ready && !ready.load(std::memory_order_relaxed)) {
        value = new int(42);
        if (fixed) {
          ready.store(true, std::memory_order_release);
        } else {
          plain_ready = true;
        }
      }
    }
    return *value;
  }
};

void DoubleCheckedLocking(bool fixed) {
  Lazy lazy;
  int seen[2] = {0, 0};
  std::thread a([&] { seen[0] = lazy.Get(fixed); });
  std::thread b([&] { seen[1] = lazy.Get(fixed); });
  a.join();
  b.join();
  delete lazy.value;
  if (seen[0] != 42 || seen[1] != 42) {
    lockstep::RecordFailure(Failure::ASSERTION, "saw an uninitialized value", __FILE__, __LINE__);
  }
}

TEST(RacesTest, DoubleCheckedLockingWithAPlainFlagIsADataRace) {
  RunResult result = NativeRunner::Run([] { DoubleCheckedLocking(false); },
                                       Options(Accesses::kRacy, RaceMode::kFail));
  ASSERT_TRUE(result.failed());
  const Failure& failure = result.trace->failure();
  EXPECT_EQ(failure.kind(), Failure::DATA_RACE) << failure.message();
  ASSERT_EQ(failure.race_size(), 2);
  EXPECT_THAT(failure.race(0).location().function(), HasSubstr("Get"));
  EXPECT_THAT(failure.race(1).location().function(), HasSubstr("Get"));
}

TEST(RacesTest, DoubleCheckedLockingWithAnAcquireReleaseFlagPasses) {
  RunResult result = NativeRunner::Run([] { DoubleCheckedLocking(true); },
                                       Options(Accesses::kAll, RaceMode::kFail));
  EXPECT_FALSE(result.failed()) << result.trace->failure().message();
}

// A race found under a controlled schedule replays from its trace: the same
// two accesses, at the same step.
TEST(RacesTest, ARaceReplaysFromItsTrace) {
  RunResult found = NativeRunner::Run([] { DoubleCheckedLocking(false); },
                                      Options(Accesses::kRacy, RaceMode::kFail));
  ASSERT_TRUE(found.failed());
  NativeOptions replay = Options(Accesses::kRacy, RaceMode::kFail);
  replay.replay = &*found.trace;
  RunResult again = NativeRunner::Run([] { DoubleCheckedLocking(false); }, replay);
  ASSERT_TRUE(again.status.ok()) << again.status;
  ASSERT_TRUE(again.failed());
  const Failure& was = found.trace->failure();
  const Failure& now = again.trace->failure();
  EXPECT_EQ(now.kind(), Failure::DATA_RACE);
  EXPECT_EQ(now.step(), was.step());
  ASSERT_EQ(now.race_size(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(now.race(i).location().line(), was.race(i).location().line());
    EXPECT_EQ(now.race(i).thread(), was.race(i).thread());
    EXPECT_EQ(now.race(i).site().offset(), was.race(i).site().offset());
  }
}

// With races = racy and ignore, the racing instructions found become
// scheduling points in later iterations, and a replay runs with the same
// ones (the trace lists them).
TEST(RacesTest, RacySitesReplayFromTheTrace) {
  RunResult found =
      NativeRunner::Run([] { TwoLocks(false); }, Options(Accesses::kRacy, RaceMode::kIgnore));
  ASSERT_TRUE(found.failed());
  ASSERT_GT(found.trace->instrumentation().racy_sites_size(), 0);
  EXPECT_EQ(found.trace->instrumentation().accesses(), "racy");
  NativeOptions replay = Options(Accesses::kNone, RaceMode::kIgnore);
  replay.replay = &*found.trace;
  RunResult again = NativeRunner::Run([] { TwoLocks(false); }, replay);
  ASSERT_TRUE(again.failed());
  EXPECT_EQ(again.trace->failure().kind(), Failure::ASSERTION) << again.trace->failure().message();
  int memory_events = 0;
  for (const Event& event : again.trace->events()) {
    if (event.op() == "memory.read" || event.op() == "memory.write") {
      ++memory_events;
      EXPECT_THAT(event.location().file(), HasSubstr("races_test.cc"));
      EXPECT_EQ(event.size(), 4u);
    }
  }
  EXPECT_GT(memory_events, 0);
}

}  // namespace
}  // namespace lockstep
