// Lockstep's implementation of what the ThreadSanitizer ABI asks of a
// runtime (tsan_abi.cc maps the entry points here): code compiled with
// -fsanitize=thread and linked with this library instead of the TSan runtime
// takes part in Lockstep's runs.
//
// Outside a run, and on threads that are not a run's, every operation just
// happens. In a run:
// - every atomic operation and fence is a scheduling point, recorded with
//   its memory order (performed sequentially consistent);
// - a plain access to memory other than the thread's own stack is checked
//   by the race detector, and is a scheduling point when the accesses level
//   says so (all, or racy and its instruction was found racing before).
//   Stack memory another thread has accessed is checked too (pages seen by
//   any tracked access are remembered across the run's processes).
#ifndef LOCKSTEP_INSTRUMENT_RUNTIME_H_
#define LOCKSTEP_INSTRUMENT_RUNTIME_H_

#include <cstdint>

#include "lockstep/internal/controller.h"
#include "lockstep/internal/memory_access.h"

namespace lockstep::instrument_internal {

// A plain read or write of `size` bytes at `address`; `pc` is the return
// address into the instrumented code.
void Access(uintptr_t address, uintptr_t size, bool write, uintptr_t pc);

// The run the calling thread takes part in (null: none, or the operation
// must just happen). Atomics (atomics.h) use it.
internal::Controller* ActiveController();

// What the strategy is told about a load of `value` at `address` by the
// calling thread: kYield when it saw the same before and stored nothing
// since (a spin), else kRead.
PendingOp::Kind LoadKind(internal::Controller& c, uintptr_t address, uint64_t value);
// The calling thread stored something: its spins are over.
void NoteStore(internal::Controller& c);

// free(): the memory's accesses are forgotten (its next use is new memory).
void Freed(void* pointer);

}  // namespace lockstep::instrument_internal

#endif  // LOCKSTEP_INSTRUMENT_RUNTIME_H_
