#include "lockstep/shrink.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lockstep/failure.h"
#include "lockstep/internal/child_process.h"
#include "lockstep/internal/controller.h"
#include "lockstep/strategy/guided.h"
#include "lockstep/trace_io.h"

namespace lockstep {
namespace {

using internal::Controller;
using internal::IterationOutcome;

struct Schedule {
  std::vector<SwitchPoint> switches;
  std::vector<uint32_t> choices;
  uint32_t preemptions = 0;
  uint32_t decisions = 0;
};

class Shrinker {
 public:
  Shrinker(const std::function<void()>& body, const Trace& trace)
      : body_(body),
        trace_(trace),
        controller_({.max_steps = trace.max_steps(),
                     .spurious_wakeups = trace.strategy().spurious_wakeups()}) {}

  // Runs `candidate`; when it fails like the original, returns the schedule
  // as it really ran.
  std::optional<Schedule> Try(const Schedule& candidate, Trace* record = nullptr) {
    GuidedStrategy guided(candidate.switches, candidate.choices, trace_.strategy());
    return Run(guided, record);
  }

  // Runs the recorded decisions of the trace exactly.
  std::optional<Schedule> TryRecorded() {
    std::vector<uint32_t> picks;
    std::vector<uint32_t> choices;
    for (const Decision& decision : trace_.decisions()) {
      (decision.kind() == Decision::SCHEDULE ? picks : choices).push_back(decision.value());
    }
    GuidedStrategy guided =
        GuidedStrategy::Exact(std::move(picks), std::move(choices), trace_.strategy());
    return Run(guided, nullptr);
  }

  const Controller& controller() const { return controller_; }
  uint32_t runs() const { return runs_; }
  // Where the last run could have been preempted.
  const std::vector<SwitchPoint>& last_possible_preemptions() const {
    return last_possible_preemptions_;
  }

 private:
  std::optional<Schedule> Run(GuidedStrategy& guided, Trace* record) {
    ++runs_;
    IterationOutcome outcome = controller_.RunIteration(body_, guided, trace_.iteration(),
                                                        trace_.iteration_seed(), record);
    if (record != nullptr && outcome.failure) *record->mutable_failure() = *outcome.failure;
    last_possible_preemptions_ = guided.possible_preemptions();
    if (!outcome.failure || !SameFailure(*outcome.failure, trace_.failure())) {
      return std::nullopt;
    }
    return Schedule{guided.executed_switches(), guided.executed_choices(), guided.preemptions(),
                    static_cast<uint32_t>(controller_.decisions().size())};
  }

