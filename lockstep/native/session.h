// The native runner's session: the executor of a native iteration and the
// entry points of the interposed calls. Each family of calls is modelled in
// its own model_*.cc (sharing model.h); the watchdog is in watchdog.cc, and
// caller locations come from locate.h.
//
// Each logical thread of a native iteration is an OS thread. In control mode
// they hand over a baton: a thread runs only while it is the controller's
// current thread, and every interposed call is a scheduling point. All
// controller state is touched under one futex lock (`lock_`), held by the
// baton holder, by a thread coming back from outside the model, or by the
// watchdog (the thread that started the iteration).
//
// Blocking calls are modelled with the real non-blocking variants (trylock,
// sem_trywait): the real object's state stays right, so it works after the
// run, and the model only decides when a thread may try again. A lock held
// by a thread outside the run is waited for for real, outside the model.
#ifndef LOCKSTEP_NATIVE_SESSION_H_
#define LOCKSTEP_NATIVE_SESSION_H_

#include <pthread.h>
#include <semaphore.h>
#include <sys/types.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "absl/functional/function_ref.h"
#include "lockstep/internal/controller.h"
#include "lockstep/internal/in_lockstep.h"
#include "lockstep/native/native_runner.h"
#include "lockstep/native/real.h"

namespace lockstep::native_internal {

class ChildStream;
class NativeObject;
struct ThreadEnd;

// A lock the model steers through its real operations, taken in writer
// (`write`) or reader mode: absl::Mutex, or a pthread mutex under a
// condition variable. The real object's state stays right; the model only
// decides when a thread may try again.
struct SteeredLock {
  const void* address;
  const char* kind;  // what the trace calls it
  absl::FunctionRef<bool(bool write)> try_lock;
  // Blocking: for a lock held outside the run, or once the run is released.
  absl::FunctionRef<void(bool write)> lock;
  absl::FunctionRef<void(bool write)> unlock;
  const char* relock_op;  // the event of taking it back after a wait
};

// What a steered lock's holder waits for (absl::Condition::Eval).
using Condition = absl::FunctionRef<bool()>;

struct IterationSetup {
  NativeMode mode = NativeMode::kControl;
  uint32_t resume_quantum_us = 500;
  std::chrono::milliseconds watchdog{10000};
  bool spurious_wakeups = false;
  // Non-null in an isolated child: records are streamed there, and a
  // failure ends the child process at once.
  ChildStream* stream = nullptr;
};

struct NativeOutcome {
  internal::IterationOutcome outcome;
  uint32_t quantum_expirations = 0;
  // The iteration's threads and objects (recorded or not): a failing run's
  // trace needs them to name its failure's thread and blocked objects.
  Trace tables;
  // The conflicting-operation pairs first seen in this iteration (see
  // internal::ConflictCoverage), for the parent of an isolated child.
  std::vector<uint64_t> conflict_pairs;
};

// The thread's binding to a native iteration.
struct Binding {
  uint64_t epoch = 0;
  uint32_t id = 0;
};
extern thread_local Binding t_binding;
// The return address of the interposed call the thread is in: its call site
// in the code under test (or in a library the code called).
extern thread_local uintptr_t t_call_site;
// Epoch of the running native iteration; 0 when none runs.
extern uint64_t g_active_epoch;  // atomic builtins only (see real.h)

// Lockstep code running on a thread of the run (the session's, holding its
// lock; the watchdog's sampling signal handler) may reach interposed calls:
// backtrace() runs pthread_once, say. While a PassThrough lives on the
// thread, those go straight to the real functions.
class PassThrough {
 public:
  PassThrough() { ++depth_; }
  ~PassThrough() { --depth_; }
  PassThrough(const PassThrough&) = delete;
  PassThrough& operator=(const PassThrough&) = delete;
  static bool Active() { return depth_ > 0; }

 private:
  friend class SessionLock;
  static thread_local int depth_;
};

// The session's lock: its holder's interposed calls pass through, and what
// instrumented code it reaches is Lockstep's own (internal/in_lockstep.h).
class SessionLock {
 public:
  void lock() {
    mutex_.lock();
    ++PassThrough::depth_;
    internal::InLockstep::Enter();
  }
  void unlock() {
    internal::InLockstep::Leave();
    --PassThrough::depth_;
    mutex_.unlock();
  }

