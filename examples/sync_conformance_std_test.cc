// The same conformance exercise (examples/sync_conformance.h) on the
// production build: std:: types, real threads and time. A plain GoogleTest
// test; it shows the exercise is a correct program against std:: too.
#include "examples/sync_conformance.h"
#include "gtest/gtest.h"

#ifdef LOCKSTEP_SYNC
#error "sync_conformance_std_test is the production build: LOCKSTEP_SYNC must not be defined"
#endif

// Under ThreadSanitizer (--config=tsan): GCC 12's runtime does not intercept
// pthread_mutex_clocklock and pthread_rwlock_clock{rd,wr}lock, which
// libstdc++'s timed mutexes use for steady-clock timeouts, so it misses those
// acquisitions and reports their unlocks as "unlock of an unlocked mutex".
// Data races are still reported.
extern "C" const char* __tsan_default_options() { return "report_mutex_bugs=0"; }

namespace {

TEST(SyncConformanceOnStd, EveryMember) { examples::ExerciseEverySyncMember(); }

}  // namespace
