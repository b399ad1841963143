// What TEST_LOCKSTEP prints: the summary of a passing test, the report of a
// failing one (with the commands that reproduce it), and replay verdicts.
// Pure formatting, separate from running so it can be tested directly.
#ifndef GTEST_EXT_REPORT_H_
#define GTEST_EXT_REPORT_H_

#include <string>

#include "absl/status/status.h"
#include "lockstep/options.h"
#include "lockstep/run.h"
#include "lockstep/trace.pb.h"

namespace lockstep::gtest_internal {

// How the test binary was started, for the printed commands.
struct CommandContext {
  std::string binary{};        // the test binary, as the user can run it
  std::string bazel_target{};  // e.g. //examples:bank_test; empty if unknown
  bool under_bazel_test = false;

  // From argv[0] and Bazel's test environment (TEST_TARGET,
  // TEST_UNDECLARED_OUTPUTS_DIR).
  static CommandContext FromEnvironment();
};

// "deadlock at step 23 in thread 0 'main', at file.cc:41"
std::string FailureHeadline(const Trace& trace);

// "pct d=3", "fair_pct d=3 prefix=1000", "idpct d=2 of 1..3", "pos", ...
std::string StrategyLabel(const StrategyConfig& strategy);
// The same for a run's options ("idpct d<=3": the depth varies).
std::string StrategyLabel(const Options& options);

// "lockstep: sampled 100 schedules (pct d=3, seed 1), 87 distinct, 0 failures,
// 0.41 s", or for a search that explored every schedule
// "lockstep: verified: all 20 schedules pass (dpor), 4 conflict pairs, 0.01 s".
std::string SummaryLine(const Options& options, const RunResult& result);

// "verified: all 20 schedules (up to 2 preemptions) pass" for an exhaustive
// search that explored every schedule, else "sampled 100 schedules".
std::string Verdict(const Options& options, const RunResult& result);

// The failure message of a failing TEST_LOCKSTEP. `trace_path` is where the
// trace was (or should have been) written; `written` says whether it was.
std::string FailureReport(const Options& options, const RunResult& result,
                          const std::string& trace_path, const absl::Status& written,
                          const CommandContext& context);

// Reports the outcome of --lockstep_replay=`path` to GoogleTest: a failure
// when the recorded failure reproduced, when the replay diverged, or when a
// different failure happened; a printed note when it did not reproduce.
void ReportReplay(const std::string& path, const Trace& recorded, const Trace& replayed);

}  // namespace lockstep::gtest_internal

#endif  // GTEST_EXT_REPORT_H_
