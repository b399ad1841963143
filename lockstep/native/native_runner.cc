#include "lockstep/native/native_runner.h"

#include <execinfo.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lockstep/failure.h"
#include "lockstep/internal/child_process.h"
#include "lockstep/internal/controller.h"
#include "lockstep/internal/instrumentation.h"
#include "lockstep/internal/iteration_plan.h"
#include "lockstep/internal/prng.h"
#include "lockstep/internal/progress.h"
#include "lockstep/native/isolation.h"
#include "lockstep/native/session.h"
#include "lockstep/strategy/factory.h"
#include "lockstep/strategy/replay.h"
#include "lockstep/trace_io.h"

// Under ThreadSanitizer: isolation forks the test process for every
// iteration, and the code under test may fork while its threads run. TSan
// kills a forked child of a multi-threaded process when it starts a thread
// (die_after_fork), which an earlier in-process run's leftover threads or a
// forking body would trigger. Weak: a binary's own definition, and
// TSAN_OPTIONS, take precedence.
extern "C" __attribute__((weak)) const char* __tsan_default_options() { return "die_after_fork=0"; }

namespace lockstep {

namespace native_internal {
void LinkInterposer();
void LinkAbslInterposer();
}  // namespace native_internal

std::string_view NativeModeName(NativeMode mode) {
  return mode == NativeMode::kObserve ? "observe" : "control";
}

absl::StatusOr<NativeMode> ParseNativeMode(std::string_view name) {
  if (name == "control") return NativeMode::kControl;
  if (name == "observe") return NativeMode::kObserve;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown native mode \"", std::string(name), "\"; accepted: control, observe"));
}

Options NativeOptions::Common() const {
  return Options{.iterations = iterations,
                 .seed = seed,
                 .only_iteration = only_iteration,
                 .shard = shard,
                 .strategy = strategy,
                 .pct_depth = pct_depth,
                 .pct_step_estimate = pct_step_estimate,
                 .fair_prefix = fair_prefix,
                 .max_steps = max_steps,
                 .time_budget = time_budget,
                 .progress_interval = progress_interval,
                 .spurious_wakeups = spurious_wakeups,
                 .test_suite = test_suite,
                 .test_name = test_name,
                 .replay = replay,
                 .replay_tolerant = replay_tolerant,
                 .watchdog = watchdog,
                 .accesses = accesses,
                 .races = races};
}

void NativeOptions::SetCommon(const Options& o) {
  iterations = o.iterations;
  seed = o.seed;
  only_iteration = o.only_iteration;
  shard = o.shard;
  strategy = o.strategy;
  pct_depth = o.pct_depth;
  pct_step_estimate = o.pct_step_estimate;
  fair_prefix = o.fair_prefix;
  max_steps = o.max_steps;
  time_budget = o.time_budget;
  progress_interval = o.progress_interval;
  watchdog = o.watchdog;
  spurious_wakeups = o.spurious_wakeups;
  test_suite = o.test_suite;
  test_name = o.test_name;
  replay = o.replay;
  replay_tolerant = o.replay_tolerant;
  accesses = o.accesses;
  races = o.races;
}

