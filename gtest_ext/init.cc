#include "gtest_ext/init.h"

#include <vector>

#include "absl/flags/parse.h"
#include "gtest/gtest.h"

namespace lockstep {

void InitGoogleTest(int* argc, char** argv) {
  testing::InitGoogleTest(argc, argv);
  // Exits with a message naming the flag on anything it cannot parse.
  std::vector<char*> positional = absl::ParseCommandLine(*argc, argv);
  *argc = static_cast<int>(positional.size());
  for (int i = 0; i < *argc; ++i) argv[i] = positional[i];
  argv[*argc] = nullptr;
}

}  // namespace lockstep
