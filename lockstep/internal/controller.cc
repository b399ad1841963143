#include "lockstep/internal/controller.h"

#include <cxxabi.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <string_view>
#include <typeinfo>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lockstep/failure.h"
#include "lockstep/internal/in_lockstep.h"
#include "lockstep/internal/instrumentation.h"
#include "lockstep/internal/locate.h"
#include "lockstep/internal/prng.h"
#include "lockstep/internal/sanitizers.h"
#include "lockstep/internal/utf8.h"

#if defined(LOCKSTEP_ASAN)
#include <sanitizer/lsan_interface.h>
#endif

namespace lockstep::internal {
namespace ctx = boost::context;

namespace {

// Epochs are unique across controllers so an object that outlives one run
// re-registers in the next.
std::atomic<uint64_t> g_next_epoch{1};

}  // namespace

// --- ObjectBase ---------------------------------------------------------

ObjectBase::ObjectBase(const char* kind, std::string_view name, std::source_location created_at)
    : kind_(kind), name_(name), created_at_(created_at) {
  // Inside a run, ids follow creation order; outside, the first use assigns one.
  if (Controller* controller = Controller::CurrentOrNull()) controller->Register(*this);
}

std::string ObjectBase::Label() const {
  if (!name_.empty()) return absl::StrCat(kind_, " '", name_, "'");
  return absl::StrCat(kind_, " #", id_);
}

std::string ObjectBase::DescribeState(const Controller&) const { return {}; }

// --- Stacks -------------------------------------------------------------

// Fiber stacks (with a guard page, so an overflow faults instead of silently
// corrupting memory) are kept for the next thread instead of unmapped. The
// pool is per OS thread and outlives controllers: mapping and unmapping
// stacks for every Runner::Run costs more than a short run itself.
struct Controller::StackPool {
  explicit StackPool(size_t size) : allocator(size), size(size) {}
  ~StackPool() {
    for (ctx::stack_context& stack : free) allocator.deallocate(stack);
  }

  // The pool of this OS thread for stacks of `size` bytes.
  static StackPool& ForSize(size_t size) {
    thread_local std::vector<std::unique_ptr<StackPool>> pools;
    for (auto& pool : pools) {
      if (pool->size == size) return *pool;
    }
    pools.push_back(std::make_unique<StackPool>(size));
    return *pools.back();
  }

  ctx::stack_context Take() {
    if (free.empty()) return allocator.allocate();
    ctx::stack_context stack = free.back();
    free.pop_back();
    return stack;
  }

  ctx::protected_fixedsize_stack allocator;
  size_t size;
  std::vector<ctx::stack_context> free;
};

// --- Threads ------------------------------------------------------------

namespace {
// The C++ runtime's per-OS-thread exception state (__cxa_eh_globals, the
// same layout in libstdc++ and libc++abi). All fibers of an OS thread share
// it, so each fiber keeps its own, swapped in when it runs: `throw;` and
// std::current_exception() in a catch block that reached a scheduling
// point see the fiber's own exception, and a fiber abandoned inside a catch
// block leaves nothing behind.
struct EhGlobals {
  void* caught_exceptions = nullptr;
  unsigned int uncaught_exceptions = 0;
};
EhGlobals* CurrentEhGlobals() { return reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals()); }
// The running iteration's: a fiber run stays on one OS thread.
EhGlobals& RunEhGlobals(void* globals) { return *static_cast<EhGlobals*>(globals); }
}  // namespace

struct Controller::ThreadState {
  using Status = ThreadStatus;

  std::string name;
  std::source_location created_at;
  std::function<void()> fn;
  Status status = Status::kRunnable;
  // While blocked (its pending operation is Controller::pending_[id]):
  const ObjectBase* blocked_on = nullptr;  // null for joins and sleeps
  uint32_t join_target = kNoThread;
  const char* blocked_op = nullptr;
  std::source_location blocked_at;
  bool timed = false;
  uint64_t deadline_ns = 0;
  bool spurious = false;
  WakeReason wake = WakeReason::kNotified;
  bool detached = false;
  bool joined = false;
  // Threads blocked joining this one, ascending.
  std::vector<uint32_t> joiners;
  Fiber fiber;
  EhGlobals eh;  // saved while another fiber runs
  // Taken from the pool at the first Spawn and kept across iterations.
  ctx::stack_context stack{};
};

namespace {
// The closures of abandoned fibers (destroying one runs user destructors):
// reachable from here, never destroyed.
std::deque<std::function<void()>>& AbandonedClosures() {
  static auto* closures = new std::deque<std::function<void()>>();
  return *closures;
}

}  // namespace

// --- Controller ---------------------------------------------------------

Controller::Controller(Settings settings)
    : settings_(settings),
      progress_(shared_progress_ != nullptr ? shared_progress_ : &own_progress_),
      stacks_(&StackPool::ForSize(settings.stack_size)) {
  if (settings.detect_races) race_detector_ = std::make_unique<RaceDetector>();
  enabled_.reserve(64);
  pending_.reserve(64);
  decisions_.reserve(1024);
}

Controller::~Controller() {
  for (const std::unique_ptr<ThreadState>& thread : threads_) {
    if (thread->stack.size != 0) stacks_->free.push_back(thread->stack);
  }
}

thread_local Controller* Controller::current_controller_ = nullptr;
thread_local int InLockstep::depth_ = 0;
std::atomic<Controller*> Controller::fiber_run_{nullptr};
std::atomic<uint64_t>* Controller::shared_progress_ = nullptr;
Controller::ForeignUseHandler Controller::foreign_use_handler_ = nullptr;

