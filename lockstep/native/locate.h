// Where an interposed call came from in the code under test.
#ifndef LOCKSTEP_NATIVE_LOCATE_H_
#define LOCKSTEP_NATIVE_LOCATE_H_

#include "lockstep/trace.pb.h"

namespace lockstep::native_internal {

// The code under test among `frames` (return addresses, innermost first):
// the first frame outside the standard library, libc, sanitizer runtimes
// (whose signal handler calls the watchdog's sampler) and Lockstep. Function
// names need the binary's symbols exported (the native library links with
// -rdynamic); the module offset resolves with `addr2line -e <binary>
// <offset>`. Returns false when every frame is a library's. `frames[0]` is
// a return address like the others, or, with `first_is_pc`, the address of
// the instruction a signal interrupted.
bool LocateFrames(void* const* frames, int n, bool first_is_pc, SourceLocation* out);

// The code that made the interposed call (the caller's caller's...).
void FillCaller(SourceLocation* out);

// A failure located inside Lockstep (a deadlock found by the controller,
// say) is better located at the caller in the code under test.
bool LocatedInLockstep(const SourceLocation& location);

}  // namespace lockstep::native_internal

#endif  // LOCKSTEP_NATIVE_LOCATE_H_
