// The controller: owns the logical threads of one iteration, the step
// counter, the strategy, the decision log and (when recording) the trace.
//
// Primitives talk to it in three ways only: "this thread reaches a scheduling
// point doing op X on object O" (SchedulePoint), "this thread blocks on O"
// (Block), and "O wakes these threads" (Wake*). It asks the strategy which
// enabled thread runs next; the strategy never sees a primitive.
//
// Execution: by default every logical thread is a Boost.Context fiber on the
// calling OS thread, so exactly one runs at a time. A thread switch jumps
// straight from fiber to fiber; the scheduler context (the stack that called
// RunIteration) starts the iteration and gets control back when it ends.
// Stacks come from a pool kept across iterations. The native runner instead
// plugs in an Executor that runs each logical thread on its own OS thread.
//
// Teardown: once an iteration has failed, no more user code runs in it. The
// thread that fails jumps straight back to the scheduler context, and every
// fiber that has not finished is abandoned, never unwound: destructors of a
// failed iteration's locals would run while other threads still use them,
// against primitives in an inconsistent state. An abandoned fiber's stack
// goes back to the pool (under AddressSanitizer it stays mapped and is
// scanned by LeakSanitizer instead); what its frames owned is leaked, which
// under process isolation dies with the child.
#ifndef LOCKSTEP_INTERNAL_CONTROLLER_H_
#define LOCKSTEP_INTERNAL_CONTROLLER_H_

#include <atomic>
#include <boost/context/protected_fixedsize_stack.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "lockstep/internal/conflict_coverage.h"
#include "lockstep/internal/fiber.h"
#include "lockstep/internal/memory_access.h"
#include "lockstep/internal/race_detector.h"
#include "lockstep/options.h"
#include "lockstep/strategy/strategy.h"
#include "lockstep/trace.pb.h"

namespace lockstep::internal {

inline constexpr uint32_t kNoThread = 0xFFFFFFFFu;

class Controller;

// Base of every primitive: an object the controller can name in traces and
// in deadlock reports. Objects register lazily with the running iteration,
// so a primitive built outside a run (a fixture member, a global) works, and
// one that outlives an iteration starts the next with clean scheduling state.
class ObjectBase {
 public:
  ObjectBase(const char* kind, std::string_view name, std::source_location created_at);
  ObjectBase(const ObjectBase&) = delete;
  ObjectBase& operator=(const ObjectBase&) = delete;
  virtual ~ObjectBase() = default;

  const char* kind() const { return kind_; }
  const std::string& name() const { return name_; }
  // "mutex 'm'" or "mutex #3".
  std::string Label() const;

 protected:
  // The object's id in the current iteration (registering it if needed).
  uint32_t Id(Controller& controller);
  // What a thread blocked on this object waits for, for deadlock reports,
  // e.g. "held by thread 2 'writer'".
  virtual std::string DescribeState(const Controller& controller) const;
  // Forgets scheduling state (owner, waiters) left by an earlier iteration.
  virtual void ResetState() {}

