// GoogleTest sharding for Lockstep tests: a Lockstep test runs in every
// shard and explores its share of the iterations, while ordinary tests keep
// GoogleTest's own one-shard-per-test assignment.
//
// GoogleTest shards when a test runner sets GTEST_TOTAL_SHARDS and
// GTEST_SHARD_INDEX (`bazel test` does for `shard_count`). Without help it
// would give each TEST_LOCKSTEP to one shard, so a target with one Lockstep
// test would get no faster. lockstep::InitGoogleTest calls TakeOverSharding:
// it reads and unsets those two variables (so GoogleTest itself runs every
// test it is given), assigns the ordinary tests to shards exactly as
// GoogleTest would among themselves, and excludes the others from this
// shard with --gtest_filter. GoogleTest still touches
// GTEST_SHARD_STATUS_FILE. A binary whose own main() calls
// testing::InitGoogleTest instead keeps GoogleTest's sharding: each Lockstep
// test then runs in one shard, all its iterations.
#ifndef GTEST_EXT_SHARDING_H_
#define GTEST_EXT_SHARDING_H_

#include <string>

#include "absl/status/status.h"
#include "lockstep/options.h"

namespace lockstep::gtest_internal {

// Marks Suite.Name as a Lockstep test (TEST_LOCKSTEP* register themselves
// during static initialization). Returns true, to initialize a variable.
bool RegisterLockstepTest(const char* suite, const char* name);

// Whether Suite.Name was registered as a Lockstep test.
bool IsLockstepTest(const std::string& suite, const std::string& name);

// Before RUN_ALL_TESTS, after the command line is parsed: takes over
// GoogleTest's sharding as described above. Does nothing when sharding is
// off; an invalid GTEST_TOTAL_SHARDS/GTEST_SHARD_INDEX is an error naming
// the variable.
absl::Status TakeOverSharding();

// The shard whose share of the iterations Lockstep tests explore: the one
// TakeOverSharding took over, else 0 of 1.
Shard LockstepShard();

}  // namespace lockstep::gtest_internal

// Registers suite.name as a Lockstep test (TEST_LOCKSTEP* use it).
#define LOCKSTEP_INTERNAL_REGISTER_(suite, name)                                       \
  [[maybe_unused]] static const bool LockstepInternal_##suite##_##name##_Registered_ = \
      ::lockstep::gtest_internal::RegisterLockstepTest(#suite, #name)

#endif  // GTEST_EXT_SHARDING_H_
