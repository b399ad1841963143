// Lockstep's flags as a user meets them: runs gtest_ext/flags_test_binary.cc
// as a subprocess and checks that every bad or empty --lockstep_* flag or
// LOCKSTEP_* variable, the native runner's included, stops the binary before
// any test runs, and that a flag given explicitly beats the environment.
//
// The binary is $LOCKSTEP_FLAGS_TEST_BINARY (CMake sets it), else
// gtest_ext/flags_test_binary under the current directory (Bazel runfiles).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "gtest_ext/run_command_for_test.h"

namespace {

namespace fs = std::filesystem;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;

const char* const kFlags[] = {
    "lockstep_seed",      "lockstep_iterations",        "lockstep_strategy",
    "lockstep_pct_depth", "lockstep_fair_prefix",       "lockstep_spurious_wakeups",
    "lockstep_max_steps", "lockstep_time_budget",       "lockstep_replay",
    "lockstep_shrink",    "lockstep_trace_dir",         "lockstep_native_mode",
    "lockstep_isolate",   "lockstep_resume_quantum_us", "lockstep_watchdog",
};

std::string Binary() {
  const char* binary = std::getenv("LOCKSTEP_FLAGS_TEST_BINARY");
  if (binary != nullptr && *binary != '\0') return binary;
  return fs::absolute("gtest_ext/flags_test_binary").string();
}

using Outcome = lockstep::testing_internal::CommandOutcome;

// Runs the binary with `args`, without any LOCKSTEP_* variable but those in
// `env` (assignments).
Outcome RunBinary(const std::string& args, const std::string& env = "") {
  std::string unset = "-u FLAGS_TEST_BINARY_MAIN ";
  for (const char* flag : kFlags) unset += "-u " + absl::AsciiStrToUpper(flag) + " ";
  return lockstep::testing_internal::RunCommand(Binary() + " " + args, unset + env);
}

constexpr char kPrint[] = "--gtest_filter=FlagsTestBinary.Prints ";

// The flags FlagsTestBinary.Prints printed: name -> value.
std::map<std::string, std::string> PrintedFlags(const std::string& output) {
  std::map<std::string, std::string> flags;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flag: ", 0) != 0) continue;
    const size_t eq = line.find('=');
    flags[line.substr(6, eq - 6)] = line.substr(eq + 1);
  }
  return flags;
}

// Expects the run to have stopped with status 1 and `message` before any
// test ran.
void ExpectStopped(const Outcome& outcome, const std::string& message) {
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  EXPECT_THAT(outcome.output, HasSubstr(message));
  EXPECT_THAT(outcome.output, Not(HasSubstr("[ RUN")));
}

TEST(FlagsTest, EveryFlagIsRegistered) {
  const Outcome outcome = RunBinary(kPrint);
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_THAT(outcome.output, HasSubstr("status: OK"));
  std::map<std::string, std::string> printed = PrintedFlags(outcome.output);
  std::vector<std::string> names;
  for (const auto& [name, value] : printed) names.push_back(name);
  EXPECT_THAT(names, IsSupersetOf(std::vector<std::string>(std::begin(kFlags), std::end(kFlags))));
}

