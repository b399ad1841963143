// The interposed pthread, semaphore, futex (syscall), yield, sleep, clock,
// fork and exit functions.
//
// Defined in the test binary (or a library it links ahead of libc), these
// take the place of libc's for the binary and the libraries it loads
// (libstdc++'s std::thread, std::condition_variable, sleep_for...). Outside
// a native run each one is a load of one global and a call to the real
// function.
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lockstep/native/real.h"
#include "lockstep/native/session.h"

namespace lockstep::native_internal {
// Referenced by the runner so that linking it links these definitions.
void LinkInterposer() {}
}  // namespace lockstep::native_internal

using lockstep::native_internal::CreateThread;
using lockstep::native_internal::InSanitizerInterceptor;
using lockstep::native_internal::JoinThread;
using lockstep::native_internal::Real;
using lockstep::native_internal::Session;

namespace {
// Always inlined into the interposed function, for its call site.
__attribute__((always_inline)) inline bool Managed() { return Session::ManagedCall(); }
inline Session& S() { return Session::Get(); }

// The clock a condition variable measures timed waits with (glibc keeps it
// in bit 1 of __wrefs).
clockid_t CondClock(const pthread_cond_t* cond) {
  return (cond->__data.__wrefs & 2) != 0 ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}
}  // namespace

extern "C" {

int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*),
                   void* arg) {
  if (InSanitizerInterceptor()) return Real().pthread_create(thread, attr, start, arg);
  if (Managed()) return S().ThreadCreate(thread, attr, start, arg);
  return CreateThread(thread, attr, start, arg);
}

int pthread_join(pthread_t thread, void** result) {
  if (InSanitizerInterceptor()) return Real().pthread_join(thread, result);
  if (Managed()) return S().ThreadJoin(thread, result);
  return JoinThread(thread, result);
}

int pthread_detach(pthread_t thread) {
  if (Managed()) return S().ThreadDetach(thread);
  return Real().pthread_detach(thread);
}

int pthread_mutex_lock(pthread_mutex_t* mutex) {
  if (Managed()) return S().MutexLock(mutex, false, CLOCK_REALTIME, nullptr);
  return Real().pthread_mutex_lock(mutex);
}

int pthread_mutex_trylock(pthread_mutex_t* mutex) {
  if (Managed()) return S().MutexLock(mutex, true, CLOCK_REALTIME, nullptr);
  return Real().pthread_mutex_trylock(mutex);
}

int pthread_mutex_timedlock(pthread_mutex_t* mutex, const timespec* deadline) {
  if (Managed()) return S().MutexLock(mutex, false, CLOCK_REALTIME, deadline);
  return Real().pthread_mutex_timedlock(mutex, deadline);
}

int pthread_mutex_clocklock(pthread_mutex_t* mutex, clockid_t clock, const timespec* deadline) {
  if (Managed()) return S().MutexLock(mutex, false, clock, deadline);
  return Real().pthread_mutex_clocklock(mutex, clock, deadline);
}

int pthread_mutex_unlock(pthread_mutex_t* mutex) {
  if (Managed()) return S().MutexUnlock(mutex);
  return Real().pthread_mutex_unlock(mutex);
}

int pthread_rwlock_rdlock(pthread_rwlock_t* lock) {
  if (Managed()) return S().RwLock(lock, false, false, CLOCK_REALTIME, nullptr);
  return Real().pthread_rwlock_rdlock(lock);
}

int pthread_rwlock_tryrdlock(pthread_rwlock_t* lock) {
  if (Managed()) return S().RwLock(lock, false, true, CLOCK_REALTIME, nullptr);
  return Real().pthread_rwlock_tryrdlock(lock);
}

int pthread_rwlock_timedrdlock(pthread_rwlock_t* lock, const timespec* deadline) {
  if (Managed()) return S().RwLock(lock, false, false, CLOCK_REALTIME, deadline);
  return Real().pthread_rwlock_timedrdlock(lock, deadline);
}

int pthread_rwlock_clockrdlock(pthread_rwlock_t* lock, clockid_t clock, const timespec* deadline) {
  if (Managed()) return S().RwLock(lock, false, false, clock, deadline);
  return Real().pthread_rwlock_clockrdlock(lock, clock, deadline);
}

int pthread_rwlock_wrlock(pthread_rwlock_t* lock) {
  if (Managed()) return S().RwLock(lock, true, false, CLOCK_REALTIME, nullptr);
  return Real().pthread_rwlock_wrlock(lock);
}

