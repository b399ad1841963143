#include "lockstep/run.h"

#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "lockstep/failure.h"
#include "lockstep/internal/controller.h"
#include "lockstep/internal/instrumentation.h"
#include "lockstep/internal/iteration_plan.h"
#include "lockstep/internal/prng.h"
#include "lockstep/internal/progress.h"
#include "lockstep/internal/run_support.h"
#include "lockstep/strategy/factory.h"
#include "lockstep/strategy/replay.h"
#include "lockstep/trace_io.h"

namespace lockstep {
namespace internal {

Controller::Settings ExploreSettings(const Options& options) {
  return {.max_steps = options.max_steps,
          .spurious_wakeups = options.spurious_wakeups,
          .stack_size = options.stack_size,
          .detect_races = Instrumentation::DetectRaces(),
          .races = options.races};
}

Controller::Settings ReplaySettings(const Options& options, const Trace& recorded) {
  return {.max_steps = recorded.max_steps(),
          .spurious_wakeups = recorded.strategy().spurious_wakeups(),
          .stack_size = options.stack_size,
          .detect_races = Instrumentation::DetectRaces(),
          .races = options.races};
}

Trace HeaderFromOptions(const Options& options, uint64_t iteration, uint64_t seed,
                        StrategyConfig strategy) {
  Trace trace;
  trace.set_format_version(kTraceFormatVersion);
  trace.set_test_suite(options.test_suite);
  trace.set_test_name(options.test_name);
  trace.set_runner(RUNNER_CONTROLLED);
  strategy.set_spurious_wakeups(options.spurious_wakeups);
  *trace.mutable_strategy() = std::move(strategy);
  trace.set_base_seed(options.seed);
  trace.set_iteration(iteration);
  trace.set_iteration_seed(seed);
  trace.set_max_steps(options.max_steps);
  Instrumentation::Describe(iteration, &trace);
  return trace;
}

Failure ReportedFailure(const Failure& original, std::optional<Failure> again,
                        const std::string& described) {
  // A nondeterministic body's re-execution diverges somewhere else: what
  // the exploration saw is the report.
  if (original.kind() == Failure::NONDETERMINISM) return original;
  if (again && SameFailure(*again, original)) return std::move(*again);
  Failure failure = original;
  failure.set_note(absl::StrCat(
      "the re-execution that recorded this trace did not fail the same way with the same "
      "decisions (it ",
      described,
      "): the test body is nondeterministic (it depends on something other than Lockstep's "
      "scheduling: real time, unseeded randomness, state kept across iterations, unmodelled "
      "threads...), so the events shown may not be those of the failing run"));
  return failure;
}

std::string Describe(const std::optional<Failure>& failure) {
  if (!failure) return "passed";
  return absl::StrCat("failed with ", std::string(FailureKindName(failure->kind())), ": ",
                      failure->message());
}

void AddDecisions(const std::vector<internal::DecisionRecord>& decisions, Trace* trace) {
  for (const internal::DecisionRecord& d : decisions) {
    Decision* decision = trace->add_decisions();
    decision->set_kind(d.kind);
    decision->set_value(d.value);
    decision->set_options(d.options);
  }
}

}  // namespace internal

namespace {

using internal::AddDecisions;
using internal::Controller;
using internal::Describe;
using internal::IterationOutcome;

// Re-runs the failing iteration following its recorded decisions, this time
// recording every event, and returns the finished trace.
Trace RecordFailingIteration(const std::function<void()>& body, Controller& controller, Trace trace,
                             const Failure& original) {
  AddDecisions(controller.decisions(), &trace);
  ReplayStrategy replay(trace);
  IterationOutcome again =
      controller.RunIteration(body, replay, trace.iteration(), trace.iteration_seed(), &trace);
  *trace.mutable_failure() =
      internal::ReportedFailure(original, again.failure, Describe(again.failure));
  return trace;
}

absl::Status ValidateOptions(const Options& options) {
  if (absl::Status status = ValidateExploration(options); !status.ok()) return status;
  if (options.stack_size < 16 * 1024) {
    return absl::InvalidArgumentError("stack_size must be at least 16 KiB");
  }
  if (options.replay != nullptr) {
    if (absl::Status status = ValidateTrace(*options.replay); !status.ok()) return status;
    if (options.replay->runner() != RUNNER_CONTROLLED) {
      return absl::InvalidArgumentError(
          "the trace to replay was not recorded by the controlled runner");
    }
  }
  return absl::OkStatus();
}

RunResult RunInProcess(const std::function<void()>& body, const Options& options,
                       Strategy& strategy) {
  RunResult result;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&]() -> std::chrono::nanoseconds {
    return std::chrono::steady_clock::now() - start;
  };

  if (const Trace* recorded = options.replay) {
    Controller controller(internal::ReplaySettings(options, *recorded));
    Trace trace = TraceHeader(*recorded);
    *trace.mutable_decisions() = recorded->decisions();
    IterationOutcome outcome = controller.RunIteration(body, strategy, recorded->iteration(),
                                                       recorded->iteration_seed(), &trace);
    if (outcome.failure) *trace.mutable_failure() = std::move(*outcome.failure);
    result.iterations = 1;
    result.distinct_schedules = 1;
    result.total_steps = outcome.steps;
    result.trace = std::move(trace);
    result.elapsed = elapsed();
    return result;
  }

  Controller controller(internal::ExploreSettings(options));
  absl::flat_hash_set<uint64_t> schedules;
  const internal::IterationPlan plan(options);
  internal::ProgressMeter progress(options, plan.budget());
  for (uint64_t position = 0;; ++position) {
    const std::optional<uint64_t> next = plan.Next(position, elapsed);
    if (!next) break;
    const uint64_t i = *next;
    const uint64_t seed = internal::IterationSeed(options.seed, i);
    IterationOutcome outcome = controller.RunIteration(body, strategy, i, seed, nullptr);
    ++result.iterations;
    result.total_steps += outcome.steps;
    schedules.insert(outcome.schedule_hash);
    progress.Update({result.iterations, schedules.size(), controller.coverage().pairs()});
    if (outcome.failure) {
      result.trace = RecordFailingIteration(
          body, controller, internal::HeaderFromOptions(options, i, seed, outcome.strategy_config),
          *outcome.failure);
      break;
    }
    if (strategy.Exhausted()) {
      result.exhausted = true;
      break;
    }
  }
  result.redundant_iterations = strategy.RedundantIterations();
  result.distinct_schedules = schedules.size();
  result.conflict_pairs = controller.coverage().pairs();
  result.elapsed = elapsed();
  return result;
}

}  // namespace

RunResult Runner::Run(const std::function<void()>& body, const Options& options) {
  RunResult result;
  if (InRun()) {
    result.status = absl::FailedPreconditionError("lockstep::Runner::Run called inside a run");
    return result;
  }
  result.status = ValidateOptions(options);
  if (!result.status.ok()) return result;
  absl::StatusOr<std::unique_ptr<Strategy>> strategy = MakeStrategy(options);
  if (!strategy.ok()) {
    result.status = strategy.status();
    return result;
  }
  internal::Instrumentation::BeginRun(options.accesses, options.races, options.replay);
  if (options.isolate) return internal::RunIsolated(body, options, **strategy);
  return RunInProcess(body, options, **strategy);
}

}  // namespace lockstep
