// Code under test for instrumented_test.cc, built with
// lockstep_instrumented_library (CMake: lockstep_instrument): a hit counter
// written without Lockstep in mind, one way racy and one way not.
#ifndef GTEST_EXT_INSTRUMENTED_TESTLIB_H_
#define GTEST_EXT_INSTRUMENTED_TESTLIB_H_

#include <atomic>

namespace lockstep_testing {

class HitCounter {
 public:
  void Record();        // a plain increment: a data race between threads
  void RecordAtomic();  // a relaxed fetch_add: no race
  int hits() const;
  int atomic_hits() const;

 private:
  int hits_ = 0;
  std::atomic<int> atomic_hits_{0};
};

}  // namespace lockstep_testing

#endif  // GTEST_EXT_INSTRUMENTED_TESTLIB_H_
