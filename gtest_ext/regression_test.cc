// Regression traces end to end, as a user meets them: runs
// regression_bodies_test.cc with its bug in (REGRESSION_BODIES_BUG=1) to
// record a failing trace, then runs it again with that trace in
// --lockstep_regression_traces and checks that
//   * while the bug is in, the trace fails the test before any exploration
//     (one iteration, which misses the bug, would pass), naming the trace;
//   * once the bug is fixed, the trace replays, passes, and is reported so;
//   * a test the trace was not recorded for skips it;
//   * a missing or broken trace file stops the binary before any test, with
//     an error naming the flag and the file.
// The binary is found in $LOCKSTEP_REGRESSION_BODIES_DIR (CMake sets it),
// else in gtest_ext/ under the current directory (Bazel runfiles).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "gtest_ext/run_command_for_test.h"
#include "lockstep/trace_io.h"

namespace lockstep {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using Outcome = testing_internal::CommandOutcome;

constexpr char kBug[] = "REGRESSION_BODIES_BUG=1";
constexpr char kFixed[] = "-u REGRESSION_BODIES_BUG";
constexpr char kFlag[] = "--lockstep_regression_traces";

std::string Binary() {
  const char* dir = std::getenv("LOCKSTEP_REGRESSION_BODIES_DIR");
  return fs::absolute(fs::path(dir != nullptr && *dir != '\0' ? dir : "gtest_ext") /
                      "regression_bodies_test")
      .string();
}

// Runs the bodies binary with `args` and environment words `env` (kBug or
// kFixed first), in directory `cwd` if given.
Outcome RunBodies(const std::string& env, const std::string& args, const fs::path& cwd = {}) {
  // env(1) takes its options before the variables.
  const std::string chdir = cwd.empty() ? "" : "-C '" + cwd.string() + "' ";
  return testing_internal::RunCommand(Binary() + " " + args, chdir + env);
}

std::vector<fs::path> FilesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::exists(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  return files;
}

class RegressionTest : public testing::Test {
 protected:
  // Records the trace every test replays, once: the buggy Regression.Publish,
  // explored as usual, fails and saves it.
  static void SetUpTestSuite() {
    // Outside Bazel TempDir() is /tmp/, shared: one directory per process.
    root_ = new fs::path(fs::path(testing::TempDir()) /
                         ("regression_test." + std::to_string(getpid())));
    fs::remove_all(*root_);
    fs::create_directories(*root_ / "recorded");
    recording_ = new Outcome(RunBodies(
        kBug, "--gtest_filter=Regression.Publish --lockstep_trace_dir=" + Dir("recorded")));
    const std::vector<fs::path> traces = FilesIn(*root_ / "recorded");
    trace_ = new std::string(traces.size() == 1 ? traces[0].string() : "");
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
    delete recording_;
    delete trace_;
  }

  void SetUp() override {
    ASSERT_FALSE(trace_->empty()) << "the buggy body saved no single trace:\n"
                                  << recording_->output;
  }

  // A fresh directory under the suite's, for traces a run saves.
  static std::string Dir(const std::string& name) {
    fs::create_directories(*root_ / name);
    return (*root_ / name).string();
  }

  static fs::path* root_;
  static Outcome* recording_;
  static std::string* trace_;  // path of the recorded trace, or empty
};

fs::path* RegressionTest::root_ = nullptr;
Outcome* RegressionTest::recording_ = nullptr;
std::string* RegressionTest::trace_ = nullptr;

// (a) The bug is real, found by exploring past iteration 0, and saved.
TEST_F(RegressionTest, BuggyBodyFailsLaterThanIterationZeroAndSavesATrace) {
  EXPECT_EQ(recording_->exit_code, 1) << recording_->output;
  EXPECT_THAT(recording_->output, HasSubstr("the reader saw ready before the data"));
  absl::StatusOr<Trace> trace = ReadTraceFile(*trace_);
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->test_suite(), "Regression");
  EXPECT_EQ(trace->test_name(), "Publish");
  EXPECT_GT(trace->iteration(), 0u);

