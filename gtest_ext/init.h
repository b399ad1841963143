// Initialization for test binaries that use Lockstep with their own main().
#ifndef GTEST_EXT_INIT_H_
#define GTEST_EXT_INIT_H_

#include <string_view>

namespace lockstep {

// Initializes GoogleTest (consuming --gtest_* flags), then parses the
// remaining command line as Abseil flags (--lockstep_* and the program's
// own), applies LOCKSTEP_* environment variables for flags not given (a
// given flag wins even at its default value), and validates every
// --lockstep_* flag, the native runner's included when it is linked. With
// --lockstep_replay, selects the test the trace names. Any bad or empty
// flag, variable or trace file prints a message naming it and exits with
// status 1 before a test runs. Under GoogleTest sharding, Lockstep tests run
// in every shard, each exploring its share of the iterations (see
// gtest_ext/sharding.h). Call it instead of testing::InitGoogleTest;
// lockstep_main does.
void InitGoogleTest(int* argc, char** argv);

namespace gtest_internal {
// Whether `test` ("Suite.Name") is selected by a --gtest_filter value.
bool FilterSelects(std::string_view filter, std::string_view test);
}  // namespace gtest_internal

}  // namespace lockstep

#endif  // GTEST_EXT_INIT_H_
