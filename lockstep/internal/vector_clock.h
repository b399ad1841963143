// A vector clock: for each logical thread of an iteration, how many of its
// synchronization epochs are known to have happened before.
#ifndef LOCKSTEP_INTERNAL_VECTOR_CLOCK_H_
#define LOCKSTEP_INTERNAL_VECTOR_CLOCK_H_

#include <algorithm>
#include <cstdint>
#include <vector>

namespace lockstep::internal {

class VectorClock {
 public:
  uint32_t Get(uint32_t thread) const { return thread < c_.size() ? c_[thread] : 0; }
  void Set(uint32_t thread, uint32_t value) {
    if (thread >= c_.size()) c_.resize(thread + 1, 0);
    c_[thread] = value;
  }
  // The thread starts a new epoch.
  void Tick(uint32_t thread) { Set(thread, Get(thread) + 1); }
  // Everything `other` knows, this knows now.
  void Join(const VectorClock& other) {
    if (other.c_.size() > c_.size()) c_.resize(other.c_.size(), 0);
    for (size_t i = 0; i < other.c_.size(); ++i) c_[i] = std::max(c_[i], other.c_[i]);
  }
  void Clear() { c_.clear(); }

 private:
  std::vector<uint32_t> c_;
};

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_VECTOR_CLOCK_H_
