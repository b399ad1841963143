#include "lockstep/strategy/pct.h"

#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/internal/prng.h"

namespace lockstep {
namespace {

using ::testing::Contains;

// Starts an iteration with threads 0..threads-1 announced.
void Begin(PctStrategy& pct, uint64_t seed, uint32_t threads, uint64_t iteration = 0) {
  pct.BeginIteration(iteration, seed);
  for (uint32_t t = 0; t < threads; ++t) pct.OnThreadCreated(t);
}

// `threads` always-enabled threads doing plain writes for `steps` steps.
std::vector<uint32_t> RunAlwaysEnabled(PctStrategy& pct, uint64_t seed, uint32_t threads,
                                       uint64_t steps, uint64_t iteration = 0) {
  Begin(pct, seed, threads, iteration);
  std::vector<uint32_t> enabled(threads);
  for (uint32_t t = 0; t < threads; ++t) enabled[t] = t;
  std::vector<PendingOp> pending(threads, PendingOp{PendingOp::Kind::kWrite, 1});
  std::vector<uint32_t> picks;
  uint32_t current = 0;
  for (uint64_t step = 1; step <= steps; ++step) {
    current = pct.PickThread({enabled, pending, current, step});
    picks.push_back(current);
  }
  return picks;
}

int Switches(const std::vector<uint32_t>& picks) {
  int switches = 0;
  for (size_t i = 1; i < picks.size(); ++i) switches += picks[i] != picks[i - 1];
  return switches;
}

TEST(PctStrategyTest, SameSeedSamePicks) {
  PctStrategy a(3);
  PctStrategy b(3);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    EXPECT_EQ(RunAlwaysEnabled(a, seed, 3, 100), RunAlwaysEnabled(b, seed, 3, 100));
  }
}

TEST(PctStrategyTest, DifferentSeedsGiveDifferentSchedules) {
  PctStrategy pct(3);
  const std::vector<uint32_t> reference = RunAlwaysEnabled(pct, 1, 3, 100);
  int different = 0;
  for (uint64_t seed = 2; seed <= 20; ++seed) {
    different += RunAlwaysEnabled(pct, seed, 3, 100) != reference;
  }
  EXPECT_GE(different, 10);
}

TEST(PctStrategyTest, PicksOnlyEnabledThreads) {
  PctStrategy pct(4);
  internal::Prng shape(17);
  std::vector<PendingOp> pending(5);
  std::vector<uint32_t> enabled;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Begin(pct, seed, 5);
    uint32_t current = 0;
    for (uint64_t step = 1; step <= 150; ++step) {
      enabled.clear();
      for (uint32_t t = 0; t < 5; ++t) {
        if (shape.Chance(1, 2)) enabled.push_back(t);
      }
      if (enabled.empty()) enabled.push_back(2);
      current = pct.PickThread({enabled, pending, current, step});
      ASSERT_THAT(enabled, Contains(current)) << "seed " << seed << " step " << step;
    }
  }
}

// Depth 1 has no change points: the running thread keeps running as long as
// it stays enabled, so threads run to completion one after another.
TEST(PctStrategyTest, DepthOneNeverPreemptsAnEnabledThread) {
  PctStrategy pct(1);
  std::vector<PendingOp> pending(4, PendingOp{PendingOp::Kind::kWrite, 1});
  std::vector<uint32_t> enabled;
  std::vector<uint32_t> first_picks;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Begin(pct, seed, 4);
    std::vector<int> remaining = {5, 9, 3, 7};
    uint32_t previous = 0;
    bool started = false;
    for (uint64_t step = 1;; ++step) {
      enabled.clear();
      for (uint32_t t = 0; t < 4; ++t) {
        if (remaining[t] > 0) enabled.push_back(t);
      }
      if (enabled.empty()) break;
      const uint32_t pick = pct.PickThread({enabled, pending, previous, step});
      if (!started) first_picks.push_back(pick);
      if (started && pick != previous) {
        ASSERT_EQ(remaining[previous], 0)
            << "seed " << seed << " step " << step << ": preempted thread " << previous;
      }
      --remaining[pick];
      previous = pick;
      started = true;
    }
  }
  // The run order is random: different seeds start different threads.
  std::vector<bool> seen(4, false);
  for (uint32_t t : first_picks) seen[t] = true;
  EXPECT_EQ(seen, std::vector<bool>(4, true));
}

