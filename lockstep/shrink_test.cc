#include "lockstep/shrink.h"

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/atomic.h"
#include "lockstep/failure.h"
#include "lockstep/mutex.h"
#include "lockstep/run.h"
#include "lockstep/thread.h"
#include "lockstep/trace_io.h"

namespace lockstep {
namespace {

void LostUpdate() {
  Atomic<int> counter(0, "counter");
  Atomic<int> noise(0, "noise");
  auto increment = [&] {
    // Unrelated work gives the explored schedule extra switches to remove.
    for (int i = 0; i < 3; ++i) noise.fetch_add(1);
    counter.store(counter.load() + 1);
    for (int i = 0; i < 3; ++i) noise.fetch_add(1);
  };
  Thread a = spawn(increment, "a");
  Thread b = spawn(increment, "b");
  Thread c = spawn(increment, "c");
  a.join();
  b.join();
  c.join();
  LOCKSTEP_CHECK(counter.load() == 3);
}

void TwoThreadLostUpdate() {
  Atomic<int> counter(0, "counter");
  auto increment = [&] { counter.store(counter.load() + 1); };
  Thread a = spawn(increment, "a");
  Thread b = spawn(increment, "b");
  a.join();
  b.join();
  LOCKSTEP_CHECK(counter.load() == 2);
}

void LockOrderInversion() {
  Mutex a("a");
  Mutex b("b");
  Thread t1 = spawn(
      [&] {
        std::lock_guard<Mutex> first(a);
        std::lock_guard<Mutex> second(b);
      },
      "t1");
  Thread t2 = spawn(
      [&] {
        std::lock_guard<Mutex> first(b);
        std::lock_guard<Mutex> second(a);
      },
      "t2");
  t1.join();
  t2.join();
}

Trace FindFailure(void (*body)(), StrategyKind strategy) {
  Options options;
  options.iterations = 500;
  options.strategy = strategy;
  RunResult result = Runner::Run(body, options);
  EXPECT_TRUE(result.failed());
  return result.failed() ? *result.trace : Trace();
}

TEST(ShrinkTest, LostUpdateShrinksToOnePreemption) {
  // Random scheduling preempts a lot; the bug needs exactly one preemption.
  const Trace found = FindFailure(LostUpdate, StrategyKind::kRandom);
  absl::StatusOr<ShrinkResult> shrunk = ShrinkTrace(LostUpdate, found);
  ASSERT_TRUE(shrunk.ok()) << shrunk.status();
  EXPECT_GT(shrunk->preemptions_before, 1u);
  EXPECT_EQ(shrunk->preemptions_after, 1u);
  EXPECT_GT(shrunk->runs, 1u);
  EXPECT_EQ(shrunk->trace.shrink().preemptions_after(), 1u);
  EXPECT_TRUE(ValidateTrace(shrunk->trace).ok()) << ValidateTrace(shrunk->trace);
  EXPECT_EQ(shrunk->trace.failure().kind(), Failure::ASSERTION);
  EXPECT_EQ(shrunk->trace.failure().location().line(), found.failure().location().line());

  // The shrunk trace replays to the same failure.
  Options replay;
  replay.replay = &shrunk->trace;
  RunResult again = Runner::Run(LostUpdate, replay);
  ASSERT_TRUE(again.failed());
  EXPECT_EQ(again.trace->failure().kind(), Failure::ASSERTION);
  EXPECT_EQ(again.trace->failure().location().line(), found.failure().location().line());
}

TEST(ShrinkTest, TwoThreadLostUpdateShrinksToOnePreemption) {
  for (StrategyKind strategy : {StrategyKind::kRandom, StrategyKind::kPos, StrategyKind::kPct}) {
    const Trace found = FindFailure(TwoThreadLostUpdate, strategy);
    absl::StatusOr<ShrinkResult> shrunk = ShrinkTrace(TwoThreadLostUpdate, found);
    ASSERT_TRUE(shrunk.ok()) << shrunk.status();
    EXPECT_EQ(shrunk->preemptions_after, 1u) << StrategyKindName(strategy);
    EXPECT_LE(shrunk->preemptions_after, shrunk->preemptions_before);
  }
}

TEST(ShrinkTest, LockOrderDeadlockShrinksToOnePreemption) {
  const Trace found = FindFailure(LockOrderInversion, StrategyKind::kRandom);
  absl::StatusOr<ShrinkResult> shrunk = ShrinkTrace(LockOrderInversion, found);
  ASSERT_TRUE(shrunk.ok()) << shrunk.status();
  EXPECT_EQ(shrunk->preemptions_after, 1u);
  EXPECT_EQ(shrunk->trace.failure().kind(), Failure::DEADLOCK);
}

TEST(ShrinkTest, RefusesTracesItCannotShrink) {
  Trace found = FindFailure(LostUpdate, StrategyKind::kPct);
  Trace passing = found;
  passing.clear_failure();
  EXPECT_THAT(std::string(ShrinkTrace(LostUpdate, passing).status().message()),
              testing::HasSubstr("no failure"));
  // A body that no longer fails (the bug was fixed) cannot be shrunk.
  auto fixed = [] {
    Atomic<int> counter(0, "counter");
    Thread a = spawn([&] { counter.fetch_add(1); }, "a");
    a.join();
  };
  EXPECT_THAT(std::string(ShrinkTrace(fixed, found).status().message()),
              testing::HasSubstr("does not reproduce"));
  // A crash ends the process it happens in: not shrinkable.
  Trace crashed = found;
  crashed.mutable_failure()->set_kind(Failure::CRASH);
  EXPECT_THAT(std::string(ShrinkTrace(LostUpdate, crashed).status().message()),
              testing::HasSubstr("cannot be shrunk"));
}

TEST(ShrinkTest, IsolatedShrinkingGivesTheSameResult) {
  const Trace found = FindFailure(LockOrderInversion, StrategyKind::kRandom);
  absl::StatusOr<ShrinkResult> in_process = ShrinkTrace(LockOrderInversion, found);
  absl::StatusOr<ShrinkResult> isolated =
      ShrinkTraceIsolated(LockOrderInversion, found, std::chrono::seconds(10));
  ASSERT_TRUE(in_process.ok()) << in_process.status();
  ASSERT_TRUE(isolated.ok()) << isolated.status();
  EXPECT_EQ(isolated->preemptions_after, in_process->preemptions_after);
  EXPECT_EQ(isolated->decisions_after, in_process->decisions_after);
  EXPECT_EQ(isolated->runs, in_process->runs);
  EXPECT_EQ(isolated->trace.events_size(), in_process->trace.events_size());
}

TEST(ShrinkTest, ACandidateThatCrashesEndsIsolatedShrinkingWithAnError) {
  // The recorded schedule deadlocks; other schedules of the same body abort.
  auto body = [] {
    Mutex a("a");
    Mutex b("b");
    Atomic<int> done(0, "done");
    Thread t1 = spawn([&] {
      std::lock_guard<Mutex> first(a);
      std::lock_guard<Mutex> second(b);
      done.fetch_add(1);
    });
    Thread t2 = spawn([&] {
      std::lock_guard<Mutex> first(b);
      std::lock_guard<Mutex> second(a);
      done.fetch_add(1);
    });
    t1.join();
    t2.join();
    if (done.load() == 2) std::abort();
  };
  // Seeds until the first failure found is the deadlock (deterministic).
  std::optional<Trace> deadlock;
  for (uint64_t seed = 1; seed < 100 && !deadlock; ++seed) {
    Options options;
    options.iterations = 50;
    options.seed = seed;
    options.strategy = StrategyKind::kRandom;
    RunResult result = Runner::Run(body, options);
    if (result.failed() && result.trace->failure().kind() == Failure::DEADLOCK) {
      deadlock = *result.trace;
    }
  }
  ASSERT_TRUE(deadlock.has_value());
  // The first candidate, no preemption at all, runs t1 then t2: abort().
  absl::StatusOr<ShrinkResult> shrunk =
      ShrinkTraceIsolated(body, *deadlock, std::chrono::seconds(10));
  ASSERT_FALSE(shrunk.ok());
  EXPECT_THAT(std::string(shrunk.status().message()), testing::HasSubstr("crashed"));
}

}  // namespace
}  // namespace lockstep