namespace {

using internal::Controller;
using internal::DecisionRecord;
using internal::kNoThread;
using native_internal::ChildStream;
using native_internal::IterationSetup;
using native_internal::NativeOutcome;
using native_internal::Session;

// What one iteration left: its outcome and decisions, and in `record` its
// threads and objects, and when recording (or observing) its events.
struct IterationResult {
  NativeOutcome native;
  std::vector<DecisionRecord> decisions;
  Trace record;
};

// Whether the child `pid` has ended, without reaping it: while it is a
// zombie its pid (and process group id) cannot name another process.
bool ProcessEnded(pid_t pid) {
  siginfo_t info{};
  return waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

// A descriptor that becomes readable when `pid` ends, or -1 (old kernels).
int ProcessFd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

// The signal an isolated child gets when the test process dies: a
// real-time one (code under test rarely handles those), whose handler ends
// the child's whole process group.
int ParentDiedSignal() { return SIGRTMAX; }
void EndProcessGroup(int) { kill(0, SIGKILL); }

class IterationRunner {
 public:
  IterationRunner(const NativeOptions& options, ChildStream* stream)
      : options_(options), stream_(stream) {
    controller_ = std::make_unique<Controller>(Controller::Settings{
        .max_steps = options.max_steps,
        .spurious_wakeups = options.spurious_wakeups,
        // Threads run concurrently in observe mode: no happens-before there.
        .detect_races =
            options.mode == NativeMode::kControl && internal::Instrumentation::DetectRaces(),
        .races = options.races});
  }

  // `record`: record every event (observe mode always does).
  IterationResult Run(const std::function<void()>& body, Strategy& strategy, uint64_t iteration,
                      uint64_t seed, bool record) {
    IterationSetup setup{.mode = options_.mode,
                         .resume_quantum_us = options_.resume_quantum_us,
                         .watchdog = options_.watchdog,
                         .spurious_wakeups = options_.spurious_wakeups};
    if (stream_ == nullptr) {
      IterationResult result;
      result.native = Session::Get().RunIteration(body, *controller_, strategy, iteration, seed,
                                                  record ? &result.record : nullptr, setup);
      result.decisions = controller_->decisions();
      *result.record.mutable_threads() = result.native.tables.threads();
      *result.record.mutable_objects() = result.native.tables.objects();
      return result;
    }
    return RunInChild(body, strategy, iteration, seed, record, setup);
  }

  // The conflicting-operation pairs of the iterations run so far.
  uint64_t conflict_pairs() const { return controller_->coverage().pairs(); }

 private:
  IterationResult RunInChild(const std::function<void()>& body, Strategy& strategy,
                             uint64_t iteration, uint64_t seed, bool record, IterationSetup setup) {
    native_internal::WarmThreadCaches(child_threads_);
    stream_->Reset();
    deadline_killed_ = false;
    int output[2];
    IterationResult result;
    if (pipe2(output, O_CLOEXEC) != 0) {
      return Failed(Failure::CRASH, absl::StrCat("cannot create a pipe for the isolated child: ",
                                                 std::strerror(errno)));
    }
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
      close(output[0]);
      close(output[1]);
      return Failed(Failure::CRASH,
                    absl::StrCat("cannot fork the isolated child: ", std::strerror(errno)));
    }
    if (pid == 0) {
      // A process group of its own, so that every process the code under
      // test forks ends with it; and the group ends if the test process
      // dies (killed by a timeout, Ctrl-C...).
      setpgid(0, 0);
      struct sigaction on_parent_death {};
      on_parent_death.sa_handler = &EndProcessGroup;
      sigemptyset(&on_parent_death.sa_mask);
      sigaction(ParentDiedSignal(), &on_parent_death, nullptr);
      prctl(PR_SET_PDEATHSIG, ParentDiedSignal());
      if (getppid() != parent) _exit(1);
      close(output[0]);
      dup2(output[1], STDERR_FILENO);
      ChildStream::InstallCrashHandlers(stream_);
      setup.stream = stream_;
      Trace trace;
      NativeOutcome outcome = Session::Get().RunIteration(body, *controller_, strategy, iteration,
                                                          seed, record ? &trace : nullptr, setup);
      stream_->Flush(*controller_, outcome.tables, record ? &trace : nullptr);
      stream_->WriteOutcome(outcome);
      if (strategy.HasSearchState()) stream_->WriteSearchState(strategy.SaveState());
      std::fflush(stdout);
      _exit(0);
    }
    setpgid(pid, pid);  // also here: whichever runs first, the group exists
    close(output[1]);
    const std::string output_text = Drain(output[0], pid);
    close(output[0]);
    int status = 0;
    waitpid(pid, &status, 0);

    ChildStream::Contents contents = stream_->Read();
    result.decisions = std::move(contents.decisions);
    result.record = std::move(contents.trace);
    child_threads_ = std::max(child_threads_, static_cast<uint32_t>(result.record.threads_size()));
    internal::IterationOutcome& outcome = result.native.outcome;
    result.native.quantum_expirations = contents.quantum_expirations;
    controller_->coverage().Merge(contents.conflict_pairs);
    if (contents.finished) {
      outcome.failure = std::move(contents.failure);
      outcome.steps = contents.steps;
      outcome.schedule_hash = contents.schedule_hash;
      outcome.strategy_config = contents.strategy_config;
    } else {
      outcome.failure = ChildFailure(status, contents, result, output_text);
      outcome.steps = outcome.failure->step();
      outcome.strategy_config = strategy.Config();
    }
    if (contents.overflowed && !outcome.failure) {
      outcome.failure = Failure();
      outcome.failure->set_kind(Failure::MISUSE);
      outcome.failure->set_message(
          "the iteration's record exceeded the isolation stream; lower max_steps");
    }
    // The parent's strategy learns what the child's learned (PCT's step
    // estimate...): its per-iteration state is a function of the seed, or
    // for a search, the child's search state (none when it died: the run
    // stops there).
    if (!strategy.HasSearchState()) {
      strategy.BeginIteration(iteration, seed);
      strategy.EndIteration(outcome.steps);
    } else if (contents.finished && !outcome.failure &&
               !strategy.RestoreState(contents.search_state)) {
      outcome.failure = Failure();
      outcome.failure->set_kind(Failure::MISUSE);
      outcome.failure->set_message(
          "internal error: the isolated child's search state could not be read back");
    }
    return result;
  }

  // The failure of a child that ended before it could report: killed by a
  // signal, exited where Lockstep does not see it, or killed by us.
  Failure ChildFailure(int status, const ChildStream::Contents& contents,
                       const IterationResult& result, const std::string& output_text) const {
    Failure failure;
    const int signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    std::string message;
    if (deadline_killed_) {
      failure.set_kind(Failure::TIMEOUT);
      message = absl::StrCat("the iteration's process did not end within twice the watchdog (",
                             options_.watchdog.count(), " ms) and was killed");
    } else if (signal != 0) {
      failure.set_kind(Failure::CRASH);
      const int noted = contents.crash_signal != 0 ? contents.crash_signal : signal;
      message = absl::StrCat("the code under test crashed: ",
                             internal::SignalDescription(noted, contents.stack_overflow));
    } else if (const std::string report = internal::SanitizerReport(output_text); !report.empty()) {
      failure.set_kind(Failure::CRASH);
      message = absl::StrCat(
          "a sanitizer found an error in the code under test and ended the process: ", report);
    } else {
      failure.set_kind(Failure::EXIT);
      message = absl::StrCat(
          "the iteration's process exited with status ", WEXITSTATUS(status),
          " before the iteration ended (an exit outside the run's threads, or a direct system "
          "call)");
    }
    // The thread: the one the crash handler saw, else the last one scheduled
    // (in control mode the one running, unless some ran outside the model).
    uint64_t steps = 0;
    uint32_t thread = kNoThread;
    for (const DecisionRecord& d : result.decisions) {
      if (d.kind != Decision::SCHEDULE) continue;
      ++steps;
      thread = d.value;
    }
    if (contents.crash_signal != 0 && contents.crash_thread != kNoThread) {
      thread = contents.crash_thread;
    }
    if (thread == kNoThread || thread >= static_cast<uint32_t>(result.record.threads_size())) {
      thread = 0;
    }
    absl::StrAppend(&message, ", in thread ", thread);
    if (!output_text.empty()) {
      absl::StrAppend(&message, "; its output ends with:", internal::OutputTail(output_text, 8));
    }
    failure.set_message(std::move(message));
    failure.set_step(steps);
    failure.set_thread(thread);
    internal::LocateAssert(output_text, &failure);
    return failure;
  }

  // Forwards the child's stderr to ours as it comes and keeps it (for the
  // failure message) until the child ends; kills a child that outlives
  // twice the watchdog. Then ends every process left in its group
  // (processes the code under test forked, which may hold the pipe open).
  std::string Drain(int fd, pid_t pid) {
    std::string kept;
    const auto deadline =
        std::chrono::steady_clock::now() + 2 * options_.watchdog + std::chrono::seconds(5);
    const int process = ProcessFd(pid);
    bool open = true;
    char buffer[4096];
    auto read_some = [&] {
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n <= 0) {
        open = false;
        return;
      }
      std::fwrite(buffer, 1, static_cast<size_t>(n), stderr);
      kept.append(buffer, static_cast<size_t>(n));
      if (kept.size() > 64 * 1024) kept.erase(0, kept.size() - 32 * 1024);
    };
    while (!ProcessEnded(pid)) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        deadline_killed_ = true;
        break;
      }
      pollfd p[2] = {{open ? fd : -1, POLLIN, 0}, {process, POLLIN, 0}};
      // Without a process descriptor, the end is noticed by polling.
      const int timeout_ms = process >= 0 ? 100 : open ? 5 : 1;
      if (poll(p, 2, timeout_ms) > 0 && (p[0].revents & (POLLIN | POLLHUP)) != 0) read_some();
    }
    kill(-pid, SIGKILL);
    // What is left in the pipe; a process that left the group may keep it
    // open, so only what is there now.
    for (int i = 0; open && i < 64; ++i) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 10) <= 0) break;
      read_some();
    }
    if (process >= 0) close(process);
    return kept;
  }

  IterationResult Failed(Failure::Kind kind, std::string message) {
    IterationResult result;
    result.native.outcome.failure = Failure();
    result.native.outcome.failure->set_kind(kind);
    result.native.outcome.failure->set_message(std::move(message));
    result.record.add_threads()->set_name("main");
    return result;
  }

  const NativeOptions& options_;
  ChildStream* stream_;
  std::unique_ptr<Controller> controller_;
  bool deadline_killed_ = false;
  // The most threads a child's iteration started so far (the body's at
  // least): how many the parent warms up before forking (WarmThreadCaches).
  uint32_t child_threads_ = 1;
};