void Controller::ThrowOutsideRun(const char* api) {
  if (fiber_run_.load(std::memory_order_acquire) != nullptr) {
    // A run is in progress, but not on this OS thread: a thread the user
    // started without lockstep::spawn. It cannot take part in the schedule,
    // and throwing would only terminate it.
    const std::string message = absl::StrCat(
        api, " was called from OS thread ", gettid(),
        ", which is not a logical thread of the running Lockstep iteration (a std::thread or "
        "pthread started inside the test body?). Lockstep primitives work only in threads "
        "started with lockstep::spawn; to test code that starts std::threads, use "
        "TEST_LOCKSTEP_NATIVE");
    if (foreign_use_handler_ != nullptr) foreign_use_handler_(message);
    std::fprintf(stderr, "lockstep: MISUSE: %s\n", message.c_str());
    std::abort();
  }
  throw UsageError(
      absl::StrCat(api,
                   " used outside a Lockstep run: Lockstep primitives work only inside a body run "
                   "by lockstep::Runner::Run (or a TEST_LOCKSTEP test)"));
}

std::string Controller::ThreadLabel(uint32_t thread) const {
  if (thread >= thread_count_) return absl::StrCat("thread ", thread);
  const std::string& name = threads_[thread]->name;
  if (name.empty()) return absl::StrCat("thread ", thread);
  return absl::StrCat("thread ", thread, " '", name, "'");
}

IterationOutcome Controller::RunIteration(const std::function<void()>& body, Strategy& strategy,
                                          uint64_t iteration, uint64_t seed, Trace* trace) {
  const InLockstep in_lockstep;
  BeginIteration(strategy, iteration, seed, trace);
  fiber_run_.store(this, std::memory_order_release);
  eh_globals_ = CurrentEhGlobals();
  const EhGlobals eh_globals = RunEhGlobals(eh_globals_);
  // Capture the body by reference: copying the std::function could allocate.
  Spawn([&body] { body(); }, "main", /*detached=*/false, std::source_location::current());
  next_ = 0;
  RunLoop();
  Teardown();
  RunEhGlobals(eh_globals_) = eh_globals;
  fiber_run_.store(nullptr, std::memory_order_release);
  return EndIteration();
}

void Controller::BeginIteration(Strategy& strategy, uint64_t iteration, uint64_t seed,
                                Trace* trace) {
  const InLockstep in_lockstep;
  previous_controller_ = Exchange(this);
  strategy_ = &strategy;
  trace_ = trace;
  epoch_ = g_next_epoch.fetch_add(1, std::memory_order_relaxed);
  thread_count_ = 0;
  object_count_ = 0;
  outside_count_ = 0;
  step_ = 0;
  now_ns_ = 0;
  hash_ = 0;
  enabled_.clear();
  timers_ = 0;
  aborting_ = false;
  last_blocked_ = kNoThread;
  deadlock_reporter_ = kNoThread;
  failure_.reset();
  decisions_.clear();
  coverage_.BeginIteration();
  if (race_detector_ != nullptr) race_detector_->Reset();
  memory_objects_.clear();
  race_.reset();
  Instrumentation::BeginIteration(iteration);
  last_location_ = std::source_location::current();
  strategy.BeginIteration(iteration, seed);
  current_ = 0;
}

IterationOutcome Controller::EndIteration() {
  const InLockstep in_lockstep;
  for (const Race& race : reported_races_) {
    Failure failure;
    DescribeRace(race, &failure);
    std::fprintf(
        stderr, "lockstep: iteration %llu: %s (--lockstep_races=report: exploration goes on)\n",
        static_cast<unsigned long long>(Instrumentation::iteration()), failure.message().c_str());
  }
  reported_races_.clear();
  IterationOutcome outcome;
  if (failure_) outcome.strategy_config = strategy_->Config();
  strategy_->EndIteration(step_);
  if (!failure_) {
    // Replay: the body finished before using every recorded decision.
    if (std::string divergence = strategy_->Divergence(); !divergence.empty()) {
      RecordFailure(Failure::NONDETERMINISM, std::move(divergence), "", 0);
    }
  }
  outcome.failure = std::move(failure_);
  failure_.reset();
  outcome.steps = step_;
  outcome.schedule_hash = hash_;
  strategy_ = nullptr;
  trace_ = nullptr;
  Exchange(previous_controller_);
  return outcome;
}

// Runs from the scheduler context (the stack that called RunIteration)
// until a thread hands control back: at the end of the iteration, or when a
// failed iteration's thread gives up.
void Controller::RunLoop() {
  const int depth = InLockstep::Depth();
  while (next_ != kNoThread) {
    current_ = next_;
    RunEhGlobals(eh_globals_) = threads_[current_]->eh;
    Fiber::Switch(scheduler_, threads_[current_]->fiber);
  }
  InLockstep::SetDepth(depth);
}

// Abandons every thread that has not finished (after a failure, or detached
// threads still pending when the body returned).
void Controller::Teardown() {
  aborting_ = true;
  for (uint32_t t = 0; t < thread_count_; ++t) {
    ThreadState& thread = *threads_[t];
    if (thread.status == ThreadState::Status::kFinished) continue;
    thread.status = ThreadState::Status::kFinished;
    Abandon(thread);
  }
  enabled_.clear();
  timers_ = 0;
}

void Controller::Abandon(ThreadState& thread) {
  if (thread.fn != nullptr) AbandonedClosures().push_back(std::move(thread.fn));
  thread.fn = nullptr;
#if defined(LOCKSTEP_ASAN)
  // Keep the stack out of use: its frames' poisoning stays where it is, and
  // LeakSanitizer finds what they still point to. The thread gets a new one.
  if (executor_ == nullptr) {
    __lsan_register_root_region(static_cast<char*>(thread.stack.sp) - thread.stack.size,
                                thread.stack.size);
    thread.stack = {};
  }
#endif
}

