// A happens-before data-race detector over one iteration (vector clocks, in
// the manner of FastTrack and ThreadSanitizer's), fed by the runners with
// everything Lockstep models: thread start, end and join; every operation on
// a modelled synchronization object (mutex, condition variable, futex,
// semaphore, ...), taken as an acquire and a release of the object; and the
// atomic operations and fences of instrumented code, with their memory
// orders (acquire/release, relaxed, fences as in C++20).
//
// Plain accesses of instrumented code are checked against the earlier
// accesses of other threads to the same bytes. Conservative: an operation
// on a synchronization object both acquires and releases it (a failed
// trylock too), so some real races may be missed, never invented.
//
// Thread-safe: in the native runner a thread whose quantum expired runs
// outside the model at the same time as the baton holder.
#ifndef LOCKSTEP_INTERNAL_RACE_DETECTOR_H_
#define LOCKSTEP_INTERNAL_RACE_DETECTOR_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "lockstep/internal/memory_access.h"
#include "lockstep/internal/vector_clock.h"

namespace lockstep::internal {

class RaceDetector {
 public:
  // Forgets the previous iteration.
  void Reset();

  // Thread `child` starts knowing what `parent` did so far (kNoThread for
  // the first thread).
  void ThreadStarted(uint32_t parent, uint32_t child);
  // `joiner` learned that `target` finished (join).
  void Joined(uint32_t joiner, uint32_t target);
  // An operation of `thread` on the modelled synchronization object
  // `object`: acquires what earlier operations on it released, releases.
  void Synchronize(uint32_t thread, uint32_t object);

  // An atomic operation of `thread` on `address` (`load`, `store`, both for
  // a read-modify-write) with `order`. Also checked against plain accesses.
  std::optional<Race> Atomic(uint32_t thread, uintptr_t address, uint32_t size, bool load,
                             bool store, Order order, uintptr_t pc);
  void Fence(uint32_t thread, Order order);
  // A plain access: the race it makes with an earlier access, if any.
  std::optional<Race> Access(uint32_t thread, uintptr_t address, uint32_t size, bool write,
                             uintptr_t pc);
  // The memory was freed (or a thread's stack ended): what was accessed
  // there no longer races with its next use.
  void Forget(uintptr_t begin, uintptr_t size);

 private:
  struct ThreadClocks {
    VectorClock clock;
    VectorClock release_fence;  // the clock at its last release fence
    VectorClock acquired;       // released to its relaxed loads, for an acquire fence
  };
  struct Cell {  // one 8-byte granule
    AccessRecord write;
    absl::InlinedVector<AccessRecord, 2> reads;  // since the write, one per thread
  };
  // A spin lock on atomic builtins (not std::atomic: see in_lockstep.h).
  class Lock {
   public:
    explicit Lock(bool& flag);
    ~Lock() { __atomic_store_n(&flag_, false, __ATOMIC_RELEASE); }

   private:
    bool& flag_;
  };

  ThreadClocks& Thread(uint32_t thread);
  bool Ordered(const AccessRecord& earlier, uint32_t thread);
  std::optional<Race> Check(const AccessRecord& access);

  bool lock_ = false;
  std::vector<ThreadClocks> threads_;
  absl::flat_hash_map<uint32_t, VectorClock> objects_;
  absl::flat_hash_map<uintptr_t, VectorClock> atomics_;
  absl::flat_hash_map<uintptr_t, Cell> shadow_;  // by address / 8
};

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_RACE_DETECTOR_H_
