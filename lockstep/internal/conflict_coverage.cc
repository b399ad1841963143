#include "lockstep/internal/conflict_coverage.h"

#include <algorithm>

#include "lockstep/internal/prng.h"

namespace lockstep::internal {
namespace {

// Reads remembered per object between two writes: enough for the reader
// sites of real code; beyond it, later readers' pairs are not counted.
constexpr size_t kMaxReads = 16;

}  // namespace

void ConflictCoverage::Pair(const Access& earlier, uint32_t thread, uint64_t site) {
  if (earlier.thread == UINT32_MAX || earlier.thread == thread) return;
  const uint64_t key = Mix64(Mix64(earlier.site) + site);
  uint64_t& recent = recent_[key % recent_.size()];
  if (recent == key) return;
  recent = key;
  if (seen_.insert(key).second) new_.push_back(key);
}

void ConflictCoverage::Executed(uint32_t thread, const PendingOp& op, uint64_t site) {
  if (op.object == 0) return;
  const bool write = op.kind != PendingOp::Kind::kRead;
  if (op.kind != PendingOp::Kind::kRead && op.kind != PendingOp::Kind::kWrite) return;
  if (op.object >= objects_.size()) objects_.resize(op.object + 1);
  ObjectState& state = objects_[op.object];
  Pair(state.last_write, thread, site);
  if (write) {
    for (const Access& read : state.reads) Pair(read, thread, site);
    state.last_write = {thread, site};
    state.reads.clear();
    return;
  }
  const bool known = std::any_of(state.reads.begin(), state.reads.end(), [&](const Access& a) {
    return a.thread == thread && a.site == site;
  });
  if (!known && state.reads.size() < kMaxReads) state.reads.push_back({thread, site});
}

}  // namespace lockstep::internal