  // So one iteration passes: a failure of a one-iteration run below comes
  // from the regression trace, not from exploring.
  Outcome one = RunBodies(kBug,
                          "--gtest_filter=Regression.Publish --lockstep_iterations=1 "
                          "--lockstep_trace_dir=" +
                              Dir("one"));
  EXPECT_EQ(one.exit_code, 0) << one.output;
  EXPECT_THAT(FilesIn(Dir("one")), testing::IsEmpty());
}

// (b) While the bug is in, the trace fails its test, before exploring.
TEST_F(RegressionTest, TraceThatReproducesFailsTheTestBeforeExploring) {
  Outcome run = RunBodies(kBug, "--gtest_filter=Regression.Publish --lockstep_iterations=1 " +
                                    std::string(kFlag) + "=" + *trace_ +
                                    " --lockstep_trace_dir=" + Dir("reproduced"));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  // The failure headline names the kind ("assertion at step ...").
  EXPECT_THAT(run.output,
              AllOf(HasSubstr("lockstep: regression trace " + *trace_ + " reproduced:"),
                    HasSubstr("assertion"), HasSubstr("[  FAILED  ] Regression.Publish"),
                    Not(HasSubstr("passes (the bug it recorded is fixed)"))));
  // The test stopped at the trace: no exploration, whose one iteration would
  // pass with a summary line ("lockstep: 1 schedules (...), 0 failures").
  EXPECT_THAT(run.output, Not(HasSubstr(" schedules (")));
}

// (c) Once the bug is fixed, the same trace replays and passes; a relative
// path is taken from the working directory.
TEST_F(RegressionTest, TraceOfAFixedBugPassesAndExplorationGoesOn) {
  const fs::path trace(*trace_);
  const std::string relative = trace.filename().string();
  Outcome run = RunBodies(kFixed,
                          "--gtest_filter=Regression.Publish " + std::string(kFlag) + "=" +
                              relative + " --lockstep_trace_dir=" + Dir("fixed"),
                          trace.parent_path());
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output,
              AllOf(HasSubstr("lockstep: regression trace " + relative +
                              ": passes (the bug it recorded is fixed)"),
                    Not(HasSubstr("reproduced")), HasSubstr("[       OK ] Regression.Publish")));
}

// (d) A test the trace was not recorded for skips it, though the trace would
// reproduce its bug too (it has the same body).
TEST_F(RegressionTest, TraceOfAnotherTestIsSkipped) {
  Outcome run = RunBodies(kBug, "--gtest_filter=Regression.PublishCopy --lockstep_iterations=1 " +
                                    std::string(kFlag) + "=" + *trace_ +
                                    " --lockstep_trace_dir=" + Dir("other"));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, AllOf(Not(HasSubstr("regression trace")),
                                HasSubstr("[       OK ] Regression.PublishCopy")));
}

// (e) A file that cannot be used stops the binary before any test runs, and
// says which flag (or variable) named which file.
TEST_F(RegressionTest, MissingOrBrokenTraceIsAnErrorBeforeAnyTest) {
  const std::string missing = (*root_ / "missing.lockstep").string();
  Outcome run = RunBodies(kFixed, std::string(kFlag) + "=" + *trace_ + "," + missing);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, AllOf(HasSubstr(std::string(kFlag) + ": " + missing),
                                HasSubstr("No such file"), Not(HasSubstr("[ RUN      ]"))));

  const std::string broken = (*root_ / "broken.lockstep").string();
  std::ofstream(broken) << "not a trace";
  run = RunBodies(kFixed, std::string(kFlag) + "=" + broken);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output,
              AllOf(HasSubstr(std::string(kFlag) + ": " + broken), Not(HasSubstr("[ RUN      ]"))));

  // From the environment: the error names the variable too.
  run = RunBodies(std::string(kFixed) + " LOCKSTEP_REGRESSION_TRACES=" + missing, "");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, AllOf(HasSubstr("LOCKSTEP_REGRESSION_TRACES='" + missing + "' (" +
                                          std::string(kFlag) + "): " + missing),
                                Not(HasSubstr("[ RUN      ]"))));

  run = RunBodies(kFixed, std::string(kFlag) + "=" + *trace_ + ",," + *trace_);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, AllOf(HasSubstr(std::string(kFlag) + ": empty path"),
                                Not(HasSubstr("[ RUN      ]"))));
}

}  // namespace
}  // namespace lockstep
