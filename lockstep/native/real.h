// The real pthread, semaphore, sleep and clock functions behind the ones
// interpose.cc defines, and the native runner's own synchronization, which
// never goes through an interposed function (futexes, by system call).
#ifndef LOCKSTEP_NATIVE_REAL_H_
#define LOCKSTEP_NATIVE_REAL_H_

#include <pthread.h>
#include <semaphore.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>

#include <atomic>
#include <cstdint>

namespace lockstep::native_internal {

struct RealFunctions {
  int (*pthread_create)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
  int (*pthread_join)(pthread_t, void**);
  int (*pthread_detach)(pthread_t);
  void (*pthread_exit)(void*);
  int (*pthread_mutex_lock)(pthread_mutex_t*);
  int (*pthread_mutex_trylock)(pthread_mutex_t*);
  int (*pthread_mutex_timedlock)(pthread_mutex_t*, const timespec*);
  int (*pthread_mutex_clocklock)(pthread_mutex_t*, clockid_t, const timespec*);
  int (*pthread_mutex_unlock)(pthread_mutex_t*);
  int (*pthread_rwlock_rdlock)(pthread_rwlock_t*);
  int (*pthread_rwlock_tryrdlock)(pthread_rwlock_t*);
  int (*pthread_rwlock_timedrdlock)(pthread_rwlock_t*, const timespec*);
  int (*pthread_rwlock_clockrdlock)(pthread_rwlock_t*, clockid_t, const timespec*);
  int (*pthread_rwlock_wrlock)(pthread_rwlock_t*);
  int (*pthread_rwlock_trywrlock)(pthread_rwlock_t*);
  int (*pthread_rwlock_timedwrlock)(pthread_rwlock_t*, const timespec*);
  int (*pthread_rwlock_clockwrlock)(pthread_rwlock_t*, clockid_t, const timespec*);
  int (*pthread_rwlock_unlock)(pthread_rwlock_t*);
  int (*pthread_spin_lock)(pthread_spinlock_t*);
  int (*pthread_spin_trylock)(pthread_spinlock_t*);
  int (*pthread_spin_unlock)(pthread_spinlock_t*);
  int (*pthread_barrier_init)(pthread_barrier_t*, const pthread_barrierattr_t*, unsigned);
  int (*pthread_barrier_destroy)(pthread_barrier_t*);
  int (*pthread_barrier_wait)(pthread_barrier_t*);
  int (*pthread_cond_wait)(pthread_cond_t*, pthread_mutex_t*);
  int (*pthread_cond_timedwait)(pthread_cond_t*, pthread_mutex_t*, const timespec*);
  int (*pthread_cond_clockwait)(pthread_cond_t*, pthread_mutex_t*, clockid_t, const timespec*);
  int (*pthread_cond_signal)(pthread_cond_t*);
  int (*pthread_cond_broadcast)(pthread_cond_t*);
  int (*sem_wait)(sem_t*);
  int (*sem_trywait)(sem_t*);
  int (*sem_timedwait)(sem_t*, const timespec*);
  int (*sem_clockwait)(sem_t*, clockid_t, const timespec*);
  int (*sem_post)(sem_t*);
  int (*sched_yield)();
  int (*nanosleep)(const timespec*, timespec*);
  int (*clock_nanosleep)(clockid_t, int, const timespec*, timespec*);
  int (*usleep)(useconds_t);
  unsigned (*sleep)(unsigned);
  int (*clock_gettime)(clockid_t, timespec*);
  int (*gettimeofday)(timeval*, void*);
  time_t (*time)(time_t*);
  int (*pthread_once)(pthread_once_t*, void (*)());
  long (*syscall)(long, ...);
  pid_t (*fork)();
  void (*exit)(int);
  void (*_exit)(int);
  void (*quick_exit)(int);
  // A sanitizer's interceptors, when its runtime is loaded (else null).
  // Threads must be created and joined through them: ASan must learn their
  // stacks (or reports stale poison on reused ones), and TSan's runtime
  // crashes in a thread it did not set up.
  int (*sanitizer_pthread_create)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
  int (*sanitizer_pthread_join)(pthread_t, void**);
  // Whether those interceptors come before this library in the lookup
  // order: then a call that reaches an interposed function has been through
  // them already (the usual order when ASan's runtime is a shared library
  // linked first); else (this library in the executable, say) it has not.
  bool sanitizer_first;
};

extern RealFunctions g_real;
extern bool g_real_resolved;  // atomic builtins only (see FutexMutex)
void ResolveRealFunctions();

// The real functions (resolved on first use: an interposed call may come
// before any static initializer of this library has run).
inline const RealFunctions& Real() {
  if (!__atomic_load_n(&g_real_resolved, __ATOMIC_ACQUIRE)) ResolveRealFunctions();
  return g_real;
}

// The real pthread_create and pthread_join for a call of the code under
// test that reached the interposed function: through the sanitizer's
// interceptor when there is one and the call has not been through it.
int CreateThread(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg);
int JoinThread(pthread_t thread, void** result);
// The same for threads the native runner starts itself.
int CreateOwnThread(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*),
                    void* arg);
