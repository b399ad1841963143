// Initialization for test binaries that use Lockstep with their own main().
#ifndef GTEST_EXT_INIT_H_
#define GTEST_EXT_INIT_H_

namespace lockstep {

// Initializes GoogleTest (consuming --gtest_* flags), then parses the
// remaining command line as Abseil flags (--lockstep_* and the program's own).
// An unknown or malformed flag prints a message naming it and exits with
// status 1 before any test runs. Call it instead of testing::InitGoogleTest.
void InitGoogleTest(int* argc, char** argv);

}  // namespace lockstep

#endif  // GTEST_EXT_INIT_H_
