// Test bodies for //gtest_ext:regression_test, which runs this binary as a
// user would: once with the bug in (REGRESSION_BODIES_BUG=1 in the
// environment) to record a failing trace, then again with that trace as a
// regression trace, with the bug in and fixed. Without the variable every
// test passes.
//
// The bug: a writer publishes a value by setting `ready` before (buggy) or
// after (fixed) storing `data`, and a reader that sees `ready` must see the
// data. Both versions make the same Lockstep operations in each thread,
// only in another order, so they reach the same scheduling points and a
// trace recorded with the bug replays on the fixed code (a replay follows
// the recorded decisions strictly, and a body that diverges from them is
// reported as nondeterministic). The per-test seed is one whose iteration 0
// misses the bug, so a run limited to one iteration passes unless a
// regression trace fails it.
#include <cstdlib>
#include <cstring>

#include "gtest_ext/lockstep_test.h"

namespace {

bool Buggy() {
  const char* bug = std::getenv("REGRESSION_BODIES_BUG");
  return bug != nullptr && std::strcmp(bug, "1") == 0;
}

void PublishThenRead() {
  const bool buggy = Buggy();
  lockstep::Atomic<int> data(0, "data");
  lockstep::Atomic<bool> ready(false, "ready");
  lockstep::Thread writer = lockstep::spawn(
      [&] {
        if (buggy) {
          ready.store(true);
          data.store(42);
        } else {
          data.store(42);
          ready.store(true);
        }
      },
      "writer");
  lockstep::Thread reader = lockstep::spawn(
      [&] {
        // Both loads always happen, so the schedule does not depend on what
        // the reader saw.
        const bool seen = ready.load();
        const int value = data.load();
        if (seen) {
          EXPECT_EQ(value, 42) << "the reader saw ready before the data";
        }
      },
      "reader");
  writer.join();
  reader.join();
}

TEST_LOCKSTEP(Regression, Publish, .seed = 1) { PublishThenRead(); }

// The same body under another name: a trace of Regression.Publish would
// reproduce here too, so it shows that traces of other tests are skipped.
TEST_LOCKSTEP(Regression, PublishCopy, .seed = 1) { PublishThenRead(); }

}  // namespace
