// --lockstep_regression_traces: reading and selecting regression traces (see
// regression.h). Replaying them is the test runner's job (test_runner.cc).
#include "gtest_ext/regression.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest_ext/flags.h"
#include "lockstep/trace_io.h"

LOCKSTEP_FLAG(std::string, lockstep_regression_traces, "",
              "Comma-separated .lockstep trace files replayed before each test explores: a trace "
              "that reproduces its failure fails the test; those recorded for other tests are "
              "skipped. Env: LOCKSTEP_REGRESSION_TRACES.");

namespace lockstep::gtest_internal {
namespace {

// Every trace file read so far: path -> its trace, or why it cannot be used
// (the message names the flag and the path). Entries are never removed, so
// references to them stay valid.
struct Files {
  std::mutex mutex;
  std::map<std::string, absl::StatusOr<Trace>, std::less<>> read;
};

Files& TraceFiles() {
  static auto* files = new Files();
  return *files;
}

// The trace at `path`, read on the first call for that path.
const absl::StatusOr<Trace>& Load(const std::string& path) {
  Files& files = TraceFiles();
  std::lock_guard<std::mutex> lock(files.mutex);
  auto it = files.read.find(path);
  if (it != files.read.end()) return it->second;
  absl::StatusOr<Trace> trace = ReadTraceFile(path);  // its messages start with the path
  if (!trace.ok()) {
    trace = absl::Status(
        trace.status().code(),
        absl::StrCat(FlagSource("lockstep_regression_traces"), ": ", trace.status().message()));
  }
  return files.read.emplace(path, std::move(trace)).first->second;
}

// The paths the flag names, in its order, each once.
absl::StatusOr<std::vector<std::string>> Paths() {
  const std::string value = absl::GetFlag(FLAGS_lockstep_regression_traces);
  std::vector<std::string> paths;
  if (value.empty()) return paths;  // the default; an explicit empty value is rejected earlier
  for (absl::string_view piece : absl::StrSplit(value, ',')) {
    const std::string path(piece);
    if (path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(FlagSource("lockstep_regression_traces"),
                                                     ": empty path in '", value,
                                                     "' (expected PATH[,PATH...])"));
    }
    if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
  }
  return paths;
}

// Reads every named trace, so that a bad path stops the binary before any
// test runs (ValidateFlags), as a bad --lockstep_replay does.
absl::Status ValidateRegressionTraces() {
  absl::StatusOr<std::vector<std::string>> paths = Paths();
  if (!paths.ok()) return paths.status();
  for (const std::string& path : *paths) {
    if (const absl::StatusOr<Trace>& trace = Load(path); !trace.ok()) return trace.status();
  }
  return absl::OkStatus();
}

[[maybe_unused]] const bool kRegressionFlagsRegistered =
    RegisterFlags({"lockstep_regression_traces"}, &ValidateRegressionTraces);

}  // namespace

absl::StatusOr<std::vector<RegressionTrace>> RegressionTracesFor(const std::string& suite,
                                                                 const std::string& name) {
  absl::StatusOr<std::vector<std::string>> paths = Paths();
  if (!paths.ok()) return paths.status();
  std::vector<RegressionTrace> traces;
  for (const std::string& path : *paths) {
    const absl::StatusOr<Trace>& trace = Load(path);
    if (!trace.ok()) return trace.status();
    // Another test's trace: its decisions mean nothing to this body.
    if (!CheckTraceIsFor(*trace, suite, name).ok()) continue;
    traces.push_back(RegressionTrace{path, *trace});
  }
  return traces;
}

}  // namespace lockstep::gtest_internal
