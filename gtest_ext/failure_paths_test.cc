// A found bug is always reported: runs the bodies of failure_bodies_test.cc
// (crashes, exits, hangs, deadlocks with objects on the body's stack, a
// livelock detected inside a destructor, misuse from a std::thread, non-UTF-8
// text) as a user would, and checks for each: exit status 1, the report
// naming what happened, the next test still running, a trace file that
// reads back, a replay command that reproduces the failure, and no process
// left behind.
//
// The same for the TEST_LOCKSTEP_NATIVE bodies of
// native_failure_bodies_test.cc. The binaries are found in
// $LOCKSTEP_FAILURE_BODIES_DIR (CMake sets it), else in gtest_ext/ under the
// current directory (Bazel runfiles).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "gtest_ext/run_command_for_test.h"
#include "lockstep/trace_io.h"

namespace lockstep {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Binary(const std::string& name) {
  const char* dir = std::getenv("LOCKSTEP_FAILURE_BODIES_DIR");
  return fs::absolute(fs::path(dir != nullptr && *dir != '\0' ? dir : "gtest_ext") / name).string();
}

using Outcome = testing_internal::CommandOutcome;

// Every run of a bodies binary carries this in its environment (inherited by
// whatever it forks), so the processes it left behind can be told from
// those of concurrent runs.
std::string Marker() {
  static const std::string marker = "LOCKSTEP_FAILURE_PATHS_RUN=" + std::to_string(getpid());
  return marker;
}

Outcome RunBodies(const std::string& binary, const std::string& args) {
  return testing_internal::RunCommand(Binary(binary) + " " + args, Marker());
}

// Processes still alive (not zombies) that carry this test's marker.
int Survivors() {
  int count = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream environ(entry.path() / "environ", std::ios::binary);
    const std::string variables((std::istreambuf_iterator<char>(environ)), {});
    if (variables.find(Marker() + '\0') == std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const size_t paren = line.rfind(')');
    if (paren != std::string::npos && line.compare(paren + 2, 1, "Z") == 0) continue;
    ++count;
  }
  return count;
}

struct Row {
  const char* binary;
  const char* test;  // in suite Bodies
  const char* kind;  // as the report names it
  const char* says;  // a phrase the failure message must contain
};

const Row kRows[] = {
    {"failure_bodies_test", "PoolDeadlock", "deadlock", "condvar 'done'"},
    {"failure_bodies_test", "StepLimitInADestructor", "step limit", "max_steps=6"},
    {"failure_bodies_test", "InfiniteLoop", "timeout", "watchdog"},
    {"failure_bodies_test", "StackOverflow", "crash", "stack overflow"},
    {"failure_bodies_test", "Abort", "crash", "SIGABRT"},
    {"failure_bodies_test", "ThrowFromADestructor", "crash", "terminate called after throwing"},
    {"failure_bodies_test", "ExitZero", "exit", "exit(0)"},
    {"failure_bodies_test", "StdThreadUsesAPrimitive", "misuse", "not a logical thread"},
    {"failure_bodies_test", "NonUtf8Exception", "exception", "bad bytes: \\xff\\xfe end"},
    {"failure_bodies_test", "NotLinearizableQueue", "not linearizable", "the model returns"},
    {"failure_bodies_test", "DporLostUpdate", "assertion", "lost update"},
    {"native_failure_bodies_test", "NotLinearizableQueue", "not linearizable", "the model returns"},
    {"native_failure_bodies_test", "DfsLostUpdate", "assertion", "lost update"},
    {"native_failure_bodies_test", "CrashBeforeFirstCall", "crash", "SIGSEGV"},
    {"native_failure_bodies_test", "Spin", "timeout", "watchdog"},
    {"native_failure_bodies_test", "ForkInTheBody", "assertion", "lost update"},
    {"native_failure_bodies_test", "Abort", "crash", "SIGABRT"},
};

class FailurePathsTest : public testing::TestWithParam<Row> {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) /
           ("failure_paths_" + std::string(GetParam().binary) + "_" + GetParam().test);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<fs::path> Traces() const {
    std::vector<fs::path> traces;
    for (const auto& entry : fs::directory_iterator(dir_)) traces.push_back(entry.path());
    return traces;
  }

