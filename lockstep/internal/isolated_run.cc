// The controlled runner under process isolation (Options::isolate).
//
// One forked explorer runs the iterations, as the in-process runner would,
// and publishes in shared memory its step count (for the watchdog) and a
// summary (steps, schedule hash) of every iteration it finishes: one store
// per step and a few per iteration. The iteration it dies in is the one
// after the last summary. The parent replays
// the summaries into its own copy of the strategy, so it stays where the
// explorer's was (a strategy's state across iterations is a function of the
// seeds and of the step counts it is told), and it can resume exploring in
// a fresh explorer when the summary area is full.
//
// The failing iteration is then recorded in a second child that runs it
// again with full recording and streams its decisions, threads, objects and
// events as they happen, so a trace survives that child dying at the same
// point. After a failure Lockstep detected, the explorer hands over the
// iteration's decisions and the recording child replays them; after a
// crash, exit() or hang, it runs the iteration with the parent's copy of the
// strategy, which makes the same decisions for a deterministic body. A
// replay (Options::replay) is the same recording child.
//
// An exhaustive strategy (dfs, dpor) keeps a search state that the seeds and
// step counts do not give (Strategy::HasSearchState). Its explorer mirrors
// every iteration's decisions as they are made, so the recording child of
// an iteration it died in replays them; when it pauses, it hands its search
// state over to the parent, which passes it on to the next explorer.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lockstep/internal/child_process.h"
#include "lockstep/internal/controller.h"
#include "lockstep/internal/iteration_plan.h"
#include "lockstep/internal/prng.h"
#include "lockstep/internal/progress.h"
#include "lockstep/internal/run_support.h"
#include "lockstep/strategy/replay.h"
#include "lockstep/trace_io.h"

namespace lockstep::internal {
namespace {

struct IterationSummary {
  uint64_t steps;
  uint64_t schedule_hash;
};

// Record tags in the stream area.
enum Tag : uint32_t { kThread = 1, kObject, kEvent, kOutcome, kSearchState };

constexpr size_t kMaxDecisions = size_t{1} << 24;
constexpr size_t kMaxSummaries = size_t{1} << 22;
constexpr size_t kStreamBytes = size_t{1} << 28;

// The layout of the shared area after the ChildHeader.
struct Area {
  std::atomic<uint64_t> decision_count;  // decisions of the iteration mirrored
  std::atomic<uint64_t> summary_count;   // iterations finished by this explorer
  std::atomic<uint64_t> conflict_pairs;  // seen by this explorer
  std::atomic<int> paused;               // the explorer stopped: summaries full
  std::atomic<int> exhausted;            // the strategy explored every schedule
  std::atomic<uint64_t> redundant;       // Strategy::RedundantIterations()
  std::atomic<int> overflowed;           // decisions or stream did not fit
  std::atomic<uint64_t> stream_bytes;    // committed bytes of `stream`
  DecisionRecord decisions[kMaxDecisions];
  IterationSummary summaries[kMaxSummaries];
  char stream[kStreamBytes];
};

// Mirrors one iteration into the area: every decision, and when recording,
// every new thread, object and event (serialized records).
class Mirror : public Controller::Observer {
 public:
  explicit Mirror(Area* area) : area_(area) {}

  void OnProgress(const Controller& controller) override {
    const std::vector<DecisionRecord>& decisions = controller.decisions();
    for (; decisions_ < decisions.size(); ++decisions_) {
      if (decisions_ >= kMaxDecisions) {
        area_->overflowed.store(1, std::memory_order_relaxed);
        break;
      }
      area_->decisions[decisions_] = decisions[decisions_];
      area_->decision_count.store(decisions_ + 1, std::memory_order_release);
    }
    const Trace* trace = controller.trace();
    if (trace == nullptr) return;
    for (; threads_ < trace->threads_size(); ++threads_) Append(kThread, trace->threads(threads_));
    for (; objects_ < trace->objects_size(); ++objects_) Append(kObject, trace->objects(objects_));
    for (; events_ < trace->events_size(); ++events_) Append(kEvent, trace->events(events_));
  }

  void Append(uint32_t tag, const google::protobuf::MessageLite& message) {
    Append(tag, message.SerializeAsString());
  }

