// The native runner: controlled-concurrency testing of unmodified code that
// uses std::thread, std::jthread, std::mutex, std::recursive_mutex,
// std::timed_mutex, std::shared_mutex, std::condition_variable(_any), POSIX
// semaphores or raw pthreads.
//
//   lockstep::RunResult r = lockstep::NativeRunner::Run([] {
//     Account account(100);                       // plain std::mutex inside
//     std::thread a([&] { account.Withdraw(80); });
//     std::thread b([&] { account.Withdraw(80); });
//     a.join();
//     b.join();
//     assert(account.balance() >= 0);
//   });
//
// Linking this library into the test binary interposes the pthread functions
// (thread create/join/detach/exit, mutex, rwlock, condition variable, POSIX
// semaphore, sched_yield, the sleeps and clock_gettime), fork and the exit
// functions. Outside a native run they pass straight through to the real
// ones.
//
// Control mode (the default): every interposed call is a scheduling point
// and one thread runs at a time, chosen by the same strategies as the
// controlled runner. Deadlocks among modelled operations are detected
// exactly; timed waits and sleeps use virtual time (clock_gettime returns it
// to the run's threads). A thread that reaches no interposed call within
// resume_quantum_us (a spin on std::atomic, a long computation, a call
// Lockstep does not model) stops holding the others up and runs on outside
// the model; the trace counts these expirations, since the schedule is then
// no longer fully controlled.
//
// Observe mode: threads run freely; every interposed call is recorded with
// its real time; failures are reported with the trace; a run that makes no
// progress for `watchdog` fails as a hang.
//
// Isolation (the default): every iteration runs in a forked child process,
// so global state starts fresh, and a crash (assert, abort, std::terminate,
// a signal, a stack overflow) is a CRASH naming the signal and the thread,
// with its trace. The child streams every decision to the parent through
// shared memory before another thread may run, so the trace replays up to
// the crash. exit() in a thread of the run is an EXIT failure; a thread that
// stops reaching interposed calls for `watchdog` is a TIMEOUT naming it and
// where it is. A process the code under test forks runs outside the model
// and is killed with the child's process group when the iteration ends.
//
// The failure reported is always the one that happened: the failing
// iteration is re-executed to record its events, and when the re-execution
// does not fail the same way, the trace keeps the failing run's decisions
// and Failure.note says where the re-execution diverged.
#ifndef LOCKSTEP_NATIVE_NATIVE_RUNNER_H_
#define LOCKSTEP_NATIVE_NATIVE_RUNNER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "lockstep/internal/sanitizers.h"
#include "lockstep/options.h"
#include "lockstep/run.h"

namespace lockstep {

enum class NativeMode {
  kControl,  // interposed calls are scheduling points; one thread runs at a time
  kObserve,  // threads run freely; interposed calls are recorded
};

// "control", "observe".
std::string_view NativeModeName(NativeMode mode);
absl::StatusOr<NativeMode> ParseNativeMode(std::string_view name);

// The options of the controlled runner (same names, same meaning, same
// order) followed by the native runner's own.
struct NativeOptions {
  // As in Options.
  uint64_t iterations = 100;
  uint64_t seed = 1;
  std::optional<uint64_t> only_iteration{};
  Shard shard{};
  StrategyKind strategy = StrategyKind::kPct;
  uint32_t pct_depth = 3;
  uint64_t pct_step_estimate = 0;
  uint32_t fair_prefix = 1000;
  uint64_t max_steps = 10000;
  std::chrono::nanoseconds time_budget{0};
  std::chrono::milliseconds progress_interval{0};
  bool spurious_wakeups = false;
  std::string test_suite{};
  std::string test_name{};
  // Replay a trace recorded by the native runner in control mode.
  const Trace* replay = nullptr;
  bool replay_tolerant = false;

  NativeMode mode = NativeMode::kControl;
  // Run each iteration in a forked child process.
  bool isolate = true;
  // Control mode: microseconds a resumed thread may run without reaching an
  // interposed call before the others go on without it (>= 1). Ten times
  // longer under ThreadSanitizer, which slows code down 5-15x: with 500 us
  // a thread sometimes misses its quantum between two calls, and a replay
  // of the same schedule diverges.
#if defined(LOCKSTEP_TSAN)
  uint32_t resume_quantum_us = 5000;
#else
  uint32_t resume_quantum_us = 500;
#endif
  // A run in which no interposed call happens for this long fails with
  // TIMEOUT (a hang: a deadlock in observe mode, or a thread blocked outside
  // the model).
  std::chrono::milliseconds watchdog{10000};
  // Instrumented code (see Options; control mode only).
  Accesses accesses = Accesses::kRacy;
  RaceMode races = RaceMode::kFail;

  // The controlled-runner options among these.
  Options Common() const;
  // Sets the controlled-runner options among these from `options`.
  void SetCommon(const Options& options);
};

class NativeRunner {
 public:
  // Runs `body` as thread 0 of each iteration (on an OS thread of its own)
  // until an iteration fails or the iterations or time budget run out. The
  // failing iteration is re-executed with full recording for its events
  // (its runner is RUNNER_NATIVE_CONTROL or RUNNER_NATIVE_OBSERVE); the
  // failure and the decisions are the failing run's. With `replay`, a body
  // that does something else given the same decisions fails with
  // NONDETERMINISM naming the step. Not reentrant: one native run at a time
  // per process.
  static RunResult Run(const std::function<void()>& body, const NativeOptions& options = {});
};

}  // namespace lockstep

#endif  // LOCKSTEP_NATIVE_NATIVE_RUNNER_H_