uint32_t Controller::Spawn(std::function<void()> fn, std::string_view name, bool detached,
                           std::source_location created_at) {
  const InLockstep in_lockstep;
  const uint32_t id = thread_count_++;
  if (id == threads_.size()) threads_.push_back(std::make_unique<ThreadState>());
  ThreadState& thread = *threads_[id];
  if (!name.empty() || !thread.name.empty()) thread.name.assign(name);
  thread.created_at = created_at;
  thread.fn = std::move(fn);
  thread.eh = {};
  thread.blocked_on = nullptr;
  thread.join_target = kNoThread;
  thread.timed = false;
  thread.spurious = false;
  thread.detached = detached;
  thread.joined = false;
  thread.joiners.clear();
  // With an executor the thread's code runs elsewhere (fn is null).
  if (thread.fn != nullptr) {
    if (thread.stack.size == 0) thread.stack = stacks_->Take();
    thread.fiber.Prepare(static_cast<char*>(thread.stack.sp) - thread.stack.size, thread.stack.size,
                         &Controller::FiberMain, this);
  }
  if (pending_.size() < thread_count_) pending_.resize(thread_count_);
  pending_[id] = PendingOp{};
  // The highest id yet: enabled_ stays ascending.
  thread.status = ThreadState::Status::kRunnable;
  enabled_.push_back(id);
  ++enabled_version_;
  strategy_->OnThreadCreated(id);
  if (race_detector_ != nullptr) race_detector_->ThreadStarted(id == 0 ? kNoThread : current_, id);
  if (trace_ != nullptr) {
    ThreadInfo* info = trace_->add_threads();
    info->set_id(id);
    info->set_name(ValidUtf8(thread.name));
    info->set_parent(id == 0 ? 0 : current_);
    if (id != 0) Locate(created_at, info->mutable_created_at());
    if (observer_ != nullptr) observer_->OnProgress(*this);
  }
  return id;
}

void Controller::FiberMain(void* controller) {
  Controller& self = *static_cast<Controller*>(controller);
  const uint32_t id = self.current_;
  self.ThreadMain(id);
  // Straight on to the next thread, or back to the scheduler when the
  // iteration is over.
  Fiber& fiber = self.threads_[id]->fiber;
  if (self.next_ == kNoThread) Fiber::Exit(fiber, self.scheduler_);
  self.current_ = self.next_;
  RunEhGlobals(self.eh_globals_) = self.threads_[self.next_]->eh;
  Fiber::Exit(fiber, self.threads_[self.next_]->fiber);
}

void Controller::ThreadMain(uint32_t id) {
  ThreadState& thread = *threads_[id];
  if (!aborting_) {
    InLockstep::SetDepth(0);  // the thread's code is the code under test
    try {
      thread.fn();
    } catch (const std::exception& e) {
      RecordFailure(Failure::EXCEPTION,
                    absl::StrCat("uncaught exception in ", ThreadLabel(id), ": ",
                                 Demangle(typeid(e).name()), ": ", e.what()),
                    "", 0);
    } catch (...) {
      RecordFailure(Failure::EXCEPTION,
                    absl::StrCat("uncaught exception of unknown type in ", ThreadLabel(id)), "", 0);
    }
  }
  // Destroy the closure here, on the thread's own stack and inside the run.
  thread.fn = nullptr;
  FinishThread(id);
}

void Controller::FinishThread(uint32_t id) {
  const InLockstep in_lockstep;
  ThreadState& thread = *threads_[id];
  SetStatus(id, ThreadState::Status::kFinished);
  for (uint32_t joiner : thread.joiners) Wake(joiner);
  thread.joiners.clear();
  next_ = kNoThread;
  if (aborting_) return;
  if (executor_ != nullptr) {
    Record("thread.exit", 0, thread.created_at);  // the executor locates it
  } else if (trace_ != nullptr) {
    // Located where the thread was started: its stack has no frame of the
    // user's left.
    Event* exit = NewEvent("thread.exit", 0, std::nullopt, {}, kNoThread);
    SetLocation(exit->mutable_location(), thread.created_at);
    for (const ThreadInfo& info : trace_->threads()) {
      if (info.id() == id && info.has_created_at()) *exit->mutable_location() = info.created_at();
    }
    if (observer_ != nullptr) observer_->OnProgress(*this);
  }
  if (id == 0) {
    std::string unjoined;
    for (uint32_t t = 1; t < thread_count_; ++t) {
      if (threads_[t]->detached || threads_[t]->joined) continue;
      absl::StrAppend(&unjoined, unjoined.empty() ? "" : ", ", ThreadLabel(t));
    }
    if (!unjoined.empty()) {
      RecordFailure(Failure::UNJOINED_THREADS,
                    absl::StrCat("the test body returned without joining ", unjoined,
                                 "; call join() on every spawned thread's handle"),
                    "", 0);
    }
    return;
  }
  next_ = PickNext();
  if (next_ == kNoThread && !aborting_ && outside_count_ == 0) {
    if (executor_ != nullptr) return ReportDeadlock();
    // A fiber hands over to the blocked thread that reports the deadlock,
    // which locates it on its own stack (see BlockCurrent).
    deadlock_reporter_ = DeadlockReporter();
    next_ = deadlock_reporter_;
  }
}

void Controller::AbortCurrent() {
  if (executor_ != nullptr) return;
  // Back to the scheduler context for good: this fiber is abandoned there.
  next_ = kNoThread;
  Fiber::Exit(threads_[current_]->fiber, scheduler_);
}

// --- Executor support ---------------------------------------------------

