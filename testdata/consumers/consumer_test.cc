// Built by a downstream project (Bazel or CMake) against Lockstep's public
// targets: the headers resolve as "lockstep/..." and "gtest_ext/...".
#include "gtest/gtest.h"
#include "gtest_ext/init.h"
#include "lockstep/trace.pb.h"

TEST(ConsumerTest, PublicTargetsLink) {
  lockstep::Trace trace;
  trace.set_test_name("ConsumerTest");
  EXPECT_EQ(trace.test_name(), "ConsumerTest");
}
