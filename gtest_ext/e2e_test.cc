// End-to-end: runs real TEST_LOCKSTEP binaries (the examples) as
// subprocesses and checks what a user sees and gets: exit status, the
// report, the XML properties, the trace artifact, and that the printed
// commands reproduce the failure. Also the error paths: bad flags, bad
// environment, corrupt, truncated, tampered and foreign traces.
//
// The binaries are found in $LOCKSTEP_EXAMPLES_DIR (CMake sets it), else
// in examples/ under the current directory (Bazel runfiles).
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
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

// The buggy examples and the failure kind each must be reported with.
struct BuggyExample {
  const char* binary;
  const char* test;
  const char* kind;
};
const BuggyExample kBuggy[] = {
    {"cache_buggy_test", "BuggyCache.ComputesEachKeyOnce", "assertion"},
    {"bank_transfer_buggy_test", "BuggyBankTransfer.OppositeTransfersConserveMoney", "deadlock"},
    {"lazy_init_buggy_test", "BuggyLazyInit.EveryThreadSeesInitializedWidget", "assertion"},
    {"bounded_queue_buggy_test", "BuggyBoundedQueue.ProducersAndConsumersFinish", "deadlock"},
    {"request_reply_buggy_test", "BuggyRequestReply.AnswersMatchTheirRequests", "assertion"},
    {"thread_pool_buggy_test", "BuggyThreadPool.ShutdownRace", "deadlock"},
    {"thread_pool_buggy_test", "BuggyThreadPool.PromiseSetTwice", "exception"},
    {"thread_pool_buggy_test", "BuggyThreadPool.WaitWithoutRecheck", "assertion"},
    {"thread_pool_buggy_test", "BuggyThreadPool.LatchMisuse", "deadlock"},
};
const char* const kFixed[] = {"cache_test",         "bank_transfer_test", "lazy_init_test",
                              "bounded_queue_test", "request_reply_test", "thread_pool_test"};

std::string ExamplesDir() {
  const char* dir = std::getenv("LOCKSTEP_EXAMPLES_DIR");
  return dir != nullptr && *dir != '\0' ? dir : "examples";
}

std::string Binary(const std::string& name) {
  return fs::absolute(fs::path(ExamplesDir()) / name).string();
}

using Outcome = testing_internal::CommandOutcome;
using testing_internal::RunCommand;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The line after the one containing `heading`, trimmed.
std::string LineAfter(const std::string& text, const std::string& heading, int skip = 0) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(heading) == std::string::npos) continue;
    for (int i = 0; i <= skip && std::getline(in, line);) {
      if (line.find("unzip") != std::string::npos) continue;  // not a run command
      ++i;
    }
    const size_t start = line.find_first_not_of(' ');
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

// The "failure:" line of a report (kind, step, thread, location).
std::string FailureLine(const std::string& output) {
  const size_t at = output.find("  failure:");
  if (at == std::string::npos) return "";
  return output.substr(at, output.find('\n', at) - at);
}

