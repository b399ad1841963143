// The JSON summary of a test binary's Lockstep tests (--lockstep_summary),
// for dashboards and scripts:
//
//   {"binary": "bazel-bin/examples/bank_test",
//    "tests": [{"test": "Bank.Transfer", "result": "passed", "strategy": "pct d=3",
//               "seed": "1", "schedules": 100, "distinct": 97, "conflict_pairs": 12,
//               "steps": 5321, "elapsed_s": 0.41, "shard": {"index": 0, "count": 1}},
//              {"test": ..., "result": "failed", ...,
//               "failure": {"kind": "deadlock", "iteration": "17", "message": ...,
//                           "trace": "/abs/path.lockstep"}}]}
//
// 64-bit numbers (seed, iteration) are strings, as in protobuf's JSON. The
// file is rewritten after every test, so it is complete up to the last test
// that finished even if the binary dies. A relative path is under
// $TEST_UNDECLARED_OUTPUTS_DIR when `bazel test` runs the binary; under
// sharding, ".shard-<i>-of-<n>" goes before the extension (each shard
// writes its own).
#ifndef GTEST_EXT_SUMMARY_H_
#define GTEST_EXT_SUMMARY_H_

#include <string>

#include "lockstep/options.h"
#include "lockstep/run.h"

namespace lockstep::gtest_internal {

// Adds the current test's run to the summary and rewrites the file, when
// --lockstep_summary is set. `trace_path`: the failing trace, if written.
// A file that cannot be written is a failure of the current test.
void AddToSummary(const Options& options, const RunResult& result, const std::string& trace_path);

// Where the summary goes for --lockstep_summary=`flag` (see above).
std::string SummaryPath(const std::string& flag, const Shard& shard);

}  // namespace lockstep::gtest_internal

#endif  // GTEST_EXT_SUMMARY_H_