// Whether the recording re-execution failed the way the failing run did.
bool SameWay(const Failure& again, const Failure& original) {
  return SameFailure(again, original) && again.thread() == original.thread() &&
         again.step() == original.step();
}

// Failure.note for a re-execution that did not fail the way the failing
// run did: where it diverged and what it did instead.
std::string Where(const SourceLocation& location) {
  if (location.file().empty()) return "an unknown place";
  return absl::StrCat(
      location.file(), ":", location.line(),
      location.function().empty() ? "" : absl::StrCat(" (", location.function(), ")"));
}

// Where the trace's schedule was not controlled: each quantum expiration
// names the thread that went on outside the model, its last modelled call
// and where it was running then.
std::string CoverageNote(const Trace& trace) {
  const uint32_t expirations = trace.native().quantum_expirations();
  if (expirations == 0) return "";
  std::string note = absl::StrCat(
      "The schedule was not fully controlled: ", expirations,
      " quantum expiration(s), each letting a thread run outside the model until its next "
      "interposed call (a spin, a long computation, or a blocking call Lockstep does not "
      "model; a larger resume_quantum_us may help)");
  constexpr int kShown = 3;
  int shown = 0;
  for (int i = 0; i < trace.events_size(); ++i) {
    const Event& expired = trace.events(i);
    if (expired.op() != "quantum.expired") continue;
    if (++shown > kShown) continue;
    const Event* last = nullptr;
    for (int j = i - 1; j >= 0 && last == nullptr; --j) {
      if (trace.events(j).thread() == expired.thread()) last = &trace.events(j);
    }
    absl::StrAppend(&note, shown == 1 ? ": " : "; ", "at step ", expired.step(), ", thread ",
                    expired.thread(),
                    last == nullptr ? std::string()
                                    : absl::StrCat(" (last modelled call: ", last->op(), " at ",
                                                   Where(last->location()), ")"),
                    " was running at ", Where(expired.location()));
  }
  if (shown > kShown) absl::StrAppend(&note, "; and ", shown - kShown, " more");
  absl::StrAppend(&note, ".");
  return note;
}