 private:
  friend class Controller;
  const char* kind_;
  std::string name_;
  std::source_location created_at_;
  uint64_t epoch_ = 0;
  uint32_t id_ = 0;
};

// One scheduling decision, as kept during exploration (cheaper than the
// protobuf Decision it becomes in a trace).
struct DecisionRecord {
  Decision::Kind kind;
  uint32_t value;
  uint32_t options;
};

// Why a blocked thread resumed.
enum class WakeReason { kNotified, kTimeout, kSpurious, kAborted };

// The failure of an iteration, as captured when it happened.
struct IterationOutcome {
  std::optional<Failure> failure;
  uint64_t steps = 0;
  uint64_t schedule_hash = 0;  // over the decisions; equal hashes = same schedule
  // For a failed iteration: the strategy's configuration while it ran.
  StrategyConfig strategy_config;
};

// How a chosen logical thread actually runs, when it is not a fiber: the
// native runner runs each logical thread on its own OS thread and lets one
// run at a time by handing over a baton. Its threads cannot be abandoned
// like fibers: once the iteration has failed, the controller's entry points
// return (Block returns kAborted) and the caller decides what the thread
// does next.
class Executor {
 public:
  virtual ~Executor() = default;
  // The calling thread `from` lets `to` run (kNoThread: nobody can run now,
  // but a thread running outside the model will come back) and waits until
  // it is chosen again or released.
  virtual void Switch(uint32_t from, uint32_t to) = 0;
  // Thread `from` has finished; `to` runs next (kNoThread: nobody, for now).
  virtual void Exit(uint32_t from, uint32_t to) = 0;
  // Records a failure reported by user code (an assertion in any thread,
  // a data race in instrumented code): its kind, message, location and
  // details; serialized with the threads' other calls into the controller.
  virtual void ReportFailure(Controller& controller, Failure failure) = 0;
  // A choose(n) by the calling thread at `location`:
  // Controller::ChooseAndRecord, serialized with the threads' other calls
  // (and with Lockstep's own work there not taken for the code under test's).
  virtual uint32_t Choose(Controller& controller, uint32_t n, std::source_location location) = 0;
  // Where a recorded event of the calling thread happened: `where` is the
  // controller's caller (a primitive's call site in the controlled runner).
  virtual void LocateEvent(Event& event, const std::source_location& where);
  // The logical thread the calling OS thread is, or kNoThread.
  virtual uint32_t CallerThread(const Controller& controller) const = 0;
  // Where the calling thread's current operation was called from, as a
  // number equal for equal call sites (for ConflictCoverage).
  virtual uint64_t CallSite() const = 0;
  // An atomic operation or scheduled access of instrumented code by the
  // calling thread: a scheduling point, `perform`, then
  // Controller::RecordMemoryOperation. Without a model to run it in (a
  // released run), only `perform`.
  virtual void MemoryOperation(Controller& controller, const MemoryOp& op,
                               absl::FunctionRef<MemoryResult()> perform) = 0;
};

class Controller {
 public:
  struct Settings {
    uint64_t max_steps = 10000;
    bool spurious_wakeups = false;
    size_t stack_size = 256 * 1024;
    // Instrumented code runs (lockstep/instrument): keep happens-before for
    // its race detection (race_detector()).
    bool detect_races = false;
    RaceMode races = RaceMode::kFail;
  };

  explicit Controller(Settings settings);
  ~Controller();

  // The controller of the run the caller is in; throws UsageError naming
  // `api` when there is none.
  static Controller& Current(const char* api) {
    if (current_controller_ == nullptr) ThrowOutsideRun(api);
    return *current_controller_;
  }
  // The controller of the running iteration, or null.
  static Controller* CurrentOrNull() { return current_controller_; }

  // Runs one iteration of `body` as thread 0, scheduled by `strategy`. When
  // `trace` is non-null, every thread, object and event is recorded into it
  // (the header fields are the caller's). Returns when every thread has
  // finished or the iteration failed (its unfinished threads abandoned).
  IterationOutcome RunIteration(const std::function<void()>& body, Strategy& strategy,
                                uint64_t iteration, uint64_t seed, Trace* trace);

  // --- For an executor (the native runner) ------------------------------
  // An iteration is BeginIteration, SpawnThread(main), the threads running
  // until main finishes or the iteration fails, then EndIteration.