  fs::path dir_;
};

TEST_P(FailurePathsTest, ReportTraceAndReplay) {
  const Row& row = GetParam();
  const std::string test = std::string("Bodies.") + row.test;
  // The failing test, then one that passes: the binary must go on to it.
  Outcome first = RunBodies(row.binary, "--gtest_filter=" + test +
                                            ":Bodies.Passes --lockstep_trace_dir=" + dir_.string());
  EXPECT_EQ(first.exit_code, 1) << first.output;
  EXPECT_THAT(first.output, HasSubstr("lockstep found a failing schedule"));
  EXPECT_THAT(first.output, HasSubstr("  failure:   " + std::string(row.kind) + " at step"));
  EXPECT_THAT(first.output, HasSubstr(row.says));
  EXPECT_THAT(first.output, HasSubstr("[  FAILED  ] " + test));
  // The binary itself survived: it went on to the next test.
  EXPECT_THAT(first.output, HasSubstr("[       OK ] Bodies.Passes"));
  EXPECT_EQ(Survivors(), 0);

  const std::vector<fs::path> traces = Traces();
  ASSERT_EQ(traces.size(), 1u) << first.output;
  absl::StatusOr<Trace> trace = ReadTraceFile(traces[0].string());
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(std::string(FailureKindName(trace->failure().kind())), row.kind);
  // Events come from the recording re-execution; when that did not end the
  // same way (a native run under a slow sanitizer), the note says so and the
  // trace keeps the failing run's own decisions.
  if (trace->failure().note().empty()) {
    EXPECT_GT(trace->events_size(), 0);
  }

  Outcome replayed = RunBodies(row.binary, "--lockstep_replay=" + traces[0].string());
  EXPECT_EQ(replayed.exit_code, 1) << replayed.output;
  EXPECT_THAT(replayed.output, HasSubstr("reproduced: "));
  EXPECT_THAT(replayed.output, HasSubstr(row.kind));
  EXPECT_EQ(Survivors(), 0);
}

INSTANTIATE_TEST_SUITE_P(Rows, FailurePathsTest, testing::ValuesIn(kRows),
                         [](const testing::TestParamInfo<Row>& info) {
                           const bool native =
                               std::string(info.param.binary).rfind("native", 0) == 0;
                           return (native ? std::string("Native") : std::string()) +
                                  info.param.test;
                         });

// A trace relabelled as another test of the binary replays into a body that
// does something else: reported, never a crash or std::terminate.
TEST(FailurePathsRelabelledTest, ReplayIntoAnotherTestIsReported) {
  const fs::path dir = fs::path(testing::TempDir()) / "failure_paths_relabelled";
  fs::remove_all(dir);
  fs::create_directories(dir);
  Outcome first =
      RunBodies("failure_bodies_test",
                "--gtest_filter=Bodies.PoolDeadlock --lockstep_trace_dir=" + dir.string());
  ASSERT_EQ(first.exit_code, 1) << first.output;
  fs::path original;
  for (const auto& entry : fs::directory_iterator(dir)) original = entry.path();
  absl::StatusOr<Trace> trace = ReadTraceFile(original.string());
  ASSERT_TRUE(trace.ok()) << trace.status();
  trace->set_test_name("StepLimitInADestructor");
  const std::string relabelled = (dir / "relabelled.lockstep").string();
  ASSERT_TRUE(WriteTraceFile(*trace, relabelled).ok());
  Outcome replayed = RunBodies("failure_bodies_test", "--lockstep_replay=" + relabelled);
  EXPECT_EQ(replayed.exit_code, 1) << replayed.output;
  EXPECT_THAT(replayed.output, HasSubstr("Bodies.StepLimitInADestructor"));
  EXPECT_THAT(replayed.output, Not(HasSubstr("terminate called")));
  EXPECT_EQ(Survivors(), 0);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lockstep
