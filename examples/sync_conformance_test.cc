// Every member of every lockstep::sync type (examples/sync_conformance.h,
// built with LOCKSTEP_SYNC), under the schedules a strategy picks.
#include "examples/sync_conformance.h"

#include "gtest_ext/lockstep_test.h"

namespace {

TEST_LOCKSTEP(SyncConformance, EveryMember, .iterations = 50) {
  examples::ExerciseEverySyncMember();
}

}  // namespace