void Controller::ThreadFinished(uint32_t thread) {
  FinishThread(thread);
  current_ = next_;
  executor_->Exit(thread, next_);
}

void Controller::SetDetached(uint32_t thread) { threads_[thread]->detached = true; }

uint32_t Controller::ExpireQuantum() {
  ThreadState& thread = *threads_[current_];
  if (thread.status != ThreadState::Status::kRunnable) return kNoThread;
  SetStatus(current_, ThreadState::Status::kOutside);
  ++outside_count_;
  Record("quantum.expired", 0, last_location_);
  current_ = PickNext();
  return current_;
}

bool Controller::ReturnFromOutside(uint32_t thread, PendingOp op) {
  ThreadState& state = *threads_[thread];
  if (state.status != ThreadState::Status::kOutside) return false;
  SetStatus(thread, ThreadState::Status::kRunnable);
  pending_[thread] = op;
  --outside_count_;
  return current_ == kNoThread;
}

void Controller::ReportUserFailure(Failure::Kind kind, std::string message, const char* file,
                                   int line, const char* function, bool stop) {
  Failure failure;
  failure.set_kind(kind);
  failure.set_message(std::move(message));
  SetLocation(failure.mutable_location(), file, line, function);
  ReportUserFailure(std::move(failure), stop);
}

void Controller::ReportUserFailure(Failure failure, bool stop) {
  const InLockstep in_lockstep;
  if (executor_ != nullptr) return executor_->ReportFailure(*this, std::move(failure));
  RecordFailure(std::move(failure));
  if (stop) AbortCurrent();
}

uint32_t Controller::PickNext() {
  ++step_;
  progress_->store(step_, std::memory_order_relaxed);
  if (step_ > settings_.max_steps) {
    RecordFailure(Failure::STEP_LIMIT,
                  absl::StrCat("the iteration exceeded max_steps=", settings_.max_steps,
                               " scheduling steps: a livelock (threads spinning without "
                               "progress), or a test that needs a larger max_steps"),
                  last_location_.file_name(), static_cast<int>(last_location_.line()),
                  last_location_.function_name());
    return kNoThread;
  }
  // The runnable threads are enabled_, kept up to date as threads change
  // status (see SetStatus). Blocked threads whose timeout may fire now (those
  // with the earliest deadline: later ones must wait for virtual time to get
  // there) or that may wake spuriously are enabled too, their pending
  // operation a timeout. Timers are rare: only then is a set built here.
  std::span<const uint32_t> enabled(enabled_);
  const PendingOp* pending = pending_.data();
  uint64_t min_deadline = UINT64_MAX;
  auto timer_enabled = [&min_deadline](const ThreadState& thread) {
    return thread.status == ThreadState::Status::kBlocked &&
           ((thread.timed && thread.deadline_ns == min_deadline) || thread.spurious);
  };
  if (timers_ > 0) {
    for (uint32_t t = 0; t < thread_count_; ++t) {
      const ThreadState& thread = *threads_[t];
      if (thread.status == ThreadState::Status::kBlocked && thread.timed) {
        min_deadline = std::min(min_deadline, thread.deadline_ns);
      }
    }
    timer_enabled_.clear();
    timer_pending_.assign(pending_.begin(), pending_.begin() + thread_count_);
    for (uint32_t t = 0; t < thread_count_; ++t) {
      const ThreadState& thread = *threads_[t];
      if (thread.status == ThreadState::Status::kRunnable) {
        timer_enabled_.push_back(t);
      } else if (timer_enabled(thread)) {
        timer_pending_[t].kind = PendingOp::Kind::kTimeout;
        timer_enabled_.push_back(t);
      }
    }
    enabled = timer_enabled_;
    pending = timer_pending_.data();
    ++enabled_version_;
  }
  if (enabled.empty()) return kNoThread;

  const SchedulingPoint point{enabled, std::span<const PendingOp>(pending, thread_count_), current_,
                              step_, enabled_version_};
  const uint32_t pick = strategy_->PickThread(point);
  if (pick == Strategy::kDiverged) {
    RecordFailure(Failure::NONDETERMINISM, strategy_->Divergence(), last_location_.file_name(),
                  static_cast<int>(last_location_.line()), last_location_.function_name());
    return kNoThread;
  }
  if (pick >= thread_count_ || !(threads_[pick]->status == ThreadState::Status::kRunnable ||
                                 timer_enabled(*threads_[pick]))) {
    RecordFailure(
        Failure::MISUSE,
        absl::StrCat("internal error: the strategy picked thread ", pick, ", which is not enabled"),
        "", 0);
    return kNoThread;
  }
  AppendDecision(Decision::SCHEDULE, pick, static_cast<uint32_t>(enabled.size()));
  strategy_->OnExecuted(pick, pending[pick]);

  ThreadState& chosen = *threads_[pick];
  if (chosen.status == ThreadState::Status::kBlocked) {
    // The strategy lets a timeout (or a spurious wake-up) happen now.
    if (std::vector<uint32_t>* waiters = WaitList(chosen)) {
      waiters->erase(std::lower_bound(waiters->begin(), waiters->end(), pick));
    }
    chosen.wake = chosen.timed && chosen.deadline_ns == min_deadline ? WakeReason::kTimeout
                                                                     : WakeReason::kSpurious;
    if (chosen.wake == WakeReason::kTimeout) now_ns_ = std::max(now_ns_, chosen.deadline_ns);
    SetStatus(pick, ThreadState::Status::kRunnable);
    chosen.join_target = kNoThread;
  }
  return pick;
}

