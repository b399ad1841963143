#include "lockstep/native/real.h"

#include <dlfcn.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace lockstep::native_internal {

RealFunctions g_real;
bool g_real_resolved = false;

namespace {

// A sanitizer runtime's interceptor for `name` (null without one).
void* Interceptor(const char* name) {
  char interceptor[64];
  std::snprintf(interceptor, sizeof interceptor, "__interceptor_%s", name);
  return dlsym(RTLD_DEFAULT, interceptor);
}

template <typename F>
void Resolve(F& slot, const char* name, const char* version = nullptr) {
  // pthread_cond_* exist in two versions; plain dlsym would find the old
  // one. dlvsym skips a sanitizer's (unversioned) interceptor, though, and
  // calls that bypass ThreadSanitizer's condition variable interceptors
  // leave it believing the mutex is still held: when the sanitizer comes
  // after this library, its interceptor is the next definition.
  void* fn = nullptr;
  if (version != nullptr && !g_real.sanitizer_first) fn = Interceptor(name);
  if (fn == nullptr) {
    fn = version != nullptr ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
  }
  if (fn == nullptr) {
    std::fprintf(stderr, "lockstep: cannot find the real %s (%s)\n", name, dlerror());
    std::abort();
  }
  slot = reinterpret_cast<F>(fn);
}

}  // namespace

// Racing first calls resolve the same values; that is harmless.
void ResolveRealFunctions() {
  RealFunctions& r = g_real;
  r.sanitizer_pthread_create =
      reinterpret_cast<decltype(r.sanitizer_pthread_create)>(Interceptor("pthread_create"));
  r.sanitizer_pthread_join =
      reinterpret_cast<decltype(r.sanitizer_pthread_join)>(Interceptor("pthread_join"));
  r.sanitizer_first =
      r.sanitizer_pthread_create != nullptr &&
      dlsym(RTLD_DEFAULT, "pthread_create") == reinterpret_cast<void*>(r.sanitizer_pthread_create);
  Resolve(r.pthread_create, "pthread_create");
  Resolve(r.pthread_join, "pthread_join");
  Resolve(r.pthread_detach, "pthread_detach");
  Resolve(r.pthread_exit, "pthread_exit");
  Resolve(r.pthread_mutex_lock, "pthread_mutex_lock");
  Resolve(r.pthread_mutex_trylock, "pthread_mutex_trylock");
  Resolve(r.pthread_mutex_timedlock, "pthread_mutex_timedlock");
  Resolve(r.pthread_mutex_clocklock, "pthread_mutex_clocklock");
  Resolve(r.pthread_mutex_unlock, "pthread_mutex_unlock");
  Resolve(r.pthread_rwlock_rdlock, "pthread_rwlock_rdlock");
  Resolve(r.pthread_rwlock_tryrdlock, "pthread_rwlock_tryrdlock");
  Resolve(r.pthread_rwlock_timedrdlock, "pthread_rwlock_timedrdlock");
  Resolve(r.pthread_rwlock_clockrdlock, "pthread_rwlock_clockrdlock");
  Resolve(r.pthread_rwlock_wrlock, "pthread_rwlock_wrlock");
  Resolve(r.pthread_rwlock_trywrlock, "pthread_rwlock_trywrlock");
  Resolve(r.pthread_rwlock_timedwrlock, "pthread_rwlock_timedwrlock");
  Resolve(r.pthread_rwlock_clockwrlock, "pthread_rwlock_clockwrlock");
  Resolve(r.pthread_rwlock_unlock, "pthread_rwlock_unlock");
  Resolve(r.pthread_spin_lock, "pthread_spin_lock");
  Resolve(r.pthread_spin_trylock, "pthread_spin_trylock");
  Resolve(r.pthread_spin_unlock, "pthread_spin_unlock");
  Resolve(r.pthread_barrier_init, "pthread_barrier_init");
  Resolve(r.pthread_barrier_destroy, "pthread_barrier_destroy");
  Resolve(r.pthread_barrier_wait, "pthread_barrier_wait");
  Resolve(r.pthread_cond_wait, "pthread_cond_wait", "GLIBC_2.3.2");
  Resolve(r.pthread_cond_timedwait, "pthread_cond_timedwait", "GLIBC_2.3.2");
  Resolve(r.pthread_cond_clockwait, "pthread_cond_clockwait");
  Resolve(r.pthread_cond_signal, "pthread_cond_signal", "GLIBC_2.3.2");
  Resolve(r.pthread_cond_broadcast, "pthread_cond_broadcast", "GLIBC_2.3.2");
  Resolve(r.sem_wait, "sem_wait");
  Resolve(r.sem_trywait, "sem_trywait");
  Resolve(r.sem_timedwait, "sem_timedwait");
  Resolve(r.sem_clockwait, "sem_clockwait");
  Resolve(r.sem_post, "sem_post");
  Resolve(r.sched_yield, "sched_yield");
  Resolve(r.nanosleep, "nanosleep");
  Resolve(r.clock_nanosleep, "clock_nanosleep");
  Resolve(r.usleep, "usleep");
  Resolve(r.sleep, "sleep");
  Resolve(r.clock_gettime, "clock_gettime");
  Resolve(r.gettimeofday, "gettimeofday");
  Resolve(r.time, "time");
  Resolve(r.pthread_once, "pthread_once");
  Resolve(r.syscall, "syscall");
  Resolve(r.fork, "fork");
  Resolve(r.exit, "exit");
  Resolve(r._exit, "_exit");
  Resolve(r.quick_exit, "quick_exit");
  __atomic_store_n(&g_real_resolved, true, __ATOMIC_RELEASE);
}

