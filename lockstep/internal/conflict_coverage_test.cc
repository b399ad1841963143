#include "lockstep/internal/conflict_coverage.h"

#include "gtest/gtest.h"

namespace lockstep::internal {
namespace {

PendingOp Read(uint32_t object) { return {PendingOp::Kind::kRead, object}; }
PendingOp Write(uint32_t object) { return {PendingOp::Kind::kWrite, object}; }

TEST(ConflictCoverageTest, CountsOrderedPairsOfConflictingSitesAcrossThreads) {
  ConflictCoverage coverage;
  coverage.BeginIteration();
  coverage.Executed(0, Write(1), /*site=*/10);
  coverage.Executed(0, Write(1), 11);  // same thread: no pair
  EXPECT_EQ(coverage.pairs(), 0u);
  coverage.Executed(1, Read(1), 20);  // 11 -> 20
  coverage.Executed(2, Read(1), 30);  // 11 -> 30; reads do not conflict with reads
  EXPECT_EQ(coverage.pairs(), 2u);
  coverage.Executed(0, Write(1), 12);  // 11 (same thread: no), 20 -> 12, 30 -> 12
  EXPECT_EQ(coverage.pairs(), 4u);
  coverage.Executed(1, Write(2), 20);  // another object, nothing before it
  coverage.Executed(1, PendingOp{}, 0);
  EXPECT_EQ(coverage.pairs(), 4u);
  EXPECT_EQ(coverage.NewThisIteration().size(), 4u);
}

TEST(ConflictCoverageTest, OrderMattersAndPairsAccumulateOverIterations) {
  ConflictCoverage coverage;
  coverage.BeginIteration();
  coverage.Executed(0, Write(1), 10);
  coverage.Executed(1, Write(1), 20);  // 10 -> 20
  coverage.BeginIteration();           // objects forgotten, pairs kept
  EXPECT_TRUE(coverage.NewThisIteration().empty());
  coverage.Executed(1, Write(1), 20);
  coverage.Executed(0, Write(1), 10);  // 20 -> 10: the other order is new
  coverage.Executed(1, Write(1), 20);  // 10 -> 20: seen before
  EXPECT_EQ(coverage.pairs(), 2u);
  EXPECT_EQ(coverage.NewThisIteration().size(), 1u);

  ConflictCoverage parent;
  parent.Merge(coverage.NewThisIteration());
  parent.Merge(coverage.NewThisIteration());
  EXPECT_EQ(parent.pairs(), 1u);
}

}  // namespace
}  // namespace lockstep::internal
