#include "lockstep/run.h"

#include <memory>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lockstep/failure.h"
#include "lockstep/internal/controller.h"
#include "lockstep/internal/prng.h"
#include "lockstep/strategy/factory.h"
#include "lockstep/strategy/replay.h"
#include "lockstep/trace_io.h"

namespace lockstep {
namespace {

using internal::Controller;
using internal::IterationOutcome;

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
  return trace;
}

// Re-runs the failing iteration following its recorded decisions, this time
// recording every event, and returns the finished trace. A body that does not
// fail the same way again is nondeterministic, and the trace says so.
Trace RecordFailingIteration(const std::function<void()>& body, Controller& controller, Trace trace,
                             const Failure& original) {
  for (const internal::DecisionRecord& d : controller.decisions()) {
    Decision* decision = trace.add_decisions();
    decision->set_kind(d.kind);
    decision->set_value(d.value);
    decision->set_options(d.options);
  }
  ReplayStrategy replay(trace);
  IterationOutcome again =
      controller.RunIteration(body, replay, trace.iteration(), trace.iteration_seed(), &trace);
  if (again.failure && SameFailure(*again.failure, original)) {
    *trace.mutable_failure() = std::move(*again.failure);
    return trace;
  }
  Failure* failure = trace.mutable_failure();
  *failure = original;
  failure->set_kind(Failure::NONDETERMINISM);
  failure->set_message(absl::StrCat(
      "the failing iteration did not fail the same way when re-executed with the same "
      "decisions, so the test body is nondeterministic (it depends on something other than "
      "Lockstep's scheduling: real time, unseeded randomness, state kept across iterations, "
      "unmodelled threads...). First run: ",
      std::string(FailureKindName(original.kind())), ": ", original.message(), "; re-execution: ",
      again.failure ? absl::StrCat(std::string(FailureKindName(again.failure->kind())), ": ",
                                   again.failure->message())
                    : std::string("passed")));
  return trace;
}

absl::Status ValidateOptions(const Options& options) {
  if (options.iterations == 0) return absl::InvalidArgumentError("iterations must be >= 1");
  if (options.max_steps == 0) return absl::InvalidArgumentError("max_steps must be >= 1");
  if (options.time_budget.count() < 0) {
    return absl::InvalidArgumentError("time_budget must not be negative");
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
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::steady_clock::now() - start; };

  if (const Trace* recorded = options.replay) {
    Controller controller({.max_steps = recorded->max_steps(),
                           .spurious_wakeups = recorded->strategy().spurious_wakeups()});
    Trace trace = TraceHeader(*recorded);
    *trace.mutable_decisions() = recorded->decisions();
    IterationOutcome outcome = controller.RunIteration(body, **strategy, recorded->iteration(),
                                                       recorded->iteration_seed(), &trace);
    if (outcome.failure) *trace.mutable_failure() = std::move(*outcome.failure);
    result.iterations = 1;
    result.distinct_schedules = 1;
    result.total_steps = outcome.steps;
    result.trace = std::move(trace);
    result.elapsed = elapsed();
    return result;
  }

  Controller controller(
      {.max_steps = options.max_steps, .spurious_wakeups = options.spurious_wakeups});
  std::unordered_set<uint64_t> schedules;
  for (uint64_t i = 0; i < options.iterations; ++i) {
    if (i > 0 && options.time_budget.count() > 0 && elapsed() >= options.time_budget) break;
    const uint64_t seed = internal::IterationSeed(options.seed, i);
    IterationOutcome outcome = controller.RunIteration(body, **strategy, i, seed, nullptr);
    ++result.iterations;
    result.total_steps += outcome.steps;
    schedules.insert(outcome.schedule_hash);
    if (outcome.failure) {
      result.trace = RecordFailingIteration(
          body, controller, HeaderFromOptions(options, i, seed, outcome.strategy_config),
          *outcome.failure);
      break;
    }
  }
  result.distinct_schedules = schedules.size();
  result.elapsed = elapsed();
  return result;
}

}  // namespace lockstep
