// The interposed Abseil synchronization: absl::Mutex, absl::CondVar,
// absl::Notification, absl::BlockingCounter and absl::Barrier.
//
// Their uncontended paths never reach a futex, so they are steered at their
// API: this file defines the exported member functions of the system
// Abseil's synchronization library (a shared library) in the test binary,
// where they take the place of the library's, both for the code under test
// and for the library's own calls (Notification::Notify locks its mutex
// through the library's PLT). Each definition calls the library's (found
// with dlsym(RTLD_NEXT)) outside a native run, and the model
// (model_absl.cc) inside one. The member functions are those of the Abseil
// LTS release named below; another release is not steered (and says so
// when built).
#include "absl/base/config.h"

namespace lockstep::native_internal {
// Referenced by the runner so that linking it links these definitions.
void LinkAbslInterposer() {}
}  // namespace lockstep::native_internal

#if ABSL_LTS_RELEASE_VERSION != 20220623
#pragma message( \
    "Lockstep's native runner steers the absl::Mutex of Abseil LTS 20220623 only: absl synchronization in TEST_LOCKSTEP_NATIVE bodies is not steered with this Abseil")
#else

#include <dlfcn.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/synchronization/barrier.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "lockstep/native/session.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace {

using absl::Barrier;
using absl::BlockingCounter;
using absl::CondVar;
using absl::Duration;
using absl::Mutex;
using absl::Notification;
using absl::Time;
using lockstep::native_internal::Session;
using lockstep::native_internal::SteeredLock;

// The library's definition of the member function defined here at `ours`:
// the next one of the same (mangled) name in symbol lookup.
void* NextDefinition(void* ours) {
  Dl_info info;
  void* next = nullptr;
  if (dladdr(ours, &info) != 0 && info.dli_saddr == ours && info.dli_sname != nullptr) {
    next = dlsym(RTLD_NEXT, info.dli_sname);
  }
  if (next == nullptr) {
    std::fprintf(
        stderr,
        "lockstep: cannot find the Abseil synchronization library's definition of %s; "
        "the native runner needs libabsl_synchronization as a shared library "
        "(Debian's libabsl-dev) and the binary's symbols exported (-rdynamic)\n",
        dladdr(ours, &info) != 0 && info.dli_sname != nullptr ? info.dli_sname : "an absl member");
    std::abort();
  }
  return next;
}

template <typename Fn, typename Member>
void Resolve(Fn& real, Member ours) {
  // A pointer to a non-virtual member function starts with its address.
  void* address;
  std::memcpy(&address, &ours, sizeof address);
  real = reinterpret_cast<Fn>(NextDefinition(address));
}

// The library's definitions, called with the object as first argument.
struct RealAbsl {
  void (*lock)(Mutex*);
  void (*unlock)(Mutex*);
  bool (*try_lock)(Mutex*);
  void (*reader_lock)(Mutex*);
  void (*reader_unlock)(Mutex*);
  bool (*reader_try_lock)(Mutex*);
  void (*await)(Mutex*, const absl::Condition&);
  bool (*await_with_timeout)(Mutex*, const absl::Condition&, Duration);
  bool (*await_with_deadline)(Mutex*, const absl::Condition&, Time);
  void (*lock_when)(Mutex*, const absl::Condition&);
  void (*reader_lock_when)(Mutex*, const absl::Condition&);
  bool (*lock_when_with_timeout)(Mutex*, const absl::Condition&, Duration);
  bool (*reader_lock_when_with_timeout)(Mutex*, const absl::Condition&, Duration);
  bool (*lock_when_with_deadline)(Mutex*, const absl::Condition&, Time);
  bool (*reader_lock_when_with_deadline)(Mutex*, const absl::Condition&, Time);
  void (*wait)(CondVar*, Mutex*);
  bool (*wait_with_timeout)(CondVar*, Mutex*, Duration);
  bool (*wait_with_deadline)(CondVar*, Mutex*, Time);
  void (*signal)(CondVar*);
  void (*signal_all)(CondVar*);
  void (*notify)(Notification*);
  void (*wait_for_notification)(const Notification*);
  bool (*wait_for_notification_with_timeout)(const Notification*, Duration);
  bool (*wait_for_notification_with_deadline)(const Notification*, Time);
  bool (*decrement_count)(BlockingCounter*);
  void (*counter_wait)(BlockingCounter*);
  bool (*block)(Barrier*);
};