  void Append(uint32_t tag, const std::string& bytes) {
    const uint64_t at = area_->stream_bytes.load(std::memory_order_relaxed);
    const uint32_t size = static_cast<uint32_t>(bytes.size());
    if (at + 8 + size > kStreamBytes) {
      area_->overflowed.store(1, std::memory_order_relaxed);
      return;
    }
    std::memcpy(area_->stream + at, &tag, 4);
    std::memcpy(area_->stream + at + 4, &size, 4);
    std::memcpy(area_->stream + at + 8, bytes.data(), size);
    // Published only when complete: a crash cannot leave half a record.
    area_->stream_bytes.store(at + 8 + size, std::memory_order_release);
  }

 private:
  Area* area_;
  size_t decisions_ = 0;
  int threads_ = 0;
  int objects_ = 0;
  int events_ = 0;
};

// What the stream holds: the recorded parts of a trace and the outcome.
struct Streamed {
  Trace parts;  // threads, objects, events
  bool has_outcome = false;
  Trace outcome;             // failure (if any) and strategy configuration
  std::string search_state;  // Strategy::SaveState() of a paused explorer
};

Streamed ReadStream(const Area& area) {
  Streamed streamed;
  const uint64_t end = area.stream_bytes.load(std::memory_order_acquire);
  uint64_t at = 0;
  while (at + 8 <= end) {
    uint32_t tag = 0;
    uint32_t size = 0;
    std::memcpy(&tag, area.stream + at, 4);
    std::memcpy(&size, area.stream + at + 4, 4);
    const char* data = area.stream + at + 8;
    const int n = static_cast<int>(size);
    at += 8 + size;
    switch (tag) {
      case kThread:
        streamed.parts.add_threads()->ParseFromArray(data, n);
        break;
      case kObject:
        streamed.parts.add_objects()->ParseFromArray(data, n);
        break;
      case kEvent:
        streamed.parts.add_events()->ParseFromArray(data, n);
        break;
      case kSearchState:
        streamed.search_state.assign(data, size);
        break;
      case kOutcome:
        streamed.has_outcome = true;
        if (!streamed.outcome.ParseFromArray(data, n)) {
          // Never mistaken for a pass.
          Failure* failure = streamed.outcome.mutable_failure();
          failure->set_kind(Failure::MISUSE);
          failure->set_message("internal error: the iteration's outcome could not be read back");
        }
        break;
    }
  }
  return streamed;
}

std::vector<DecisionRecord> TraceDecisions(const Trace& trace) {
  std::vector<DecisionRecord> decisions;
  for (const Decision& d : trace.decisions()) {
    decisions.push_back(DecisionRecord{d.kind(), d.value(), d.options()});
  }
  return decisions;
}

// What a recording child did, for a note: "passed", "failed with ...", or
// "ended with crash: ...".
std::string Describe(const std::optional<Failure>& failure, const ChildEnd& end) {
  if (end.kind == ChildEnd::Kind::kReturned || !failure) return internal::Describe(failure);
  return absl::StrCat("ended with ", std::string(FailureKindName(failure->kind())), ": ",
                      failure->message());
}

// The decisions the area holds for the current iteration.
std::vector<DecisionRecord> Decisions(const Area& area) {
  const uint64_t count = area.decision_count.load(std::memory_order_acquire);
  return std::vector<DecisionRecord>(area.decisions, area.decisions + count);
}

// The failure of a child that did not come back: how it ended, in which
// logical thread, after how many steps. `decisions` are those the iteration
// made before.
Failure FailureFromEnd(const ChildEnd& end, const std::vector<DecisionRecord>& decisions,
                       const Options& options) {
  Failure failure;
  uint32_t thread = 0;  // the last thread scheduled runs now
  uint64_t steps = 0;
  for (const DecisionRecord& d : decisions) {
    if (d.kind != Decision::SCHEDULE) continue;
    thread = d.value;
    ++steps;
  }
  std::string message;
  switch (end.kind) {
    case ChildEnd::Kind::kCrashed: {
      failure.set_kind(Failure::CRASH);
      if (end.crash_noted) thread = end.crash_thread;
      const uintptr_t address = end.crash_address;
      const uintptr_t bottom = end.stack_bottom;
      const uint64_t size = end.stack_size;
      // The guard page is the stack's lowest page; a large frame may jump
      // past it.
      const bool overflow = (end.signal == SIGSEGV || end.signal == SIGBUS) && size > 0 &&
                            address + 64 * 1024 >= bottom && address < bottom + 4096;
      if (overflow) {
        message = absl::StrCat("stack overflow: thread ", thread, " used up its ",
                               options.stack_size / 1024, " KiB fiber stack (",
                               SignalDescription(end.signal, /*stack_overflow=*/true),
                               " at its guard page); unbounded recursion, or a thread that needs "
                               "a larger stack: raise Options::stack_size or "
                               "--lockstep_stack_size (now ",
                               options.stack_size, " bytes)");
      } else if (end.signal == 0 && !end.sanitizer_report.empty()) {
        message = absl::StrCat(
            "a sanitizer found an error in the code under test and ended the "
            "process, in thread ",
            thread, ": ", end.sanitizer_report);
      } else if (end.crash_noted && end.crash_thread == kNoThread) {
        message = absl::StrCat("the code under test crashed: ", SignalDescription(end.signal),
                               ", on an OS thread that is not a Lockstep thread");
      } else {
        message = absl::StrCat("the code under test crashed: ", SignalDescription(end.signal),
                               ", in thread ", thread);
      }
      break;
    }
    case ChildEnd::Kind::kExited:
      failure.set_kind(Failure::EXIT);
      message = absl::StrCat(end.exit_called == 1   ? "exit("
                             : end.exit_called == 2 ? "quick_exit("
                                                    : "_exit(",
                             end.status, ") was called during the iteration, in thread ", thread,
                             ": the test process would have ended here with status ", end.status);
      break;
    case ChildEnd::Kind::kTimedOut:
      failure.set_kind(Failure::TIMEOUT);
      message = absl::StrCat("no scheduling point for ", options.watchdog.count(),
                             " ms (the watchdog): thread ", thread,
                             " runs code without Lockstep operations (an infinite loop?) or is "
                             "blocked in a call Lockstep does not model; the iteration's process "
                             "was killed");
      break;
    case ChildEnd::Kind::kMisuse:
      failure.set_kind(Failure::MISUSE);
      message = end.misuse;
      break;
    case ChildEnd::Kind::kReturned:
    case ChildEnd::Kind::kNotStarted:
      failure.set_kind(Failure::CRASH);
      message = "the iteration's process ended without a result";
      break;
  }
  if (!end.output_tail.empty()) {
    absl::StrAppend(&message, "; its output ends with:", OutputTail(end.output_tail, 8));
  }
  failure.set_message(std::move(message));
  failure.set_step(steps);
  failure.set_thread(thread);
  LocateAssert(end.output_tail, &failure);
  return failure;
}

// A crash, exit or hang is located at the last operation the failing thread
// performed before it, as far as the recording saw.
void LocateAtLastEvent(const Trace& trace, Failure* failure) {
  if (failure->has_location() && !failure->location().file().empty()) return;
  for (int i = trace.events_size(); i-- > 0;) {
    const Event& event = trace.events(i);
    if (event.thread() != failure->thread()) continue;
    *failure->mutable_location() = event.location();
    failure->set_message(absl::StrCat(failure->message(), " (after its last Lockstep operation, ",
                                      event.op(), " at ", event.location().file(), ":",
                                      event.location().line(), ")"));
    return;
  }
}

class IsolatedRun {
 public:
  IsolatedRun(const std::function<void()>& body, const Options& options, SharedMemory memory)
      : body_(body),
        options_(options),
        plan_(options),
        memory_(std::move(memory)),
        area_(reinterpret_cast<Area*>(memory_.area())) {}

