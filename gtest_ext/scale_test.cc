// Running at scale, as a user does: scale_bodies_test run sharded the way
// `bazel test` shards it (GTEST_TOTAL_SHARDS/GTEST_SHARD_INDEX), the printed
// one-step command, --gtest_repeat and --lockstep_seed=random, the progress
// line, the XML properties and the JSON summary.
//
// The binary is found in $LOCKSTEP_SCALE_BODIES_DIR (CMake sets it), else
// in gtest_ext/ under the current directory (Bazel runfiles).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "gtest_ext/run_command_for_test.h"

namespace lockstep {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing_internal::CommandOutcome;
using testing_internal::RunCommand;

std::string Bodies() {
  const char* dir = std::getenv("LOCKSTEP_SCALE_BODIES_DIR");
  return fs::absolute(fs::path(dir != nullptr && *dir != '\0' ? dir : "gtest_ext") /
                      "scale_bodies_test")
      .string();
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every match of `pattern`'s first group in `text`.
std::vector<std::string> All(const std::string& text, const std::string& pattern) {
  std::vector<std::string> found;
  const std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    found.push_back((*it)[1].str());
  }
  return found;
}

// The failing iteration a report names, if any.
std::optional<uint64_t> FailingIteration(const std::string& output) {
  const std::vector<std::string> found = All(output, R"(seed:\s+base seed \d+, iteration (\d+))");
  if (found.empty()) return std::nullopt;
  return std::stoull(found[0]);
}

class ScaleTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) /
           ("lockstep_scale_" + std::to_string(::getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs the bodies with `flags` (as shard `index` of `total` when total > 1).
  CommandOutcome Run(const std::string& flags, int index = 0, int total = 1,
                     const std::string& env = "") const {
    std::string shard_env = env;
    if (total > 1) {
      shard_env += " GTEST_TOTAL_SHARDS=" + std::to_string(total) +
                   " GTEST_SHARD_INDEX=" + std::to_string(index);
    }
    return RunCommand(Bodies() + " --lockstep_trace_dir=" + (dir_ / "traces").string() +
                          // Native threads keep their turn even on a loaded machine.
                          " --lockstep_resume_quantum_us=50000 " + flags,
                      shard_env);
  }

  fs::path dir_;
};

// The first failure of one run is found, at the same iteration, by the shard
// that owns that iteration, and no shard fails earlier: 2 and 4 shards,
// controlled and native.
TEST_F(ScaleTest, ShardsFindTheSameFirstFailureAsOneRun) {
  for (const char* test : {"Scale.ControlledLostUpdate", "Scale.NativeLostUpdate"}) {
    SCOPED_TRACE(test);
    const std::string flags = std::string("--gtest_filter=") + test + " --lockstep_seed=8";
    const CommandOutcome one = Run(flags, 0, 1, "SCALE_BODIES_BUG=1");
    ASSERT_EQ(one.exit_code, 1) << one.output;
    const std::optional<uint64_t> first = FailingIteration(one.output);
    ASSERT_TRUE(first.has_value()) << one.output;
    ASSERT_GT(*first, 0u) << "pick a seed whose bug is not found at iteration 0";
    for (int total : {2, 4}) {
      std::optional<uint64_t> earliest;
      for (int index = 0; index < total; ++index) {
        const CommandOutcome shard = Run(flags, index, total, "SCALE_BODIES_BUG=1");
        EXPECT_THAT(shard.output, HasSubstr("shard " + std::to_string(index + 1) + " of " +
                                            std::to_string(total)));
        const std::optional<uint64_t> failed = FailingIteration(shard.output);
        if (*first % total == static_cast<uint64_t>(index)) {
          EXPECT_EQ(failed, first) << "the owning shard, " << index << " of " << total << "\n"
                                   << shard.output;
        }
        if (failed && (!earliest || *failed < *earliest)) earliest = failed;
      }
      EXPECT_EQ(earliest, first) << total << " shards";
    }
  }
}

// Shards run iteration 0 each and split the rest: their schedules add up to
// one run's plus the repeated iteration 0s; every ordinary test runs in
// exactly one shard.
TEST_F(ScaleTest, ShardsSplitTheIterationsAndOrdinaryTestsKeepGoogleTestSharding) {
  for (int total : {2, 4}) {
    SCOPED_TRACE(std::to_string(total) + " shards");
    uint64_t schedules = 0;
    std::multiset<std::string> ordinary;
    for (int index = 0; index < total; ++index) {
      const CommandOutcome shard = Run("--lockstep_iterations=101", index, total);
      ASSERT_EQ(shard.exit_code, 0) << shard.output;
      const std::vector<std::string> counts =
          All(shard.output, R"(lockstep: sampled (\d+) schedules .*\(shard )");
      ASSERT_EQ(counts.size(), 3u) << shard.output;  // each Lockstep test, every shard
      schedules += std::stoull(counts[0]);
      for (const std::string& name : All(shard.output, R"(ordinary test (\w) ran)")) {
        ordinary.insert(name);
      }
    }
    EXPECT_EQ(schedules, 101u + (total - 1));
    EXPECT_EQ(ordinary, (std::multiset<std::string>{"A", "B", "C", "D", "E"}));
  }
}

// The printed command runs the failing iteration alone and reproduces it.
TEST_F(ScaleTest, OneStepCommandRunsOnlyTheFailingIteration) {
  const CommandOutcome found = Run("--gtest_filter=Scale.ControlledLostUpdate --lockstep_seed=8", 0,
                                   1, "SCALE_BODIES_BUG=1");
  ASSERT_EQ(found.exit_code, 1) << found.output;
  const std::vector<std::string> command =
      All(found.output, R"(flags only, one iteration\):\n\s+(.*)\n)");
  ASSERT_EQ(command.size(), 1u) << found.output;
  EXPECT_THAT(command[0],
              HasSubstr("--lockstep_iteration=" + std::to_string(*FailingIteration(found.output))));
  EXPECT_THAT(command[0], HasSubstr("--lockstep_pct_steps="));
  const CommandOutcome again = RunCommand(command[0], "SCALE_BODIES_BUG=1");
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_THAT(again.output, HasSubstr("explored:  1 schedules"));
  EXPECT_EQ(FailingIteration(again.output), FailingIteration(found.output));
}

// The default is deterministic; each repetition after the first, and every
// --lockstep_seed=random run, explores a new seed and prints it.
TEST_F(ScaleTest, RepeatAndRandomExploreNewSeeds) {
  const std::string seed = R"(lockstep: sampled \d+ schedules \(pct d=3, seed (\d+)\))";
  const CommandOutcome repeated = Run("--gtest_filter=Scale.Passes --gtest_repeat=3");
  ASSERT_EQ(repeated.exit_code, 0) << repeated.output;
  const std::vector<std::string> seeds = All(repeated.output, seed);
  ASSERT_EQ(seeds.size(), 3u) << repeated.output;
  EXPECT_EQ(seeds[0], "1");
  EXPECT_EQ(std::set<std::string>(seeds.begin(), seeds.end()).size(), 3u);
  EXPECT_THAT(repeated.output, HasSubstr("--lockstep_seed=" + seeds[1] + " reruns it"));
  // Deterministic: the same derived seeds again.
  EXPECT_EQ(All(Run("--gtest_filter=Scale.Passes --gtest_repeat=3").output, seed), seeds);

  const std::string random = "--gtest_filter=Scale.Passes --lockstep_seed=random";
  const std::vector<std::string> a = All(Run(random).output, seed);
  const std::vector<std::string> b = All(Run(random).output, seed);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_NE(a[0], b[0]);
  EXPECT_THAT(Run(random).output, HasSubstr("(random; --lockstep_seed="));
}

TEST_F(ScaleTest, ProgressLineOnStderr) {
  const CommandOutcome run =
      Run("--gtest_filter=Scale.Passes --lockstep_iterations=3000 --lockstep_progress=1ms "
          "--lockstep_time_budget=60s");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_FALSE(All(run.output, R"(lockstep: Scale.Passes: \d+ schedules \(\d+/s\), \d+ distinct, )"
                               R"(\d+ conflict pairs, [0-9.]+ s, ([0-9.]+) s of budget left)")
                   .empty())
      << run.output;
  const CommandOutcome quiet = Run("--gtest_filter=Scale.Passes --lockstep_progress=0");
  EXPECT_THAT(quiet.output, Not(HasSubstr("of budget left")));
  EXPECT_THAT(quiet.output, Not(HasSubstr("lockstep: Scale.Passes:")));
}

TEST_F(ScaleTest, XmlPropertiesAndJsonSummary) {
  const fs::path xml = dir_ / "report.xml";
  const fs::path json = dir_ / "summary.json";
  const CommandOutcome run =
      Run("--gtest_filter=Scale.*Update:Scale.Passes --lockstep_seed=8 --gtest_output=xml:" +
              xml.string() + " --lockstep_summary=" + json.string(),
          0, 1, "SCALE_BODIES_BUG=1");
  ASSERT_EQ(run.exit_code, 1) << run.output;
  const std::string report = ReadFile(xml);
  for (const char* property :
       {"lockstep_seed\" value=\"8\"", "lockstep_strategy\" value=\"pct d=3\"",
        "lockstep_schedules\" value=\"100\"", "lockstep_distinct\" value=\"",
        "lockstep_conflict_pairs\" value=\"", "lockstep_elapsed_s\" value=\""}) {
    EXPECT_THAT(report, HasSubstr(std::string("name=\"") + property)) << property;
  }
  const std::string summary = ReadFile(json);
  EXPECT_THAT(summary, HasSubstr("\"test\": \"Scale.Passes\""));
  EXPECT_THAT(summary, HasSubstr("\"result\": \"passed\""));
  EXPECT_THAT(summary, HasSubstr("\"schedules\": 100"));
  EXPECT_THAT(summary, HasSubstr("\"test\": \"Scale.NativeLostUpdate\""));
  EXPECT_THAT(summary, HasSubstr("\"result\": \"failed\""));
  EXPECT_THAT(summary, HasSubstr("\"kind\": \"assertion\""));
  EXPECT_THAT(summary, HasSubstr("\"trace\": \"" + (dir_ / "traces").string()));
  EXPECT_EQ(All(summary, R"re("test": "([^"]+)")re").size(), 3u) << summary;
  EXPECT_THAT(summary, HasSubstr("\"exploration\": \"sampled\""));
  EXPECT_THAT(report, HasSubstr("name=\"lockstep_exploration\" value=\"sampled\""));
}

// An exhaustive search that sees every schedule says "verified" on the
// console, in the XML report and in the JSON summary.
TEST_F(ScaleTest, AnExhaustiveSearchIsVerifiedEverywhere) {
  const fs::path xml = dir_ / "report.xml";
  const fs::path json = dir_ / "summary.json";
  const CommandOutcome run =
      Run("--gtest_filter=Scale.Passes --lockstep_strategy=dpor --lockstep_iterations=1000 "
          "--gtest_output=xml:" +
              xml.string() + " --lockstep_summary=" + json.string(),
          0, 1);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("lockstep: verified: all "));
  EXPECT_THAT(ReadFile(xml), HasSubstr("name=\"lockstep_exploration\" value=\"verified\""));
  EXPECT_THAT(ReadFile(json), HasSubstr("\"exploration\": \"verified\""));
}

}  // namespace
}  // namespace lockstep
