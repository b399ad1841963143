// The coverage signal of an exploration: the distinct ordered pairs of
// conflicting operations, by source site, that its schedules made happen.
//
// Two operations conflict when different threads perform them on the same
// object and at least one writes (PendingOp::ConflictsWith). Whenever an
// operation executes, each earlier operation on its object that it conflicts
// with and that no write has overwritten since (the last write, and the
// reads after it) makes the pair (site of the earlier, site of the later).
// A site is where the operation was called. Distinct schedules can keep
// growing while nothing new happens; when new schedules stop adding pairs,
// more of them are unlikely to show new behaviour.
#ifndef LOCKSTEP_INTERNAL_CONFLICT_COVERAGE_H_
#define LOCKSTEP_INTERNAL_CONFLICT_COVERAGE_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "lockstep/strategy/strategy.h"

namespace lockstep::internal {

class ConflictCoverage {
 public:
  // Forgets the objects' last operations (not the pairs seen).
  void BeginIteration() {
    for (ObjectState& state : objects_) state = ObjectState{};
    new_.clear();
  }

  // `thread` executes `op` (whose object is 0 for none), called at `site`.
  void Executed(uint32_t thread, const PendingOp& op, uint64_t site);

  // Distinct pairs over all iterations so far.
  uint64_t pairs() const { return seen_.size(); }

  // The pairs first seen in the current iteration (for the parent process
  // of an iteration run in a child to Merge).
  const std::vector<uint64_t>& NewThisIteration() const { return new_; }
  void Merge(const std::vector<uint64_t>& pairs) { seen_.insert(pairs.begin(), pairs.end()); }

 private:
  struct Access {
    uint32_t thread = UINT32_MAX;  // UINT32_MAX: none
    uint64_t site = 0;
  };
  struct ObjectState {
    Access last_write;
    std::vector<Access> reads;  // since last_write, one per thread and site, bounded
  };

  void Pair(const Access& earlier, uint32_t thread, uint64_t site);

  std::vector<ObjectState> objects_;  // by object id
  absl::flat_hash_set<uint64_t> seen_;
  // Pairs known to be in seen_, by their low bits: most conflicts repeat a
  // pair, and this check is cheaper than the set's.
  std::array<uint64_t, 1024> recent_{};
  std::vector<uint64_t> new_;
};

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_CONFLICT_COVERAGE_H_
