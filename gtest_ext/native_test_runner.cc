// The logic behind TEST_LOCKSTEP_NATIVE: the common run-and-report path with
// lockstep::NativeRunner, and the native runner's own flags.
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest_ext/flags.h"
#include "gtest_ext/lockstep_native_test.h"
#include "gtest_ext/test_runner.h"

LOCKSTEP_FLAG(std::optional<std::string>, lockstep_native_mode, std::nullopt,
              "TEST_LOCKSTEP_NATIVE: control (serialize threads, schedule every pthread call) or "
              "observe (threads run freely; calls are recorded). Env: LOCKSTEP_NATIVE_MODE.");
LOCKSTEP_FLAG(std::optional<uint32_t>, lockstep_resume_quantum_us, std::nullopt,
              "TEST_LOCKSTEP_NATIVE control mode: microseconds a resumed thread may run without a "
              "pthread call before the others go on without it. Env: LOCKSTEP_RESUME_QUANTUM_US.");

namespace lockstep::gtest_internal {
namespace {

// The per-test native options overridden by the native flags, or why a flag
// is invalid.
absl::StatusOr<NativeOptions> NativeFlags(NativeOptions options) {
  if (auto mode = absl::GetFlag(FLAGS_lockstep_native_mode)) {
    absl::StatusOr<NativeMode> parsed = ParseNativeMode(*mode);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(FlagSource("lockstep_native_mode"), ": ", parsed.status().message()));
    }
    options.mode = *parsed;
  }
  if (auto isolate = absl::GetFlag(FLAGS_lockstep_isolate)) options.isolate = *isolate;
  if (auto quantum = absl::GetFlag(FLAGS_lockstep_resume_quantum_us)) {
    if (*quantum == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(FlagSource("lockstep_resume_quantum_us"), ": must be at least 1, got 0"));
    }
    options.resume_quantum_us = *quantum;
  }
  // Validated with the common flags.
  if (auto watchdog = absl::GetFlag(FLAGS_lockstep_watchdog)) {
    options.watchdog = absl::ToChronoMilliseconds(*watchdog);
  }
  return options;
}

// Checked by ValidateFlags, so a bad native flag stops the binary before any
// test runs, whether or not a native test would run.
absl::Status ValidateNativeFlags() { return NativeFlags(NativeOptions()).status(); }

[[maybe_unused]] const bool kNativeFlagsRegistered =
    RegisterFlags({"lockstep_native_mode", "lockstep_resume_quantum_us"}, &ValidateNativeFlags);

}  // namespace

void RunLockstepNativeTest(const NativeOptions& per_test, const std::function<void()>& iteration) {
  // Environment variables are applied and the flags validated by
  // RunAndReport before `run` reads them (lockstep::InitGoogleTest has
  // already done both, before any test, unless the binary has its own main).
  RunAndReport(
      per_test.Common(),
      [&](const Options& options) {
        absl::StatusOr<NativeOptions> native = NativeFlags(per_test);
        if (!native.ok()) {
          RunResult result;
          result.status = native.status();
          return result;
        }
        native->SetCommon(options);
        return NativeRunner::Run(iteration, *native);
      },
      iteration, /*all_threads=*/true);
}

}  // namespace lockstep::gtest_internal
