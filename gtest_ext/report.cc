#include "gtest_ext/report.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "lockstep/trace_io.h"

namespace lockstep::gtest_internal {
namespace {

std::string ThreadLabel(const Trace& trace, uint32_t thread) {
  for (const ThreadInfo& info : trace.threads()) {
    if (info.id() == thread && !info.name().empty()) {
      return absl::StrCat("thread ", thread, " '", info.name(), "'");
    }
  }
  return absl::StrCat("thread ", thread);
}

std::string Where(const SourceLocation& location) {
  if (location.file().empty()) return "an unknown location";
  return absl::StrCat(location.file(), ":", location.line());
}

std::string Indent(const std::string& text, const std::string& prefix) {
  return absl::StrReplaceAll(text, {{"\n", "\n" + prefix}});
}

std::string ShellQuote(const std::string& s) {
  if (s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                          "_-+=./:,@%") == std::string::npos) {
    return s;
  }
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "'\\''"}}), "'");
}

// bazel-testlogs/<package>/<name>/test.outputs/outputs.zip for //package:name.
std::string OutputsZip(const std::string& target) {
  std::string label = target;
  if (label.rfind("//", 0) == 0) label = label.substr(2);
  std::vector<std::string> parts = absl::StrSplit(label, ':');
  const std::string path = parts.size() == 2 ? absl::StrCat(parts[0], "/", parts[1]) : label;
  return absl::StrCat("bazel-testlogs/", path, "/test.outputs/outputs.zip");
}

}  // namespace

std::string FailureHeadline(const Trace& trace) {
  const Failure& failure = trace.failure();
  return absl::StrCat(std::string(FailureKindName(failure.kind())), " at step ", failure.step(),
                      " in ", ThreadLabel(trace, failure.thread()), ", at ",
                      Where(failure.location()));
}

CommandContext CommandContext::FromEnvironment() {
  CommandContext context;
  const char* target = std::getenv("TEST_TARGET");
  context.bazel_target = target != nullptr ? target : "";
  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  context.under_bazel_test = outputs != nullptr && *outputs != '\0';
  if (context.under_bazel_test && !context.bazel_target.empty()) {
    // bazel-bin/<package>/<name>, runnable from the workspace root.
    std::string label = context.bazel_target.substr(context.bazel_target.rfind("//", 0) == 0);
    if (label.rfind("/", 0) == 0) label = label.substr(1);
    context.binary = absl::StrCat("bazel-bin/", absl::StrReplaceAll(label, {{":", "/"}}));
  } else {
    const std::vector<std::string> argv = testing::internal::GetArgvs();
    context.binary = argv.empty() ? "<test binary>" : argv[0];
  }
  return context;
}

std::string StrategyLabel(const StrategyConfig& s) {
  if (s.name() == "pct") return absl::StrCat("pct d=", s.pct_depth());
  if (s.name() == "fair_pct") {
    return absl::StrCat("fair_pct d=", s.pct_depth(), " prefix=", s.fair_prefix());
  }
  if (s.name() == "idpct") {
    return absl::StrCat("idpct d=", s.pct_depth(), " of 1..", s.max_pct_depth());
  }
  if (s.name() == "dfs" && s.preemption_bounded()) {
    return absl::StrCat("dfs, up to ", s.preemption_bound(), " preemptions");
  }
  return s.name();
}

std::string StrategyLabel(const Options& options) {
  if (options.strategy == StrategyKind::kIdPct) {
    return absl::StrCat("idpct d<=", options.pct_depth);
  }
  StrategyConfig config;
  config.set_name(std::string(StrategyKindName(options.strategy)));
  config.set_pct_depth(options.pct_depth);
  config.set_fair_prefix(options.fair_prefix);
  if (options.preemption_bound) {
    config.set_preemption_bounded(true);
    config.set_preemption_bound(*options.preemption_bound);
  }
  return StrategyLabel(config);
}

std::string Verdict(const Options& options, const RunResult& result) {
  if (result.exhausted) {
    return absl::StrCat("verified: all ", result.iterations - result.redundant_iterations,
                        " schedules",
                        options.preemption_bound
                            ? absl::StrCat(" (up to ", *options.preemption_bound, " preemptions)")
                            : "",
                        options.shard.count > 1 ? " of this shard" : "", " pass");
  }
  return absl::StrCat("sampled ", result.iterations, " schedules");
}