class E2eTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) /
           ("lockstep_e2e_" + std::to_string(::getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<fs::path> Traces() const {
    std::vector<fs::path> traces;
    if (!fs::exists(dir_ / "traces")) return traces;
    for (const auto& entry : fs::directory_iterator(dir_ / "traces"))
      traces.push_back(entry.path());
    return traces;
  }

  // Runs a buggy example with its trace dir and XML report in dir_.
  Outcome RunBuggy(const BuggyExample& example) {
    return RunCommand(Binary(example.binary) + " --gtest_filter=" + example.test +
                      " --lockstep_trace_dir=" + (dir_ / "traces").string() +
                      " --gtest_output=xml:" + (dir_ / "report.xml").string());
  }

  fs::path dir_;
};

TEST_F(E2eTest, BuggyExamplesFailWithReportTraceAndXmlProperties) {
  for (const BuggyExample& example : kBuggy) {
    SCOPED_TRACE(example.binary);
    fs::remove_all(dir_ / "traces");
    Outcome outcome = RunBuggy(example);
    EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
    EXPECT_THAT(outcome.output, HasSubstr("lockstep found a failing schedule"));
    EXPECT_THAT(FailureLine(outcome.output), HasSubstr(std::string("failure:   ") + example.kind));
    EXPECT_THAT(outcome.output, HasSubstr("base seed 1, iteration "));
    EXPECT_THAT(outcome.output, HasSubstr("--gtest_filter=" + std::string(example.test)));

    const std::vector<fs::path> traces = Traces();
    ASSERT_EQ(traces.size(), 1u);
    EXPECT_THAT(traces[0].filename().string(),
                HasSubstr(std::string(example.test) + ".seed-1.iter-"));
    EXPECT_EQ(traces[0].extension(), ".lockstep");
    absl::StatusOr<Trace> trace = ReadTraceFile(traces[0].string());
    ASSERT_TRUE(trace.ok()) << trace.status();
    EXPECT_TRUE(trace->has_failure());
    EXPECT_EQ(trace->test_suite() + "." + trace->test_name(), example.test);
    EXPECT_THAT(outcome.output, HasSubstr("trace:     " + traces[0].string()));

    const std::string xml = ReadFile(dir_ / "report.xml");
    EXPECT_THAT(xml, HasSubstr("name=\"lockstep_trace\" value=\"" + traces[0].string() + "\""));
    EXPECT_THAT(xml, HasSubstr("name=\"lockstep_seed\" value=\"1\""));
    EXPECT_THAT(xml, HasSubstr("name=\"lockstep_iteration\" value=\"" +
                               std::to_string(trace->iteration()) + "\""));
    EXPECT_THAT(xml, HasSubstr("name=\"lockstep_strategy\" value=\"pct d=3\""));
  }
}

TEST_F(E2eTest, PrintedCommandsReproduceTheFailure) {
  for (const BuggyExample& example : kBuggy) {
    SCOPED_TRACE(example.binary);
    fs::remove_all(dir_ / "traces");
    Outcome first = RunBuggy(example);
    ASSERT_EQ(first.exit_code, 1) << first.output;

    const std::string flags_only = LineAfter(first.output, "run this schedule again");
    ASSERT_THAT(flags_only, HasSubstr("--lockstep_seed=1"));
    Outcome again = RunCommand(flags_only + " --lockstep_trace_dir=" + (dir_ / "again").string());
    EXPECT_EQ(again.exit_code, 1) << again.output;
    EXPECT_EQ(FailureLine(again.output), FailureLine(first.output));

    const std::string replay = LineAfter(first.output, "replay the trace file");
    ASSERT_THAT(replay, HasSubstr("--lockstep_replay="));
    Outcome replayed = RunCommand(replay);
    EXPECT_EQ(replayed.exit_code, 1) << replayed.output;
    EXPECT_THAT(replayed.output, HasSubstr("reproduced: "));
    EXPECT_THAT(replayed.output, HasSubstr("Running 1 test"));  // only the trace's test
  }
}

TEST_F(E2eTest, ShrinkWritesAShrunkTraceThatReproduces) {
  // The cache race needs one preemption: between one thread's miss and its
  // insert, the other thread misses too.
  const BuggyExample& example = kBuggy[0];
  Outcome outcome = RunCommand(Binary(example.binary) + " --lockstep_shrink --lockstep_trace_dir=" +
                               (dir_ / "traces").string());
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  EXPECT_THAT(outcome.output, HasSubstr(" -> 1 preemptions, "));
  std::vector<fs::path> shrunk;
  for (const fs::path& trace : Traces()) {
    if (trace.string().find(".shrunk.lockstep") != std::string::npos) shrunk.push_back(trace);
  }
  ASSERT_EQ(shrunk.size(), 1u);
  absl::StatusOr<Trace> trace = ReadTraceFile(shrunk[0].string());
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->shrink().preemptions_after(), 1u);
  Outcome replayed =
      RunCommand(Binary(example.binary) + " --lockstep_replay=" + shrunk[0].string());
  EXPECT_EQ(replayed.exit_code, 1) << replayed.output;
  EXPECT_THAT(replayed.output, HasSubstr("reproduced: "));
}