  void set_executor(Executor* executor) { executor_ = executor; }
  void BeginIteration(Strategy& strategy, uint64_t iteration, uint64_t seed, Trace* trace);
  IterationOutcome EndIteration();
  // A new logical thread whose code the executor runs; runnable now.
  uint32_t SpawnThread(std::string_view name, bool detached) {
    return Spawn(nullptr, name, detached, std::source_location::current());
  }
  // Thread `thread` (the caller) finished; hands over to the next one.
  void ThreadFinished(uint32_t thread);
  void SetDetached(uint32_t thread);
  // The running thread reached no scheduling point within its quantum: it
  // goes on outside the model and the strategy picks another thread, which
  // is returned (kNoThread: none can run now).
  uint32_t ExpireQuantum();
  // Thread `thread`, outside the model since its quantum expired, reached an
  // operation: it becomes an ordinary runnable thread again. Returns true
  // when nobody holds the baton, so it may take it at once.
  bool ReturnFromOutside(uint32_t thread, PendingOp op);
  // Threads running outside the model right now.
  uint32_t outside_count() const { return outside_count_; }
  // Makes `thread` the current one (taking an idle baton).
  void set_current(uint32_t thread) { current_ = thread; }
  // Watches an iteration as it goes: called after every decision and, when
  // recording, after every new thread, object and event (process isolation
  // streams them to the parent, so they survive a crash). Null: none.
  class Observer {
   public:
    virtual ~Observer() = default;
    virtual void OnProgress(const Controller& controller) = 0;
  };
  void set_observer(Observer* observer) { observer_ = observer; }
  // Where every controller created from now on counts its scheduling steps,
  // for a watchdog in another process (a child process sets its shared
  // progress counter); null: nowhere.
  static void set_progress_counter(std::atomic<uint64_t>* counter) { shared_progress_ = counter; }
  // Called instead of throwing UsageError when a Lockstep primitive is used
  // from an OS thread that is not a logical thread while a fiber run is in
  // progress (a std::thread started in a TEST_LOCKSTEP body). It gets the
  // message; when it returns, the process aborts after printing it.
  using ForeignUseHandler = void (*)(const std::string& message);
  static void set_foreign_use_handler(ForeignUseHandler handler) { foreign_use_handler_ = handler; }

  // Installs `controller` as the current one for the calling OS thread;
  // returns the previous one.
  static Controller* Exchange(Controller* controller) {
    Controller* previous = current_controller_;
    current_controller_ = controller;
    return previous;
  }
  // A failure reported by user code through failure.h. With `stop`, the
  // calling fiber is abandoned at once; without, it runs on to its next
  // scheduling point (callers inside a lock of their own, e.g. GoogleTest's
  // reporter, must not be abandoned).
  void ReportUserFailure(Failure::Kind kind, std::string message, const char* file, int line,
                         const char* function, bool stop);
  // The same with a failure's details (a data race's accesses).
  void ReportUserFailure(Failure failure, bool stop);
  std::optional<Failure>& failure() { return failure_; }
  // Stops modelling: from now on the iteration's threads return from the
  // controller's entry points at once (Block returns kAborted).
  void StopModelling() { aborting_ = true; }
  Trace* trace() const { return trace_; }

  // The decisions of the last iteration.
  const std::vector<DecisionRecord>& decisions() const { return decisions_; }
  // The conflicting-operation pairs of the iterations run so far.
  ConflictCoverage& coverage() { return coverage_; }

  // --- For primitives -------------------------------------------------

  uint32_t current_thread() const { return current_; }
  // The logical threads run on an executor (the native runner), not fibers.
  bool has_executor() const { return executor_ != nullptr; }
  // The current fiber's stack: its lowest address and size (0 and 0 with an
  // executor). Async-signal-safe, for crash handlers.
  void CurrentStack(uintptr_t* bottom, uint64_t* size) const;
  uint64_t step() const { return step_; }
  // Unique to the running iteration (across controllers too).
  uint64_t epoch() const { return epoch_; }
  uint64_t now_ns() const { return now_ns_; }
  bool recording() const { return trace_ != nullptr; }
  bool spurious_wakeups() const { return settings_.spurious_wakeups; }
  // True once the iteration has failed: primitives then skip misuse checks
  // and never wait. A fiber is abandoned at its next scheduling point; a
  // thread on an executor gives up.
  bool aborting() const { return aborting_; }
  // "thread 2 'writer'" or "thread 0 (main)".
  std::string ThreadLabel(uint32_t thread) const;

