// Where a call came from in the code under test: return addresses
// symbolized with elfutils' libdw, skipping library and Lockstep frames.
#ifndef LOCKSTEP_INTERNAL_LOCATE_H_
#define LOCKSTEP_INTERNAL_LOCATE_H_

#include <cstdint>
#include <source_location>

#include "lockstep/trace.pb.h"

namespace lockstep::internal {

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

// The place of one instruction (`pc`, not a return address) of the code
// under test; false when it has no symbols.
bool LocatePc(uintptr_t pc, SourceLocation* out);

// An instruction as a module (file name) and an offset in it, the same in
// every process of the binary; and back (0 when the module is not loaded).
CodeSite SiteOf(uintptr_t pc);
uintptr_t PcOf(const CodeSite& site);

// A place in the source as a trace's location ("./dir/x.h", as headers
// found through `-iquote .` are named, becomes "dir/x.h").
void SetLocation(SourceLocation* out, const char* file, int line, const char* function);
void SetLocation(SourceLocation* out, const std::source_location& where);

// The user's line for an operation whose source_location default argument
// says `where`: `where` itself when it is in the code under test; when it is
// in a library (std::lock_guard's header, Lockstep's own std-compatible
// types), the first frame of the calling stack that is the user's and has a
// line (so build with -g); failing that, `where`.
void LocateCall(const std::source_location& where, SourceLocation* out);

// A failure located inside Lockstep (a deadlock found by the controller,
// say) is better located at the caller in the code under test.
bool LocatedInLockstep(const SourceLocation& location);

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_LOCATE_H_
