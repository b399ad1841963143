// The binary gtest_ext/flags_test.cc runs: Lockstep's flags, the native
// runner's included, with lockstep::InitGoogleTest (as lockstep_main), or,
// with FLAGS_TEST_BINARY_MAIN=own in the environment, as a main of the
// user's own that parses Abseil flags itself and leaves the rest to the
// first test. FlagsTestBinary.Prints prints the flags as a test sees them.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "gtest_ext/flags.h"
#include "gtest_ext/init.h"
#include "gtest_ext/lockstep_native_test.h"

namespace lockstep::gtest_internal {
namespace {

TEST(FlagsTestBinary, Prints) {
  // Already done by lockstep::InitGoogleTest; with the own main, this is
  // where a TEST_LOCKSTEP would do it.
  absl::Status status = ApplyEnvironment();
  if (status.ok()) status = ValidateFlags();
  std::printf("status: %s\n", status.ToString().c_str());
  for (const std::string& name : RegisteredFlags()) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    ASSERT_NE(flag, nullptr) << name;
    std::printf("flag: %s=%s\n", name.c_str(), flag->CurrentValue().c_str());
  }
}

// Links the native runner (and its flags) in a build of static libraries too.
TEST_LOCKSTEP_NATIVE(FlagsTestBinary, Native, .iterations = 1) {}

}  // namespace
}  // namespace lockstep::gtest_internal

int main(int argc, char** argv) {
  const char* main_kind = std::getenv("FLAGS_TEST_BINARY_MAIN");
  if (main_kind != nullptr && std::strcmp(main_kind, "own") == 0) {
    testing::InitGoogleTest(&argc, argv);
    absl::ParseCommandLine(argc, argv);
  } else {
    lockstep::InitGoogleTest(&argc, argv);
  }
  return RUN_ALL_TESTS();
}