void AppendNote(Failure* failure, std::string_view note) {
  if (note.empty()) return;
  failure->set_note(
      absl::StrCat(failure->note(), failure->note().empty() ? "" : " ", std::string(note)));
}

std::string DivergenceNote(const IterationResult& again, uint32_t expirations) {
  const std::optional<Failure>& failure = again.native.outcome.failure;
  std::string what;
  if (!failure) {
    what = absl::StrCat("at step ", again.native.outcome.steps,
                        ": the re-execution passed (it ran to the end without failing)");
  } else if (failure->kind() == Failure::NONDETERMINISM) {
    absl::string_view message = failure->message();
    // The replay strategy's reason, without its general explanation.
    message = message.substr(0, message.find(". The test body behaves"));
    constexpr absl::string_view kAtStep = "replay diverged at step ";
    constexpr absl::string_view kDiverged = "replay diverged: ";
    if (message.substr(0, kAtStep.size()) == kAtStep) {
      what = absl::StrCat("at step ", message.substr(kAtStep.size()));
    } else if (message.substr(0, kDiverged.size()) == kDiverged) {
      what = absl::StrCat("at step ", failure->step(), ": ", message.substr(kDiverged.size()));
    } else {
      what = absl::StrCat("at step ", failure->step(), ": ", message);
    }
  } else {
    what = absl::StrCat(
        "at step ", failure->step(),
        ": it failed differently: ", std::string(FailureKindName(failure->kind())), " in thread ",
        failure->thread(),
        failure->location().file().empty()
            ? std::string()
            : absl::StrCat(" at ", failure->location().file(), ":", failure->location().line()),
        ": ", failure->message());
  }
  const uint32_t outside = expirations + again.native.quantum_expirations;
  return absl::StrCat(
      "re-execution diverged ", what, ". ",
      outside > 0
          ? absl::StrCat("Threads ran outside the model (", outside,
                         " quantum expirations), so the schedule was not fully controlled; a "
                         "larger resume_quantum_us may help. ")
          : "The code depends on something besides the schedule (real time, randomness, "
            "synchronization Lockstep does not model, state kept across iterations). ",
      "The trace holds the failing run's decisions, without events.");
}

