// What scaling_bench and exhaustive_bench share: the matrix workloads (N
// threads x K operations on one mutex-protected counter or one atomic), the
// max_steps no schedule of them reaches, and the clocks and statistics the
// tables are made of.
#ifndef BENCH_MATRIX_H_
#define BENCH_MATRIX_H_

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "lockstep/atomic.h"
#include "lockstep/mutex.h"
#include "lockstep/thread.h"

namespace bench {

inline double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

inline double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "unavailable";
  return one + " " + five + " " + fifteen + " (1, 5, 15 min)";
}

inline double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

// N threads each take a lockstep::Mutex K times to increment a counter.
inline void LockstepMutexBody(int n, int k) {
  lockstep::Mutex mu;
  int counter = 0;
  std::vector<lockstep::Thread> threads(static_cast<size_t>(n));
  for (lockstep::Thread& thread : threads) {
    thread = lockstep::spawn([&] {
      for (int i = 0; i < k; ++i) {
        std::lock_guard<lockstep::Mutex> lock(mu);
        ++counter;
      }
    });
  }
  for (lockstep::Thread& thread : threads) thread.join();
  if (counter != n * k) {
    std::fflush(stdout);
    std::fprintf(stderr, "bench: the lockstep mutex workload lost an increment\n");
    std::exit(1);
  }
}

// N threads each fetch_add a lockstep::Atomic K times.
inline void LockstepAtomicBody(int n, int k) {
  lockstep::Atomic<int> x(0);
  std::vector<lockstep::Thread> threads(static_cast<size_t>(n));
  for (lockstep::Thread& thread : threads) {
    thread = lockstep::spawn([&] {
      for (int i = 0; i < k; ++i) x.fetch_add(1);
    });
  }
  for (lockstep::Thread& thread : threads) thread.join();
}

// Steps of one schedule: the workload's own operations, mutex 2NK (lock,
// unlock), atomic NK; N spawns, N joins and N+1 thread exits (fast paths
// make a few of these no decision); and, mutex only, the retries of woken
// lockers: each thread an unlock wakes takes one step to retry (it gets the
// mutex or blocks again), and an unlock wakes at most the N-1 others (all of
// them if Mutex::unlock wakes every waiter, one if it wakes one). At most
// NK(N+1) + 3N + 2 then; max_steps is twice that (plus 1000), so no
// schedule can fail on it.
inline uint64_t LockstepMaxSteps(int n, int k) {
  const uint64_t nk = static_cast<uint64_t>(n) * static_cast<uint64_t>(k);
  return 2 * (nk * (static_cast<uint64_t>(n) + 1) + 3 * static_cast<uint64_t>(n) + 2) + 1000;
}

}  // namespace bench

#endif  // BENCH_MATRIX_H_
