#include "lockstep/internal/instrumentation.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "lockstep/internal/locate.h"

namespace lockstep::internal {
namespace {

// Open addressing over a power-of-two table in shared memory. A slot is
// claimed by its pc (compare-exchange from 0); `found` is written after the
// pc: kLoaded for a replayed trace's sites, else 2 + the iteration that
// found it (0: being written).
struct Slot {
  std::atomic<uintptr_t> pc;
  std::atomic<uint64_t> found;
};
constexpr size_t kSlots = 1 << 14;
constexpr uint64_t kLoaded = 1;

bool Counts(uint64_t found, uint64_t iteration) {
  return found == kLoaded || (found >= 2 && found - 2 < iteration);
}

// The table and its count, mapped once, before the run forks.
struct SharedTable {
  std::atomic<uint32_t> count;
  Slot slots[kSlots];
};

SharedTable& Shared() {
  static SharedTable* shared = [] {
    void* p = mmap(nullptr, sizeof(SharedTable), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) {
      std::perror("lockstep: cannot map the racy-site table");
      std::abort();
    }
    return static_cast<SharedTable*>(p);
  }();
  return *shared;
}

Slot* Table() { return Shared().slots; }
std::atomic<uint32_t>& Count() { return Shared().count; }

size_t Hash(uintptr_t pc) { return (pc * 0x9E3779B97F4A7C15ull) >> 50; }

bool Insert(uintptr_t pc, uint64_t found) {  // `found`: as stored
  Slot* table = Table();
  for (size_t i = Hash(pc), probes = 0; probes < kSlots; i = (i + 1) % kSlots, ++probes) {
    uintptr_t expected = 0;
    if (table[i].pc.compare_exchange_strong(expected, pc, std::memory_order_acq_rel)) {
      table[i].found.store(found, std::memory_order_release);
      Count().fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    if (expected == pc) return false;
  }
  return false;  // full: the site stays an ordinary access
}

}  // namespace

bool Instrumentation::linked_ = false;
Accesses Instrumentation::accesses_ = Accesses::kRacy;
RaceMode Instrumentation::races_ = RaceMode::kFail;
uint64_t Instrumentation::iteration_ = 0;

void Instrumentation::BeginRun(Accesses accesses, RaceMode races, const Trace* replay) {
  accesses_ = accesses;
  races_ = races;
  iteration_ = 0;
  if (!linked_) return;
  Slot* table = Table();
  for (size_t i = 0; i < kSlots; ++i) {
    table[i].pc.store(0, std::memory_order_relaxed);
    table[i].found.store(0, std::memory_order_relaxed);
  }
  Count().store(0, std::memory_order_release);
  if (replay == nullptr || !replay->has_instrumentation()) return;
  if (absl::StatusOr<Accesses> recorded = ParseAccesses(replay->instrumentation().accesses());
      recorded.ok()) {
    accesses_ = *recorded;
  }
  for (const CodeSite& site : replay->instrumentation().racy_sites()) {
    if (const uintptr_t pc = PcOf(site)) Insert(pc, kLoaded);
  }
}

void Instrumentation::Describe(uint64_t iteration, Trace* trace) {
  if (!linked_) return;
  InstrumentationInfo* out = trace->mutable_instrumentation();
  out->set_accesses(std::string(AccessesName(accesses_)));
  if (accesses_ != Accesses::kRacy) return;
  std::vector<uintptr_t> sites;
  const Slot* table = Table();
  for (size_t i = 0; i < kSlots && Count().load(std::memory_order_relaxed) > 0; ++i) {
    const uintptr_t pc = table[i].pc.load(std::memory_order_acquire);
    const uint64_t found = table[i].found.load(std::memory_order_acquire);
    if (pc != 0 && Counts(found, iteration)) sites.push_back(pc);
  }
  std::sort(sites.begin(), sites.end());
  for (uintptr_t pc : sites) *out->add_racy_sites() = SiteOf(pc);
}

bool Instrumentation::IsRacySite(uintptr_t pc) {
  if (Count().load(std::memory_order_relaxed) == 0) return false;
  const Slot* table = Table();
  for (size_t i = Hash(pc), probes = 0; probes < kSlots; i = (i + 1) % kSlots, ++probes) {
    const uintptr_t slot = table[i].pc.load(std::memory_order_acquire);
    if (slot == 0) return false;
    if (slot == pc) {
      return Counts(table[i].found.load(std::memory_order_acquire), iteration_);
    }
  }
  return false;
}

bool Instrumentation::AddRacySite(uintptr_t pc) { return Insert(pc, iteration_ + 2); }

}  // namespace lockstep::internal
