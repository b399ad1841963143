#include "gtest_ext/init.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "gtest_ext/flags.h"
#include "gtest_ext/sharding.h"

namespace lockstep {
namespace gtest_internal {
namespace {

bool GlobMatches(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    for (size_t i = 0; i <= text.size(); ++i) {
      if (GlobMatches(pattern.substr(1), text.substr(i))) return true;
    }
    return false;
  }
  if (text.empty()) return false;
  if (pattern[0] != '?' && pattern[0] != text[0]) return false;
  return GlobMatches(pattern.substr(1), text.substr(1));
}

bool AnyMatches(std::string_view patterns, std::string_view test) {
  while (true) {
    const size_t colon = patterns.find(':');
    if (GlobMatches(patterns.substr(0, colon), test)) return true;
    if (colon == std::string_view::npos) return false;
    patterns.remove_prefix(colon + 1);
  }
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "lockstep: %s\n", message.c_str());
  std::exit(1);
}

// With --lockstep_replay, run only the trace's test: select it when the user
// gave no filter, and refuse a filter that excludes it.
void SelectReplayedTest(const Trace& trace) {
  const std::string test = absl::StrCat(trace.test_suite(), ".", trace.test_name());
  bool registered = false;
  const testing::UnitTest& unit = *testing::UnitTest::GetInstance();
  for (int i = 0; i < unit.total_test_suite_count() && !registered; ++i) {
    const testing::TestSuite& suite = *unit.GetTestSuite(i);
    for (int j = 0; j < suite.total_test_count(); ++j) {
      if (absl::StrCat(suite.name(), ".", suite.GetTestInfo(j)->name()) == test) registered = true;
    }
  }
  if (!registered) {
    Die(absl::StrCat("--lockstep_replay: the trace is from test ", test,
                     ", which this binary does not contain; run the binary that recorded it"));
  }
  const std::string filter = GTEST_FLAG_GET(filter);
  if (filter == "*" || filter.empty()) {
    GTEST_FLAG_SET(filter, test);
  } else if (!FilterSelects(filter, test)) {
    Die(absl::StrCat("--lockstep_replay: the trace is from test ", test,
                     ", but --gtest_filter=", filter, " excludes it; drop the filter"));
  }
}

}  // namespace

bool FilterSelects(std::string_view filter, std::string_view test) {
  const size_t dash = filter.find('-');
  const std::string_view positive = filter.substr(0, dash);
  const std::string_view negative =
      dash == std::string_view::npos ? std::string_view() : filter.substr(dash + 1);
  const bool included = positive.empty() ? true : AnyMatches(positive, test);
  return included && !(dash != std::string_view::npos && AnyMatches(negative, test));
}

}  // namespace gtest_internal

void InitGoogleTest(int* argc, char** argv) {
  testing::InitGoogleTest(argc, argv);
  // Exits with a message naming the flag on anything it cannot parse.
  std::vector<char*> positional = absl::ParseCommandLine(*argc, argv);
  *argc = static_cast<int>(positional.size());
  for (int i = 0; i < *argc; ++i) argv[i] = positional[i];
  argv[*argc] = nullptr;

  for (absl::Status status : {gtest_internal::ApplyEnvironment(), gtest_internal::ValidateFlags(),
                              gtest_internal::TakeOverSharding()}) {
    if (!status.ok()) gtest_internal::Die(std::string(status.message()));
  }
  if (const Trace* trace = gtest_internal::ReplayTrace())
    gtest_internal::SelectReplayedTest(*trace);
}

}  // namespace lockstep
