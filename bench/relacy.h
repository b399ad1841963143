// Relacy (Debian relacy-dev, header-only) for the benchmarks that compare
// with it: include this header instead of <relacy/relacy.hpp>.
//
// <relacy/relacy.hpp> comes from the system include directory, so GCC treats
// it as a system header and its own warnings never reach the project's -Wall
// -Wextra -Werror (nothing is suppressed for the including file's code).
// relacy_std.hpp is not used: it clashes with modern libstdc++; use the rl::
// names directly. relacy.hpp #defines new, delete, malloc, free, assert and
// the memory_order_* names; they are undefined right after it so the rest of
// the including file sees the real ones. (It also replaces the global
// operator new/delete with versions that divert to Relacy only inside a
// simulation and call malloc/free otherwise, so Lockstep allocates through
// malloc in these binaries.)
//
// Relacy switches between its fibers' stacks with _longjmp, which glibc's
// fortified longjmp (-D_FORTIFY_SOURCE, set by Bazel's -c opt toolchain)
// aborts as "longjmp causes uninitialized stack frame": the including file
// must `#undef _FORTIFY_SOURCE` before its first include.
#ifndef LOCKSTEP_BENCH_RELACY_H_
#define LOCKSTEP_BENCH_RELACY_H_

#if defined(_FORTIFY_SOURCE)
#error "#undef _FORTIFY_SOURCE before the first #include (see bench/relacy.h)"
#endif

#include <relacy/relacy.hpp>
#undef new
#undef delete
#undef malloc
#undef calloc
#undef realloc
#undef free
#undef assert
#undef errno
#undef memory_order_relaxed
#undef memory_order_consume
#undef memory_order_acquire
#undef memory_order_release
#undef memory_order_acq_rel
#undef memory_order_seq_cst

#endif  // LOCKSTEP_BENCH_RELACY_H_
