// Drop-in replacement for gtest_main that also parses Lockstep's flags.
#include "gtest/gtest.h"
#include "gtest_ext/init.h"

int main(int argc, char** argv) {
  lockstep::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
