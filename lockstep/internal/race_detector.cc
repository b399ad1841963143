#include "lockstep/internal/race_detector.h"

#include <algorithm>

namespace lockstep::internal {

namespace {

constexpr uint32_t kNoParent = 0xFFFFFFFFu;
constexpr int kGranuleShift = 3;

bool Overlap(const AccessRecord& a, const AccessRecord& b) {
  return a.address < b.address + b.size && b.address < a.address + a.size;
}

}  // namespace

RaceDetector::Lock::Lock(bool& flag) : flag_(flag) {
  while (__atomic_exchange_n(&flag_, true, __ATOMIC_ACQUIRE)) {
    while (__atomic_load_n(&flag_, __ATOMIC_RELAXED)) {
    }
  }
}

void RaceDetector::Reset() {
  Lock lock(lock_);
  threads_.clear();
  objects_.clear();
  atomics_.clear();
  shadow_.clear();
}

RaceDetector::ThreadClocks& RaceDetector::Thread(uint32_t thread) {
  if (thread >= threads_.size()) threads_.resize(thread + 1);
  return threads_[thread];
}

void RaceDetector::ThreadStarted(uint32_t parent, uint32_t child) {
  Lock lock(lock_);
  ThreadClocks& c = Thread(child);
  c = ThreadClocks{};
  if (parent != kNoParent) {
    ThreadClocks& p = Thread(parent);
    c.clock = p.clock;
    p.clock.Tick(parent);
  }
  c.clock.Tick(child);
}

void RaceDetector::Joined(uint32_t joiner, uint32_t target) {
  Lock lock(lock_);
  const VectorClock finished = Thread(target).clock;
  Thread(joiner).clock.Join(finished);
}

void RaceDetector::Synchronize(uint32_t thread, uint32_t object) {
  Lock lock(lock_);
  ThreadClocks& t = Thread(thread);
  VectorClock& o = objects_[object];
  t.clock.Join(o);
  o = t.clock;
  t.clock.Tick(thread);
}

void RaceDetector::Fence(uint32_t thread, Order order) {
  Lock lock(lock_);
  ThreadClocks& t = Thread(thread);
  if (Acquires(order)) t.clock.Join(t.acquired);
  if (Releases(order)) {
    t.release_fence = t.clock;
    t.clock.Tick(thread);
  }
}

std::optional<Race> RaceDetector::Atomic(uint32_t thread, uintptr_t address, uint32_t size,
                                         bool load, bool store, Order order, uintptr_t pc) {
  Lock lock(lock_);
  ThreadClocks& t = Thread(thread);
  VectorClock& released = atomics_[address];
  if (load) {
    // An acquire load synchronizes with the release sequence it reads from;
    // a relaxed one only through a later acquire fence.
    if (Acquires(order)) {
      t.clock.Join(released);
    } else {
      t.acquired.Join(released);
    }
  }
  if (store) {
    const VectorClock& mine = Releases(order) ? t.clock : t.release_fence;
    // A read-modify-write continues the release sequence; a store starts one.
    if (load) {
      released.Join(mine);
    } else {
      released = mine;
    }
    if (Releases(order)) t.clock.Tick(thread);
  }
  return Check(AccessRecord{.thread = thread,
                            .epoch = t.clock.Get(thread),
                            .pc = pc,
                            .address = address,
                            .size = size,
                            .write = store,
                            .atomic = true});
}

std::optional<Race> RaceDetector::Access(uint32_t thread, uintptr_t address, uint32_t size,
                                         bool write, uintptr_t pc) {
  Lock lock(lock_);
  return Check(AccessRecord{.thread = thread,
                            .epoch = Thread(thread).clock.Get(thread),
                            .pc = pc,
                            .address = address,
                            .size = size,
                            .write = write,
                            .atomic = false});
}

bool RaceDetector::Ordered(const AccessRecord& earlier, uint32_t thread) {
  return earlier.thread == thread || earlier.epoch <= Thread(thread).clock.Get(earlier.thread);
}

std::optional<Race> RaceDetector::Check(const AccessRecord& access) {
  std::optional<Race> race;
  auto conflict = [&](const AccessRecord& earlier) {
    if (race || earlier.epoch == 0 || !Overlap(earlier, access)) return;
    if (earlier.atomic && access.atomic) return;
    if (!Ordered(earlier, access.thread)) race = Race{earlier, access};
  };
  const uintptr_t last = (access.address + std::max<uint32_t>(access.size, 1) - 1) >> kGranuleShift;
  for (uintptr_t g = access.address >> kGranuleShift; g <= last; ++g) {
    Cell& cell = shadow_[g];
    conflict(cell.write);
    if (access.write) {
      for (const AccessRecord& read : cell.reads) conflict(read);
      cell.write = access;
      cell.reads.clear();
      continue;
    }
    auto mine = std::find_if(cell.reads.begin(), cell.reads.end(),
                             [&](const AccessRecord& r) { return r.thread == access.thread; });
    if (mine != cell.reads.end()) {
      *mine = access;
    } else {
      cell.reads.push_back(access);
    }
  }
  return race;
}

void RaceDetector::Forget(uintptr_t begin, uintptr_t size) {
  Lock lock(lock_);
  const uintptr_t first = begin >> kGranuleShift;
  const uintptr_t last = (begin + std::max<uintptr_t>(size, 1) - 1) >> kGranuleShift;
  if (last - first < shadow_.size()) {
    for (uintptr_t g = first; g <= last; ++g) shadow_.erase(g);
  } else {
    absl::erase_if(shadow_,
                   [&](const auto& cell) { return cell.first >= first && cell.first <= last; });
  }
  if (size <= 256) {
    for (uintptr_t a = begin; a < begin + size; ++a) atomics_.erase(a);
  } else {
    absl::erase_if(atomics_,
                   [&](const auto& e) { return e.first >= begin && e.first < begin + size; });
  }
}

}  // namespace lockstep::internal