const RealAbsl& R() {
  static const RealAbsl real = [] {
    RealAbsl r;
    Resolve(r.lock, &Mutex::Lock);
    Resolve(r.unlock, &Mutex::Unlock);
    Resolve(r.try_lock, &Mutex::TryLock);
    Resolve(r.reader_lock, &Mutex::ReaderLock);
    Resolve(r.reader_unlock, &Mutex::ReaderUnlock);
    Resolve(r.reader_try_lock, &Mutex::ReaderTryLock);
    Resolve(r.await, &Mutex::Await);
    Resolve(r.await_with_timeout, &Mutex::AwaitWithTimeout);
    Resolve(r.await_with_deadline, &Mutex::AwaitWithDeadline);
    Resolve(r.lock_when, &Mutex::LockWhen);
    Resolve(r.reader_lock_when, &Mutex::ReaderLockWhen);
    Resolve(r.lock_when_with_timeout, &Mutex::LockWhenWithTimeout);
    Resolve(r.reader_lock_when_with_timeout, &Mutex::ReaderLockWhenWithTimeout);
    Resolve(r.lock_when_with_deadline, &Mutex::LockWhenWithDeadline);
    Resolve(r.reader_lock_when_with_deadline, &Mutex::ReaderLockWhenWithDeadline);
    Resolve(r.wait, &CondVar::Wait);
    Resolve(r.wait_with_timeout, &CondVar::WaitWithTimeout);
    Resolve(r.wait_with_deadline, &CondVar::WaitWithDeadline);
    Resolve(r.signal, &CondVar::Signal);
    Resolve(r.signal_all, &CondVar::SignalAll);
    Resolve(r.notify, &Notification::Notify);
    Resolve(r.wait_for_notification, &Notification::WaitForNotification);
    Resolve(r.wait_for_notification_with_timeout, &Notification::WaitForNotificationWithTimeout);
    Resolve(r.wait_for_notification_with_deadline, &Notification::WaitForNotificationWithDeadline);
    Resolve(r.decrement_count, &BlockingCounter::DecrementCount);
    Resolve(r.counter_wait, &BlockingCounter::Wait);
    Resolve(r.block, &Barrier::Block);
    return r;
  }();
  return real;
}

// ThreadSanitizer does not see Debian's Abseil synchronize (the library is
// not built with it) and would report races on what a mutex guards: each
// member defined here announces what it does to the mutex. RAII, so that
// every return path does.
#if defined(__SANITIZE_THREAD__)
void Acquired(const void* mu) { __tsan_acquire(const_cast<void*>(mu)); }
void Releasing(const void* mu) { __tsan_release(const_cast<void*>(mu)); }
#else
void Acquired(const void*) {}
void Releasing(const void*) {}
#endif

// Holds the mutex on return (Lock, LockWhen...).
class Acquires {
 public:
  explicit Acquires(const Mutex* mu) : mu_(mu) {}
  ~Acquires() { Acquired(mu_); }
  Acquires(const Acquires&) = delete;
  Acquires& operator=(const Acquires&) = delete;

 private:
  const Mutex* mu_;
};

// Releases the mutex (Unlock), or releases it and holds it again on return
// (Await, CondVar::Wait).
class Releases {
 public:
  Releases(const Mutex* mu, bool again) : mu_(mu), again_(again) { Releasing(mu); }
  ~Releases() {
    if (again_) Acquired(mu_);
  }
  Releases(const Releases&) = delete;
  Releases& operator=(const Releases&) = delete;

