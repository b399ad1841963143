// Proves an examples/ test links against lockstep_main. The real bug-pattern
// examples replace it once TEST_LOCKSTEP exists.
#include <thread>

#include "gtest/gtest.h"

namespace {

TEST(ExamplesWiringTest, ThreadsRun) {
  int value = 0;
  std::thread t([&value] { value = 1; });
  t.join();
  EXPECT_EQ(value, 1);
}

}  // namespace
