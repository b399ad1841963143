// Proves the core library's dependencies link: Boost.Context, protobuf (the
// generated trace message) and Abseil. Replaced by real tests as they land.
#include <boost/context/fiber.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "lockstep/trace.pb.h"

namespace lockstep {
namespace {

TEST(WiringTest, BoostContextFiberSwitches) {
  namespace ctx = boost::context;
  int steps = 0;
  ctx::fiber f([&steps](ctx::fiber&& caller) {
    ++steps;
    caller = std::move(caller).resume();
    ++steps;
    return std::move(caller);
  });
  f = std::move(f).resume();
  EXPECT_EQ(steps, 1);
  f = std::move(f).resume();
  EXPECT_EQ(steps, 2);
  EXPECT_FALSE(f);
}

TEST(WiringTest, TraceMessageRoundTrips) {
  Trace trace;
  trace.set_format_version(1);
  trace.set_test_suite("Suite");
  trace.add_decisions()->set_value(3);
  std::string bytes;
  ASSERT_TRUE(trace.SerializeToString(&bytes));
  Trace parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(parsed.test_suite(), "Suite");
  EXPECT_EQ(parsed.decisions(0).value(), 3u);
}

TEST(WiringTest, AbslStatusOr) {
  absl::StatusOr<int> bad = absl::InvalidArgumentError("nope");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "nope");
}

}  // namespace
}  // namespace lockstep