// Depth 2: one change point, so two always-enabled threads switch at most
// once in an iteration, however long it runs; with k = 100 and 100 steps, the
// switch happens in nearly every iteration (not when the change point is step
// 1, where it lowers the top thread before anything ran).
TEST(PctStrategyTest, DepthTwoSwitchesAtMostOnce) {
  PctStrategy pct(2);
  int switched = 0;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    const std::vector<uint32_t> picks = RunAlwaysEnabled(pct, seed, 2, 100);
    ASSERT_LE(Switches(picks), 1) << "seed " << seed;
    switched += Switches(picks);
  }
  EXPECT_GE(switched, 90);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    ASSERT_LE(Switches(RunAlwaysEnabled(pct, seed, 2, 2000)), 1) << "seed " << seed;
  }
}

TEST(PctStrategyTest, DepthThreeSwitchesAtMostTwice) {
  PctStrategy pct(3);
  int twice = 0;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    const int switches = Switches(RunAlwaysEnabled(pct, seed, 2, 100));
    ASSERT_LE(switches, 2) << "seed " << seed;
    twice += switches == 2;
  }
  EXPECT_GE(twice, 50);
}

// k is 100 for iteration 0 and iteration 0's step count afterwards: the
// iterations in between do not change it, so any iteration runs alone.
TEST(PctStrategyTest, StepEstimateIs100ThenIterationZerosStepCount) {
  PctStrategy pct(2);
  EXPECT_EQ(pct.step_estimate(), 100u);
  pct.BeginIteration(0, 1);
  EXPECT_EQ(pct.step_estimate(), 100u);
  pct.EndIteration(7);
  pct.BeginIteration(1, 2);
  EXPECT_EQ(pct.step_estimate(), 7u);
  pct.EndIteration(30);
  pct.BeginIteration(2, 3);
  EXPECT_EQ(pct.step_estimate(), 7u);
  pct.BeginIteration(0, 1);  // iteration 0 again (a shard's calibration)
  EXPECT_EQ(pct.step_estimate(), 100u);

  PctStrategy empty(2);
  empty.BeginIteration(0, 1);
  empty.EndIteration(0);
  empty.BeginIteration(1, 1);
  EXPECT_EQ(empty.step_estimate(), 1u);

  // Before iteration 0 ended on this object: 100 (the runner avoids this).
  PctStrategy late(2);
  late.BeginIteration(5, 1);
  EXPECT_EQ(late.step_estimate(), 100u);
}

TEST(PctStrategyTest, FixedStepEstimateIsUsedForEveryIteration) {
  PctStrategy pct(2, 42);
  for (uint64_t i : {0, 1, 900}) {
    pct.BeginIteration(i, i + 1);
    EXPECT_EQ(pct.step_estimate(), 42u);
    EXPECT_EQ(pct.Config().pct_step_estimate(), 42u);
    pct.EndIteration(7);
  }
}

// The same iteration makes the same decisions whether it runs after its
// predecessors (k calibrated on iteration 0) or alone with that k fixed.
TEST(PctStrategyTest, AnIterationRunsAloneWithItsStepEstimate) {
  PctStrategy explored(3);
  RunAlwaysEnabled(explored, 11, 3, 60);  // iteration 0: 60 steps
  explored.EndIteration(60);
  std::vector<uint32_t> late;
  for (uint64_t i = 1; i <= 5; ++i) {
    late = RunAlwaysEnabled(explored, 100 + i, 3, 60, i);
    explored.EndIteration(10 * i);  // later step counts do not matter
  }
  PctStrategy alone(3, 60);
  EXPECT_EQ(RunAlwaysEnabled(alone, 105, 3, 60, 5), late);
}

// The change point is drawn in [1, k]: with k = 5 the single switch of a
// depth-2 iteration always happens by step 5, while with k = 100 it is spread
// over the run.
TEST(PctStrategyTest, ChangePointsFallWithinTheStepEstimate) {
  const auto switch_step = [](const std::vector<uint32_t>& picks) -> size_t {
    for (size_t i = 1; i < picks.size(); ++i) {
      if (picks[i] != picks[i - 1]) return i + 1;  // 1-based step
    }
    return 0;
  };
  PctStrategy pct(2);
  size_t latest = 0;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    latest = std::max(latest, switch_step(RunAlwaysEnabled(pct, seed, 2, 100)));
  }
  EXPECT_GT(latest, 50u);  // k = 100 (iteration 0)

  PctStrategy five(2, 5);
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    ASSERT_LE(switch_step(RunAlwaysEnabled(five, seed, 2, 100)), 5u) << "seed " << seed;
  }
}

