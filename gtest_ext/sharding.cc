#include "gtest_ext/sharding.h"

#include <cstdlib>
#include <mutex>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "gtest_ext/init.h"

namespace lockstep::gtest_internal {
namespace {

struct Registry {
  std::mutex mutex;
  std::set<std::pair<std::string, std::string>> tests;
};

Registry& Tests() {
  static auto* registry = new Registry();
  return *registry;
}

Shard g_shard;

// The value of `variable`, which must be an integer in [min, max].
absl::Status ReadVariable(const char* variable, uint32_t min, uint32_t max, uint32_t* out) {
  const char* value = std::getenv(variable);
  if (value != nullptr && absl::SimpleAtoi(value, out) && *out >= min && *out <= max) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("environment variable ", variable, "='", value == nullptr ? "" : value,
                   "': expected an integer in [", min, ", ", max, "] (GoogleTest sharding)"));
}

// Whether GoogleTest would count `test` among the tests to run (the filter
// selects it and it is not disabled, or disabled tests run too).
bool Runnable(const testing::TestInfo& test) {
  const std::string suite = test.test_suite_name();
  const std::string name = test.name();
  const bool disabled = suite.rfind("DISABLED_", 0) == 0 || name.rfind("DISABLED_", 0) == 0;
  if (disabled && !GTEST_FLAG_GET(also_run_disabled_tests)) return false;
  return FilterSelects(GTEST_FLAG_GET(filter), absl::StrCat(suite, ".", name));
}

}  // namespace

bool RegisterLockstepTest(const char* suite, const char* name) {
  Registry& registry = Tests();
  std::lock_guard<std::mutex> lock(registry.mutex);
  registry.tests.emplace(suite, name);
  return true;
}

bool IsLockstepTest(const std::string& suite, const std::string& name) {
  Registry& registry = Tests();
  std::lock_guard<std::mutex> lock(registry.mutex);
  return registry.tests.count({suite, name}) > 0;
}

absl::Status TakeOverSharding() {
  if (std::getenv("GTEST_TOTAL_SHARDS") == nullptr || std::getenv("GTEST_SHARD_INDEX") == nullptr) {
    return absl::OkStatus();
  }
  uint32_t total = 0;
  uint32_t index = 0;
  if (absl::Status s = ReadVariable("GTEST_TOTAL_SHARDS", 1, 1u << 20, &total); !s.ok()) return s;
  if (absl::Status s = ReadVariable("GTEST_SHARD_INDEX", 0, total - 1, &index); !s.ok()) return s;
  if (total == 1) return absl::OkStatus();

  // Ordinary tests: the k-th runnable one runs in shard k % total, as
  // GoogleTest assigns tests.
  std::vector<std::string> elsewhere;
  uint32_t ordinary = 0;
  const testing::UnitTest& unit = *testing::UnitTest::GetInstance();
  for (int i = 0; i < unit.total_test_suite_count(); ++i) {
    const testing::TestSuite& suite = *unit.GetTestSuite(i);
    for (int j = 0; j < suite.total_test_count(); ++j) {
      const testing::TestInfo& test = *suite.GetTestInfo(j);
      if (!Runnable(test) || IsLockstepTest(test.test_suite_name(), test.name())) continue;
      if (ordinary++ % total != index) {
        elsewhere.push_back(absl::StrCat(test.test_suite_name(), ".", test.name()));
      }
    }
  }
  if (!elsewhere.empty()) {
    std::string filter = GTEST_FLAG_GET(filter);
    if (filter.empty()) filter = "*";
    const bool has_negative = filter.find('-') != std::string::npos;
    GTEST_FLAG_SET(filter,
                   absl::StrCat(filter, has_negative ? ":" : "-", absl::StrJoin(elsewhere, ":")));
  }
  unsetenv("GTEST_TOTAL_SHARDS");
  unsetenv("GTEST_SHARD_INDEX");
  g_shard = Shard{.index = index, .count = total};
  std::printf(
      "lockstep: shard %u of %u: Lockstep tests explore every %u-th iteration here "
      "(and iteration 0); other tests are sharded as GoogleTest shards them\n",
      index + 1, total, total);
  return absl::OkStatus();
}

Shard LockstepShard() { return g_shard; }

}  // namespace lockstep::gtest_internal
