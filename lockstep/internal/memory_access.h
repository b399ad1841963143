// Accesses of instrumented code to memory (lockstep/instrument), as the
// runners and the race detector see them.
#ifndef LOCKSTEP_INTERNAL_MEMORY_ACCESS_H_
#define LOCKSTEP_INTERNAL_MEMORY_ACCESS_H_

#include <cstdint>
#include <optional>

#include "lockstep/strategy/strategy.h"
#include "lockstep/trace.pb.h"

namespace lockstep::internal {

// std::memory_order's values, as the ThreadSanitizer ABI passes them.
enum class Order : uint8_t { kRelaxed, kConsume, kAcquire, kRelease, kAcqRel, kSeqCst };

inline bool Acquires(Order order) {
  return order == Order::kConsume || order == Order::kAcquire || order == Order::kAcqRel ||
         order == Order::kSeqCst;
}
inline bool Releases(Order order) {
  return order == Order::kRelease || order == Order::kAcqRel || order == Order::kSeqCst;
}
inline MemoryOrder ToProto(Order order) {
  return static_cast<MemoryOrder>(static_cast<int>(order) + 1);
}

// An access of instrumented code that is a scheduling point: an atomic
// operation, or a plain access the accesses level makes one.
struct MemoryOp {
  const char* op = nullptr;  // "atomic.load", "atomic.fetch_add", "memory.write", ...
  uintptr_t address = 0;
  uint32_t size = 0;
  bool load = false;   // reads the memory (a read-modify-write both)
  bool store = false;  // may write it (MemoryResult::stored says whether it did)
  bool atomic = false;
  Order order = Order::kSeqCst;  // atomics
  uintptr_t pc = 0;              // the instruction in the code under test
  // What the strategy is told: kRead, kWrite, or kYield for a spin (a load
  // that sees what the thread's previous load of it saw).
  PendingOp::Kind pending = PendingOp::Kind::kRead;
};

// What a memory operation did: the value it read or wrote (for the trace)
// and whether it wrote (a compare-exchange may not).
struct MemoryResult {
  std::optional<int64_t> value;  // unknown for a plain write
  bool stored = false;
};

// One access, as remembered by the race detector.
struct AccessRecord {
  uint32_t thread = 0;
  uint32_t epoch = 0;  // 0: no access
  uintptr_t pc = 0;    // the instruction (a return address into the code under test)
  uintptr_t address = 0;
  uint32_t size = 0;
  bool write = false;
  bool atomic = false;
};

// Two accesses to the same memory by different threads, at least one a
// write and not both atomic, that happens-before does not order.
struct Race {
  AccessRecord earlier;
  AccessRecord later;
};

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_MEMORY_ACCESS_H_
