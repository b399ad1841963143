#include "lockstep/strategy/pos.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/internal/prng.h"

namespace lockstep {
namespace {

using ::testing::Contains;
using Kind = PendingOp::Kind;

void Begin(PosStrategy& pos, uint64_t seed, uint32_t threads) {
  pos.BeginIteration(0, seed);
  for (uint32_t t = 0; t < threads; ++t) pos.OnThreadCreated(t);
}

std::vector<uint64_t> Priorities(const PosStrategy& pos, uint32_t threads) {
  std::vector<uint64_t> out;
  for (uint32_t t = 0; t < threads; ++t) out.push_back(pos.PriorityOf(t));
  return out;
}

// Pending ops for the re-draw tests: thread 0 writes object 1; thread 1 reads
// object 1 (conflicts with 0); thread 2 writes object 2 and thread 3 reads
// object 2 (independent of 0); thread 4 has not started (object 0).
const std::vector<PendingOp> kPending = {
    {Kind::kWrite, 1}, {Kind::kRead, 1}, {Kind::kWrite, 2}, {Kind::kRead, 2}, {Kind::kStart, 0}};

// Runs thread 0 alone at step 1, reports it executed `executed` (unless
// null), then reaches step 2 with everyone enabled; returns which priorities
// changed across that.
std::vector<bool> ChangedAfterThread0Runs(uint64_t seed, const PendingOp* executed) {
  PosStrategy pos;
  Begin(pos, seed, 5);
  const std::vector<uint32_t> only0 = {0};
  EXPECT_EQ(pos.PickThread({only0, kPending, 0, 1}), 0u);
  const std::vector<uint64_t> before = Priorities(pos, 5);
  if (executed != nullptr) pos.OnExecuted(0, *executed);
  const std::vector<uint32_t> all = {0, 1, 2, 3, 4};
  pos.PickThread({all, kPending, 0, 2});
  const std::vector<uint64_t> after = Priorities(pos, 5);
  std::vector<bool> changed;
  for (size_t t = 0; t < before.size(); ++t) changed.push_back(before[t] != after[t]);
  return changed;
}

TEST(PosStrategyTest, RedrawsExecutedThreadAndConflictingThreadsOnly) {
  const PendingOp write1{Kind::kWrite, 1};
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    EXPECT_EQ(ChangedAfterThread0Runs(seed, &write1),
              (std::vector<bool>{true, true, false, false, false}))
        << "seed " << seed;
  }
}

TEST(PosStrategyTest, ConflictsAreJudgedAgainstTheExecutedOp) {
  // The controller reports that thread 0 actually wrote object 2.
  const PendingOp write2{Kind::kWrite, 2};
  EXPECT_EQ(ChangedAfterThread0Runs(3, &write2),
            (std::vector<bool>{true, false, true, true, false}));
  // Reads do not conflict with reads.
  const PendingOp read1{Kind::kRead, 1};
  EXPECT_EQ(ChangedAfterThread0Runs(3, &read1),
            (std::vector<bool>{true, false, false, false, false}));
}

TEST(PosStrategyTest, WithoutOnExecutedThePickedOpStandsIn) {
  EXPECT_EQ(ChangedAfterThread0Runs(5, nullptr),
            (std::vector<bool>{true, true, false, false, false}));
}

TEST(PosStrategyTest, RunsTheEnabledThreadWithTheHighestPriority) {
  PosStrategy pos;
  internal::Prng shape(8);
  std::vector<PendingOp> pending(5);
  std::vector<uint32_t> enabled;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Begin(pos, seed, 5);
    uint32_t current = 0;
    for (uint64_t step = 1; step <= 100; ++step) {
      enabled.clear();
      for (uint32_t t = 0; t < 5; ++t) {
        pending[t] = PendingOp{shape.Chance(1, 2) ? Kind::kRead : Kind::kWrite, shape.Below(3)};
        if (shape.Chance(2, 3)) enabled.push_back(t);
      }
      if (enabled.empty()) enabled.push_back(4);
      current = pos.PickThread({enabled, pending, current, step});
      ASSERT_THAT(enabled, Contains(current));
      for (uint32_t t : enabled) {
        ASSERT_LE(pos.PriorityOf(t), pos.PriorityOf(current)) << "step " << step;
      }
      pos.OnExecuted(current, pending[current]);
    }
  }
}

// Two threads doing independent work: only the executed thread is re-drawn,
// so each step is a fair coin between them, and both get to run.
TEST(PosStrategyTest, IndependentThreadsInterleave) {
  PosStrategy pos;
  Begin(pos, 12, 2);
  const std::vector<PendingOp> pending = {{Kind::kWrite, 1}, {Kind::kWrite, 2}};
  const std::vector<uint32_t> enabled = {0, 1};
  int ones = 0;
  uint32_t current = 0;
  for (uint64_t step = 1; step <= 400; ++step) {
    current = pos.PickThread({enabled, pending, current, step});
    pos.OnExecuted(current, pending[current]);
    ones += current == 1;
  }
  EXPECT_GT(ones, 120);
  EXPECT_LT(ones, 280);
}

std::vector<uint32_t> RunMixed(PosStrategy& pos, uint64_t seed) {
  Begin(pos, seed, 3);
  const std::vector<PendingOp> pending = {{Kind::kWrite, 1}, {Kind::kRead, 1}, {Kind::kWrite, 2}};
  const std::vector<uint32_t> enabled = {0, 1, 2};
  std::vector<uint32_t> out;
  uint32_t current = 0;
  for (uint64_t step = 1; step <= 100; ++step) {
    current = pos.PickThread({enabled, pending, current, step});
    pos.OnExecuted(current, pending[current]);
    out.push_back(current);
    if (step % 10 == 0) out.push_back(10 + pos.PickValue(4));
  }
  return out;
}

TEST(PosStrategyTest, SameSeedSameDecisionsDifferentSeedsDiffer) {
  PosStrategy a;
  PosStrategy b;
  EXPECT_EQ(RunMixed(a, 77), RunMixed(b, 77));
  EXPECT_NE(RunMixed(a, 77), RunMixed(a, 78));
}

TEST(PosStrategyTest, NewThreadsGetFreshPriorities) {
  PosStrategy pos;
  Begin(pos, 1, 1);
  pos.OnThreadCreated(3);  // ids may arrive out of order
  EXPECT_NE(pos.PriorityOf(3), 0u);
  EXPECT_NE(pos.PriorityOf(3), pos.PriorityOf(0));
}

TEST(PosStrategyTest, Config) {
  PosStrategy pos;
  EXPECT_EQ(pos.Config().name(), "pos");
}

}  // namespace
}  // namespace lockstep