std::string SummaryLine(const Options& options, const RunResult& result) {
  const std::string label = StrategyLabel(options);
  const double seconds = std::chrono::duration<double>(result.elapsed).count();
  std::string line;
  if (result.exhausted) {
    line = absl::StrFormat("lockstep: %s (%s), %d conflict pairs, %.2f s", Verdict(options, result),
                           label, result.conflict_pairs, seconds);
    if (result.redundant_iterations > 0) {
      absl::StrAppend(&line, "; ", result.redundant_iterations,
                      " more executions were cut short as redundant");
    }
  } else {
    line = absl::StrFormat(
        "lockstep: %s (%s, seed %d), %d distinct, %d conflict pairs, 0 failures, %.2f s",
        Verdict(options, result), label, options.seed, result.distinct_schedules,
        result.conflict_pairs, seconds);
    if (IsExhaustive(options.strategy)) {
      absl::StrAppend(&line,
                      "; not verified: the search stopped at the iteration cap or time budget "
                      "before it had explored every schedule");
    }
  }
  if (options.shard.count > 1) {
    absl::StrAppend(&line, " (shard ", options.shard.index + 1, " of ", options.shard.count, ")");
  }
  return line;
}

std::string FailureReport(const Options& options, const RunResult& result,
                          const std::string& trace_path, const absl::Status& written,
                          const CommandContext& context) {
  const Trace& trace = *result.trace;
  const std::string test = absl::StrCat(options.test_suite, ".", options.test_name);
  std::string report = absl::StrCat(
      "lockstep found a failing schedule\n", "  failure:   ", FailureHeadline(trace), "\n",
      "             ", Indent(trace.failure().message(), "             "), "\n",
      trace.failure().note().empty()
          ? std::string()
          : absl::StrCat("  note:      ", Indent(trace.failure().note(), "             "), "\n"),
      "  strategy:  ", StrategyLabel(trace.strategy()),
      trace.strategy().spurious_wakeups() ? ", spurious wake-ups on" : "", "\n",
      "  seed:      base seed ", options.seed, ", iteration ", trace.iteration(),
      " (iteration seed ", absl::StrFormat("0x%016x", trace.iteration_seed()), ")\n",
      "  explored:  ", result.iterations, " schedules (", result.distinct_schedules,
      " distinct) in ",
      absl::StrFormat("%.2f s", std::chrono::duration<double>(result.elapsed).count()), "\n");
  // Bazel commands only for a test Bazel runs (outside Bazel there is no
  // target to name).
  const std::string& target = context.bazel_target;
  const bool bazel = !target.empty();
  const std::string file = trace_path.substr(trace_path.find_last_of('/') + 1);
  if (written.ok() && context.under_bazel_test) {
    // The sandbox path is gone when the test ends; bazel zips the outputs.
    absl::StrAppend(&report, "  trace:     ", file, " in ", OutputsZip(target), "\n");
  } else if (written.ok()) {
    absl::StrAppend(&report, "  trace:     ", trace_path, "\n");
  } else {
    absl::StrAppend(&report, "  trace:     NOT WRITTEN: ", written.message(), "\n");
  }

  // An iteration's schedule depends only on the seed, its index, the
  // strategy's options and the PCT step estimate it ran with: it runs alone.
  // An exhaustive search's iteration i is its i-th schedule: the flags
  // explore iterations 0..i again, in the same shard.
  const bool exhaustive = IsExhaustive(options.strategy);
  std::vector<std::string> flags = {
      absl::StrCat("--lockstep_seed=", options.seed),
      absl::StrCat("--lockstep_iteration=", trace.iteration()),
      absl::StrCat("--lockstep_strategy=", std::string(StrategyKindName(options.strategy))),
  };
  if (!exhaustive) flags.push_back(absl::StrCat("--lockstep_pct_depth=", options.pct_depth));
  if (options.preemption_bound) {
    flags.push_back(absl::StrCat("--lockstep_preemption_bound=", *options.preemption_bound));
  }
  std::string shard_env;
  std::string shard_test_env;
  if (exhaustive && options.shard.count > 1) {
    shard_env = absl::StrCat("GTEST_TOTAL_SHARDS=", options.shard.count,
                             " GTEST_SHARD_INDEX=", options.shard.index, " ");
    shard_test_env = absl::StrCat(" --test_env=GTEST_TOTAL_SHARDS=", options.shard.count,
                                  " --test_env=GTEST_SHARD_INDEX=", options.shard.index);
  }
  if (trace.strategy().pct_step_estimate() != 0) {
    flags.push_back(absl::StrCat("--lockstep_pct_steps=", trace.strategy().pct_step_estimate()));
  }
  // Options that change the schedule, when not at their defaults.
  const Options defaults;
  if (options.strategy == StrategyKind::kFairPct && options.fair_prefix != defaults.fair_prefix) {
    flags.push_back(absl::StrCat("--lockstep_fair_prefix=", options.fair_prefix));
  }
  if (options.spurious_wakeups) flags.push_back("--lockstep_spurious_wakeups=true");
  if (options.max_steps != defaults.max_steps) {
    flags.push_back(absl::StrCat("--lockstep_max_steps=", options.max_steps));
  }
  std::vector<std::string> test_args;
  for (const std::string& flag : flags) test_args.push_back("--test_arg=" + flag);
  absl::StrAppend(&report,
                  exhaustive ? "  run this schedule again (flags only; the search runs up to it):\n"
                             : "  run this schedule again (flags only, one iteration):\n",
                  "    ", shard_env, ShellQuote(context.binary),
                  " --gtest_filter=", ShellQuote(test), " ", absl::StrJoin(flags, " "), "\n");
  if (bazel) {
    absl::StrAppend(&report, "    bazel test ", target, " --test_filter=", ShellQuote(test),
                    " --test_sharding_strategy=disabled", shard_test_env, " ",
                    absl::StrJoin(test_args, " "), "\n");
  }
  if (written.ok()) {
    std::string replay_path = trace_path;
    std::string unzip;
    if (context.under_bazel_test) {
      replay_path = "/tmp/lockstep-traces/" + file;
      unzip = absl::StrCat("    unzip -o ", OutputsZip(target), " ", ShellQuote(file),
                           " -d /tmp/lockstep-traces   # first, then:\n");
    }
    absl::StrAppend(&report, "  replay the trace file:\n", unzip, "    ",
                    ShellQuote(context.binary), " --lockstep_replay=", ShellQuote(replay_path),
                    "\n");
    if (bazel) {
      absl::StrAppend(&report, "    bazel test ", target,
                      " --test_arg=--lockstep_replay=", ShellQuote(replay_path), "\n");
    }
  }
  return report;
}

