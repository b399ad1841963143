#include "gtest_ext/instrumented_testlib.h"

namespace lockstep_testing {

void HitCounter::Record() { ++hits_; }

void HitCounter::RecordAtomic() { atomic_hits_.fetch_add(1, std::memory_order_relaxed); }

int HitCounter::hits() const { return hits_; }

int HitCounter::atomic_hits() const { return atomic_hits_.load(std::memory_order_relaxed); }

}  // namespace lockstep_testing