 private:
  FutexMutex mutex_;
};

class Session final : public internal::Executor {
 public:
  static Session& Get();

  // True when the calling thread belongs to the running native iteration
  // and is not inside the session already.
  static bool Managed() {
    const uint64_t epoch = __atomic_load_n(&g_active_epoch, __ATOMIC_ACQUIRE);
    return epoch != 0 && t_binding.epoch == epoch && !PassThrough::Active();
  }
  // Managed(), noting the call site of the interposed function it is
  // inlined into (always inlined, so the return address is that function's).
  __attribute__((always_inline)) static bool ManagedCall() {
    if (!Managed()) return false;
    t_call_site = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
    return true;
  }

  // Runs one iteration of `body` in this process and returns when thread 0
  // has finished or the iteration failed. When recording, `trace` gets the
  // events and the session's thread and object tables.
  NativeOutcome RunIteration(const std::function<void()>& body, internal::Controller& controller,
                             Strategy& strategy, uint64_t iteration, uint64_t seed, Trace* trace,
                             const IterationSetup& setup);

  // --- Interposed calls (only from managed threads) ---------------------
  int ThreadCreate(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg);
  int ThreadJoin(pthread_t thread, void** result);
  int ThreadDetach(pthread_t thread);
  // `deadline`: absolute time on `clock` (timed variants), else null.
  int MutexLock(pthread_mutex_t* mutex, bool try_only, clockid_t clock, const timespec* deadline);
  int MutexUnlock(pthread_mutex_t* mutex);
  int RwLock(pthread_rwlock_t* lock, bool write, bool try_only, clockid_t clock,
             const timespec* deadline);
  int RwUnlock(pthread_rwlock_t* lock);
  int SpinLock(pthread_spinlock_t* lock, bool try_only);
  int SpinUnlock(pthread_spinlock_t* lock);
  // pthread_barrier_wait: modelled entirely (the real barrier is not used
  // by threads of the run), with the count given to pthread_barrier_init.
  int BarrierWait(pthread_barrier_t* barrier);
  // pthread_barrier_init/destroy, in or outside a run: the model's counts.
  static void NoteBarrier(const pthread_barrier_t* barrier, unsigned count);
  static void ForgetBarrier(const pthread_barrier_t* barrier);
  // pthread_exit: a scheduling point and an event; the thread then ends in
  // the model after its thread_local destructors, as when it returns.
  void ThreadExitCall();
  int CondWait(pthread_cond_t* cond, pthread_mutex_t* mutex, clockid_t clock,
               const timespec* deadline);
  // Signals a condition variable of `kind` (pthread's or Abseil's) in the
  // model, then for real (`real`: threads outside the run may wait on it).
  int CondSignal(const void* cond, const char* kind, const char* op, bool all,
                 absl::FunctionRef<int()> real);
  int SemWait(sem_t* sem, bool try_only, clockid_t clock, const timespec* deadline);
  int SemPost(sem_t* sem);
  // syscall(SYS_futex, ...): WAIT and WAKE (with bitsets) are modelled, other
  // operations pass through. Returns what syscall() returns (errno set).
  long Futex(uint32_t* word, int op, uint32_t value, const timespec* timeout, uint32_t* word2,
             uint32_t value3);
  // pthread_once (std::call_once): one thread of the run runs `init`, the
  // others wait for it in the model.
  int Once(pthread_once_t* once, void (*init)());
  // absl::Mutex and absl::CondVar (interpose_absl.cc), through their real
  // operations. `real` is the real call, made when the model does not steer
  // this one (observe mode, a released run).
  // Takes `lock` in `write` or reader mode; with `condition`, waits until it
  // holds (LockWhen); with a deadline, waits for the condition until then
  // and returns its value, the lock held. `try_only`: one attempt, returns
  // whether it took the lock.
  bool AbslLock(const SteeredLock& lock, const char* op, bool write, bool try_only,
                const Condition* condition, clockid_t clock, const timespec* deadline,
                absl::FunctionRef<bool()> real);
  void AbslUnlock(const SteeredLock& lock, const char* op, bool write);
  // The lock held: releases it until `condition` holds (Await).
  bool AbslAwait(const SteeredLock& lock, Condition condition, clockid_t clock,
                 const timespec* deadline, absl::FunctionRef<bool()> real);
  // CondVar::Wait with `lock` held in either mode; true when it timed out.
  bool AbslCondWait(const void* cond, const SteeredLock& lock, clockid_t clock,
                    const timespec* deadline, absl::FunctionRef<bool()> real);
  // A call on an object (absl::Notification::Notify...): a scheduling point
  // and an event; it synchronizes through the steered calls it makes.
  void Call(const void* address, const char* kind, const char* op);
  int Yield();
  // Sleeps for `duration`, or until `deadline` on `clock`.
  int Sleep(const timespec* duration, clockid_t clock, const timespec* deadline);
  // Control mode: the run's virtual time on `clock`; false for clocks it
  // does not model.
  bool VirtualClock(clockid_t clock, timespec* out);
  // fork(): a scheduling point recorded as "process.fork"; the new process
  // runs outside the model (DetachForkedProcess).
  pid_t Fork();
  // exit(), _exit(), quick_exit() (`call`) from a thread of the run: an EXIT
  // failure. An isolated child reports it and ends; in-process, the calling
  // thread never returns (the test process goes on and reports).
  [[noreturn]] void ProcessExit(const char* call, int status);