int JoinOwnThread(pthread_t thread, void** result);
// True while the calling thread is inside the sanitizer's interceptor for
// CreateThread or JoinThread: should the interceptor call the interposed
// function back, it must go straight on to the next definition.
bool InSanitizerInterceptor();

// Futex wait/wake on a 32-bit word. A null timeout waits forever; the
// timeout is relative. Returns false on timeout.
bool FutexWait(uint32_t* word, uint32_t expected, const timespec* timeout = nullptr);
void FutexWake(uint32_t* word, int count);

// The runner's own synchronization, on threads of the run, uses atomic
// builtins, never std::atomic's inline members: the binary keeps one copy of
// each inline function, and with instrumented code linked in it may be the
// one compiled with -fsanitize=thread, which would make Lockstep's own
// operations scheduling points (see internal/in_lockstep.h).

// A mutex on a futex (Drepper, "Futexes Are Tricky", mutex3).
class FutexMutex {
 public:
  void lock() {
    uint32_t c = 0;
    if (__atomic_compare_exchange_n(&state_, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
      return;
    }
    if (c != 2) c = __atomic_exchange_n(&state_, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
      FutexWait(&state_, 2);
      c = __atomic_exchange_n(&state_, 2, __ATOMIC_ACQUIRE);
    }
  }
  void unlock() {
    if (__atomic_exchange_n(&state_, 0, __ATOMIC_RELEASE) == 2) FutexWake(&state_, 1);
  }

 private:
  uint32_t state_ = 0;  // 0 free, 1 locked, 2 locked with waiters
};

// A binary semaphore a single thread waits on.
class Signal {
 public:
  void Post() {
    __atomic_store_n(&word_, 1, __ATOMIC_RELEASE);
    FutexWake(&word_, 1);
  }
  void Wait() {
    while (__atomic_exchange_n(&word_, 0, __ATOMIC_ACQUIRE) == 0) FutexWait(&word_, 0);
  }
  // Returns false when `timeout` (relative) passed first.
  bool WaitFor(const timespec& timeout) {
    if (__atomic_exchange_n(&word_, 0, __ATOMIC_ACQUIRE) != 0) return true;
    FutexWait(&word_, 0, &timeout);
    return __atomic_exchange_n(&word_, 0, __ATOMIC_ACQUIRE) != 0;
  }
  void Reset() { __atomic_store_n(&word_, 0, __ATOMIC_RELAXED); }

 private:
  uint32_t word_ = 0;
};

uint64_t TimespecToNs(const timespec& ts);
timespec NsToTimespec(uint64_t ns);

}  // namespace lockstep::native_internal

#endif  // LOCKSTEP_NATIVE_REAL_H_
