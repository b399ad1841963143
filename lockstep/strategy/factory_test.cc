#include "lockstep/strategy/factory.h"

#include <cstdint>
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lockstep/options.h"
#include "lockstep/strategy/fair_pct.h"
#include "lockstep/strategy/idpct.h"
#include "lockstep/strategy/pct.h"
#include "lockstep/strategy/pos.h"
#include "lockstep/strategy/random.h"
#include "lockstep/strategy/replay.h"
#include "lockstep/trace.pb.h"

namespace lockstep {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::unique_ptr<Strategy> Make(const Options& options) {
  absl::StatusOr<std::unique_ptr<Strategy>> strategy = MakeStrategy(options);
  EXPECT_TRUE(strategy.ok()) << strategy.status();
  return strategy.ok() ? std::move(*strategy) : nullptr;
}

TEST(MakeStrategyTest, BuildsEachKindWithItsParameters) {
  Options options;
  options.pct_depth = 5;
  options.fair_prefix = 77;
  for (StrategyKind kind : {StrategyKind::kRandom, StrategyKind::kPct, StrategyKind::kFairPct,
                            StrategyKind::kPos, StrategyKind::kIdPct}) {
    options.strategy = kind;
    std::unique_ptr<Strategy> strategy = Make(options);
    ASSERT_NE(strategy, nullptr);
    strategy->BeginIteration(0, 1);
    EXPECT_EQ(strategy->Config().name(), StrategyKindName(kind));
  }

  options.strategy = StrategyKind::kRandom;
  EXPECT_NE(dynamic_cast<RandomStrategy*>(Make(options).get()), nullptr);
  options.strategy = StrategyKind::kPct;
  EXPECT_NE(dynamic_cast<PctStrategy*>(Make(options).get()), nullptr);
  EXPECT_EQ(Make(options)->Config().pct_depth(), 5u);
  options.strategy = StrategyKind::kFairPct;
  EXPECT_NE(dynamic_cast<FairPctStrategy*>(Make(options).get()), nullptr);
  EXPECT_EQ(Make(options)->Config().pct_depth(), 5u);
  EXPECT_EQ(Make(options)->Config().fair_prefix(), 77u);
  options.strategy = StrategyKind::kPos;
  EXPECT_NE(dynamic_cast<PosStrategy*>(Make(options).get()), nullptr);
  options.strategy = StrategyKind::kIdPct;
  std::unique_ptr<Strategy> idpct = Make(options);
  EXPECT_NE(dynamic_cast<IdPctStrategy*>(idpct.get()), nullptr);
  idpct->BeginIteration(3, 1);
  EXPECT_EQ(idpct->Config().max_pct_depth(), 5u);
  EXPECT_EQ(idpct->Config().pct_depth(), 4u);
}

TEST(MakeStrategyTest, ReplayWinsOverTheStrategyKind) {
  Trace trace;
  trace.mutable_strategy()->set_name("pos");
  trace.add_decisions()->set_kind(Decision::CHOOSE);
  Options options;
  options.strategy = StrategyKind::kPct;
  options.replay = &trace;
  std::unique_ptr<Strategy> strategy = Make(options);
  ASSERT_NE(dynamic_cast<ReplayStrategy*>(strategy.get()), nullptr);
  EXPECT_EQ(strategy->Config().name(), "pos");
}

TEST(MakeStrategyTest, RejectsZeroPctDepth) {
  Options options;
  options.pct_depth = 0;
  absl::StatusOr<std::unique_ptr<Strategy>> strategy = MakeStrategy(options);
  EXPECT_EQ(strategy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(strategy.status().message(), AllOf(HasSubstr("pct_depth"), HasSubstr("got 0")));
}

TEST(MakeStrategyTest, RejectsZeroFairPrefix) {
  Options options;
  options.strategy = StrategyKind::kFairPct;
  options.fair_prefix = 0;
  absl::StatusOr<std::unique_ptr<Strategy>> strategy = MakeStrategy(options);
  EXPECT_EQ(strategy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(strategy.status().message(), HasSubstr("fair_prefix"));
}

}  // namespace
}  // namespace lockstep
