#include "lockstep/strategy/random.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/internal/prng.h"

namespace lockstep {
namespace {

using ::testing::Contains;

// Runs `steps` scheduling points over `threads` always-enabled threads and
// interleaves a choose(5) every third step; returns picks and values.
std::vector<uint32_t> RunIteration(RandomStrategy& strategy, uint64_t seed, uint32_t threads,
                                   uint64_t steps) {
  std::vector<uint32_t> enabled(threads);
  for (uint32_t t = 0; t < threads; ++t) enabled[t] = t;
  std::vector<PendingOp> pending(threads);
  strategy.BeginIteration(0, seed);
  for (uint32_t t = 0; t < threads; ++t) strategy.OnThreadCreated(t);
  std::vector<uint32_t> out;
  uint32_t current = 0;
  for (uint64_t step = 1; step <= steps; ++step) {
    current = strategy.PickThread({enabled, pending, current, step});
    out.push_back(current);
    if (step % 3 == 0) out.push_back(100 + strategy.PickValue(5));
  }
  strategy.EndIteration(steps);
  return out;
}

TEST(RandomStrategyTest, SameSeedSameDecisions) {
  RandomStrategy a;
  RandomStrategy b;
  const std::vector<uint32_t> first = RunIteration(a, 42, 4, 200);
  // A second iteration on the same object does not depend on the first.
  RunIteration(a, 7, 4, 50);
  EXPECT_EQ(RunIteration(a, 42, 4, 200), first);
  EXPECT_EQ(RunIteration(b, 42, 4, 200), first);
}

TEST(RandomStrategyTest, DifferentSeedsDiffer) {
  RandomStrategy strategy;
  EXPECT_NE(RunIteration(strategy, 1, 4, 200), RunIteration(strategy, 2, 4, 200));
}

TEST(RandomStrategyTest, PicksOnlyEnabledThreadsAndEventuallyEach) {
  RandomStrategy strategy;
  strategy.BeginIteration(0, 99);
  for (uint32_t t = 0; t < 6; ++t) strategy.OnThreadCreated(t);
  std::vector<PendingOp> pending(6);
  internal::Prng shape(5);  // varies the enabled sets
  std::vector<uint32_t> counts(6, 0);
  std::vector<uint32_t> enabled;
  for (uint64_t step = 1; step <= 2000; ++step) {
    enabled.clear();
    for (uint32_t t = 0; t < 6; ++t) {
      if (shape.Chance(1, 2)) enabled.push_back(t);
    }
    if (enabled.empty()) enabled.push_back(static_cast<uint32_t>(step % 6));
    const uint32_t pick = strategy.PickThread({enabled, pending, 0, step});
    ASSERT_THAT(enabled, Contains(pick)) << "step " << step;
    ++counts[pick];
  }
  for (uint32_t t = 0; t < 6; ++t) EXPECT_GT(counts[t], 100u) << "thread " << t;
}

TEST(RandomStrategyTest, PicksRoughlyUniformly) {
  RandomStrategy strategy;
  std::vector<uint32_t> counts(4, 0);
  for (uint32_t pick : RunIteration(strategy, 3, 4, 4000)) {
    if (pick < 4) ++counts[pick];
  }
  for (uint32_t c : counts) {
    EXPECT_GT(c, 850u);
    EXPECT_LT(c, 1150u);
  }
}

TEST(RandomStrategyTest, PickValueCoversRange) {
  RandomStrategy strategy;
  strategy.BeginIteration(0, 11);
  std::vector<bool> seen(7, false);
  for (int i = 0; i < 500; ++i) {
    const uint32_t v = strategy.PickValue(7);
    ASSERT_LT(v, 7u);
    seen[v] = true;
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), 7);
  EXPECT_EQ(strategy.PickValue(1), 0u);
}

TEST(RandomStrategyTest, Config) {
  RandomStrategy strategy;
  EXPECT_EQ(strategy.Config().name(), "random");
  EXPECT_EQ(strategy.Divergence(), "");
}

}  // namespace
}  // namespace lockstep