void Controller::SetStatus(uint32_t id, ThreadStatus status) {
  using Status = ThreadStatus;
  ThreadState& thread = *threads_[id];
  if (thread.status == status) return;
  const bool timer = thread.timed || thread.spurious;
  if (thread.status == Status::kRunnable) {
    if (enabled_.back() == id) {
      enabled_.pop_back();
    } else {
      enabled_.erase(std::lower_bound(enabled_.begin(), enabled_.end(), id));
    }
  } else if (thread.status == Status::kBlocked && timer) {
    --timers_;
  }
  thread.status = status;
  if (status == Status::kRunnable) {
    if (enabled_.empty() || enabled_.back() < id) {
      enabled_.push_back(id);
    } else {
      enabled_.insert(std::upper_bound(enabled_.begin(), enabled_.end(), id), id);
    }
  } else if (status == Status::kBlocked && timer) {
    ++timers_;
  }
  ++enabled_version_;
}

std::vector<uint32_t>* Controller::WaitList(const ThreadState& thread) {
  if (thread.join_target != kNoThread) return &threads_[thread.join_target]->joiners;
  if (thread.blocked_on != nullptr) return Waiters(*thread.blocked_on);
  return nullptr;  // a sleep
}

const std::vector<uint32_t>* Controller::Waiters(const ObjectBase& object) const {
  if (object.epoch_ != epoch_ || object.id_ >= waiters_.size()) return nullptr;
  return &waiters_[object.id_];
}

void Controller::AppendDecision(Decision::Kind kind, uint32_t value, uint32_t options) {
  decisions_.push_back(DecisionRecord{kind, value, options});
  if (observer_ != nullptr) observer_->OnProgress(*this);
  // FNV-style: one multiply per decision; equal hashes mean (almost surely)
  // equal schedules, which is all "distinct schedules" needs.
  hash_ = (hash_ ^
           ((static_cast<uint64_t>(kind) << 62) ^ (static_cast<uint64_t>(value) << 31) ^ options)) *
          0x100000001B3ull;
}

// Fiber to fiber, without a detour through the scheduler context: one jump.
void Controller::SwitchTo(uint32_t thread) {
  if (executor_ != nullptr) {
    const uint32_t me = current_;
    current_ = thread;
    return executor_->Switch(me, thread);
  }
  const uint32_t me = current_;
  current_ = thread;
  const int depth = InLockstep::Depth();  // each fiber has its own
  EhGlobals* eh = &RunEhGlobals(eh_globals_);
  threads_[me]->eh = *eh;
  *eh = threads_[thread]->eh;
  Fiber::Switch(threads_[me]->fiber, threads_[thread]->fiber);
  InLockstep::SetDepth(depth);
}

void Controller::CheckNotAborting() {
  if (aborting_) AbortCurrent();
}

void Controller::SchedulePoint(PendingOp op, std::source_location location, bool synchronizes) {
  const InLockstep in_lockstep;
  CheckNotAborting();
  if (aborting_) return;  // an executor's thread after a failure: no more scheduling
  last_location_ = location;
  pending_[current_] = op;
  const uint32_t me = current_;
  const uint32_t pick = PickNext();
  if (pick == kNoThread) return AbortCurrent();
  if (pick != me) SwitchTo(pick);
  CheckNotAborting();
  if (aborting_) return;
  // The operation happens now, when the thread runs again.
  if (op.object != 0) {
    // A fiber's site: its source_location (a library's line for calls made
    // through std's lock wrappers; locating the caller costs a stack walk).
    coverage_.Executed(
        me, op,
        executor_ != nullptr
            ? executor_->CallSite()
            : Mix64(reinterpret_cast<uintptr_t>(location.file_name())) + location.line());
    if (race_detector_ != nullptr && synchronizes) race_detector_->Synchronize(me, op.object);
  }
}

WakeReason Controller::Block(const ObjectBase& object, const char* op, PendingOp retry,
                             std::source_location location, std::optional<uint64_t> deadline_ns,
                             bool spurious) {
  return BlockCurrent(&object, kNoThread, op, retry, location, deadline_ns, spurious);
}

void Controller::SleepUntil(uint64_t deadline_ns, std::source_location location) {
  BlockCurrent(nullptr, kNoThread, "sleep", PendingOp{PendingOp::Kind::kWrite, 0}, location,
               deadline_ns, /*spurious=*/false);
}

WakeReason Controller::BlockCurrent(const ObjectBase* object, uint32_t join_target, const char* op,
                                    PendingOp retry, std::source_location location,
                                    std::optional<uint64_t> deadline_ns, bool spurious) {
  const InLockstep in_lockstep;
  CheckNotAborting();
  if (aborting_) return WakeReason::kAborted;
  last_location_ = location;
  ThreadState& thread = *threads_[current_];
  const uint32_t me = current_;
  if (object != nullptr) Register(const_cast<ObjectBase&>(*object));
  thread.blocked_on = object;
  thread.join_target = join_target;
  thread.blocked_op = op;
  thread.blocked_at = location;
  last_blocked_ = me;
  pending_[me] = retry;
  thread.timed = deadline_ns.has_value();
  thread.deadline_ns = deadline_ns.value_or(0);
  thread.spurious = spurious;
  if (std::vector<uint32_t>* waiters = WaitList(thread)) {
    waiters->insert(std::upper_bound(waiters->begin(), waiters->end(), me), me);
  }
  SetStatus(me, ThreadState::Status::kBlocked);
  const uint32_t pick = PickNext();
  if (pick == kNoThread && !aborting_ && outside_count_ > 0) {
    current_ = kNoThread;  // wait for a thread running outside the model
    executor_->Switch(me, kNoThread);
  } else if (pick == kNoThread) {
    if (!aborting_) ReportDeadlock();
    AbortCurrent();
    return WakeReason::kAborted;
  } else if (pick != me) {
    SwitchTo(pick);
  }
  CheckNotAborting();
  if (aborting_) return WakeReason::kAborted;
  if (deadlock_reporter_ == me) {
    // Handed the deadlock a finished thread found, to report from this stack.
    deadlock_reporter_ = kNoThread;
    ReportDeadlock();
    AbortCurrent();
    return WakeReason::kAborted;
  }
  // Woken by an operation on the object: what it released is acquired.
  if (race_detector_ != nullptr && object != nullptr) {
    race_detector_->Synchronize(me, object->id_);
  }
  thread.blocked_on = nullptr;
  thread.join_target = kNoThread;
  thread.timed = false;
  thread.spurious = false;
  return thread.wake;
}

