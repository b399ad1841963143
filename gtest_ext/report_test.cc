#include "gtest_ext/report.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "gtest_ext/init.h"

namespace lockstep::gtest_internal {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(FilterSelectsTest, FollowsGoogleTestFilterSyntax) {
  EXPECT_TRUE(FilterSelects("*", "A.B"));
  EXPECT_TRUE(FilterSelects("A.*", "A.B"));
  EXPECT_FALSE(FilterSelects("B.*", "A.B"));
  EXPECT_TRUE(FilterSelects("X.Y:A.?", "A.B"));
  EXPECT_FALSE(FilterSelects("*-A.B", "A.B"));
  EXPECT_TRUE(FilterSelects("*-A.C", "A.B"));
  EXPECT_TRUE(FilterSelects("-A.C", "A.B"));
  EXPECT_FALSE(FilterSelects("A.*-*.B:X.Y", "A.B"));
}

TEST(StrategyLabelTest, NamesParameters) {
  StrategyConfig config;
  config.set_name("pct");
  config.set_pct_depth(3);
  EXPECT_EQ(StrategyLabel(config), "pct d=3");
  config.set_name("fair_pct");
  config.set_fair_prefix(50);
  EXPECT_EQ(StrategyLabel(config), "fair_pct d=3 prefix=50");
  config.set_name("idpct");
  config.set_pct_depth(2);
  config.set_max_pct_depth(4);
  EXPECT_EQ(StrategyLabel(config), "idpct d=2 of 1..4");
  config.set_name("pos");
  EXPECT_EQ(StrategyLabel(config), "pos");
}

RunResult FailedResult() {
  RunResult result;
  result.iterations = 18;
  result.distinct_schedules = 12;
  Trace& trace = result.trace.emplace();
  trace.mutable_strategy()->set_name("pct");
  trace.mutable_strategy()->set_pct_depth(3);
  trace.mutable_strategy()->set_pct_step_estimate(57);
  trace.set_iteration(17);
  trace.set_iteration_seed(0xabc);
  ThreadInfo* thread = trace.add_threads();
  thread->set_id(0);
  thread->set_name("main");
  Failure* failure = trace.mutable_failure();
  failure->set_kind(Failure::DEADLOCK);
  failure->set_message("deadlock: no thread can run; blocked:\n  thread 0 'main': join");
  failure->set_step(23);
  failure->mutable_location()->set_file("bank.cc");
  failure->mutable_location()->set_line(41);
  return result;
}

Options TestOptions() {
  Options options;
  options.seed = 5;
  options.test_suite = "Bank";
  options.test_name = "Transfer";
  return options;
}

TEST(FailureReportTest, NamesEverythingAndPrintsBothCommandForms) {
  CommandContext context{.binary = "/path/to/bank test", .bazel_target = "//bank:test"};
  const std::string report =
      FailureReport(TestOptions(), FailedResult(), "/traces/t.lockstep", absl::OkStatus(), context);
  EXPECT_THAT(report,
              HasSubstr("failure:   deadlock at step 23 in thread 0 'main', at bank.cc:41"));
  EXPECT_THAT(report, HasSubstr("\n               thread 0 'main': join"));
  EXPECT_THAT(report, HasSubstr("strategy:  pct d=3"));
  EXPECT_THAT(report, HasSubstr("base seed 5, iteration 17 (iteration seed 0x0000000000000abc)"));
  EXPECT_THAT(report, HasSubstr("18 schedules (12 distinct)"));
  EXPECT_THAT(report, HasSubstr("trace:     /traces/t.lockstep"));
  // One iteration, alone: its index and the PCT step estimate it ran with.
  EXPECT_THAT(report, HasSubstr("'/path/to/bank test' --gtest_filter=Bank.Transfer "
                                "--lockstep_seed=5 --lockstep_iteration=17 "
                                "--lockstep_strategy=pct --lockstep_pct_depth=3 "
                                "--lockstep_pct_steps=57"));
  EXPECT_THAT(report, HasSubstr("bazel test //bank:test --test_filter=Bank.Transfer "
                                "--test_sharding_strategy=disabled "
                                "--test_arg=--lockstep_seed=5 --test_arg=--lockstep_iteration=17"));
  EXPECT_THAT(report, HasSubstr("'/path/to/bank test' --lockstep_replay=/traces/t.lockstep"));
  EXPECT_THAT(report,
              HasSubstr("bazel test //bank:test --test_arg=--lockstep_replay=/traces/t.lockstep"));
  EXPECT_THAT(report, Not(HasSubstr("unzip")));
}

TEST(FailureReportTest, PrintsTheFailuresNoteWhenThereIsOne) {
  CommandContext context{.binary = "t"};
  RunResult result = FailedResult();
  EXPECT_THAT(FailureReport(TestOptions(), result, "/t.lockstep", absl::OkStatus(), context),
              Not(HasSubstr("note:")));
  result.trace->mutable_failure()->set_note("re-execution diverged at step 3: it passed");
  EXPECT_THAT(FailureReport(TestOptions(), result, "/t.lockstep", absl::OkStatus(), context),
              HasSubstr("\n  note:      re-execution diverged at step 3: it passed\n"));
}

TEST(FailureReportTest, UnderBazelTestPointsIntoOutputsZip) {
  CommandContext context{
      .binary = "bazel-bin/bank/test", .bazel_target = "//bank:test", .under_bazel_test = true};
  const std::string report = FailureReport(TestOptions(), FailedResult(), "/sandbox/x/t.lockstep",
                                           absl::OkStatus(), context);
  EXPECT_THAT(
      report,
      HasSubstr("trace:     t.lockstep in bazel-testlogs/bank/test/test.outputs/outputs.zip"));
  EXPECT_THAT(report, HasSubstr("unzip -o bazel-testlogs/bank/test/test.outputs/outputs.zip "
                                "t.lockstep -d /tmp/lockstep-traces"));
  EXPECT_THAT(report, HasSubstr("--lockstep_replay=/tmp/lockstep-traces/t.lockstep"));
  EXPECT_THAT(report, Not(HasSubstr("/sandbox/")));
}

TEST(FailureReportTest, UnwrittenTraceIsSaidAndNoReplayCommandOffered) {
  CommandContext context{.binary = "t"};
  const std::string report =
      FailureReport(TestOptions(), FailedResult(), "/ro/t.lockstep",
                    absl::PermissionDeniedError("/ro/t.lockstep: Permission denied"), context);
  EXPECT_THAT(report, HasSubstr("trace:     NOT WRITTEN: /ro/t.lockstep: Permission denied"));
  EXPECT_THAT(report, Not(HasSubstr("--lockstep_replay")));
  // Not run by Bazel (no TEST_TARGET): no Bazel command.
  EXPECT_THAT(report, Not(HasSubstr("bazel")));
}

TEST(SummaryLineTest, Format) {
  RunResult result;
  result.iterations = 1000;
  result.distinct_schedules = 987;
  result.conflict_pairs = 31;
  result.elapsed = std::chrono::milliseconds(410);
  Options options;
  options.seed = 42;
  EXPECT_EQ(SummaryLine(options, result),
            "lockstep: sampled 1000 schedules (pct d=3, seed 42), 987 distinct, 31 conflict "
            "pairs, 0 failures, 0.41 s");
  options.shard = {.index = 1, .count = 4};
  EXPECT_THAT(SummaryLine(options, result), testing::EndsWith("0.41 s (shard 2 of 4)"));
}

TEST(SummaryLineTest, AnExhaustiveSearchThatSawEverySchedulePassIsVerified) {
  RunResult result;
  result.iterations = 23;
  result.redundant_iterations = 3;
  result.conflict_pairs = 4;
  result.exhausted = true;
  result.elapsed = std::chrono::milliseconds(10);
  Options options;
  options.strategy = StrategyKind::kDpor;
  EXPECT_EQ(SummaryLine(options, result),
            "lockstep: verified: all 20 schedules pass (dpor), 4 conflict pairs, 0.01 s; 3 more "
            "executions were cut short as redundant");
  options.strategy = StrategyKind::kDfs;
  options.preemption_bound = 2;
  result.redundant_iterations = 0;
  EXPECT_EQ(SummaryLine(options, result),
            "lockstep: verified: all 23 schedules (up to 2 preemptions) pass (dfs, up to 2 "
            "preemptions), 4 conflict pairs, 0.01 s");
  // Stopped by the cap: sampled, and said so.
  result.exhausted = false;
  EXPECT_THAT(SummaryLine(options, result),
              testing::AllOf(testing::StartsWith("lockstep: sampled 23 schedules (dfs"),
                             testing::HasSubstr("not verified")));
}

}  // namespace
}  // namespace lockstep::gtest_internal