  // The current thread is about to perform `op`: a scheduling decision.
  // An operation on a synchronization object (`synchronizes`) orders the
  // threads' memory accesses for the race detector; an atomic operation of
  // instrumented code tells the detector its own memory order instead.
  void SchedulePoint(PendingOp op, std::source_location location, bool synchronizes = true);

  // Blocks the current thread on `object` until woken (Wake*), or, with a
  // deadline, until the strategy lets the timeout fire; with `spurious`, the
  // strategy may also wake it spuriously. `retry` is what the thread will do
  // when it runs again. Reports a deadlock if nothing else can run.
  // Returns kAborted only on an executor once the iteration has failed; the
  // primitive must then give up without waiting.
  WakeReason Block(const ObjectBase& object, const char* op, PendingOp retry,
                   std::source_location location,
                   std::optional<uint64_t> deadline_ns = std::nullopt, bool spurious = false);
  // Blocks until virtual time reaches `deadline_ns` (sleep).
  void SleepUntil(uint64_t deadline_ns, std::source_location location);

  // Makes every thread blocked on `object` runnable; returns how many.
  int WakeAll(const ObjectBase& object);
  // Wakes one thread blocked on `object`, chosen by the strategy; returns its
  // id or kNoThread when none waits.
  uint32_t WakeOne(const ObjectBase& object);
  // Number of threads blocked on `object`.
  int WaitersOn(const ObjectBase& object) const;
  // The same among the waiters for which `eligible(thread)` holds (a futex
  // wake with a bitset).
  using WaiterFilter = absl::FunctionRef<bool(uint32_t thread)>;
  int WakeAll(const ObjectBase& object, WaiterFilter eligible);
  uint32_t WakeOne(const ObjectBase& object, WaiterFilter eligible);
  int WaitersOn(const ObjectBase& object, WaiterFilter eligible) const;

  // A controlled nondeterministic choice in [0, n).
  uint32_t Choose(uint32_t n);
  // choose(n) called by the code under test at `location`: the choice and
  // its event (through the executor when there is one).
  uint32_t UserChoose(uint32_t n, std::source_location location) {
    return executor_ != nullptr ? executor_->Choose(*this, n, location)
                                : ChooseAndRecord(n, location);
  }
  uint32_t ChooseAndRecord(uint32_t n, std::source_location location) {
    const uint32_t value = Choose(n);
    Record("choose", 0, location, value);
    return value;
  }

  // Creates a logical thread running `fn`; it becomes runnable now.
  uint32_t Spawn(std::function<void()> fn, std::string_view name, bool detached,
                 std::source_location created_at);
  // Blocks until `thread` finishes (misuse: joining twice or oneself).
  void Join(uint32_t thread, std::source_location location);
  bool Finished(uint32_t thread) const;

  // Fails the iteration with `kind` (the first failure wins) and ends the
  // calling thread's part in it (a fiber is abandoned and never returns;
  // on an executor it returns and the caller gives up).
  void Fail(Failure::Kind kind, std::string message, std::source_location location);
  // Records the failure and returns (the first failure wins).
  void RecordFailure(Failure::Kind kind, std::string message, const char* file, int line,
                     const char* function = "");
  // The same with the failure's details; its step and thread are the
  // current ones.
  void RecordFailure(Failure failure);

  // --- For instrumented code (lockstep/instrument) --------------------