// A thread about to yield drops below every other thread, so a spin-with-
// yield loop lets the thread it waits for run. Without the rule, depth-1 PCT
// would run the spinner forever whenever it has the top priority.
TEST(PctStrategyTest, YieldLetsOtherThreadsProgress) {
  PctStrategy pct(1);
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Begin(pct, seed, 2);
    // Thread 0 spins with yield until thread 1 has done 10 writes.
    std::vector<PendingOp> pending = {PendingOp{PendingOp::Kind::kYield, 0},
                                      PendingOp{PendingOp::Kind::kWrite, 1}};
    std::vector<uint32_t> enabled = {0, 1};
    int writes = 0;
    uint32_t current = 0;
    uint64_t step = 1;
    for (; step <= 100 && writes < 10; ++step) {
      current = pct.PickThread({enabled, pending, current, step});
      if (current == 1) ++writes;
    }
    EXPECT_EQ(writes, 10) << "seed " << seed;
    EXPECT_LE(step, 13u) << "seed " << seed;  // at most one spin, then 1 runs
  }
}

TEST(PctStrategyTest, YieldOnlyCountsForTheCurrentThread) {
  // Thread 0 is the top thread; thread 1's pending yield does not matter
  // while 1 is not the current thread.
  PctStrategy pct(1);
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Begin(pct, seed, 2);
    const uint32_t top = pct.PriorityOf(0) > pct.PriorityOf(1) ? 0 : 1;
    const uint32_t other = 1 - top;
    std::vector<PendingOp> pending(2);
    pending[other] = PendingOp{PendingOp::Kind::kYield, 0};
    std::vector<uint32_t> enabled = {0, 1};
    EXPECT_EQ(pct.PickThread({enabled, pending, other, 1}), top);  // lowers other
    pending[other] = PendingOp{PendingOp::Kind::kWrite, 1};
    pending[top] = PendingOp{PendingOp::Kind::kYield, 0};
    EXPECT_EQ(pct.PickThread({enabled, pending, other, 2}), top);  // top not current
    EXPECT_EQ(pct.PickThread({enabled, pending, top, 3}), other);  // now it yields
    pending[top] = PendingOp{PendingOp::Kind::kWrite, 1};
    // Each yield goes below all earlier ones: the order flips back and stays.
    EXPECT_EQ(pct.PickThread({enabled, pending, other, 4}), other);
    EXPECT_LT(pct.PriorityOf(top), pct.PriorityOf(other));
  }
}

// Threads created during the iteration get a random priority among the
// initial ones: sometimes the new thread preempts, sometimes not.
TEST(PctStrategyTest, DynamicallyCreatedThreadsGetRandomPriorities) {
  PctStrategy pct(1);
  int preempted = 0;
  std::vector<PendingOp> pending(2);
  for (uint64_t seed = 1; seed <= 64; ++seed) {
    Begin(pct, seed, 1);
    std::vector<uint32_t> only_main = {0};
    ASSERT_EQ(pct.PickThread({only_main, {pending.data(), 1}, 0, 1}), 0u);
    pct.OnThreadCreated(1);
    std::vector<uint32_t> both = {0, 1};
    preempted += pct.PickThread({both, pending, 0, 2}) == 1;
  }
  EXPECT_GT(preempted, 16);
  EXPECT_LT(preempted, 48);
}

// A change point lowers the thread below every initial priority, including
// those of threads created afterwards.
TEST(PctStrategyTest, ChangedThreadRanksBelowNewThreads) {
  PctStrategy pct(2, 1);  // k = 1: the change point is step 1
  std::vector<PendingOp> pending(2);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Begin(pct, seed, 1);
    std::vector<uint32_t> only_main = {0};
    ASSERT_EQ(pct.PickThread({only_main, {pending.data(), 1}, 0, 1}), 0u);
    pct.OnThreadCreated(1);
    std::vector<uint32_t> both = {0, 1};
    EXPECT_EQ(pct.PickThread({both, pending, 0, 2}), 1u) << "seed " << seed;
  }
}

TEST(PctStrategyTest, PickValueIsUniformAndSeeded) {
  PctStrategy a(3);
  PctStrategy b(3);
  Begin(a, 5, 1);
  Begin(b, 5, 1);
  std::vector<int> counts(3, 0);
  for (int i = 0; i < 300; ++i) {
    const uint32_t v = a.PickValue(3);
    ASSERT_EQ(v, b.PickValue(3));
    ++counts[v];
  }
  for (int c : counts) EXPECT_GT(c, 60);
}

TEST(PctStrategyTest, Config) {
  PctStrategy pct(4);
  EXPECT_EQ(pct.Config().name(), "pct");
  EXPECT_EQ(pct.Config().pct_depth(), 4u);
  pct.set_depth(2);
  EXPECT_EQ(pct.Config().pct_depth(), 2u);
  EXPECT_EQ(PctStrategy(0).depth(), 1u);
}

}  // namespace
}  // namespace lockstep