TEST_F(E2eTest, TamperedTraceReportsDivergence) {
  const BuggyExample& example = kBuggy[0];
  ASSERT_EQ(RunBuggy(example).exit_code, 1);
  const fs::path original = Traces().at(0);
  absl::StatusOr<Trace> trace = ReadTraceFile(original.string());
  ASSERT_TRUE(trace.ok()) << trace.status();
  // Redirect the first real choice to another enabled thread.
  bool changed = false;
  for (Decision& decision : *trace->mutable_decisions()) {
    if (decision.kind() == Decision::SCHEDULE && decision.options() > 1) {
      decision.set_options(decision.options() + 1);
      changed = true;
      break;
    }
  }
  ASSERT_TRUE(changed);
  const fs::path tampered = dir_ / "tampered.lockstep";
  ASSERT_TRUE(WriteTraceFile(*trace, tampered.string()).ok());
  Outcome outcome = RunCommand(Binary(example.binary) + " --lockstep_replay=" + tampered.string());
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  EXPECT_THAT(outcome.output, HasSubstr("diverged: replay diverged at step"));
}

TEST_F(E2eTest, BrokenTraceFilesGetClearErrors) {
  const BuggyExample& example = kBuggy[0];
  ASSERT_EQ(RunBuggy(example).exit_code, 1);
  const std::string bytes = ReadFile(Traces().at(0));
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name, std::ios::binary) << content;
    return (dir_ / name).string();
  };
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x5A;
  const struct {
    std::string path;
    std::string expected;
  } cases[] = {
      {write("truncated.lockstep", bytes.substr(0, bytes.size() / 2)), "truncated"},
      {write("corrupt.lockstep", flipped), "corrupt"},
      {write("empty.lockstep", ""), "empty"},
      {(dir_ / "missing.lockstep").string(), "missing.lockstep"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    Outcome outcome = RunCommand(Binary(example.binary) + " --lockstep_replay=" + c.path);
    EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
    EXPECT_THAT(outcome.output, HasSubstr("lockstep: --lockstep_replay: " + c.path));
    EXPECT_THAT(outcome.output, HasSubstr(c.expected));
    EXPECT_THAT(outcome.output, Not(HasSubstr("[ RUN")));  // stopped before any test
  }
}

TEST_F(E2eTest, ForeignTraceAndExcludingFilterAreRefused) {
  const BuggyExample& example = kBuggy[0];
  ASSERT_EQ(RunBuggy(example).exit_code, 1);
  absl::StatusOr<Trace> trace = ReadTraceFile(Traces().at(0).string());
  ASSERT_TRUE(trace.ok());
  trace->set_test_name("SomeOtherTest");
  const fs::path foreign = dir_ / "foreign.lockstep";
  ASSERT_TRUE(WriteTraceFile(*trace, foreign.string()).ok());
  Outcome outcome = RunCommand(Binary(example.binary) + " --lockstep_replay=" + foreign.string());
  EXPECT_EQ(outcome.exit_code, 1);
  EXPECT_THAT(outcome.output, HasSubstr("does not contain"));

  Outcome filtered = RunCommand(Binary(example.binary) + " --gtest_filter=Nothing.Here" +
                                " --lockstep_replay=" + Traces().at(0).string());
  EXPECT_EQ(filtered.exit_code, 1);
  EXPECT_THAT(filtered.output, HasSubstr("--gtest_filter=Nothing.Here excludes it"));
}

