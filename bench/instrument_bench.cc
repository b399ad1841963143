// What instrumented mode costs per memory access and per atomic operation:
// the loops of instrument_bench_kernels.cc, timed in one of three builds of
// this harness (bench/BUILD.bazel), each a binary of its own because
// Lockstep's runtime and ThreadSanitizer's cannot share one:
//
//   instrument_bench_plain     the kernels compiled plain;
//   instrument_bench_lockstep  the kernels compiled with -fsanitize=thread,
//                              linked with //lockstep:instrument (defines
//                              INSTRUMENT_BENCH_LOCKSTEP): outside any run,
//                              and inside one NativeRunner iteration;
//   instrument_bench_tsan      the kernels compiled and linked with
//                              -fsanitize=thread (defines
//                              INSTRUMENT_BENCH_TSAN): the TSan runtime.
//
// The harness itself is compiled plain in the first two (only the kernels'
// accesses are instrumented) and with -fsanitize=thread in the TSan build,
// as a TSan user's binary is; the timed loops only call the kernels, so
// that adds nothing to the figures.
//
// Each binary prints one line per measurement, "<key> <ns>": ns per access
// (AddOne: a read and a write per element) or per fetch_add.
// instrument_bench.sh runs the three binaries in interleaved rounds and
// prints the medians. --smoke: a hundredth of the work.
//
// Timing uses the clock_gettime system call itself: inside a native run the
// interposed clock_gettime returns the run's virtual time.
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "bench/instrument_bench_kernels.h"

#if defined(INSTRUMENT_BENCH_LOCKSTEP)
#include <functional>

#include "lockstep/native/native_runner.h"
#include "lockstep/options.h"
#include "lockstep/run.h"
#endif