  // Runs the recording child for `trace`'s iteration: a replay of its
  // decisions, or with `strategy` (then the decisions it makes are added to
  // `trace`). Fills in threads, objects and events; returns the outcome: a
  // failure, nullopt (passed), or how the child died, as `end`.
  std::optional<Failure> Record(Trace& trace, Strategy* strategy, ChildEnd& end) {
    ResetArea();
    end = RunInChild(
        memory_,
        [&] {
          Controller controller(ReplaySettings(options_, trace));
          Mirror mirror(area_);
          controller.set_observer(&mirror);
          ReplayStrategy replay(trace, options_.replay != nullptr && options_.replay_tolerant);
          Trace recording = TraceHeader(trace);
          IterationOutcome outcome =
              controller.RunIteration(body_, strategy != nullptr ? *strategy : replay,
                                      trace.iteration(), trace.iteration_seed(), &recording);
          Trace result;
          if (outcome.failure) *result.mutable_failure() = std::move(*outcome.failure);
          mirror.OnProgress(controller);
          mirror.Append(kOutcome, result);
        },
        options_.watchdog);
    if (strategy != nullptr) AddDecisions(Decisions(*area_), &trace);
    if (area_->overflowed.load() != 0) {
      // Not silently: the trace would replay only part of the iteration.
      end.kind = ChildEnd::Kind::kMisuse;
      end.misuse = absl::StrCat(
          "the iteration made more decisions than process isolation can "
          "record (",
          kMaxDecisions, "); lower max_steps or turn isolation off");
    }
    Streamed streamed = ReadStream(*area_);
    trace.mutable_threads()->Swap(streamed.parts.mutable_threads());
    trace.mutable_objects()->Swap(streamed.parts.mutable_objects());
    trace.mutable_events()->Swap(streamed.parts.mutable_events());
    if (end.kind == ChildEnd::Kind::kReturned && streamed.has_outcome) {
      if (!streamed.outcome.has_failure()) return std::nullopt;  // passed
      return streamed.outcome.failure();
    }
    return FailureFromEnd(end, TraceDecisions(trace), options_);
  }