 private:
  const Mutex* mu_;
  bool again_;
};

bool AcquiredIf(const Mutex* mu, bool taken) {
  if (taken) Acquired(mu);
  return taken;
}

// Always inlined into the interposed function, for its call site.
__attribute__((always_inline)) inline bool Managed() { return Session::ManagedCall(); }
inline Session& S() { return Session::Get(); }

// While a Notification, BlockingCounter or Barrier call runs, the mutex it
// locks inside is that object's: the trace calls it so.
thread_local const char* t_owner_kind = nullptr;

class OwnedBy {
 public:
  explicit OwnedBy(const char* kind) : saved_(t_owner_kind) { t_owner_kind = kind; }
  ~OwnedBy() { t_owner_kind = saved_; }
  OwnedBy(const OwnedBy&) = delete;
  OwnedBy& operator=(const OwnedBy&) = delete;

 private:
  const char* saved_;
};

// An absl::Mutex as the model steers it: its real operations in either mode.
class Steered {
 public:
  explicit Steered(Mutex* mu)
      : try_lock_{mu},
        lock_op_{mu},
        unlock_{mu},
        lock_{mu,        t_owner_kind != nullptr ? t_owner_kind : "absl::Mutex",
              try_lock_, lock_op_,
              unlock_,   "absl.mutex.lock"} {}
  Steered(const Steered&) = delete;
  Steered& operator=(const Steered&) = delete;
  operator const SteeredLock&() const { return lock_; }

 private:
  struct TryLock {
    Mutex* mu;
    bool operator()(bool write) const { return write ? R().try_lock(mu) : R().reader_try_lock(mu); }
  };
  struct Lock {
    Mutex* mu;
    void operator()(bool write) const { write ? R().lock(mu) : R().reader_lock(mu); }
  };
  struct Unlock {
    Mutex* mu;
    void operator()(bool write) const { write ? R().unlock(mu) : R().reader_unlock(mu); }
  };
  TryLock try_lock_;
  Lock lock_op_;
  Unlock unlock_;
  SteeredLock lock_;
};

// A deadline of a timed call: none for an infinite one.
struct Deadline {
  clockid_t clock = CLOCK_MONOTONIC;
  timespec at{};
  bool set = false;
  const timespec* get() const { return set ? &at : nullptr; }
};

// `timeout` from now; now is virtual time in a controlled run (the
// interposed clock_gettime).
Deadline After(Duration timeout) {
  Deadline d;
  if (timeout == absl::InfiniteDuration()) return d;
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  d.at = absl::ToTimespec(absl::TimeFromTimespec(now) + std::max(timeout, absl::ZeroDuration()));
  d.set = true;
  return d;
}

Deadline At(Time deadline) {
  Deadline d;
  if (deadline == absl::InfiniteFuture()) return d;
  d.clock = CLOCK_REALTIME;
  d.at = absl::ToTimespec(deadline);
  d.set = true;
  return d;
}

bool Lock(Mutex* mu, const char* op, bool write, const absl::Condition* cond,
          const Deadline& deadline, absl::FunctionRef<bool()> real) {
  const Steered steered(mu);
  if (cond == nullptr) {
    return S().AbslLock(steered, op, write, false, nullptr, deadline.clock, deadline.get(), real);
  }
  auto eval = [cond] { return cond->Eval(); };
  const lockstep::native_internal::Condition condition = eval;
  return S().AbslLock(steered, op, write, false, &condition, deadline.clock, deadline.get(), real);
}

bool Await(Mutex* mu, const absl::Condition& cond, const Deadline& deadline,
           absl::FunctionRef<bool()> real) {
  const Steered steered(mu);
  return S().AbslAwait(
      steered, [&cond] { return cond.Eval(); }, deadline.clock, deadline.get(), real);
}

bool Wait(CondVar* cv, Mutex* mu, const Deadline& deadline, absl::FunctionRef<bool()> real) {
  const Steered steered(mu);
  return S().AbslCondWait(cv, steered, deadline.clock, deadline.get(), real);
}

