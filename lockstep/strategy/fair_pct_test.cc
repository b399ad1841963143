#include "lockstep/strategy/fair_pct.h"

#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/strategy/pct.h"

namespace lockstep {
namespace {

// Two always-enabled threads doing plain loads (a spin loop PCT would never
// break) for `steps` steps.
template <typename S>
std::vector<uint32_t> RunSpin(S& strategy, uint64_t seed, uint64_t steps) {
  strategy.BeginIteration(0, seed);
  strategy.OnThreadCreated(0);
  strategy.OnThreadCreated(1);
  std::vector<uint32_t> enabled = {0, 1};
  std::vector<PendingOp> pending(2, PendingOp{PendingOp::Kind::kRead, 1});
  std::vector<uint32_t> picks;
  uint32_t current = 0;
  for (uint64_t step = 1; step <= steps; ++step) {
    current = strategy.PickThread({enabled, pending, current, step});
    picks.push_back(current);
  }
  return picks;
}

TEST(FairPctStrategyTest, FollowsPctDuringThePrefix) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    FairPctStrategy fair(3, 60);
    PctStrategy pct(3);
    const std::vector<uint32_t> fair_picks = RunSpin(fair, seed, 60);
    EXPECT_EQ(fair_picks, RunSpin(pct, seed, 60)) << "seed " << seed;
  }
}

// Depth-1 PCT would run one thread forever; after the prefix both threads
// get picked, so a spin loop waiting for the other thread terminates.
TEST(FairPctStrategyTest, BecomesRandomAfterThePrefix) {
  FairPctStrategy fair(1, 50);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const std::vector<uint32_t> picks = RunSpin(fair, seed, 250);
    for (size_t i = 1; i < 50; ++i) {
      ASSERT_EQ(picks[i], picks[0]) << "seed " << seed << ": PCT depth 1 preempted";
    }
    int starved_thread_runs = 0;
    for (size_t i = 50; i < picks.size(); ++i) starved_thread_runs += picks[i] != picks[0];
    EXPECT_GT(starved_thread_runs, 60) << "seed " << seed;
    EXPECT_LT(starved_thread_runs, 140) << "seed " << seed;
  }
}

TEST(FairPctStrategyTest, SameSeedSamePicksDifferentSeedsDiffer) {
  FairPctStrategy a(2, 20);
  FairPctStrategy b(2, 20);
  EXPECT_EQ(RunSpin(a, 9, 200), RunSpin(b, 9, 200));
  EXPECT_NE(RunSpin(a, 9, 200), RunSpin(a, 10, 200));
  a.BeginIteration(0, 4);
  b.BeginIteration(0, 4);
  for (int i = 0; i < 50; ++i) {
    const uint32_t v = a.PickValue(6);
    ASSERT_LT(v, 6u);
    ASSERT_EQ(v, b.PickValue(6));
  }
}

// Change points beyond the prefix could never fire, so the PCT part's step
// estimate is capped at the prefix.
TEST(FairPctStrategyTest, StepEstimateIsCappedAtThePrefix) {
  FairPctStrategy fair(2, 50);
  fair.BeginIteration(0, 1);
  EXPECT_EQ(fair.pct().step_estimate(), 100u);
  fair.EndIteration(1000);
  fair.BeginIteration(1, 2);
  EXPECT_EQ(fair.pct().step_estimate(), 50u);
  fair.BeginIteration(2, 3);
  EXPECT_EQ(fair.pct().step_estimate(), 50u);
}

TEST(FairPctStrategyTest, Config) {
  FairPctStrategy fair(4, 123);
  const StrategyConfig config = fair.Config();
  EXPECT_EQ(config.name(), "fair_pct");
  EXPECT_EQ(config.pct_depth(), 4u);
  EXPECT_EQ(config.fair_prefix(), 123u);
}

}  // namespace
}  // namespace lockstep