  RunResult Replay(const Trace& recorded) {
    RunResult result;
    Trace trace = TraceHeader(recorded);
    *trace.mutable_decisions() = recorded.decisions();
    ChildEnd end;
    std::optional<Failure> failure = Record(trace, nullptr, end);
    if (end.kind == ChildEnd::Kind::kNotStarted) return CannotIsolate(end);
    if (failure) {
      if (end.kind != ChildEnd::Kind::kReturned) LocateAtLastEvent(trace, &*failure);
      *trace.mutable_failure() = std::move(*failure);
    }
    result.iterations = 1;
    result.distinct_schedules = 1;
    result.total_steps = trace.failure().step();
    result.trace = std::move(trace);
    return result;
  }

  RunResult Explore(Strategy& strategy) {
    RunResult result;
    const auto start = std::chrono::steady_clock::now();
    absl::flat_hash_set<uint64_t> schedules;
    const bool searching = strategy.HasSearchState();
    uint64_t next = 0;  // the plan's position the next explorer starts at
    while (true) {
      ResetArea();
      const ChildEnd end = RunInChild(
          memory_, [&] { ExploreFrom(next, strategy, start); }, options_.watchdog);
      if (end.kind == ChildEnd::Kind::kNotStarted) return CannotIsolate(end);
      // Catch up with the explorer: its finished iterations.
      const uint64_t finished = area_->summary_count.load(std::memory_order_acquire);
      for (uint64_t k = 0; k < finished; ++k) {
        const IterationSummary& summary = area_->summaries[k];
        const uint64_t i = *plan_.IterationAt(next + k);
        if (!searching) {
          strategy.BeginIteration(i, IterationSeed(options_.seed, i));
          strategy.EndIteration(summary.steps);
        }
        result.total_steps += summary.steps;
        schedules.insert(summary.schedule_hash);
      }
      result.iterations += finished;
      result.distinct_schedules = schedules.size();
      // A resumed explorer starts counting afresh: keep the larger count.
      result.conflict_pairs = std::max(result.conflict_pairs, area_->conflict_pairs.load());
      next += finished;
      result.exhausted = area_->exhausted.load() != 0;
      result.redundant_iterations = area_->redundant.load();
      const Streamed streamed = ReadStream(*area_);
      if (end.kind == ChildEnd::Kind::kReturned && !streamed.has_outcome) {
        if (area_->paused.load() == 0) break;  // every iteration passed
        // Summaries full: resume, where the explorer's search was.
        if (searching && !strategy.RestoreState(streamed.search_state)) {
          result.status = absl::InternalError("the explorer's search state could not be read back");
          break;
        }
        continue;
      }
      const bool died = end.kind != ChildEnd::Kind::kReturned;
      if (!died) {
        // A failure Lockstep detected, with its iteration's decisions.
        const uint64_t failed = *plan_.IterationAt(next - 1);
        Trace trace = HeaderFromOptions(options_, failed, IterationSeed(options_.seed, failed),
                                        streamed.outcome.strategy());
        AddDecisions(Decisions(*area_), &trace);
        ChildEnd again_end;
        std::optional<Failure> again = Record(trace, nullptr, again_end);
        *trace.mutable_failure() =
            ReportedFailure(streamed.outcome.failure(), again, Describe(again, again_end));
        result.trace = std::move(trace);
        break;
      }
      // The explorer died at position `next`: run its iteration again,
      // recording, with the strategy where the explorer's was.
      // A search replays the decisions the explorer mirrored.
      const uint64_t died_in = *plan_.IterationAt(next);
      const uint64_t seed = IterationSeed(options_.seed, died_in);
      strategy.BeginIteration(died_in, seed);
      Trace trace = HeaderFromOptions(options_, died_in, seed, strategy.Config());
      if (searching) AddDecisions(Decisions(*area_), &trace);
      ChildEnd again_end;
      std::optional<Failure> again = Record(trace, searching ? nullptr : &strategy, again_end);
      Failure failure = FailureFromEnd(end, TraceDecisions(trace), options_);
      if (again_end.kind != end.kind) {
        // Not the same end: the explorer's failure, with a note.
        failure = ReportedFailure(failure, std::nullopt, Describe(again, again_end));
      }
      LocateAtLastEvent(trace, &failure);
      *trace.mutable_failure() = std::move(failure);
      result.iterations += 1;
      result.total_steps += trace.failure().step();
      schedules.insert(died_in ^ 0x9e3779b97f4a7c15ull);  // a schedule of its own
      result.distinct_schedules = schedules.size();
      result.trace = std::move(trace);
      break;
    }
    result.elapsed = std::chrono::steady_clock::now() - start;
    return result;
  }