// A call of an object built on an absl::Mutex: an event, then the real call,
// steered through the mutex calls it makes.
template <typename F>
auto CallOn(const void* object, const char* kind, const char* op, F real) {
  S().Call(object, kind, op);
  const OwnedBy owned(kind);
  return real();
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  const Acquires acquires(this);
  if (!Managed()) return R().lock(this);
  ::Lock(this, "absl.mutex.lock", true, nullptr, {}, [this] {
    R().lock(this);
    return true;
  });
}

void Mutex::ReaderLock() {
  const Acquires acquires(this);
  if (!Managed()) return R().reader_lock(this);
  ::Lock(this, "absl.mutex.reader_lock", false, nullptr, {}, [this] {
    R().reader_lock(this);
    return true;
  });
}

bool Mutex::TryLock() {
  if (!Managed()) return AcquiredIf(this, R().try_lock(this));
  const Steered steered(this);
  return AcquiredIf(
      this, S().AbslLock(steered, "absl.mutex.try_lock", true, true, nullptr, CLOCK_MONOTONIC,
                         nullptr, [this] { return R().try_lock(this); }));
}

bool Mutex::ReaderTryLock() {
  if (!Managed()) return AcquiredIf(this, R().reader_try_lock(this));
  const Steered steered(this);
  return AcquiredIf(
      this, S().AbslLock(steered, "absl.mutex.reader_try_lock", false, true, nullptr,
                         CLOCK_MONOTONIC, nullptr, [this] { return R().reader_try_lock(this); }));
}

void Mutex::Unlock() {
  const Releases releases(this, /*again=*/false);
  if (!Managed()) return R().unlock(this);
  S().AbslUnlock(Steered(this), "absl.mutex.unlock", true);
}

void Mutex::ReaderUnlock() {
  const Releases releases(this, /*again=*/false);
  if (!Managed()) return R().reader_unlock(this);
  S().AbslUnlock(Steered(this), "absl.mutex.reader_unlock", false);
}

void Mutex::LockWhen(const Condition& cond) {
  const Acquires acquires(this);
  if (!Managed()) return R().lock_when(this, cond);
  ::Lock(this, "absl.mutex.lock_when", true, &cond, {}, [&] {
    R().lock_when(this, cond);
    return true;
  });
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  const Acquires acquires(this);
  if (!Managed()) return R().reader_lock_when(this, cond);
  ::Lock(this, "absl.mutex.reader_lock_when", false, &cond, {}, [&] {
    R().reader_lock_when(this, cond);
    return true;
  });
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, Duration timeout) {
  const Acquires acquires(this);
  if (!Managed()) return R().lock_when_with_timeout(this, cond, timeout);
  return ::Lock(this, "absl.mutex.lock_when", true, &cond, After(timeout),
                [&] { return R().lock_when_with_timeout(this, cond, timeout); });
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, Duration timeout) {
  const Acquires acquires(this);
  if (!Managed()) return R().reader_lock_when_with_timeout(this, cond, timeout);
  return ::Lock(this, "absl.mutex.reader_lock_when", false, &cond, After(timeout),
                [&] { return R().reader_lock_when_with_timeout(this, cond, timeout); });
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, Time deadline) {
  const Acquires acquires(this);
  if (!Managed()) return R().lock_when_with_deadline(this, cond, deadline);
  return ::Lock(this, "absl.mutex.lock_when", true, &cond, At(deadline),
                [&] { return R().lock_when_with_deadline(this, cond, deadline); });
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, Time deadline) {
  const Acquires acquires(this);
  if (!Managed()) return R().reader_lock_when_with_deadline(this, cond, deadline);
  return ::Lock(this, "absl.mutex.reader_lock_when", false, &cond, At(deadline),
                [&] { return R().reader_lock_when_with_deadline(this, cond, deadline); });
}

