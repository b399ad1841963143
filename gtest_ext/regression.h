// Regression traces: `.lockstep` files checked into a repository that every
// test replays before it explores, as FuzzTest replays its regression corpus.
// A trace that still fails fails its test; one that passes shows that the bug
// it recorded is fixed. They are named by
//
//   --lockstep_regression_traces=PATH[,PATH...]   (env LOCKSTEP_REGRESSION_TRACES)
//
// which lockstep_cc_test(traces = ...) (gtest_ext/lockstep.bzl) and
// lockstep_add_test(... TRACES ...) (gtest_ext/CMakeLists.txt) set. A path is
// absolute or relative to the working directory (under `bazel test`, the
// runfiles root: the macro passes $(rootpath) paths). Every file must be a
// readable, valid trace: the flag's validator (run by ValidateFlags) reads
// them all, so a bad path stops the binary before any test runs. Each test
// replays only the traces recorded for it; the others are skipped.
#ifndef GTEST_EXT_REGRESSION_H_
#define GTEST_EXT_REGRESSION_H_

#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "lockstep/trace.pb.h"

ABSL_DECLARE_FLAG(std::string, lockstep_regression_traces);

namespace lockstep::gtest_internal {

// A trace named by --lockstep_regression_traces, with its path as the flag
// gives it (for messages).
struct RegressionTrace {
  std::string path;
  Trace trace;
};

// The traces named by --lockstep_regression_traces that were recorded for
// suite.name, in the flag's order; each file is read once per process. An
// unreadable or invalid file is an error naming the flag and the path.
// A path given twice counts once; an empty path in the list ("a,,b") is an
// error.
absl::StatusOr<std::vector<RegressionTrace>> RegressionTracesFor(const std::string& suite,
                                                                 const std::string& name);

}  // namespace lockstep::gtest_internal

#endif  // GTEST_EXT_REGRESSION_H_