  // Null unless Settings::detect_races.
  RaceDetector* race_detector() { return race_detector_.get(); }
  // The logical thread the calling OS thread is in this run, or kNoThread.
  uint32_t CallerThread() const {
    return executor_ != nullptr ? executor_->CallerThread(*this) : current_;
  }
  // An atomic operation or a plain access that is a scheduling point (see
  // Executor::MemoryOperation).
  void MemoryOperation(const MemoryOp& op, absl::FunctionRef<MemoryResult()> perform);
  // After `op` on `object` (its model) did `result`: happens-before, race
  // detection and (when recording) the event. Returns the race it made,
  // for RaceFound.
  std::optional<Race> RecordMemoryOperation(const MemoryOp& op, uint32_t object,
                                            MemoryResult result);
  // The race detector found `race` with the calling thread's access `later`:
  // its instructions are learned (Instrumentation); as Settings::races says,
  // the iteration fails, or the race is printed once.
  void RaceFound(const Race& race);

  // Records an event (only when recording; cheap to call otherwise).
  void Record(const char* op, uint32_t object, std::source_location location,
              std::optional<int64_t> value = std::nullopt, std::string_view detail = {},
              uint32_t woken_thread = kNoThread) {
    // Nothing is recorded after a failure: the trace ends there.
    if (trace_ != nullptr && !aborting_) {
      RecordEvent(op, object, location, value, detail, woken_thread);
    }
  }

  // Records an operation of an atomic object (lockstep::sync::atomic) with
  // its memory order and size (only when recording).
  void RecordAtomic(const char* op, uint32_t object, std::source_location location,
                    std::optional<int64_t> value, Order order, uint32_t size);

 private:
  friend class ObjectBase;
  // kOutside: running outside the model after its quantum expired (executor).
  enum class ThreadStatus : uint8_t { kRunnable, kBlocked, kFinished, kOutside };
  struct ThreadState;
  struct StackPool;

  uint32_t Register(ObjectBase& object);
  [[noreturn]] static void ThrowOutsideRun(const char* api);
  // The fiber run in progress in this process (for telling a foreign OS
  // thread from code outside any run).
  static std::atomic<Controller*> fiber_run_;
  static std::atomic<uint64_t>* shared_progress_;
  static ForeignUseHandler foreign_use_handler_;
  void RecordEvent(const char* op, uint32_t object, std::source_location location,
                   std::optional<int64_t> value, std::string_view detail, uint32_t woken_thread);
  // Locates a new event at `location` (see LocateCall) and tells the observer.
  void FinishEvent(Event& event, const std::source_location& location);
  // `where`, or with fibers the user's line of the call (see LocateCall).
  void Locate(const std::source_location& where, SourceLocation* out) const;
  // A new event of the current thread, but for its location.
  Event* NewEvent(const char* op, uint32_t object, std::optional<int64_t> value,
                  std::string_view detail, uint32_t woken_thread);

  static thread_local Controller* current_controller_;
  // Picks the next thread (after the current one blocked, finished or
  // reached a point) and switches to it. Returns false when nothing can run.
  uint32_t PickNext();
  // Blocks the current thread on `object` (null for sleeps and joins) or
  // until `join_target` finishes; the common part of Block, SleepUntil, Join.
  WakeReason BlockCurrent(const ObjectBase* object, uint32_t join_target, const char* op,
                          PendingOp retry, std::source_location location,
                          std::optional<uint64_t> deadline_ns, bool spurious);
  void SwitchTo(uint32_t thread);
  void RunLoop();
  // A fiber's entry: runs the logical thread `current_` of `controller`.
  static void FiberMain(void* controller);
  void ThreadMain(uint32_t thread);
  // Ends the calling thread's part of a failed iteration: a fiber jumps back
  // to the scheduler context for good; with an executor, returns (the caller
  // stops modelling).
  void AbortCurrent();
  // Leaves an unfinished fiber behind without unwinding it (see Teardown).
  void Abandon(ThreadState& thread);
  void FinishThread(uint32_t thread);
  // Makes a blocked thread runnable (notified); the caller takes it off its
  // wait list.
  void Wake(uint32_t thread);
  // Changes a thread's status, keeping enabled_ and timers_ up to date.
  void SetStatus(uint32_t thread, ThreadStatus status);
  // The list a blocked thread waits in (its object's, or its join target's
  // joiners); null for a sleep.
  std::vector<uint32_t>* WaitList(const ThreadState& thread);
  // The threads blocked on `object`, ascending (null: none this iteration).
  const std::vector<uint32_t>* Waiters(const ObjectBase& object) const;
  std::vector<uint32_t>* Waiters(const ObjectBase& object) {
    return const_cast<std::vector<uint32_t>*>(std::as_const(*this).Waiters(object));
  }
  void CheckNotAborting();
  void Teardown();
  void ReportDeadlock();
  // The blocked thread a deadlock is reported from.
  uint32_t DeadlockReporter() const;
  void AppendDecision(Decision::Kind kind, uint32_t value, uint32_t options);