TEST_F(E2eTest, BadFlagsAndEnvironmentStopTheBinaryBeforeAnyTest) {
  const std::string binary = Binary(kFixed[0]);
  const struct {
    std::string args;
    std::string env;
    std::string expected;
  } cases[] = {
      {"--lockstep_strategy=bogus", "", "random, pct, fair_pct, pos, idpct"},
      {"--lockstep_iterations=many", "", "lockstep_iterations"},
      {"--lockstep_iterations=0", "", "--lockstep_iterations: must be at least 1, got 0"},
      {"--lockstep_pct_depth=0", "", "--lockstep_pct_depth: must be at least 1, got 0"},
      {"--lockstep_time_budget=-3s", "", "--lockstep_time_budget: must be a positive"},
      {"", "LOCKSTEP_STRATEGY=nope",
       "LOCKSTEP_STRATEGY='nope' (--lockstep_strategy): unknown lockstep strategy"},
      {"", "LOCKSTEP_ITERATIONS=0", "LOCKSTEP_ITERATIONS='0' (--lockstep_iterations): must be"},
      {"", "LOCKSTEP_SEED=x", "LOCKSTEP_SEED='x'"},
      {"--lockstep_fair_prefix=0", "", "--lockstep_fair_prefix: must be at least 1, got 0"},
      {"--lockstep_spurious_wakeups=maybe", "", "lockstep_spurious_wakeups"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args + c.env);
    Outcome outcome = RunCommand(binary + " " + c.args, c.env);
    EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
    EXPECT_THAT(outcome.output, HasSubstr(c.expected));
    EXPECT_THAT(outcome.output, Not(HasSubstr("[ RUN")));
  }
}

TEST_F(E2eTest, EnvironmentAndFlagsConfigureTheRun) {
  const std::string binary = Binary(kFixed[0]);
  Outcome from_env =
      RunCommand(binary, "LOCKSTEP_ITERATIONS=7 LOCKSTEP_STRATEGY=random LOCKSTEP_SEED=9");
  EXPECT_EQ(from_env.exit_code, 0) << from_env.output;
  EXPECT_THAT(from_env.output, HasSubstr("lockstep: sampled 7 schedules (random, seed 9)"));
  // The flag wins over the environment.
  Outcome flag_wins = RunCommand(binary + " --lockstep_iterations=5", "LOCKSTEP_ITERATIONS=7");
  EXPECT_THAT(flag_wins.output, HasSubstr("lockstep: sampled 5 schedules"));
}

TEST_F(E2eTest, FixedExamplesPassEveryIterationAndLeaveNoTrace) {
  for (const char* fixed : kFixed) {
    SCOPED_TRACE(fixed);
    Outcome outcome =
        RunCommand(Binary(fixed) + " --lockstep_trace_dir=" + (dir_ / "traces").string());
    EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
    EXPECT_THAT(outcome.output, HasSubstr(", 0 failures, "));
    EXPECT_TRUE(Traces().empty());
  }
}

TEST_F(E2eTest, UnderBazelTestTheTraceGoesToUndeclaredOutputs) {
  const BuggyExample& example = kBuggy[0];
  const fs::path outputs = dir_ / "outputs";
  fs::create_directories(outputs);
  Outcome outcome =
      RunCommand(Binary(example.binary), "TEST_UNDECLARED_OUTPUTS_DIR=" + outputs.string() +
                                             " TEST_TARGET=//examples:" + example.binary);
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(outputs)) {
    EXPECT_EQ(entry.path().extension(), ".lockstep");
    ++files;
  }
  EXPECT_EQ(files, 1);
  EXPECT_THAT(outcome.output, HasSubstr("in bazel-testlogs/examples/" +
                                        std::string(example.binary) + "/test.outputs/outputs.zip"));
  EXPECT_THAT(outcome.output, HasSubstr("bazel test //examples:" + std::string(example.binary) +
                                        " --test_filter=" + example.test));
}

}  // namespace
}  // namespace lockstep