void Controller::Wake(uint32_t thread) {
  // The current thread's operation (or exit) woke it.
  if (current_ != kNoThread) strategy_->OnHappensBefore(current_, thread);
  SetStatus(thread, ThreadState::Status::kRunnable);
  threads_[thread]->wake = WakeReason::kNotified;
  threads_[thread]->join_target = kNoThread;
}

namespace {
bool AnyWaiter(uint32_t) { return true; }
}  // namespace

int Controller::WaitersOn(const ObjectBase& object) const { return WaitersOn(object, AnyWaiter); }
int Controller::WakeAll(const ObjectBase& object) { return WakeAll(object, AnyWaiter); }

uint32_t Controller::WakeOne(const ObjectBase& object) {
  const InLockstep in_lockstep;
  std::vector<uint32_t>* waiters = Waiters(object);
  if (waiters == nullptr || waiters->empty()) return kNoThread;
  // Which waiter wakes is the strategy's choice (in thread-id order).
  const uint32_t index = waiters->size() == 1 ? 0 : Choose(static_cast<uint32_t>(waiters->size()));
  const uint32_t t = (*waiters)[index];
  waiters->erase(waiters->begin() + index);
  Wake(t);
  return t;
}

int Controller::WaitersOn(const ObjectBase& object, WaiterFilter eligible) const {
  const std::vector<uint32_t>* waiters = Waiters(object);
  if (waiters == nullptr) return 0;
  return static_cast<int>(std::count_if(waiters->begin(), waiters->end(), eligible));
}

int Controller::WakeAll(const ObjectBase& object, WaiterFilter eligible) {
  const InLockstep in_lockstep;
  std::vector<uint32_t>* waiters = Waiters(object);
  if (waiters == nullptr) return 0;
  int count = 0;
  size_t kept = 0;
  for (uint32_t t : *waiters) {
    if (eligible(t)) {
      Wake(t);
      ++count;
    } else {
      (*waiters)[kept++] = t;
    }
  }
  waiters->resize(kept);
  return count;
}

uint32_t Controller::WakeOne(const ObjectBase& object, WaiterFilter eligible) {
  const InLockstep in_lockstep;
  const int count = WaitersOn(object, eligible);
  if (count == 0) return kNoThread;
  // Which waiter wakes is the strategy's choice (in thread-id order).
  uint32_t index = count == 1 ? 0 : Choose(static_cast<uint32_t>(count));
  std::vector<uint32_t>* waiters = Waiters(object);
  for (auto it = waiters->begin(); it != waiters->end(); ++it) {
    if (eligible(*it) && index-- == 0) {
      const uint32_t t = *it;
      waiters->erase(it);
      Wake(t);
      return t;
    }
  }
  return kNoThread;
}

uint32_t Controller::Choose(uint32_t n) {
  const InLockstep in_lockstep;
  CheckNotAborting();
  if (n == 0) {
    Fail(Failure::MISUSE, "choose(0): there must be at least one option",
         std::source_location::current());
    return 0;
  }
  if (n == 1 || aborting_) return 0;
  const uint32_t value = strategy_->PickValue(n);
  if (value == Strategy::kDiverged) {
    RecordFailure(Failure::NONDETERMINISM, strategy_->Divergence(), last_location_.file_name(),
                  static_cast<int>(last_location_.line()), last_location_.function_name());
    AbortCurrent();
    return 0;
  }
  AppendDecision(Decision::CHOOSE, value, n);
  return value;
}

void Controller::CurrentStack(uintptr_t* bottom, uint64_t* size) const {
  *bottom = 0;
  *size = 0;
  if (executor_ != nullptr || current_ >= thread_count_) return;
  const ctx::stack_context& stack = threads_[current_]->stack;
  *bottom = reinterpret_cast<uintptr_t>(stack.sp) - stack.size;
  *size = stack.size;
}

bool Controller::Finished(uint32_t thread) const {
  return thread < thread_count_ && threads_[thread]->status == ThreadState::Status::kFinished;
}

void Controller::Join(uint32_t target, std::source_location location) {
  const InLockstep in_lockstep;
  if (aborting_) return CheckNotAborting();
  if (target >= thread_count_) {
    return Fail(Failure::MISUSE,
                absl::StrCat("join() on thread ", target,
                             ", which does not exist in this "
                             "iteration (a handle kept from an earlier iteration?)"),
                location);
  }
  if (target == current_) {
    return Fail(Failure::MISUSE, absl::StrCat(ThreadLabel(target), " joins itself"), location);
  }
  if (threads_[target]->joined) {
    return Fail(Failure::MISUSE, absl::StrCat(ThreadLabel(target), " is joined twice"), location);
  }
  if (threads_[target]->detached) {
    return Fail(Failure::MISUSE, absl::StrCat("join() on detached ", ThreadLabel(target)),
                location);
  }
  threads_[target]->joined = true;
  const PendingOp op{PendingOp::Kind::kRead, 0};
  SchedulePoint(op, location);
  while (threads_[target]->status != ThreadState::Status::kFinished) {
    if (BlockCurrent(nullptr, target, "join", op, location, std::nullopt, false) ==
        WakeReason::kAborted) {
      return;
    }
  }
  strategy_->OnHappensBefore(target, current_);
  if (race_detector_ != nullptr) race_detector_->Joined(current_, target);
  Record("thread.join", 0, location, target);
}