 private:
  void ResetArea() {
    area_->decision_count.store(0);
    area_->summary_count.store(0);
    area_->conflict_pairs.store(0);
    area_->paused.store(0);
    area_->exhausted.store(0);
    area_->overflowed.store(0);
    area_->stream_bytes.store(0);
  }

  // The explorer child: the plan's iterations from position `first` on, as
  // RunInProcess runs them.
  void ExploreFrom(uint64_t first, Strategy& strategy,
                   std::chrono::steady_clock::time_point start) {
    Controller controller(ExploreSettings(options_));
    ProgressMeter progress(options_, plan_.budget());
    absl::flat_hash_set<uint64_t> schedules;
    auto elapsed = [start]() -> std::chrono::nanoseconds {
      return std::chrono::steady_clock::now() - start;
    };
    for (uint64_t position = first;; ++position) {
      const std::optional<uint64_t> next = plan_.Next(position, elapsed);
      if (!next) return;
      const uint64_t i = *next;
      const uint64_t done = position - first;
      if (done == kMaxSummaries) {
        if (strategy.HasSearchState()) Mirror(area_).Append(kSearchState, strategy.SaveState());
        area_->paused.store(1);
        return;
      }
      // A search's decisions, as they are made (see the top of this file).
      Mirror live(area_);
      if (strategy.HasSearchState()) {
        area_->decision_count.store(0, std::memory_order_relaxed);
        controller.set_observer(&live);
      }
      IterationOutcome outcome =
          controller.RunIteration(body_, strategy, i, IterationSeed(options_.seed, i), nullptr);
      controller.set_observer(nullptr);
      area_->redundant.store(strategy.RedundantIterations(), std::memory_order_relaxed);
      area_->summaries[done] = {outcome.steps, outcome.schedule_hash};
      area_->conflict_pairs.store(controller.coverage().pairs(), std::memory_order_relaxed);
      area_->summary_count.store(done + 1, std::memory_order_release);
      schedules.insert(outcome.schedule_hash);
      progress.Update({position + 1, schedules.size(), controller.coverage().pairs()});
      if (outcome.failure) {
        // Its decisions, and its failure, for the recording child.
        Mirror mirror(area_);
        mirror.OnProgress(controller);
        Trace result;
        *result.mutable_failure() = std::move(*outcome.failure);
        *result.mutable_strategy() = std::move(outcome.strategy_config);
        mirror.Append(kOutcome, result);
        return;
      }
      if (strategy.Exhausted()) {
        area_->exhausted.store(1);
        return;
      }
    }
  }

  static RunResult CannotIsolate(const ChildEnd& end) {
    RunResult result;
    result.status = absl::InternalError(absl::StrCat(
        "process isolation failed (", end.error, "); run with isolation off to go on without it"));
    return result;
  }

  const std::function<void()>& body_;
  const Options& options_;
  const IterationPlan plan_;
  SharedMemory memory_;
  Area* area_;
};

}  // namespace

RunResult RunIsolated(const std::function<void()>& body, const Options& options,
                      Strategy& strategy) {
  absl::StatusOr<SharedMemory> memory = SharedMemory::Map(sizeof(Area));
  if (!memory.ok()) {
    RunResult result;
    result.status = memory.status();
    return result;
  }
  IsolatedRun run(body, options, std::move(*memory));
  if (options.replay != nullptr) return run.Replay(*options.replay);
  return run.Explore(strategy);
}

}  // namespace lockstep::internal