static thread_local int t_in_sanitizer_interceptor = 0;

bool InSanitizerInterceptor() { return t_in_sanitizer_interceptor > 0; }

namespace {

int CreateThread(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg,
                 bool own) {
  const RealFunctions& r = Real();
  if (r.sanitizer_pthread_create == nullptr || InSanitizerInterceptor() ||
      (r.sanitizer_first && !own)) {
    return r.pthread_create(thread, attr, start, arg);
  }
  ++t_in_sanitizer_interceptor;
  const int result = r.sanitizer_pthread_create(thread, attr, start, arg);
  --t_in_sanitizer_interceptor;
  return result;
}

int JoinThread(pthread_t thread, void** result, bool own) {
  const RealFunctions& r = Real();
  if (r.sanitizer_pthread_join == nullptr || InSanitizerInterceptor() ||
      (r.sanitizer_first && !own)) {
    return r.pthread_join(thread, result);
  }
  ++t_in_sanitizer_interceptor;
  const int joined = r.sanitizer_pthread_join(thread, result);
  --t_in_sanitizer_interceptor;
  return joined;
}

}  // namespace

int CreateThread(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg) {
  return CreateThread(thread, attr, start, arg, /*own=*/false);
}
int JoinThread(pthread_t thread, void** result) { return JoinThread(thread, result, false); }
int CreateOwnThread(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*),
                    void* arg) {
  return CreateThread(thread, attr, start, arg, /*own=*/true);
}
int JoinOwnThread(pthread_t thread, void** result) { return JoinThread(thread, result, true); }

bool FutexWait(uint32_t* word, uint32_t expected, const timespec* timeout) {
  const long r = Real().syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE,
                                expected, timeout, nullptr, 0);
  return !(r == -1 && errno == ETIMEDOUT);
}

void FutexWake(uint32_t* word, int count) {
  Real().syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, count, nullptr,
                 nullptr, 0);
}

uint64_t TimespecToNs(const timespec& ts) {
  if (ts.tv_sec < 0) return 0;
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

timespec NsToTimespec(uint64_t ns) {
  return timespec{static_cast<time_t>(ns / 1000000000ull), static_cast<long>(ns % 1000000000ull)};
}

}  // namespace lockstep::native_internal
