#include "lockstep/options.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lockstep {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(StrategyKindTest, NamesRoundTrip) {
  for (StrategyKind kind : {StrategyKind::kRandom, StrategyKind::kPct, StrategyKind::kFairPct,
                            StrategyKind::kPos, StrategyKind::kIdPct}) {
    absl::StatusOr<StrategyKind> parsed = ParseStrategyKind(StrategyKindName(kind));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_EQ(StrategyKindName(StrategyKind::kFairPct), "fair_pct");
  EXPECT_EQ(StrategyKindName(StrategyKind::kIdPct), "idpct");
}

TEST(StrategyKindTest, UnknownNameListsTheAcceptedOnes) {
  for (const std::string bad : {"PCT", "", "fair-pct", "random "}) {
    absl::StatusOr<StrategyKind> parsed = ParseStrategyKind(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), AllOf(HasSubstr("\"" + bad + "\""),
                                                 HasSubstr("random, pct, fair_pct, pos, idpct")));
  }
}

}  // namespace
}  // namespace lockstep