absl::Status ValidateOptions(const NativeOptions& options) {
  if (absl::Status status = ValidateExploration(options.Common()); !status.ok()) return status;
  if (options.resume_quantum_us == 0) {
    return absl::InvalidArgumentError("resume_quantum_us must be >= 1");
  }
  if (options.replay != nullptr) {
    if (absl::Status status = ValidateTrace(*options.replay); !status.ok()) return status;
    if (options.replay->runner() != RUNNER_NATIVE_CONTROL) {
      return absl::InvalidArgumentError(
          options.replay->runner() == RUNNER_NATIVE_OBSERVE
              ? "the trace was recorded in observe mode, which does not control the schedule, "
                "so it cannot be replayed; record it in control mode"
              : "the trace to replay was not recorded by the native runner");
    }
    if (options.mode != NativeMode::kControl) {
      return absl::InvalidArgumentError("replay needs control mode");
    }
  }
  if (IsExhaustive(options.strategy) && options.mode != NativeMode::kControl) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", std::string(StrategyKindName(options.strategy)),
        " strategy explores every schedule, which needs control mode (observe mode does not "
        "choose the schedule)"));
  }
  return absl::OkStatus();
}

Trace Header(const NativeOptions& options, uint64_t iteration, uint64_t seed,
             StrategyConfig strategy) {
  Trace trace;
  trace.set_format_version(kTraceFormatVersion);
  trace.set_test_suite(options.test_suite);
  trace.set_test_name(options.test_name);
  trace.set_runner(options.mode == NativeMode::kControl ? RUNNER_NATIVE_CONTROL
                                                        : RUNNER_NATIVE_OBSERVE);
  strategy.set_spurious_wakeups(options.spurious_wakeups);
  *trace.mutable_strategy() = std::move(strategy);
  trace.set_base_seed(options.seed);
  trace.set_iteration(iteration);
  trace.set_iteration_seed(seed);
  trace.set_max_steps(options.max_steps);
  internal::Instrumentation::Describe(iteration, &trace);
  NativeInfo* native = trace.mutable_native();
  native->set_isolated(options.isolate);
  native->set_resume_quantum_us(options.resume_quantum_us);
  native->set_watchdog_ms(static_cast<uint64_t>(options.watchdog.count()));
  return trace;
}

