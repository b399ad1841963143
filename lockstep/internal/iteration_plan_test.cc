#include "lockstep/internal/iteration_plan.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lockstep::internal {
namespace {

using ::testing::ElementsAre;

std::vector<uint64_t> Iterations(const Options& options) {
  const IterationPlan plan(options);
  std::vector<uint64_t> all;
  for (uint64_t position = 0;; ++position) {
    const std::optional<uint64_t> i = plan.IterationAt(position);
    if (!i) return all;
    all.push_back(*i);
  }
}

TEST(IterationPlanTest, UnshardedRunsEveryIterationInOrder) {
  EXPECT_THAT(Iterations(Options{.iterations = 5}), ElementsAre(0, 1, 2, 3, 4));
  EXPECT_THAT(Iterations(Options{.iterations = 1}), ElementsAre(0));
}

// Every shard runs iteration 0 first, then its share; the shards together
// run each iteration once (iteration 0 once per shard).
TEST(IterationPlanTest, ShardsRunIterationZeroThenTheirShare) {
  EXPECT_THAT(Iterations(Options{.iterations = 10, .shard = {0, 3}}), ElementsAre(0, 3, 6, 9));
  EXPECT_THAT(Iterations(Options{.iterations = 10, .shard = {1, 3}}), ElementsAre(0, 1, 4, 7));
  EXPECT_THAT(Iterations(Options{.iterations = 10, .shard = {2, 3}}), ElementsAre(0, 2, 5, 8));
  // More shards than iterations: a shard may have only iteration 0.
  EXPECT_THAT(Iterations(Options{.iterations = 2, .shard = {3, 4}}), ElementsAre(0));
  // No overflow near the end of the range.
  const IterationPlan huge(Options{.iterations = UINT64_MAX, .shard = {1, 2}});
  EXPECT_EQ(huge.IterationAt(3), 5u);
  EXPECT_EQ(huge.IterationAt(UINT64_MAX / 2), UINT64_MAX - 2);
  EXPECT_EQ(huge.IterationAt(UINT64_MAX / 2 + 1), std::nullopt);
}

TEST(IterationPlanTest, OnlyIterationCalibratesFirstWhenPctNeedsIt) {
  EXPECT_THAT(Iterations(Options{.only_iteration = 7, .strategy = StrategyKind::kPct}),
              ElementsAre(0, 7));
  EXPECT_THAT(Iterations(Options{
                  .only_iteration = 7, .strategy = StrategyKind::kPct, .pct_step_estimate = 40}),
              ElementsAre(7));
  EXPECT_THAT(Iterations(Options{.only_iteration = 7, .strategy = StrategyKind::kRandom}),
              ElementsAre(7));
  EXPECT_THAT(Iterations(Options{.only_iteration = 0}), ElementsAre(0));
  // `iterations` and `shard` do not apply.
  EXPECT_THAT(
      Iterations(Options{
          .iterations = 3, .only_iteration = 9, .shard = {1, 2}, .strategy = StrategyKind::kPos}),
      ElementsAre(9));
}

TEST(IterationPlanTest, EachShardGetsItsShareOfTheBudget) {
  using std::chrono::seconds;
  const IterationPlan plan(Options{.shard = {0, 4}, .time_budget = seconds(40)});
  EXPECT_EQ(plan.budget(), seconds(10));
  EXPECT_FALSE(plan.OutOfTime(0, seconds(99)));  // the first iteration always runs
  EXPECT_FALSE(plan.OutOfTime(1, seconds(9)));
  EXPECT_TRUE(plan.OutOfTime(1, seconds(10)));
  EXPECT_FALSE(IterationPlan(Options{}).OutOfTime(5, seconds(1000)));  // no budget
  EXPECT_EQ(plan.Next(1, seconds(9)), 4u);
  EXPECT_EQ(plan.Next(1, seconds(10)), std::nullopt);
}

}  // namespace
}  // namespace lockstep::internal
