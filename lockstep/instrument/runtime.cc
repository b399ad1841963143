#include "lockstep/instrument/runtime.h"

#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "lockstep/internal/controller.h"
#include "lockstep/internal/in_lockstep.h"
#include "lockstep/internal/instrumentation.h"

namespace lockstep::instrument_internal {

using internal::Controller;
using internal::Instrumentation;
using internal::kNoThread;
using internal::MemoryOp;
using internal::MemoryResult;

namespace {

using Inside = internal::InLockstep;

// The calling OS thread in an executor's (the native runner's) run: its
// logical thread and its stack, for the iteration `epoch`.
struct OsThread {
  uint64_t epoch = 0;
  uint32_t me = kNoThread;
  uintptr_t low = 0;
  uintptr_t high = 0;
};
thread_local OsThread t_thread;

// Pages where tracked accesses happened, hashed into a bitmap shared by the
// run's processes: a thread's own stack is only checked on such pages (a
// local another thread was given a pointer to).
constexpr size_t kPageBits = size_t{1} << 20;
std::atomic<uint64_t>* g_pages = nullptr;

size_t PageBit(uintptr_t address) { return ((address >> 12) * 0x9E3779B97F4A7C15ull) >> 44; }

void MarkPage(uintptr_t address) {
  const size_t bit = PageBit(address);
  std::atomic<uint64_t>& word = g_pages[bit / 64];
  const uint64_t mask = uint64_t{1} << (bit % 64);
  if ((word.load(std::memory_order_relaxed) & mask) == 0) {
    word.fetch_or(mask, std::memory_order_relaxed);
  }
}

bool PageMarked(uintptr_t address) {
  const size_t bit = PageBit(address);
  return (g_pages[bit / 64].load(std::memory_order_relaxed) >> (bit % 64)) & 1;
}

// After CallerThread(c) found the thread.
bool OnOwnStack(Controller& c, uintptr_t address) {
  if (!c.has_executor()) {  // a fiber
    uintptr_t bottom = 0;
    uint64_t size = 0;
    c.CurrentStack(&bottom, &size);
    return address >= bottom && address < bottom + size;
  }
  return address >= t_thread.low && address < t_thread.high;
}

// The last loads of a logical thread since it stored, for spin detection.
struct SpinHistory {
  static constexpr int kLoads = 4;
  uint64_t epoch = 0;
  uint32_t thread = 0;
  int count = 0;
  int next = 0;
  uintptr_t address[kLoads] = {};
  uint64_t value[kLoads] = {};
};
thread_local SpinHistory t_spins[64];

SpinHistory& History(Controller& c, uint32_t me) {
  SpinHistory& h = t_spins[me % 64];
  if (h.epoch != c.epoch() || h.thread != me) {
    h = SpinHistory{};
    h.epoch = c.epoch();
    h.thread = me;
  }
  return h;
}

uint64_t Peek(uintptr_t address, uintptr_t size) {
  uint64_t value = 0;
  std::memcpy(&value, reinterpret_cast<const void*>(address), size < 8 ? size : 8);
  return value;
}

// At start-up, before any run forks: the runtime is here, and the
// ThreadSanitizer runtime must not be.
__attribute__((constructor)) void Initialize() {
  if (dlsym(RTLD_DEFAULT, "__tsan_create_fiber") != nullptr) {
    std::fprintf(stderr,
                 "lockstep: this binary links both Lockstep's instrumentation runtime "
                 "(lockstep/instrument) and the ThreadSanitizer runtime. Compile the code under "
                 "test with -fsanitize=thread but link without it (lockstep_instrumented_library "
                 "in Bazel, lockstep_instrument() in CMake), and do not run instrumented tests "
                 "under --config=tsan.\n");
    std::_Exit(2);
  }
  void* pages =
      mmap(nullptr, kPageBits / 8, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (pages == MAP_FAILED) {
    std::perror("lockstep: cannot map the instrumentation's page map");
    std::_Exit(2);
  }
  g_pages = static_cast<std::atomic<uint64_t>*>(pages);
  Instrumentation::SetLinked();
}

thread_local bool t_asking = false;

// The calling thread's id in `c`'s run, or kNoThread (also when Lockstep's
// own code asks: its inline functions may be instrumented copies).
uint32_t CallerThread(Controller& c) {
  if (!c.has_executor()) return c.current_thread();  // fibers run one at a time
  if (t_thread.epoch == c.epoch()) return t_thread.me;
  if (t_asking) return kNoThread;
  // Lockstep's code from here (pthread_getattr_np allocates, and free()
  // asks again; the race detector's inline functions may be instrumented).
  struct Asking {
    Asking() { t_asking = true; }
    ~Asking() { t_asking = false; }
  } asking;
  const Inside inside;
  const uint32_t me = c.CallerThread();
  if (me == kNoThread) return me;
  pthread_attr_t attr;
  void* low = nullptr;
  size_t length = 0;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    pthread_attr_getstack(&attr, &low, &length);
    pthread_attr_destroy(&attr);
  }
  t_thread = OsThread{.epoch = c.epoch(),
                      .me = me,
                      .low = reinterpret_cast<uintptr_t>(low),
                      .high = reinterpret_cast<uintptr_t>(low) + length};
  // A new thread may have an ended one's stack: what was done there is not
  // this thread's business.
  if (internal::RaceDetector* detector = c.race_detector()) {
    detector->Forget(t_thread.low, length);
  }
  return me;
}

// Access, once in a run, past the fast path.
[[gnu::noinline]] void AccessInRun(Controller& c, uintptr_t address, uintptr_t size, bool write,
                                   uintptr_t pc) {
  if (Inside::Active()) return;
  const Accesses level = Instrumentation::accesses();
  internal::RaceDetector* detector = c.race_detector();
  if ((level == Accesses::kNone && detector == nullptr) || c.aborting()) return;
  const uint32_t me = CallerThread(c);
  if (me == kNoThread) return;
  Inside inside;
  if (OnOwnStack(c, address) && !PageMarked(address)) return;
  MarkPage(address);
  if (level == Accesses::kAll || (level == Accesses::kRacy && Instrumentation::IsRacySite(pc))) {
    MemoryOp op;
    op.op = write ? "memory.write" : "memory.read";
    op.address = address;
    op.size = static_cast<uint32_t>(size);
    op.load = !write;
    op.store = write;
    op.pc = pc;
    if (write) {
      op.pending = PendingOp::Kind::kWrite;
      NoteStore(c);
    } else {
      op.pending = LoadKind(c, address, Peek(address, size));
    }
    Inside::Leave();  // the scheduling point is the code under test's
    c.MemoryOperation(op, [&] {
      MemoryResult result;
      result.stored = write;
      if (!write && size <= 8) result.value = static_cast<int64_t>(Peek(address, size));
      return result;
    });
    Inside::Enter();
    return;
  }
  // A range (memcpy of instrumented code, say) is checked granule by granule
  // by the detector itself.
  if (detector == nullptr) return;
  if (std::optional<internal::Race> race =
          detector->Access(me, address, static_cast<uint32_t>(size), write, pc)) {
    c.RaceFound(*race);
  }
}

}  // namespace

Controller* ActiveController() {
  if (Inside::Active()) return nullptr;
  Controller* c = Controller::CurrentOrNull();
  if (c == nullptr || c->aborting() || CallerThread(*c) == kNoThread) return nullptr;
  return c;
}

PendingOp::Kind LoadKind(Controller& c, uintptr_t address, uint64_t value) {
  SpinHistory& h = History(c, CallerThread(c));
  for (int i = 0; i < h.count; ++i) {
    if (h.address[i] == address && h.value[i] == value) return PendingOp::Kind::kYield;
  }
  h.address[h.next] = address;
  h.value[h.next] = value;
  h.next = (h.next + 1) % SpinHistory::kLoads;
  if (h.count < SpinHistory::kLoads) ++h.count;
  return PendingOp::Kind::kRead;
}

void NoteStore(Controller& c) {
  SpinHistory& h = History(c, CallerThread(c));
  h.count = 0;
  h.next = 0;
}

void Access(uintptr_t address, uintptr_t size, bool write, uintptr_t pc) {
  Controller* c = Controller::CurrentOrNull();
  if (c == nullptr) return;
  // Fast: a native thread's own stack, on a page no other thread touched.
  if (t_thread.epoch == c->epoch() && address - t_thread.low < t_thread.high - t_thread.low &&
      !PageMarked(address)) {
    return;
  }
  AccessInRun(*c, address, size, write, pc);
}

void Freed(void* pointer) {
  if (pointer == nullptr || Inside::Active()) return;
  Controller* c = Controller::CurrentOrNull();
  if (c == nullptr || c->race_detector() == nullptr || CallerThread(*c) == kNoThread) return;
  Inside inside;
  c->race_detector()->Forget(reinterpret_cast<uintptr_t>(pointer), malloc_usable_size(pointer));
}

}  // namespace lockstep::instrument_internal

// free() of the whole binary: glibc's, after the race detector forgot the
// memory (malloc may hand it to another thread with no synchronization the
// model sees). operator delete and realloc's moves come here through free.
extern "C" void __libc_free(void* pointer);
extern "C" void free(void* pointer) {
  lockstep::instrument_internal::Freed(pointer);
  __libc_free(pointer);
}