uint32_t Controller::DeadlockReporter() const {
  // The thread that blocked last (it closed the cycle), else any blocked one.
  if (last_blocked_ < thread_count_ &&
      threads_[last_blocked_]->status == ThreadState::Status::kBlocked) {
    return last_blocked_;
  }
  for (uint32_t t = 0; t < thread_count_; ++t) {
    if (threads_[t]->status == ThreadState::Status::kBlocked) return t;
  }
  return kNoThread;
}

void Controller::ReportDeadlock() {
  std::string message = "deadlock: no thread can run; blocked:";
  Failure failure;
  for (uint32_t t = 0; t < thread_count_; ++t) {
    const ThreadState& thread = *threads_[t];
    if (thread.status != ThreadState::Status::kBlocked) continue;
    std::string waiting;
    uint32_t object_id = 0;
    if (thread.join_target != kNoThread) {
      waiting = absl::StrCat("joining ", ThreadLabel(thread.join_target));
    } else if (thread.blocked_on != nullptr) {
      object_id = thread.blocked_on->id_;
      waiting = absl::StrCat(thread.blocked_op, " on ", thread.blocked_on->Label());
      std::string state = thread.blocked_on->DescribeState(*this);
      if (!state.empty()) absl::StrAppend(&waiting, " (", state, ")");
    } else {
      waiting = thread.blocked_op;
    }
    absl::StrAppend(&message, "\n  ", ThreadLabel(t), ": ", waiting);
    BlockedThread* blocked = failure.add_blocked();
    blocked->set_thread(t);
    blocked->set_waiting_for(ValidUtf8(waiting));
    blocked->set_object(object_id);
  }
  const uint32_t reporter = DeadlockReporter();
  const uint32_t running = current_;
  failure.set_kind(Failure::DEADLOCK);
  failure.set_message(message);
  // At the operation where the reporter blocked: in the user's code when the
  // calling stack is the reporter's (always, with fibers).
  if (reporter == running) {
    Locate(threads_[reporter]->blocked_at, failure.mutable_location());
  } else {
    SetLocation(failure.mutable_location(), threads_[reporter]->blocked_at);
  }
  current_ = reporter;
  RecordFailure(std::move(failure));
  current_ = running;
}

void Controller::Fail(Failure::Kind kind, std::string message, std::source_location location) {
  Failure failure;
  failure.set_kind(kind);
  failure.set_message(std::move(message));
  Locate(location, failure.mutable_location());
  RecordFailure(std::move(failure));
  AbortCurrent();
}

void Controller::RecordFailure(Failure::Kind kind, std::string message, const char* file, int line,
                               const char* function) {
  Failure failure;
  failure.set_kind(kind);
  failure.set_message(std::move(message));
  SetLocation(failure.mutable_location(), file, line, function);
  RecordFailure(std::move(failure));
}

void Controller::RecordFailure(Failure failure) {
  const InLockstep in_lockstep;
  aborting_ = true;
  if (failure_) return;  // the first failure is the one reported
  if (failure.kind() == Failure::DATA_RACE && race_) DescribeRace(*race_, &failure);
  failure.set_message(ValidUtf8(failure.message()));
  failure.set_step(step_);
  failure.set_thread(current_);
  failure_ = std::move(failure);
}

void Executor::LocateEvent(Event& event, const std::source_location& where) {
  SetLocation(event.mutable_location(), where);
}

uint32_t Controller::Register(ObjectBase& object) {
  const InLockstep in_lockstep;
  if (object.epoch_ == epoch_) return object.id_;
  if (object.epoch_ != 0) object.ResetState();
  object.epoch_ = epoch_;
  object.id_ = ++object_count_;
  if (object.id_ >= waiters_.size()) waiters_.resize(object.id_ + 1);
  waiters_[object.id_].clear();
  if (trace_ != nullptr) {
    ObjectInfo* info = trace_->add_objects();
    info->set_id(object.id_);
    info->set_kind(object.kind_);
    info->set_name(ValidUtf8(object.name_));
    Locate(object.created_at_, info->mutable_created_at());
    if (observer_ != nullptr) observer_->OnProgress(*this);
  }
  return object.id_;
}

Event* Controller::NewEvent(const char* op, uint32_t object, std::optional<int64_t> value,
                            std::string_view detail, uint32_t woken_thread) {
  Event* event = trace_->add_events();
  event->set_step(step_);
  event->set_thread(current_);
  event->set_op(op);
  event->set_object(object);
  if (value) {
    event->set_has_value(true);
    event->set_value(*value);
  }
  event->set_detail(ValidUtf8(detail));
  event->set_time_ns(now_ns_);
  if (woken_thread != kNoThread) event->set_woken_thread_plus_one(woken_thread + 1);
  return event;
}

void Controller::RecordEvent(const char* op, uint32_t object, std::source_location location,
                             std::optional<int64_t> value, std::string_view detail,
                             uint32_t woken_thread) {
  const InLockstep in_lockstep;
  FinishEvent(*NewEvent(op, object, value, detail, woken_thread), location);
}

void Controller::RecordAtomic(const char* op, uint32_t object, std::source_location location,
                              std::optional<int64_t> value, Order order, uint32_t size) {
  if (trace_ == nullptr || aborting_) return;
  const InLockstep in_lockstep;
  Event* event = NewEvent(op, object, value, {}, kNoThread);
  event->set_order(ToProto(order));
  event->set_size(size);
  FinishEvent(*event, location);
}