int pthread_rwlock_trywrlock(pthread_rwlock_t* lock) {
  if (Managed()) return S().RwLock(lock, true, true, CLOCK_REALTIME, nullptr);
  return Real().pthread_rwlock_trywrlock(lock);
}

int pthread_rwlock_timedwrlock(pthread_rwlock_t* lock, const timespec* deadline) {
  if (Managed()) return S().RwLock(lock, true, false, CLOCK_REALTIME, deadline);
  return Real().pthread_rwlock_timedwrlock(lock, deadline);
}

int pthread_rwlock_clockwrlock(pthread_rwlock_t* lock, clockid_t clock, const timespec* deadline) {
  if (Managed()) return S().RwLock(lock, true, false, clock, deadline);
  return Real().pthread_rwlock_clockwrlock(lock, clock, deadline);
}

int pthread_rwlock_unlock(pthread_rwlock_t* lock) {
  if (Managed()) return S().RwUnlock(lock);
  return Real().pthread_rwlock_unlock(lock);
}

int pthread_spin_lock(pthread_spinlock_t* lock) {
  if (Managed()) return S().SpinLock(lock, false);
  return Real().pthread_spin_lock(lock);
}

int pthread_spin_trylock(pthread_spinlock_t* lock) {
  if (Managed()) return S().SpinLock(lock, true);
  return Real().pthread_spin_trylock(lock);
}

int pthread_spin_unlock(pthread_spinlock_t* lock) {
  if (Managed()) return S().SpinUnlock(lock);
  return Real().pthread_spin_unlock(lock);
}

int pthread_barrier_init(pthread_barrier_t* barrier, const pthread_barrierattr_t* attr,
                         unsigned count) {
  const int r = Real().pthread_barrier_init(barrier, attr, count);
  if (r == 0) Session::NoteBarrier(barrier, count);
  return r;
}

int pthread_barrier_destroy(pthread_barrier_t* barrier) {
  Session::ForgetBarrier(barrier);
  return Real().pthread_barrier_destroy(barrier);
}

int pthread_barrier_wait(pthread_barrier_t* barrier) {
  if (Managed()) return S().BarrierWait(barrier);
  return Real().pthread_barrier_wait(barrier);
}

void pthread_exit(void* value) {
  if (Managed()) S().ThreadExitCall();
  Real().pthread_exit(value);
  __builtin_unreachable();
}

int pthread_cond_wait(pthread_cond_t* cond, pthread_mutex_t* mutex) {
  if (Managed()) return S().CondWait(cond, mutex, CLOCK_REALTIME, nullptr);
  return Real().pthread_cond_wait(cond, mutex);
}

int pthread_cond_timedwait(pthread_cond_t* cond, pthread_mutex_t* mutex, const timespec* deadline) {
  if (Managed()) return S().CondWait(cond, mutex, CondClock(cond), deadline);
  return Real().pthread_cond_timedwait(cond, mutex, deadline);
}

int pthread_cond_clockwait(pthread_cond_t* cond, pthread_mutex_t* mutex, clockid_t clock,
                           const timespec* deadline) {
  if (Managed()) return S().CondWait(cond, mutex, clock, deadline);
  return Real().pthread_cond_clockwait(cond, mutex, clock, deadline);
}

int pthread_cond_signal(pthread_cond_t* cond) {
  if (Managed()) {
    return S().CondSignal(cond, "condvar", "condvar.notify_one", false,
                          [cond] { return Real().pthread_cond_signal(cond); });
  }
  return Real().pthread_cond_signal(cond);
}

int pthread_cond_broadcast(pthread_cond_t* cond) {
  if (Managed()) {
    return S().CondSignal(cond, "condvar", "condvar.notify_all", true,
                          [cond] { return Real().pthread_cond_broadcast(cond); });
  }
  return Real().pthread_cond_broadcast(cond);
}

int sem_wait(sem_t* sem) {
  if (Managed()) return S().SemWait(sem, false, CLOCK_REALTIME, nullptr);
  return Real().sem_wait(sem);
}

int sem_trywait(sem_t* sem) {
  if (Managed()) return S().SemWait(sem, true, CLOCK_REALTIME, nullptr);
  return Real().sem_trywait(sem);
}

int sem_timedwait(sem_t* sem, const timespec* deadline) {
  if (Managed()) return S().SemWait(sem, false, CLOCK_REALTIME, deadline);
  return Real().sem_timedwait(sem, deadline);
}

