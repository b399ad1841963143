// Runs with lockstep_main and `--init_test_value=7 --gtest_brief=0` (see the
// BUILD files): both kinds of flag must reach their parsers.
#include "absl/flags/flag.h"
#include "gtest/gtest.h"

ABSL_FLAG(int, init_test_value, 0, "set on the command line by the test rule");

namespace {

TEST(InitTest, AbslFlagsAreParsedAlongsideGtestFlags) {
  EXPECT_EQ(absl::GetFlag(FLAGS_init_test_value), 7);
  EXPECT_FALSE(testing::GTEST_FLAG(brief));
}

}  // namespace