TEST(FlagsTest, BadNativeFlagsStopTheBinaryBeforeAnyTest) {
  const struct {
    std::string args;
    std::string env;
    std::string expected;
  } cases[] = {
      {"--lockstep_native_mode=abc", "", "--lockstep_native_mode: unknown native mode"},
      {"--lockstep_resume_quantum_us=0", "", "--lockstep_resume_quantum_us: must be at least 1"},
      {"--lockstep_watchdog=0s", "", "--lockstep_watchdog: must be a finite duration"},
      {"--lockstep_watchdog=inf", "", "--lockstep_watchdog: must be a finite duration"},
      {"--lockstep_isolate=maybe", "", "lockstep_isolate"},
      {"", "LOCKSTEP_NATIVE_MODE=abc", "LOCKSTEP_NATIVE_MODE='abc' (--lockstep_native_mode): "},
      {"", "LOCKSTEP_WATCHDOG=0s", "LOCKSTEP_WATCHDOG='0s' (--lockstep_watchdog): must be"},
      {"", "LOCKSTEP_RESUME_QUANTUM_US=0",
       "LOCKSTEP_RESUME_QUANTUM_US='0' (--lockstep_resume_quantum_us): must be at least 1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args + c.env);
    ExpectStopped(RunBinary(c.args, c.env), c.expected);
    // Also when no native test is selected.
    ExpectStopped(RunBinary(kPrint + c.args, c.env), c.expected);
  }
}

TEST(FlagsTest, EmptyValuesAreErrorsForEveryFlag) {
  for (const char* flag : kFlags) {
    SCOPED_TRACE(flag);
    const std::string name = flag;
    // Abseil itself rejects an empty bool; everything else is Lockstep's.
    ExpectStopped(RunBinary("--" + name + "="), "lockstep_");
    EXPECT_THAT(RunBinary("--" + name + "=").output,
                AnyOf(HasSubstr("--" + name + ": empty value"),
                      HasSubstr("Illegal value '' specified for flag '" + name + "'")));
    const std::string variable = absl::AsciiStrToUpper(name);
    ExpectStopped(RunBinary("", variable + "="),
                  "environment variable " + variable + "='' (--" + name + "): empty value");
  }
  // The form with the value as the next argument.
  ExpectStopped(RunBinary("--lockstep_seed ''"), "--lockstep_seed: empty value");
  // An empty variable does not matter when the flag is given.
  const Outcome given = RunBinary(std::string(kPrint) + "--lockstep_seed=3", "LOCKSTEP_SEED=");
  EXPECT_EQ(given.exit_code, 0) << given.output;
  EXPECT_EQ(PrintedFlags(given.output)["lockstep_seed"], "3");
}

class FlagsTestPrecedence : public testing::TestWithParam<const char*> {
 protected:
  // The value of `flag` FlagsTestBinary.Prints sees, with the main under
  // test (GetParam()).
  std::string Seen(const std::string& flag, const std::string& args, const std::string& env) {
    const Outcome outcome =
        RunBinary(kPrint + args, std::string("FLAGS_TEST_BINARY_MAIN=") + GetParam() + " " + env);
    EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
    EXPECT_THAT(outcome.output, HasSubstr("status: OK"));
    std::map<std::string, std::string> printed = PrintedFlags(outcome.output);
    EXPECT_EQ(printed.count(flag), 1u) << outcome.output;
    return printed[flag];
  }
};

TEST_P(FlagsTestPrecedence, AGivenFlagBeatsTheEnvironmentEvenAtItsDefault) {
  EXPECT_EQ(Seen("lockstep_shrink", "", "LOCKSTEP_SHRINK=true"), "true");
  EXPECT_EQ(Seen("lockstep_shrink", "--lockstep_shrink=false", "LOCKSTEP_SHRINK=true"), "false");
  EXPECT_EQ(Seen("lockstep_shrink", "--nolockstep_shrink", "LOCKSTEP_SHRINK=true"), "false");
  EXPECT_EQ(Seen("lockstep_trace_dir", "--lockstep_trace_dir lockstep-traces",
                 "LOCKSTEP_TRACE_DIR=/elsewhere"),
            "lockstep-traces");
  EXPECT_EQ(Seen("lockstep_seed", "--lockstep_seed=4", "LOCKSTEP_SEED=9"), "4");
  EXPECT_EQ(Seen("lockstep_isolate", "--lockstep_isolate=true", "LOCKSTEP_ISOLATE=false"), "true");
  EXPECT_EQ(Seen("lockstep_isolate", "", "LOCKSTEP_ISOLATE=false"), "false");

  const fs::path flagfile = fs::path(testing::TempDir()) /
                            ("lockstep_flags_test_" + std::to_string(::getpid()) + ".flags");
  std::ofstream(flagfile) << "--lockstep_shrink=false\n";
  EXPECT_EQ(Seen("lockstep_shrink", "--flagfile=" + flagfile.string(), "LOCKSTEP_SHRINK=true"),
            "false");
  fs::remove(flagfile);
}

// lockstep_main's lockstep::InitGoogleTest, and a main of the user's own.
INSTANTIATE_TEST_SUITE_P(Mains, FlagsTestPrecedence, testing::Values("lockstep", "own"));

TEST(FlagsTest, OwnMainReportsEmptyAndBadFlagsInTheFirstTest) {
  Outcome outcome =
      RunBinary(std::string(kPrint) + "--lockstep_seed=", "FLAGS_TEST_BINARY_MAIN=own");
  EXPECT_THAT(outcome.output, HasSubstr("status: INVALID_ARGUMENT: --lockstep_seed: empty value"));
  outcome =
      RunBinary(std::string(kPrint) + "--lockstep_native_mode=abc", "FLAGS_TEST_BINARY_MAIN=own");
  EXPECT_THAT(outcome.output,
              HasSubstr("status: INVALID_ARGUMENT: --lockstep_native_mode: unknown native mode"));
}

}  // namespace
