// The lazy-init scenario, shared by lazy_init_test.cc (FixedLazyWidget) and
// lazy_init_buggy_test.cc (BuggyLazyWidget): two threads race to the widget;
// each must see it fully initialized, and it must be loaded once.
#ifndef EXAMPLES_LAZY_INIT_SCENARIO_H_
#define EXAMPLES_LAZY_INIT_SCENARIO_H_

#include "gtest/gtest.h"
#include "lockstep/atomic.h"
#include "lockstep/thread.h"

namespace examples {

template <typename LazyWidget>
void EveryThreadSeesInitializedWidget() {
  lockstep::Atomic<int> loads(0, "loads");
  LazyWidget widget([&] {
    loads.fetch_add(1);  // the backend call: a point where others may run
    return 42;
  });
  lockstep::Thread a = lockstep::spawn([&] { EXPECT_EQ(widget.Get().size, 42); }, "user-a");
  lockstep::Thread b = lockstep::spawn([&] { EXPECT_EQ(widget.Get().size, 42); }, "user-b");
  a.join();
  b.join();
  EXPECT_EQ(loads.load(), 1) << "the widget was loaded more than once";
}

}  // namespace examples

#endif  // EXAMPLES_LAZY_INIT_SCENARIO_H_