void Controller::FinishEvent(Event& event, const std::source_location& location) {
  if (executor_ != nullptr) {
    executor_->LocateEvent(event, location);
  } else {
    LocateCall(location, event.mutable_location());
  }
  if (observer_ != nullptr) observer_->OnProgress(*this);
}

void Controller::Locate(const std::source_location& where, SourceLocation* out) const {
  // The native runner locates threads, objects and failures itself.
  if (executor_ != nullptr) return SetLocation(out, where);
  LocateCall(where, out);
}

// --- Instrumented code ----------------------------------------------------

class Controller::MemoryObject : public ObjectBase {
 public:
  MemoryObject(const char* kind, uintptr_t address)
      : ObjectBase(kind, absl::StrCat("0x", absl::Hex(address)), std::source_location::current()) {}
  uint32_t IdIn(Controller& controller) { return Id(controller); }
};

void Controller::MemoryOperation(const MemoryOp& op, absl::FunctionRef<MemoryResult()> perform) {
  const InLockstep in_lockstep;
  if (executor_ != nullptr) return executor_->MemoryOperation(*this, op, perform);
  const char* kind = op.atomic ? "atomic" : "memory";
  std::unique_ptr<MemoryObject>& object = memory_objects_[op.address];
  if (object == nullptr || object->kind() != kind) {
    object = std::make_unique<MemoryObject>(kind, op.address);
  }
  const uint32_t objects_before = object_count_;
  const uint32_t id = object->IdIn(*this);
  if (trace_ != nullptr && object_count_ != objects_before) {
    // First used here, in the code under test.
    SourceLocation* created_at =
        trace_->mutable_objects(trace_->objects_size() - 1)->mutable_created_at();
    created_at->Clear();
    FillCaller(created_at);
  }
  SchedulePoint(PendingOp{op.pending, id}, std::source_location::current(),
                /*synchronizes=*/false);
  if (std::optional<Race> race = RecordMemoryOperation(op, id, perform())) RaceFound(*race);
}

std::optional<Race> Controller::RecordMemoryOperation(const MemoryOp& op, uint32_t object,
                                                      MemoryResult result) {
  if (aborting_) return std::nullopt;
  std::optional<Race> race;
  if (race_detector_ != nullptr) {
    const uint32_t me = current_;  // the caller: it holds the baton
    if (!op.load && !op.store) {
      race_detector_->Fence(me, op.order);
    } else if (op.atomic) {
      race =
          race_detector_->Atomic(me, op.address, op.size, op.load, result.stored, op.order, op.pc);
    } else {
      race = race_detector_->Access(me, op.address, op.size, op.store, op.pc);
    }
  }
  if (trace_ != nullptr) {
    Event* event = NewEvent(op.op, object, result.value, {}, kNoThread);
    if (op.atomic) event->set_order(ToProto(op.order));
    event->set_size(op.size);
    if (executor_ != nullptr) {
      executor_->LocateEvent(*event, std::source_location::current());
    } else {
      FillCaller(event->mutable_location());
    }
    if (observer_ != nullptr) observer_->OnProgress(*this);
  }
  return race;
}

namespace {

void DescribeAccess(const AccessRecord& access, MemoryAccess* out) {
  out->set_thread(access.thread);
  out->set_write(access.write);
  out->set_atomic(access.atomic);
  out->set_size(access.size);
  out->set_address(access.address);
  // The pc is a return address: the access is the call before it.
  LocatePc(access.pc - 1, out->mutable_location());
  *out->mutable_site() = SiteOf(access.pc);
}

std::string AccessText(const Controller& c, const MemoryAccess& access) {
  const SourceLocation& at = access.location();
  return absl::StrCat(access.atomic() ? "atomic " : "", access.write() ? "write" : "read", " of ",
                      access.size(), " bytes by ", c.ThreadLabel(access.thread()), " at ",
                      at.file().empty() ? "an unknown place" : at.file(),
                      at.line() > 0 ? absl::StrCat(":", at.line()) : "",
                      at.function().empty() ? "" : absl::StrCat(" (", at.function(), ")"));
}

}  // namespace

void Controller::DescribeRace(const Race& race, Failure* failure) const {
  failure->set_kind(Failure::DATA_RACE);
  failure->clear_race();
  DescribeAccess(race.earlier, failure->add_race());
  DescribeAccess(race.later, failure->add_race());
  const MemoryAccess& later = failure->race(1);
  failure->set_message(absl::StrCat(
      "data race at 0x", absl::Hex(race.later.address), ": ", AccessText(*this, later),
      ", and before it ", AccessText(*this, failure->race(0)), ", not ordered by happens-before"));
  *failure->mutable_location() = later.location();
}

void Controller::RaceFound(const Race& race) {
  const InLockstep in_lockstep;
  const bool new_earlier = Instrumentation::AddRacySite(race.earlier.pc);
  const bool new_later = Instrumentation::AddRacySite(race.later.pc);
  if (settings_.races == RaceMode::kIgnore || aborting_) return;
  if (settings_.races == RaceMode::kReport) {
    // Printed when the iteration ends, outside the code under test.
    if (new_earlier || new_later) reported_races_.push_back(race);
    return;
  }
  // Described by RecordFailure: symbolizing must not happen in the code
  // under test's context (an executor serializes it).
  race_ = race;
  Failure failure;
  failure.set_kind(Failure::DATA_RACE);
  ReportUserFailure(std::move(failure), /*stop=*/true);
}

std::string Demangle(const char* name) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string result = status == 0 && demangled != nullptr ? demangled : name;
  std::free(demangled);
  return result;
}

}  // namespace lockstep::internal
