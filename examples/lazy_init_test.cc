// Threads racing to the fixed lazy widget all see it fully initialized, and
// it is loaded once.
#include "examples/lazy_init.h"

#include "gtest_ext/lockstep_test.h"
#include "lockstep/atomic.h"

namespace {

TEST_LOCKSTEP(LazyInit, EveryThreadSeesInitializedWidget, .iterations = 500) {
  lockstep::Atomic<int> loads(0, "loads");
  examples::FixedLazyWidget widget([&] {
    loads.fetch_add(1);  // the backend call: a point where others may run
    return 42;
  });
  lockstep::Thread a = lockstep::spawn([&] { EXPECT_EQ(widget.Get().size, 42); }, "user-a");
  lockstep::Thread b = lockstep::spawn([&] { EXPECT_EQ(widget.Get().size, 42); }, "user-b");
  a.join();
  b.join();
  EXPECT_EQ(loads.load(), 1) << "the widget was loaded more than once";
}

}  // namespace