namespace {

using lockstep_bench::AddOne;
using lockstep_bench::FetchAdd;

// Elements per AddOne pass: 4 KiB, in L1 for every variant.
constexpr size_t kElements = 1024;
constexpr uint64_t kAccessesPerPass = 2 * kElements;

// Divides every count (--smoke: 100).
uint64_t g_divisor = 1;

uint64_t Scaled(uint64_t count) { return count / g_divisor > 0 ? count / g_divisor : 1; }

double NowNs() {
  timespec ts{};
  if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0) {
    std::perror("instrument_bench: clock_gettime");
    std::abort();
  }
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

void Print(const char* key, double ns) {
  std::printf("%s %.4f\n", key, ns);
  std::fflush(stdout);
}

// ns per access of `passes` AddOne passes over `data`, after a warm-up of
// an eighth as many (in a run: the race detector has seen every granule).
double TimeAccesses(int* data, uint64_t passes) {
  for (uint64_t i = 0; i < passes / 8 + 1; ++i) AddOne(data, kElements);
  const double start = NowNs();
  for (uint64_t i = 0; i < passes; ++i) AddOne(data, kElements);
  const double ns = NowNs() - start;
  return ns / static_cast<double>(passes * kAccessesPerPass);
}

// The loop over a buffer on the calling thread's stack.
double TimeStack(uint64_t passes) {
  alignas(64) int buffer[kElements];
  std::memset(buffer, 0, sizeof(buffer));
  return TimeAccesses(buffer, passes);
}

// The loop over a heap buffer (allocated once, outside any run).
int* Heap() {
  static int* const heap = [] {
    int* buffer = new int[kElements];
    std::memset(buffer, 0, kElements * sizeof(int));
    return buffer;
  }();
  return heap;
}

double TimeHeap(uint64_t passes) { return TimeAccesses(Heap(), passes); }

[[noreturn]] void Miscounted(uint64_t got, uint64_t expected) {
  std::fprintf(stderr, "instrument_bench: the counter is %llu, expected %llu\n",
               static_cast<unsigned long long>(got), static_cast<unsigned long long>(expected));
  std::abort();
}

// ns per fetch_add of `ops` on one counter, after a warm-up of an eighth.
double TimeAtomics(uint64_t ops) {
  std::atomic<int> counter{0};
  FetchAdd(&counter, ops / 8 + 1);
  const double start = NowNs();
  FetchAdd(&counter, ops);
  const double ns = NowNs() - start;
  const uint64_t got = static_cast<uint32_t>(counter.load());
  if (got != ops / 8 + 1 + ops) Miscounted(got, ops / 8 + 1 + ops);
  return ns / static_cast<double>(ops);
}

// Counts, before --smoke divides them. AddOne passes are 2048 accesses
// each; sized for tens of milliseconds per measurement at the costs
// measured on the reference machine.
constexpr uint64_t kPlainPasses = 20000;  // ~0.1 ns per access
constexpr uint64_t kCheapPasses = 2000;   // a few ns per access
constexpr uint64_t kCheckedPasses = 500;  // race detector: tens of ns
constexpr uint64_t kPointPasses = 50;     // a scheduling point each
constexpr uint64_t kPlainAtomics = 4000000;
constexpr uint64_t kRunAtomics = 100000;  // a scheduling point each
constexpr uint64_t kTsanAtomics = 1000000;

#if defined(INSTRUMENT_BENCH_LOCKSTEP)

// `measure` as the body of one NativeRunner iteration (control mode, no
// isolation) with these accesses and races settings: its result. Aborts
// unless the iteration ran and passed.
double InRun(lockstep::Accesses accesses, lockstep::RaceMode races,
             const std::function<double()>& measure) {
  lockstep::NativeOptions options;
  options.iterations = 1;
  options.isolate = false;
  options.accesses = accesses;
  options.races = races;
  options.max_steps = uint64_t{1} << 40;
  // The loops reach no interposed call for milliseconds: never let a
  // quantum expire (the thread would run outside the model).
  options.resume_quantum_us = 600u * 1000u * 1000u;
  options.watchdog = std::chrono::minutes(10);
  double ns = -1;
  const lockstep::RunResult result = lockstep::NativeRunner::Run([&] { ns = measure(); }, options);
  if (!result.status.ok()) {
    std::fprintf(stderr, "instrument_bench: NativeRunner::Run: %s\n",
                 result.status.ToString().c_str());
    std::abort();
  }
  if (result.failed() || result.iterations != 1 || ns < 0) {
    std::fprintf(stderr, "instrument_bench: the iteration did not pass: %s\n",
                 result.failed() ? result.trace->failure().message().c_str() : "no measurement");
    std::abort();
  }
  return ns;
}

// `measure` in a std::thread the body starts and joins.
double InThread(const std::function<double()>& measure) {
  double ns = -1;
  std::thread thread([&] { ns = measure(); });
  thread.join();
  return ns;
}

// Two threads (thread 0 and one it starts) each do `ops` fetch_adds on one
// counter: ns per fetch_add, the thread's start and join included.
double TimeAtomicsTwoThreads(uint64_t ops) {
  std::atomic<int> counter{0};
  const double start = NowNs();
  std::thread other([&] { FetchAdd(&counter, ops); });
  FetchAdd(&counter, ops);
  other.join();
  const double ns = NowNs() - start;
  const uint64_t got = static_cast<uint32_t>(counter.load());
  if (got != 2 * ops) Miscounted(got, 2 * ops);
  return ns / static_cast<double>(2 * ops);
}

void RunLockstep() {
  using lockstep::Accesses;
  using lockstep::RaceMode;
  const uint64_t cheap = Scaled(kCheapPasses);
  const uint64_t checked = Scaled(kCheckedPasses);
  const uint64_t points = Scaled(kPointPasses);
  const uint64_t atomics = Scaled(kRunAtomics);

  Print("outside.stack", TimeStack(cheap));
  Print("outside.heap", TimeHeap(cheap));
  Print("outside.atomic", TimeAtomics(Scaled(kPlainAtomics)));

  // No race detector (races=ignore, accesses=none): the runtime's first
  // check inside a run.
  Print("none_ignore.stack",
        InRun(Accesses::kNone, RaceMode::kIgnore, [&] { return TimeStack(cheap); }));
  Print("none_ignore.heap",
        InRun(Accesses::kNone, RaceMode::kIgnore, [&] { return TimeHeap(cheap); }));
  Print("none_ignore.atomic",
        InRun(Accesses::kNone, RaceMode::kIgnore, [&] { return TimeAtomics(atomics); }));
  // The race detector on, no access a scheduling point.
  Print("none_fail.stack",
        InRun(Accesses::kNone, RaceMode::kFail, [&] { return TimeStack(cheap); }));
  Print("none_fail.heap",
        InRun(Accesses::kNone, RaceMode::kFail, [&] { return TimeHeap(checked); }));
  // The defaults: racing instructions become points (none race here).
  Print("racy_fail.stack",
        InRun(Accesses::kRacy, RaceMode::kFail, [&] { return TimeStack(cheap); }));
  Print("racy_fail.heap",
        InRun(Accesses::kRacy, RaceMode::kFail, [&] { return TimeHeap(checked); }));
  Print("racy_fail.atomic",
        InRun(Accesses::kRacy, RaceMode::kFail, [&] { return TimeAtomics(atomics); }));
  // The same in a std::thread the body starts (logical thread 1).
  Print("racy_thread.stack", InRun(Accesses::kRacy, RaceMode::kFail,
                                   [&] { return InThread([&] { return TimeStack(cheap); }); }));
  Print("racy_thread.heap", InRun(Accesses::kRacy, RaceMode::kFail,
                                  [&] { return InThread([&] { return TimeHeap(checked); }); }));
  Print("racy_2threads.atomic", InRun(Accesses::kRacy, RaceMode::kFail,
                                      [&] { return TimeAtomicsTwoThreads(atomics / 2); }));
  // Every access other than to the own stack a scheduling point.
  Print("all_fail.stack", InRun(Accesses::kAll, RaceMode::kFail, [&] { return TimeStack(cheap); }));
  Print("all_fail.heap", InRun(Accesses::kAll, RaceMode::kFail, [&] { return TimeHeap(points); }));
}

#endif  // INSTRUMENT_BENCH_LOCKSTEP

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0) {
      g_divisor = 100;
    } else {
      std::fprintf(stderr, "usage: %s [--smoke]\n", argv[0]);
      return 2;
    }
  }
#if defined(INSTRUMENT_BENCH_LOCKSTEP)
  RunLockstep();
#elif defined(INSTRUMENT_BENCH_TSAN)
  Print("tsan.stack", TimeStack(Scaled(kCheapPasses)));
  Print("tsan.heap", TimeHeap(Scaled(kCheapPasses)));
  Print("tsan.atomic", TimeAtomics(Scaled(kTsanAtomics)));
#else
  Print("plain.stack", TimeStack(Scaled(kPlainPasses)));
  Print("plain.heap", TimeHeap(Scaled(kPlainPasses)));
  Print("plain.atomic", TimeAtomics(Scaled(kPlainAtomics)));
#endif
  return 0;
}
