// For tests that run test binaries as a user would: a command through the
// shell, outside Bazel's test environment (so the binary behaves as when a
// user runs it), with its output and exit status.
#ifndef GTEST_EXT_RUN_COMMAND_FOR_TEST_H_
#define GTEST_EXT_RUN_COMMAND_FOR_TEST_H_

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace lockstep::testing_internal {

struct CommandOutcome {
  int exit_code = -1;  // 128 + N for death by signal N
  std::string output;  // stdout and stderr
};

// Runs `command` with Bazel's and GoogleTest's test variables unset, after
// `env` (space-separated `-u NAME` and NAME=value words for env(1)).
inline CommandOutcome RunCommand(const std::string& command, const std::string& env = "") {
  const std::string full =
      "env -u TEST_UNDECLARED_OUTPUTS_DIR -u TEST_TARGET -u TESTBRIDGE_TEST_ONLY "
      "-u GTEST_OUTPUT -u XML_OUTPUT_FILE -u GTEST_SHARD_INDEX -u GTEST_TOTAL_SHARDS "
      "-u GTEST_FILTER -u TEST_PREMATURE_EXIT_FILE " +
      env + " " + command + " 2>&1";
  CommandOutcome outcome;
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) return outcome;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) outcome.output.append(buffer, n);
  const int status = pclose(pipe);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

}  // namespace lockstep::testing_internal

#endif  // GTEST_EXT_RUN_COMMAND_FOR_TEST_H_
