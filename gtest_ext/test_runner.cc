// The logic behind TEST_LOCKSTEP: run, route GoogleTest assertions into the
// runner, save the failing trace, and report in GoogleTest's terms.
#include "gtest_ext/test_runner.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "gtest_ext/flags.h"
#include "gtest_ext/lockstep_test.h"
#include "gtest_ext/regression.h"
#include "gtest_ext/report.h"
#include "gtest_ext/sharding.h"
#include "gtest_ext/summary.h"
#include "lockstep/internal/prng.h"
#include "lockstep/run.h"
#include "lockstep/shrink.h"
#include "lockstep/trace_io.h"

namespace lockstep::gtest_internal {
namespace {

// Holds results reported outside any logical thread during a run; a base
// class so it is constructed before the reporter that points at it.
struct OutsideResults {
  testing::TestPartResultArray results;
};

// While alive, GoogleTest assertion results of this OS thread come here. A
// failure inside a logical thread becomes the iteration's failure, and the
// thread stops at its next scheduling point (not here: GoogleTest holds its
// own mutex while it reports); anything else is kept and re-reported
// afterwards.
// Without this, every explored failing iteration would fail the test again.
class FailureForwarder : private OutsideResults, public testing::ScopedFakeTestPartResultReporter {
 public:
  // `all_threads`: also results of other OS threads (the native runner's).
  explicit FailureForwarder(bool all_threads)
      : ScopedFakeTestPartResultReporter(
            all_threads ? INTERCEPT_ALL_THREADS : INTERCEPT_ONLY_CURRENT_THREAD, &results) {}

  void ReportTestPartResult(const testing::TestPartResult& result) override {
    if (result.failed() && InRun()) {
      RecordFailure(Failure::ASSERTION, result.message(), result.file_name(), result.line_number());
      return;
    }
    ScopedFakeTestPartResultReporter::ReportTestPartResult(result);
  }

