// The fixed cache computes each key once, whatever the interleaving.
#include "examples/cache.h"

#include "examples/cache_scenario.h"
#include "gtest_ext/lockstep_test.h"

namespace {

TEST_LOCKSTEP(Cache, ComputesEachKeyOnce, .iterations = 300) {
  examples::ComputesEachKeyOnce<examples::FixedCache>();
}

}  // namespace