void Mutex::Await(const Condition& cond) {
  const Releases releases(this, /*again=*/true);
  if (!Managed()) return R().await(this, cond);
  ::Await(this, cond, {}, [&] {
    R().await(this, cond);
    return true;
  });
}

bool Mutex::AwaitWithTimeout(const Condition& cond, Duration timeout) {
  const Releases releases(this, /*again=*/true);
  if (!Managed()) return R().await_with_timeout(this, cond, timeout);
  return ::Await(this, cond, After(timeout),
                 [&] { return R().await_with_timeout(this, cond, timeout); });
}

bool Mutex::AwaitWithDeadline(const Condition& cond, Time deadline) {
  const Releases releases(this, /*again=*/true);
  if (!Managed()) return R().await_with_deadline(this, cond, deadline);
  return ::Await(this, cond, At(deadline),
                 [&] { return R().await_with_deadline(this, cond, deadline); });
}

void CondVar::Wait(Mutex* mu) {
  const Releases releases(mu, /*again=*/true);
  if (!Managed()) return R().wait(this, mu);
  ::Wait(this, mu, {}, [&] {
    R().wait(this, mu);
    return false;
  });
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration timeout) {
  const Releases releases(mu, /*again=*/true);
  if (!Managed()) return R().wait_with_timeout(this, mu, timeout);
  return ::Wait(this, mu, After(timeout), [&] { return R().wait_with_timeout(this, mu, timeout); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time deadline) {
  const Releases releases(mu, /*again=*/true);
  if (!Managed()) return R().wait_with_deadline(this, mu, deadline);
  return ::Wait(this, mu, At(deadline), [&] { return R().wait_with_deadline(this, mu, deadline); });
}

void CondVar::Signal() {
  if (!Managed()) return R().signal(this);
  S().CondSignal(this, "absl::CondVar", "absl.condvar.signal", false, [this] {
    R().signal(this);
    return 0;
  });
}

void CondVar::SignalAll() {
  if (!Managed()) return R().signal_all(this);
  S().CondSignal(this, "absl::CondVar", "absl.condvar.signal_all", true, [this] {
    R().signal_all(this);
    return 0;
  });
}

void Notification::Notify() {
  if (!Managed()) return R().notify(this);
  CallOn(this, "absl::Notification", "absl.notification.notify", [this] {
    R().notify(this);
    return 0;
  });
}

void Notification::WaitForNotification() const {
  if (!Managed()) return R().wait_for_notification(this);
  CallOn(this, "absl::Notification", "absl.notification.wait", [this] {
    R().wait_for_notification(this);
    return 0;
  });
}

bool Notification::WaitForNotificationWithTimeout(Duration timeout) const {
  if (!Managed()) return R().wait_for_notification_with_timeout(this, timeout);
  return CallOn(this, "absl::Notification", "absl.notification.wait",
                [&] { return R().wait_for_notification_with_timeout(this, timeout); });
}

bool Notification::WaitForNotificationWithDeadline(Time deadline) const {
  if (!Managed()) return R().wait_for_notification_with_deadline(this, deadline);
  return CallOn(this, "absl::Notification", "absl.notification.wait",
                [&] { return R().wait_for_notification_with_deadline(this, deadline); });
}

bool BlockingCounter::DecrementCount() {
  if (!Managed()) return R().decrement_count(this);
  return CallOn(this, "absl::BlockingCounter", "absl.blocking_counter.decrement",
                [this] { return R().decrement_count(this); });
}

void BlockingCounter::Wait() {
  if (!Managed()) return R().counter_wait(this);
  CallOn(this, "absl::BlockingCounter", "absl.blocking_counter.wait", [this] {
    R().counter_wait(this);
    return 0;
  });
}

bool Barrier::Block() {
  if (!Managed()) return R().block(this);
  return CallOn(this, "absl::Barrier", "absl.barrier.block", [this] { return R().block(this); });
}

ABSL_NAMESPACE_END
}  // namespace absl

#endif  // ABSL_LTS_RELEASE_VERSION