  // The failures reported outside logical threads, to report again once
  // this forwarder is gone (reported while it lives, they would come back
  // to it).
  std::vector<testing::TestPartResult> Outside() const {
    std::vector<testing::TestPartResult> outside;
    for (int i = 0; i < results.size(); ++i) {
      if (results.GetTestPartResult(i).failed()) outside.push_back(results.GetTestPartResult(i));
    }
    return outside;
  }
};

// Reports `failures` to the current reporter, each with its own message
// (ADD_FAILURE would prefix another "Failed").
void ReportAgain(const std::vector<testing::TestPartResult>& failures) {
  for (const testing::TestPartResult& r : failures) {
    testing::internal::AssertHelper(testing::TestPartResult::kNonFatalFailure, r.file_name(),
                                    r.line_number(), r.message()) = testing::Message();
  }
}

std::string SafeFileName(std::string name) {
  return absl::StrReplaceAll(name, {{"/", "_"}, {" ", "_"}});
}

// Where traces go: $TEST_UNDECLARED_OUTPUTS_DIR under `bazel test`, else
// --lockstep_trace_dir (relative to where `bazel run` was invoked, if so).
std::filesystem::path TraceDirectory() {
  if (const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR"); outputs && *outputs) {
    return outputs;
  }
  std::filesystem::path dir = absl::GetFlag(FLAGS_lockstep_trace_dir);
  if (dir.is_relative()) {
    if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY"); cwd && *cwd) dir = cwd / dir;
  }
  return dir;
}

// "dir/x.lockstep" -> "dir/x.shrunk.lockstep".
std::string ShrunkPath(const std::string& path) {
  const std::string suffix = ".lockstep";
  const bool has_suffix = path.size() >= suffix.size() &&
                          path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  return (has_suffix ? path.substr(0, path.size() - suffix.size()) : path) + ".shrunk.lockstep";
}

// Writes the shrunk trace beside `path`; returns the lines for the report.
std::string SaveShrunk(const absl::StatusOr<ShrinkResult>& shrunk, const std::string& path) {
  if (!shrunk.ok()) return absl::StrCat("  shrink:    failed: ", shrunk.status().message(), "\n");
  const std::string shrunk_path = ShrunkPath(path);
  const absl::Status written = WriteTraceFile(shrunk->trace, shrunk_path);
  return absl::StrCat(
      "  shrunk:    ", shrunk->preemptions_before, " -> ", shrunk->preemptions_after,
      " preemptions, ", shrunk->decisions_before, " -> ", shrunk->decisions_after, " decisions (",
      shrunk->runs, " runs), same failure\n",
      written.ok()
          ? absl::StrCat("             ", shrunk_path, " (replay it with --lockstep_replay)\n")
          : absl::StrCat("             NOT WRITTEN: ", written.message(), "\n"));
}

// The base seed of this run of the current test: --lockstep_seed=random
// draws one; each repetition of a test after its first (--gtest_repeat)
// derives a new one from the base, so repeating explores new schedules. A
// seed that is not the flag's or the test's own is printed, so a failure
// under it is reproducible even if the process dies.
uint64_t SeedOfThisRun(const Options& options) {
  static std::map<std::string, uint64_t>* runs = new std::map<std::string, uint64_t>();
  const std::string test = absl::StrCat(options.test_suite, ".", options.test_name);
  const uint64_t repetition = (*runs)[test]++;
  uint64_t seed = options.seed;
  std::string why;
  if (absl::GetFlag(FLAGS_lockstep_seed) == "random") {
    std::random_device device;
    seed = (uint64_t{device()} << 32) | device();
    why = "random";
  } else if (repetition > 0) {
    seed = internal::Mix64(options.seed + repetition * 0xD1B54A32D192ED03ull);
    why = absl::StrCat("repetition ", repetition + 1, ", derived from base seed ", options.seed);
  }
  if (!why.empty()) {
    std::printf("lockstep: %s explores seed %llu (%s; --lockstep_seed=%llu reruns it)\n",
                test.c_str(), static_cast<unsigned long long>(seed), why.c_str(),
                static_cast<unsigned long long>(seed));
    std::fflush(stdout);
  }
  return seed;
}

// The figures of a run as GoogleTest XML properties (passing or failing).
void RecordRunProperties(const Options& options, const RunResult& result) {
  testing::Test::RecordProperty("lockstep_seed", std::to_string(options.seed));
  testing::Test::RecordProperty("lockstep_strategy", StrategyLabel(options));
  testing::Test::RecordProperty("lockstep_schedules", std::to_string(result.iterations));
  testing::Test::RecordProperty("lockstep_exploration", result.exhausted ? "verified" : "sampled");
  testing::Test::RecordProperty("lockstep_verdict", Verdict(options, result));
  testing::Test::RecordProperty("lockstep_distinct", std::to_string(result.distinct_schedules));
  testing::Test::RecordProperty("lockstep_conflict_pairs", std::to_string(result.conflict_pairs));
  testing::Test::RecordProperty(
      "lockstep_elapsed_s",
      absl::StrFormat("%.3f", std::chrono::duration<double>(result.elapsed).count()));
  if (options.shard.count > 1) {
    testing::Test::RecordProperty("lockstep_shard",
                                  absl::StrCat(options.shard.index + 1, "/", options.shard.count));
  }
}

// Replays the regression traces recorded for the current test (see
// gtest_ext/regression.h). Returns false, having failed the test, when one
// fails again; prints the traces that now pass. A fix usually changes the
// code's operations, so the replay is tolerant: where the code stops fitting
// the trace, it goes on without preemptions (see ReplayStrategy).
bool ReplayRegressionTraces(const Options& options,
                            const std::function<RunResult(const Options&)>& run) {
  absl::StatusOr<std::vector<RegressionTrace>> traces =
      RegressionTracesFor(options.test_suite, options.test_name);
  if (!traces.ok()) {
    ADD_FAILURE() << "lockstep: " << traces.status().message();
    return false;
  }
  for (const RegressionTrace& regression : *traces) {
    Options replay = options;
    replay.replay = &regression.trace;
    replay.replay_tolerant = true;
    const RunResult result = run(replay);
    if (!result.status.ok()) {
      ADD_FAILURE() << "lockstep: regression trace " << regression.path
                    << " cannot run: " << result.status.message();
      return false;
    }
    if (!result.failed()) {
      std::printf("lockstep: regression trace %s: passes (the bug it recorded is fixed)\n",
                  regression.path.c_str());
      continue;
    }
    const Failure& now = result.trace->failure();
    const bool same = SameFailure(regression.trace.failure(), now);
    const std::string message = absl::StrCat("lockstep: regression trace ", regression.path,
                                             same ? " reproduced: " : " failed differently: ",
                                             FailureHeadline(*result.trace), "\n  ", now.message());
    if (same && !now.location().file().empty()) {
      ADD_FAILURE_AT(now.location().file().c_str(), static_cast<int>(now.location().line()))
          << message;
    } else {
      ADD_FAILURE() << message;
    }
    return false;
  }
  return true;
}

}  // namespace

void RunLockstepTest(const Options& per_test, const std::function<void()>& iteration) {
  RunAndReport(
      per_test, [&](const Options& options) { return Runner::Run(iteration, options); }, iteration,
      /*all_threads=*/false);
}

void RunAndReport(const Options& per_test, const std::function<RunResult(const Options&)>& run,
                  const std::function<void()>& iteration, bool all_threads) {
  const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
  for (absl::Status status : {ApplyEnvironment(), ValidateFlags()}) {
    if (!status.ok()) {
      ADD_FAILURE() << "lockstep: " << status.message();
      return;
    }
  }
  Options options = EffectiveOptions(per_test);
  options.test_suite = info->test_suite_name();
  options.test_name = info->name();
  options.shard = LockstepShard();
  const Trace* replay = ReplayTrace();
  if (replay != nullptr) {
    if (!CheckTraceIsFor(*replay, options.test_suite, options.test_name).ok()) {
      GTEST_SKIP() << "lockstep: --lockstep_replay names " << replay->test_suite() << "."
                   << replay->test_name();
    }
    options.replay = replay;
  } else {
    options.seed = SeedOfThisRun(options);
  }

  RunResult result;
  std::optional<absl::StatusOr<ShrinkResult>> shrunk;
  std::vector<testing::TestPartResult> outside;
  bool regressions_pass = true;
  {
    // Shrinking re-runs the body too, so assertions must still be routed.
    FailureForwarder forwarder(all_threads);
    regressions_pass = replay != nullptr || ReplayRegressionTraces(options, run);
    if (regressions_pass) result = run(options);
    if (result.failed() && absl::GetFlag(FLAGS_lockstep_shrink)) {
      const Trace& failing = replay != nullptr ? *replay : *result.trace;
      shrunk = options.isolate ? ShrinkTraceIsolated(iteration, failing, options.watchdog)
                               : ShrinkTrace(iteration, failing);
    }
    outside = forwarder.Outside();
  }
  ReportAgain(outside);
  if (!regressions_pass) return;
  if (!result.status.ok()) {
    ADD_FAILURE() << "lockstep: cannot run: " << result.status.message();
    return;
  }
  if (replay != nullptr) {
    const std::string path = absl::GetFlag(FLAGS_lockstep_replay);
    if (shrunk) std::printf("%s", SaveShrunk(*shrunk, path).c_str());
    ReportReplay(path, *replay, *result.trace);
    return;
  }
  RecordRunProperties(options, result);
  if (!result.failed()) {
    std::printf("%s\n", SummaryLine(options, result).c_str());
    AddToSummary(options, result, "");
    return;
  }

  const Trace& trace = *result.trace;
  const std::filesystem::path path =
      TraceDirectory() /
      absl::StrCat(SafeFileName(absl::StrCat(options.test_suite, ".", options.test_name)), ".seed-",
                   options.seed, ".iter-", trace.iteration(), ".lockstep");
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  if (error) absolute = path;
  const absl::Status written = WriteTraceFile(trace, absolute.string());
  if (written.ok()) testing::Test::RecordProperty("lockstep_trace", absolute.string());
  testing::Test::RecordProperty("lockstep_iteration", std::to_string(trace.iteration()));
  AddToSummary(options, result, written.ok() ? absolute.string() : "");

  const SourceLocation& where = trace.failure().location();
  const std::string report = FailureReport(options, result, absolute.string(), written,
                                           CommandContext::FromEnvironment()) +
                             (shrunk ? SaveShrunk(*shrunk, absolute.string()) : "");
  if (!where.file().empty()) {
    ADD_FAILURE_AT(where.file().c_str(), static_cast<int>(where.line())) << report;
  } else {
    ADD_FAILURE() << report;
  }
}

}  // namespace lockstep::gtest_internal
