#include "gtest_ext/summary.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "gtest_ext/flags.h"
#include "gtest_ext/report.h"
#include "lockstep/trace_io.h"

namespace lockstep::gtest_internal {
namespace {

using google::protobuf::Struct;

void Set(Struct& object, const char* key, double number) {
  (*object.mutable_fields())[key].set_number_value(number);
}
void Set(Struct& object, const char* key, const std::string& text) {
  (*object.mutable_fields())[key].set_string_value(text);
}

Struct TestEntry(const Options& options, const RunResult& result, const std::string& trace_path) {
  Struct test;
  Set(test, "test", absl::StrCat(options.test_suite, ".", options.test_name));
  Set(test, "result", result.failed() ? "failed" : "passed");
  Set(test, "strategy", StrategyLabel(options));
  Set(test, "seed", std::to_string(options.seed));
  Set(test, "schedules", static_cast<double>(result.iterations));
  Set(test, "distinct", static_cast<double>(result.distinct_schedules));
  Set(test, "conflict_pairs", static_cast<double>(result.conflict_pairs));
  Set(test, "steps", static_cast<double>(result.total_steps));
  Set(test, "elapsed_s", std::chrono::duration<double>(result.elapsed).count());
  Struct shard;
  Set(shard, "index", options.shard.index);
  Set(shard, "count", options.shard.count);
  *(*test.mutable_fields())["shard"].mutable_struct_value() = std::move(shard);
  if (result.failed()) {
    const Trace& trace = *result.trace;
    Struct failure;
    Set(failure, "kind", std::string(FailureKindName(trace.failure().kind())));
    Set(failure, "iteration", std::to_string(trace.iteration()));
    Set(failure, "message", trace.failure().message());
    if (!trace_path.empty()) Set(failure, "trace", trace_path);
    *(*test.mutable_fields())["failure"].mutable_struct_value() = std::move(failure);
  }
  return test;
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
  static Struct* summary = nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  if (summary == nullptr) {
    summary = new Struct();
    const std::vector<std::string> argv = testing::internal::GetArgvs();
    Set(*summary, "binary", argv.empty() ? std::string() : argv[0]);
    (*summary->mutable_fields())["tests"].mutable_list_value();
  }
  *(*summary->mutable_fields())["tests"].mutable_list_value()->add_values()->mutable_struct_value() =
      TestEntry(options, result, trace_path);

  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  const auto status = google::protobuf::util::MessageToJsonString(*summary, &json, print);
  const std::string path = SummaryPath(flag, options.shard);
  std::ofstream out(path, std::ios::trunc);
  out << json;
  out.close();
  if (!status.ok() || !out) {
    ADD_FAILURE() << "lockstep: " << FlagSource("lockstep_summary") << ": cannot write " << path;
  }
}

}  // namespace lockstep::gtest_internal