  // In the child of a fork() by the code under test (a pthread_atfork child
  // handler): every interposed call of that process passes straight through.
  static void DetachForkedProcess();

  // --- Executor ---------------------------------------------------------
  void Switch(uint32_t from, uint32_t to) override;
  void Exit(uint32_t from, uint32_t to) override;
  void ReportFailure(internal::Controller& controller, Failure failure) override;
  uint32_t Choose(internal::Controller& controller, uint32_t n,
                  std::source_location location) override;
  // In the code under test: the first caller outside the standard library,
  // Abseil and Lockstep.
  void LocateEvent(Event& event, const std::source_location& where) override;
  uint64_t CallSite() const override { return t_call_site; }
  uint32_t CallerThread(const internal::Controller&) const override {
    return Managed() ? t_binding.id : internal::kNoThread;
  }
  // Atomics and scheduled accesses of instrumented code (model_memory.cc).
  void MemoryOperation(internal::Controller& controller, const internal::MemoryOp& op,
                       absl::FunctionRef<internal::MemoryResult()> perform) override;

 private:
  friend struct ThreadEnd;
  class Turn;
  struct Start;
  struct OsThread {
    pthread_t handle;
    uint32_t id;
  };

  static void* Trampoline(void* start);
  void ThreadBegin(uint32_t id);
  void ThreadDone(uint32_t id);
  // Waits (without the lock) until `me` is current or the run is released.
  void WaitTurn(uint32_t me);
  // Hands the baton to `to` (kNoThread: to nobody, for now).
  void Pass(uint32_t to);
  // Watches the running iteration until thread 0 finishes or it fails.
  void Watch();
  // The iteration failed (noticed by the calling thread, under the lock):
  // an isolated child reports and exits; in-process, control mode stops
  // modelling and releases every thread.
  void HandleFailure();
  void Release();
  [[noreturn]] void FinishChild();
  void Flush();
  // The start every modelled call on an object shares: its model, observe
  // mode (the call is recorded) and the scheduling point before `op`, an
  // `access` of the object. Null when the call must now do the real thing,
  // the turn left: not modelled, observe mode, or the iteration failed.
  NativeObject* Begin(Turn& turn, const void* address, const char* kind, const char* op,
                      PendingOp::Kind access, bool synchronizes = true);
  // Common part of the lock-like calls: try, and block in the model while
  // a thread of the run holds it. `owned`: the object has owners (a lock,
  // not a semaphore), so one held by no thread of the run is held outside.
  int Acquire(Turn& turn, NativeObject& object, const char* op, PendingOp pending,
              const std::function<int()>& try_op, const std::function<int()>& blocking_op,
              std::optional<uint64_t> deadline_ns, bool owned);
  // After a call woke `woken` threads: a scheduling point, so that one of
  // them may run before the waker goes on (nothing else stops the waker
  // before its next interposed call: `n.Notify(); result = 42;`).
  void AfterWake(int woken);
  // Takes a steered lock (Acquire), blocking in the model while a thread of
  // the run holds it. Returns with the lock really held; the model notes
  // the holder when the turn is still modelled.
  void TakeSteered(Turn& turn, NativeObject& object, const SteeredLock& lock, const char* op,
                   bool write);
  // `me` released `object` (held in `write` or reader mode): wakes the
  // threads blocked on it, but for those awaiting a condition unless
  // `wake_awaiting` (the holder may have changed what they wait for).
  // Returns how many it woke.
  int Released(NativeObject& object, uint32_t me, bool write, bool wake_awaiting);
  // With the lock held, releases it until `condition` holds (the loop of
  // LockWhen and Await): false when the deadline passed first. Nullopt when
  // the run was released meanwhile; the lock is held again then.
  std::optional<bool> AwaitCondition(Turn& turn, NativeObject& object, const SteeredLock& lock,
                                     bool write, Condition condition,
                                     std::optional<uint64_t> deadline_ns);
  // A condition variable's wait with `lock` held (pthread's or Abseil's),
  // recorded as `op`: the wake-up's reason. kAborted when the run was
  // released: it returns at once then, the lock held, like a spurious
  // wake-up.
  internal::WakeReason WaitOnCondVar(Turn& turn, NativeObject& cond, const char* op,
                                     const SteeredLock& lock, bool write,
                                     std::optional<uint64_t> deadline_ns);
  std::optional<uint64_t> VirtualDeadline(clockid_t clock, const timespec* deadline) const;
  NativeObject& Object(const void* address, const char* kind);
  // Records an event at the caller's location (when recording).
  void Record(const char* op, uint32_t object, std::optional<int64_t> value = std::nullopt,
              std::string_view detail = {}, uint32_t woken = internal::kNoThread);
  void Observe(const char* op, const void* address, const char* kind);
  Signal& SlotOf(uint32_t id);
  // Comes back into the model after running outside it (see
  // Controller::ReturnFromOutside).
  bool Return(uint32_t id, PendingOp op);
  // The watchdog fired: a TIMEOUT failure naming the thread that stopped
  // reaching interposed calls, located where it is now.
  void ReportTimeout();
  std::string TimeoutMessage(uint32_t stuck) const;
  // Where OS thread `id` of the run is executing right now (by a signal that
  // makes it take a backtrace); false when it did not answer in time.
  bool Sample(uint32_t id, SourceLocation* out);
  // The thread and object tables of the iteration (also when not recording).
  void AddThread(uint32_t id, uint32_t parent);
  void NoteObject(uint32_t id, const char* kind);

