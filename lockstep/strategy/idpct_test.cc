#include "lockstep/strategy/idpct.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "lockstep/strategy/pct.h"

namespace lockstep {
namespace {

template <typename S>
std::vector<uint32_t> RunIteration(S& strategy, uint64_t iteration, uint64_t seed, uint64_t steps) {
  strategy.BeginIteration(iteration, seed);
  strategy.OnThreadCreated(0);
  strategy.OnThreadCreated(1);
  strategy.OnThreadCreated(2);
  const std::vector<uint32_t> enabled = {0, 1, 2};
  const std::vector<PendingOp> pending(3, PendingOp{PendingOp::Kind::kWrite, 1});
  std::vector<uint32_t> picks;
  uint32_t current = 0;
  for (uint64_t step = 1; step <= steps; ++step) {
    current = strategy.PickThread({enabled, pending, current, step});
    picks.push_back(current);
  }
  strategy.EndIteration(steps);
  return picks;
}

TEST(IdPctStrategyTest, DepthCyclesWithTheIteration) {
  IdPctStrategy idpct(3);
  const uint32_t expected[] = {1, 2, 3, 1, 2, 3, 1};
  for (uint64_t i = 0; i < 7; ++i) {
    idpct.BeginIteration(i, 100 + i);
    const StrategyConfig config = idpct.Config();
    EXPECT_EQ(config.name(), "idpct");
    EXPECT_EQ(config.pct_depth(), expected[i]) << "iteration " << i;
    EXPECT_EQ(config.max_pct_depth(), 3u);
    idpct.EndIteration(10);
  }
  // The depth depends on the iteration number only, not on the call order.
  idpct.BeginIteration(302, 1);  // 302 % 3 == 2
  EXPECT_EQ(idpct.Config().pct_depth(), 3u);
}

// Iteration i behaves exactly like PCT at depth 1 + i % max_depth, with the
// step estimate calibrated on iteration 0.
TEST(IdPctStrategyTest, IsPctWithCarriedStepEstimate) {
  IdPctStrategy idpct(2);
  RunIteration(idpct, 0, 11, 40);
  EXPECT_EQ(idpct.pct().step_estimate(), 100u);
  const std::vector<uint32_t> picks = RunIteration(idpct, 1, 12, 40);
  EXPECT_EQ(idpct.pct().step_estimate(), 40u);

  PctStrategy pct(1);
  RunIteration(pct, 0, 11, 40);
  pct.set_depth(2);
  EXPECT_EQ(RunIteration(pct, 1, 12, 40), picks);
}

TEST(IdPctStrategyTest, DepthOneIterationsDoNotPreempt) {
  IdPctStrategy idpct(2);
  int preempting = 0;
  for (uint64_t i = 0; i < 40; ++i) {
    const std::vector<uint32_t> picks = RunIteration(idpct, i, 1000 + i, 40);
    int switches = 0;
    for (size_t s = 1; s < picks.size(); ++s) switches += picks[s] != picks[s - 1];
    if (i % 2 == 0) {
      EXPECT_EQ(switches, 0) << "iteration " << i;
    } else {
      EXPECT_LE(switches, 1) << "iteration " << i;
      preempting += switches;
    }
  }
  EXPECT_GT(preempting, 10);
}

TEST(IdPctStrategyTest, PickValueInRange) {
  IdPctStrategy idpct(2);
  idpct.BeginIteration(0, 3);
  for (int i = 0; i < 100; ++i) ASSERT_LT(idpct.PickValue(3), 3u);
  EXPECT_EQ(IdPctStrategy(0).max_depth(), 1u);
}

}  // namespace
}  // namespace lockstep