  Settings settings_;
  std::unique_ptr<RaceDetector> race_detector_;
  // Objects standing for the memory instrumented code accessed (this
  // iteration's, by address).
  class MemoryObject;
  std::unordered_map<uintptr_t, std::unique_ptr<MemoryObject>> memory_objects_;
  std::optional<Race> race_;          // the race failing the iteration
  std::vector<Race> reported_races_;  // races = report: new ones, printed at the end
  // A DATA_RACE failure naming both accesses of `race`.
  void DescribeRace(const Race& race, Failure* failure) const;
  Executor* executor_ = nullptr;
  Observer* observer_ = nullptr;
  std::atomic<uint64_t> own_progress_{0};
  std::atomic<uint64_t>* progress_;
  Controller* previous_controller_ = nullptr;
  uint32_t outside_count_ = 0;
  Strategy* strategy_ = nullptr;
  Trace* trace_ = nullptr;
  std::vector<std::unique_ptr<ThreadState>> threads_;  // reused across iterations
  uint32_t thread_count_ = 0;                          // threads of this iteration
  // The runnable threads, ascending, kept up to date by SetStatus; the
  // version changes with every change (SchedulingPoint::enabled_version).
  std::vector<uint32_t> enabled_;
  uint64_t enabled_version_ = 0;
  // Blocked threads with a deadline or spurious wake-ups: while there are
  // any, PickNext builds the enabled set itself (into timer_enabled_, with
  // timer_pending_ marking their timeouts).
  uint32_t timers_ = 0;
  std::vector<uint32_t> timer_enabled_;
  std::vector<PendingOp> timer_pending_;
  // Every thread's pending operation, by id.
  std::vector<PendingOp> pending_;
  // The threads blocked on each object, by object id, ascending.
  std::vector<std::vector<uint32_t>> waiters_;
  std::vector<DecisionRecord> decisions_;
  ConflictCoverage coverage_;
  StackPool* stacks_;  // shared by the controllers of this OS thread
  Fiber scheduler_;    // the scheduler context
  // The C++ runtime's exception state of the OS thread running the fibers
  // (__cxa_get_globals(), looked up once per iteration).
  void* eh_globals_ = nullptr;
  uint32_t current_ = 0;
  uint32_t next_ = kNoThread;
  uint32_t last_blocked_ = kNoThread;
  // A blocked fiber resumed only to report a deadlock (see FinishThread).
  uint32_t deadlock_reporter_ = kNoThread;
  uint64_t step_ = 0;
  uint64_t now_ns_ = 0;
  uint64_t epoch_ = 0;
  uint32_t object_count_ = 0;
  uint64_t hash_ = 0;
  std::source_location last_location_;
  bool aborting_ = false;
  std::optional<Failure> failure_;
};

inline uint32_t ObjectBase::Id(Controller& controller) {
  return epoch_ == controller.epoch_ ? id_ : controller.Register(*this);
}

// A demangled C++ type or symbol name (the name itself when it is not one).
std::string Demangle(const char* name);

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_CONTROLLER_H_
