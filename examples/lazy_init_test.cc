// Threads racing to the fixed lazy widget all see it fully initialized, and
// it is loaded once.
#include "examples/lazy_init.h"

#include "examples/lazy_init_scenario.h"
#include "gtest_ext/lockstep_test.h"

namespace {

TEST_LOCKSTEP(LazyInit, EveryThreadSeesInitializedWidget, .iterations = 500) {
  examples::EveryThreadSeesInitializedWidget<examples::FixedLazyWidget>();
}

}  // namespace