void ReportReplay(const std::string& path, const Trace& recorded, const Trace& replayed) {
  const std::string prefix = absl::StrCat("lockstep replay of ", path, ": ");
  const Failure& was = recorded.failure();
  if (!replayed.has_failure()) {
    std::printf(
        "%sdid not reproduce: the recorded %s at %s did not happen; the schedule ran "
        "to completion (%d decisions)\n",
        prefix.c_str(), std::string(FailureKindName(was.kind())).c_str(),
        Where(was.location()).c_str(), replayed.decisions_size());
    return;
  }
  const Failure& now = replayed.failure();
  if (now.kind() == Failure::NONDETERMINISM && was.kind() != Failure::NONDETERMINISM) {
    ADD_FAILURE() << prefix << "diverged: " << now.message();
    return;
  }
  const std::string headline = FailureHeadline(replayed);
  const std::string message = Indent(now.message(), "  ");
  if (SameFailure(was, now)) {
    ADD_FAILURE_AT(now.location().file().c_str(), static_cast<int>(now.location().line()))
        << prefix << "reproduced: " << headline << "\n  " << message;
    return;
  }
  ADD_FAILURE() << prefix << "did not reproduce the recorded " << FailureKindName(was.kind())
                << " at " << Where(was.location()) << "; instead: " << headline << "\n  "
                << message;
}

}  // namespace lockstep::gtest_internal