  SessionLock lock_;
  internal::Controller* controller_ = nullptr;
  Trace* trace_ = nullptr;
  IterationSetup setup_;
  uint64_t epoch_ = 0;
  bool released_ = false;
  bool main_finished_ = false;  // observe mode
  // The baton holder is awake (its quantum runs), not just handed the baton.
  bool holder_running_ = false;
  uint32_t inside_ = 0;    // threads inside the model (under the lock or waiting for a turn)
  uint64_t progress_ = 0;  // interposed calls so far
  uint32_t expirations_ = 0;
  uint64_t observed_ = 0;  // observe mode: events so far
  Signal done_;
  std::vector<std::unique_ptr<Signal>> slots_;
  std::vector<OsThread> os_threads_;
  std::vector<std::string> last_call_;  // per thread, for hang reports
  // Per thread: running outside the model since its quantum expired.
  std::vector<uint8_t> outside_;
  Trace tables_;  // threads and objects only
  std::unordered_map<const void*, std::unique_ptr<NativeObject>> objects_;
  // Per thread: the bitset of the futex wait it is blocked in.
  std::vector<uint32_t> futex_bitsets_;
  // Per thread: blocked until an absl::Condition holds, not for the lock.
  std::vector<uint8_t> awaiting_;
  uint64_t base_realtime_ns_ = 0;
  uint64_t base_monotonic_ns_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace lockstep::native_internal

#endif  // LOCKSTEP_NATIVE_SESSION_H_
