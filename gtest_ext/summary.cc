#include "gtest_ext/summary.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "gtest_ext/flags.h"
#include "gtest_ext/report.h"
#include "lockstep/trace_io.h"

namespace lockstep::gtest_internal {
namespace {

// A JSON string. Written by hand rather than through protobuf's JSON
// printer: google.protobuf.Struct is a map, which crashes in Lockstep's
// ThreadSanitizer builds (see the guide's Limits).
std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (const unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
    } else {
      out += static_cast<char>(c);  // UTF-8 passes through
    }
  }
  return out + "\"";
}

std::string TestEntry(const Options& options, const RunResult& result,
                      const std::string& trace_path) {
  std::vector<std::string> fields = {
      absl::StrCat("\"test\": ", Quote(absl::StrCat(options.test_suite, ".", options.test_name))),
      absl::StrCat("\"result\": \"", result.failed() ? "failed" : "passed", "\""),
      absl::StrCat("\"strategy\": ", Quote(StrategyLabel(options))),
      absl::StrCat("\"seed\": \"", options.seed, "\""),
      absl::StrCat("\"schedules\": ", result.iterations),
      absl::StrCat("\"exploration\": \"", result.exhausted ? "verified" : "sampled", "\""),
      absl::StrCat("\"verdict\": ", Quote(Verdict(options, result))),
      absl::StrCat("\"distinct\": ", result.distinct_schedules),
      absl::StrCat("\"conflict_pairs\": ", result.conflict_pairs),
      absl::StrCat("\"steps\": ", result.total_steps),
      absl::StrFormat("\"elapsed_s\": %.3f", std::chrono::duration<double>(result.elapsed).count()),
      absl::StrCat("\"shard\": {\"index\": ", options.shard.index,
                   ", \"count\": ", options.shard.count, "}"),
  };
  if (result.failed()) {
    const Trace& trace = *result.trace;
    std::vector<std::string> failure = {
        absl::StrCat("\"kind\": ", Quote(std::string(FailureKindName(trace.failure().kind())))),
        absl::StrCat("\"iteration\": \"", trace.iteration(), "\""),
        absl::StrCat("\"message\": ", Quote(trace.failure().message())),
    };
    if (!trace_path.empty()) failure.push_back(absl::StrCat("\"trace\": ", Quote(trace_path)));
    fields.push_back(absl::StrCat("\"failure\": {", absl::StrJoin(failure, ", "), "}"));
  }
  return absl::StrCat("    {", absl::StrJoin(fields, ", "), "}");
}

}  // namespace

std::string SummaryPath(const std::string& flag, const Shard& shard) {
  std::filesystem::path path = flag;
  if (path.is_relative()) {
    if (const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR"); outputs && *outputs) {
      path = outputs / path;
    } else if (const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY"); cwd && *cwd) {
      path = cwd / path;  // `bazel run`: where the user invoked it
    }
  }
  if (shard.count > 1) {
    path.replace_filename(absl::StrCat(path.stem().string(), ".shard-", shard.index, "-of-",
                                       shard.count, path.extension().string()));
  }
  return path.string();
}

void AddToSummary(const Options& options, const RunResult& result, const std::string& trace_path) {
  const std::string flag = absl::GetFlag(FLAGS_lockstep_summary);
  if (flag.empty()) return;
  static std::mutex mutex;
  static auto* tests = new std::vector<std::string>();
  std::lock_guard<std::mutex> lock(mutex);
  tests->push_back(TestEntry(options, result, trace_path));
  const std::vector<std::string> argv = testing::internal::GetArgvs();
  const std::string json =
      absl::StrCat("{\n  \"binary\": ", Quote(argv.empty() ? std::string() : argv[0]),
                   ",\n  \"tests\": [\n", absl::StrJoin(*tests, ",\n"), "\n  ]\n}\n");
  const std::string path = SummaryPath(flag, options.shard);
  std::ofstream out(path, std::ios::trunc);
  out << json;
  out.close();
  if (!out) {
    ADD_FAILURE() << "lockstep: " << FlagSource("lockstep_summary") << ": cannot write " << path;
  }
}

}  // namespace lockstep::gtest_internal