int sem_clockwait(sem_t* sem, clockid_t clock, const timespec* deadline) {
  if (Managed()) return S().SemWait(sem, false, clock, deadline);
  return Real().sem_clockwait(sem, clock, deadline);
}

int sem_post(sem_t* sem) {
  if (Managed()) return S().SemPost(sem);
  return Real().sem_post(sem);
}

int sched_yield() {
  if (Managed()) return S().Yield();
  return Real().sched_yield();
}

int nanosleep(const timespec* duration, timespec* remaining) {
  if (Managed()) {
    // `remaining` may be `duration` (libstdc++'s sleep_for passes both).
    const int r = S().Sleep(duration, CLOCK_MONOTONIC, nullptr);
    if (remaining != nullptr) *remaining = timespec{};
    return r;
  }
  return Real().nanosleep(duration, remaining);
}

int clock_nanosleep(clockid_t clock, int flags, const timespec* time, timespec* remaining) {
  if (Managed()) {
    const int r = (flags & TIMER_ABSTIME) != 0 ? S().Sleep(nullptr, clock, time)
                                               : S().Sleep(time, clock, nullptr);
    if (remaining != nullptr) *remaining = timespec{};
    return r;
  }
  return Real().clock_nanosleep(clock, flags, time, remaining);
}

int usleep(useconds_t microseconds) {
  if (Managed()) {
    const timespec duration{static_cast<time_t>(microseconds / 1000000),
                            static_cast<long>(microseconds % 1000000) * 1000};
    return S().Sleep(&duration, CLOCK_MONOTONIC, nullptr);
  }
  return Real().usleep(microseconds);
}

unsigned sleep(unsigned seconds) {
  if (Managed()) {
    const timespec duration{static_cast<time_t>(seconds), 0};
    S().Sleep(&duration, CLOCK_MONOTONIC, nullptr);
    return 0;
  }
  return Real().sleep(seconds);
}

int clock_gettime(clockid_t clock, timespec* out) {
  if (Managed() && S().VirtualClock(clock, out)) return 0;
  return Real().clock_gettime(clock, out);
}

int gettimeofday(timeval* out, void* zone) noexcept {
  timespec now;
  if (Managed() && S().VirtualClock(CLOCK_REALTIME, &now)) {
    if (zone != nullptr) Real().gettimeofday(out, zone);  // the (obsolete) time zone
    *out = timeval{now.tv_sec, now.tv_nsec / 1000};
    return 0;
  }
  return Real().gettimeofday(out, zone);
}

time_t time(time_t* out) noexcept {
  timespec now;
  if (Managed() && S().VirtualClock(CLOCK_REALTIME, &now)) {
    if (out != nullptr) *out = now.tv_sec;
    return now.tv_sec;
  }
  return Real().time(out);
}

int pthread_once(pthread_once_t* once, void (*init)()) {
  if (Managed()) return S().Once(once, init);
  return Real().pthread_once(once, init);
}

// libstdc++ reaches futexes through syscall(SYS_futex, ...): atomic
// wait/notify, latch, barrier, counting_semaphore, future, stop_token.
long syscall(long number, ...) noexcept {
  // The arguments a system call may take (reading more than were passed is
  // harmless: they are registers or stack slots of the caller).
  va_list list;
  va_start(list, number);
  long a[6];
  for (long& arg : a) arg = va_arg(list, long);
  va_end(list);
  if (number == SYS_futex && Managed()) {
    return S().Futex(reinterpret_cast<uint32_t*>(a[0]), static_cast<int>(a[1]),
                     static_cast<uint32_t>(a[2]), reinterpret_cast<const timespec*>(a[3]),
                     reinterpret_cast<uint32_t*>(a[4]), static_cast<uint32_t>(a[5]));
  }
  return Real().syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

pid_t fork() {
  if (Managed()) return S().Fork();
  return Real().fork();
}

void exit(int status) noexcept {
  if (Managed()) S().ProcessExit("exit", status);
  Real().exit(status);
  __builtin_unreachable();
}

void _exit(int status) {
  if (Managed()) S().ProcessExit("_exit", status);
  Real()._exit(status);
  __builtin_unreachable();
}

void _Exit(int status) noexcept {
  if (Managed()) S().ProcessExit("_Exit", status);
  Real()._exit(status);
  __builtin_unreachable();
}

void quick_exit(int status) noexcept {
  if (Managed()) S().ProcessExit("quick_exit", status);
  Real().quick_exit(status);
  __builtin_unreachable();
}

}  // extern "C"