  const std::function<void()>& body_;
  const Trace& trace_;
  Controller controller_;
  uint32_t runs_ = 0;
  std::vector<SwitchPoint> last_possible_preemptions_;
};

// Greedily removes switch points satisfying `removable` while `better`
// accepts the result; restarts after every success.
template <typename Removable, typename Better>
void RemoveSwitches(Shrinker& shrinker, Schedule& best, uint32_t max_runs, Removable removable,
                    Better better) {
  bool improved = true;
  while (improved && shrinker.runs() < max_runs) {
    improved = false;
    for (size_t i = 0; i < best.switches.size() && shrinker.runs() < max_runs; ++i) {
      if (!removable(best.switches[i])) continue;
      Schedule candidate = best;
      candidate.switches.erase(candidate.switches.begin() + static_cast<std::ptrdiff_t>(i));
      std::optional<Schedule> result = shrinker.Try(candidate);
      if (result && better(*result, best)) {
        best = std::move(*result);
        improved = true;
        break;
      }
    }
  }
}

}  // namespace

absl::StatusOr<ShrinkResult> ShrinkTrace(const std::function<void()>& body, const Trace& trace,
                                         uint32_t max_runs) {
  if (absl::Status valid = ValidateTrace(trace); !valid.ok()) return valid;
  if (!trace.has_failure()) {
    return absl::InvalidArgumentError("the trace has no failure: there is nothing to shrink");
  }
  if (trace.runner() != RUNNER_CONTROLLED) {
    return absl::InvalidArgumentError("only controlled-runner traces can be shrunk");
  }
  const Failure::Kind kind = trace.failure().kind();
  if (kind == Failure::CRASH || kind == Failure::EXIT || kind == Failure::TIMEOUT) {
    return absl::FailedPreconditionError(
        absl::StrCat("a ", std::string(FailureKindName(kind)),
                     " ends the process it happens in, so its schedule cannot be shrunk"));
  }
  Shrinker shrinker(body, trace);
  std::optional<Schedule> original = shrinker.TryRecorded();
  if (!original) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the trace does not reproduce its ", std::string(FailureKindName(trace.failure().kind())),
        " when re-run, so it cannot be shrunk (replay it to see why)"));
  }
  Schedule best = *original;

  // 1. Fewer preemptions. Most bugs need one or two, in the right place, and
  // removing switches alone can get stuck where a switch must move; so first
  // try no preemption at all, then every single preemption of that run.
  const Schedule no_switches{{}, best.choices, 0, 0};
  if (std::optional<Schedule> none = shrinker.Try(no_switches)) {
    best = std::move(*none);
  } else if (best.preemptions > 1) {
    const std::vector<SwitchPoint> candidates = shrinker.last_possible_preemptions();
    for (const SwitchPoint& preemption : candidates) {
      if (shrinker.runs() >= max_runs) break;
      if (std::optional<Schedule> one = shrinker.Try(Schedule{{preemption}, best.choices, 0, 0});
          one && one->preemptions < best.preemptions) {
        best = std::move(*one);
        break;
      }
    }
  }
  // Then remove switches one at a time (fewer decisions at equal preemptions
  // also counts as better).
  RemoveSwitches(
      shrinker, best, max_runs, [](const SwitchPoint& s) { return s.preemptive; },
      [](const Schedule& got, const Schedule& best) {
        return got.preemptions < best.preemptions ||
               (got.preemptions == best.preemptions && got.decisions < best.decisions);
      });
  // 2. Fewer decisions, without adding preemptions: drop any switch, and
  // reset choices to 0.
  auto fewer_decisions = [](const Schedule& got, const Schedule& best) {
    return got.preemptions <= best.preemptions && got.decisions < best.decisions;
  };
  RemoveSwitches(
      shrinker, best, max_runs, [](const SwitchPoint&) { return true; }, fewer_decisions);
  for (size_t i = 0; i < best.choices.size() && shrinker.runs() < max_runs; ++i) {
    if (best.choices[i] == 0) continue;
    Schedule candidate = best;
    candidate.choices[i] = 0;
    std::optional<Schedule> result = shrinker.Try(candidate);
    if (result && result->preemptions <= best.preemptions && result->decisions <= best.decisions) {
      best = std::move(*result);
    }
  }

  // Record the result as an ordinary trace: the same header, the exact
  // decisions of the shrunk run, and its events.
  ShrinkResult result;
  result.trace = TraceHeader(trace);
  if (!shrinker.Try(best, &result.trace)) {
    return absl::InternalError("the shrunk schedule did not fail again when recorded");
  }
  for (const internal::DecisionRecord& d : shrinker.controller().decisions()) {
    Decision* decision = result.trace.add_decisions();
    decision->set_kind(d.kind);
    decision->set_value(d.value);
    decision->set_options(d.options);
  }
  result.preemptions_before = original->preemptions;
  result.preemptions_after = best.preemptions;
  result.decisions_before = original->decisions;
  result.decisions_after = best.decisions;
  result.runs = shrinker.runs();
  ShrinkInfo* info = result.trace.mutable_shrink();
  info->set_preemptions_before(result.preemptions_before);
  info->set_preemptions_after(result.preemptions_after);
  info->set_decisions_before(result.decisions_before);
  info->set_decisions_after(result.decisions_after);
  return result;
}

absl::StatusOr<ShrinkResult> ShrinkTraceIsolated(const std::function<void()>& body,
                                                 const Trace& trace,
                                                 std::chrono::milliseconds watchdog,
                                                 uint32_t max_runs) {
  // The child writes [status code][runs][bytes: the trace, or the error].
  absl::StatusOr<internal::SharedMemory> memory = internal::SharedMemory::Map(size_t{1} << 28);
  if (!memory.ok()) return memory.status();
  struct Header {
    int32_t code;
    uint32_t runs;
    uint64_t size;
  };
  char* area = memory->area();
  const size_t capacity = memory->area_size() - sizeof(Header);
  const internal::ChildEnd end = internal::RunInChild(
      *memory,
      [&] {
        absl::StatusOr<ShrinkResult> shrunk = ShrinkTrace(body, trace, max_runs);
        const std::string bytes = shrunk.ok() ? shrunk->trace.SerializeAsString()
                                              : std::string(shrunk.status().message());
        Header header{static_cast<int32_t>(shrunk.status().code()), shrunk.ok() ? shrunk->runs : 0,
                      std::min<uint64_t>(bytes.size(), capacity)};
        std::memcpy(area + sizeof(Header), bytes.data(), header.size);
        std::memcpy(area, &header, sizeof(header));
      },
      watchdog);
  if (end.kind != internal::ChildEnd::Kind::kReturned) {
    return absl::AbortedError(
        end.kind == internal::ChildEnd::Kind::kNotStarted
            ? absl::StrCat("cannot start the shrinking process: ", end.error)
            : "a candidate schedule crashed, exited or hung the shrinking process");
  }
  Header header;
  std::memcpy(&header, area, sizeof(header));
  const std::string bytes(area + sizeof(Header), header.size);
  if (header.code != 0) return absl::Status(static_cast<absl::StatusCode>(header.code), bytes);
  ShrinkResult result;
  if (!result.trace.ParseFromString(bytes)) {
    return absl::InternalError("the shrunk trace could not be read back");
  }
  const ShrinkInfo& info = result.trace.shrink();
  result.preemptions_before = info.preemptions_before();
  result.preemptions_after = info.preemptions_after();
  result.decisions_before = info.decisions_before();
  result.decisions_after = info.decisions_after();
  result.runs = header.runs;
  return result;
}

}  // namespace lockstep