void AddDecisions(const std::vector<DecisionRecord>& decisions, Trace* trace) {
  for (const DecisionRecord& d : decisions) {
    Decision* decision = trace->add_decisions();
    decision->set_kind(d.kind);
    decision->set_value(d.value);
    decision->set_options(d.options);
  }
}

// Moves the threads, objects and events of a run into `trace`.
void AddRecord(Trace record, Trace* trace) {
  trace->mutable_threads()->Swap(record.mutable_threads());
  trace->mutable_objects()->Swap(record.mutable_objects());
  trace->mutable_events()->Swap(record.mutable_events());
}

std::atomic<bool> g_running{false};

// In the child of a fork() by the code under test.
void AtForkChild() { Session::DetachForkedProcess(); }

}  // namespace

RunResult NativeRunner::Run(const std::function<void()>& body, const NativeOptions& options) {
  native_internal::LinkInterposer();
  native_internal::LinkAbslInterposer();
  static const bool at_fork_registered = pthread_atfork(nullptr, nullptr, &AtForkChild) == 0;
  (void)at_fork_registered;
  RunResult result;
  if (InRun() || g_running.exchange(true)) {
    result.status = absl::FailedPreconditionError(
        "lockstep::NativeRunner::Run called inside a run (native runs do not nest)");
    return result;
  }
  struct Done {
    ~Done() { g_running.store(false); }
  } done;
  result.status = ValidateOptions(options);
  if (!result.status.ok()) return result;
  absl::StatusOr<std::unique_ptr<Strategy>> strategy = MakeStrategy(options.Common());
  if (!strategy.ok()) {
    result.status = strategy.status();
    return result;
  }
  internal::Instrumentation::BeginRun(options.accesses, options.races, options.replay);
  // Load the unwinder now, not inside a run.
  void* frame;
  backtrace(&frame, 1);
  std::unique_ptr<ChildStream> stream;
  if (options.isolate) {
    absl::StatusOr<ChildStream*> created = ChildStream::Create(size_t{1} << 30);
    if (!created.ok()) {
      result.status = created.status();
      return result;
    }
    stream.reset(*created);
  }
  IterationRunner runner(options, stream.get());
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::steady_clock::now() - start; };

  if (const Trace* recorded = options.replay) {
    Trace trace = TraceHeader(*recorded);
    *trace.mutable_decisions() = recorded->decisions();
    IterationResult replayed = runner.Run(body, **strategy, recorded->iteration(),
                                          recorded->iteration_seed(), /*record=*/true);
    AddRecord(std::move(replayed.record), &trace);
    if (std::optional<Failure>& failure = replayed.native.outcome.failure) {
      const uint32_t expirations = replayed.native.quantum_expirations;
      if (failure->kind() == Failure::NONDETERMINISM && expirations > 0) {
        failure->set_note(
            absl::StrCat("threads ran outside the model during the replay (", expirations,
                         " quantum expirations), so it was not fully controlled; a larger "
                         "resume_quantum_us may help"));
      }
      *trace.mutable_failure() = std::move(*failure);
    }
    trace.mutable_native()->set_quantum_expirations(replayed.native.quantum_expirations);
    if (trace.has_failure()) AppendNote(trace.mutable_failure(), CoverageNote(trace));
    result.iterations = 1;
    result.distinct_schedules = 1;
    result.total_steps = replayed.native.outcome.steps;
    result.trace = std::move(trace);
    result.elapsed = elapsed();
    return result;
  }

  const bool observe = options.mode == NativeMode::kObserve;
  std::unordered_set<uint64_t> schedules;
  const internal::IterationPlan plan(options.Common());
  internal::ProgressMeter progress(options.Common(), plan.budget());
  for (uint64_t position = 0;; ++position) {
    const std::optional<uint64_t> next = plan.Next(position, elapsed());
    if (!next) break;
    const uint64_t i = *next;
    const uint64_t seed = internal::IterationSeed(options.seed, i);
    // Observe mode cannot re-execute a schedule, so it records every
    // iteration as it runs.
    IterationResult iteration = runner.Run(body, **strategy, i, seed, /*record=*/observe);
    ++result.iterations;
    result.total_steps += iteration.native.outcome.steps;
    schedules.insert(iteration.native.outcome.schedule_hash);
    progress.Update({result.iterations, schedules.size(), runner.conflict_pairs()});
    if (!iteration.native.outcome.failure) {
      if ((**strategy).Exhausted()) {
        result.exhausted = true;
        break;
      }
      continue;
    }
    // The failure that happened is the one reported, whatever a
    // re-execution does.
    const Failure failure = std::move(*iteration.native.outcome.failure);

    Trace trace = Header(options, i, seed, iteration.native.outcome.strategy_config);
    AddDecisions(iteration.decisions, &trace);
    std::string note;
    // The expirations of the run whose events the trace holds.
    uint32_t expirations = iteration.native.quantum_expirations;
    if (observe) {
      AddRecord(std::move(iteration.record), &trace);
    } else {
      // Re-execute the failing run's decisions, recording every event; the
      // events are kept only when it fails the same way.
      ReplayStrategy replay(trace);
      IterationResult again = runner.Run(body, replay, i, seed, /*record=*/true);
      if (again.native.outcome.failure && SameWay(*again.native.outcome.failure, failure)) {
        AddRecord(std::move(again.record), &trace);
        expirations = again.native.quantum_expirations;
      } else {
        AddRecord(std::move(iteration.record), &trace);
        note = DivergenceNote(again, iteration.native.quantum_expirations);
      }
    }
    *trace.mutable_failure() = failure;
    if (!note.empty()) trace.mutable_failure()->set_note(std::move(note));
    if (trace.failure().thread() >= static_cast<uint32_t>(trace.threads_size())) {
      // Never expected; but a trace that names no known thread would not be
      // written, and a found bug must be reported.
      Failure* recorded = trace.mutable_failure();
      AppendNote(recorded, absl::StrCat("The runner could not tell which thread failed (it said ",
                                        recorded->thread(), ")."));
      recorded->set_thread(0);
    }
    trace.mutable_native()->set_quantum_expirations(expirations);
    AppendNote(trace.mutable_failure(), CoverageNote(trace));
    result.trace = std::move(trace);
    break;
  }
  result.redundant_iterations = (**strategy).RedundantIterations();
  result.distinct_schedules = schedules.size();
  result.conflict_pairs = runner.conflict_pairs();
  result.elapsed = elapsed();
  return result;
}

}  // namespace lockstep
