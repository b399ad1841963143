#include "gtest_ext/flags.h"

#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string_view>
#include <utility>

#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lockstep/trace_io.h"

LOCKSTEP_FLAG(std::optional<std::string>, lockstep_seed, std::nullopt,
              "Base seed of every TEST_LOCKSTEP: a number, or 'random' for a fresh one per test "
              "(printed) (default: the test's own, else 1; --gtest_repeat derives a new one for "
              "each repetition after the first). Env: LOCKSTEP_SEED.");
LOCKSTEP_FLAG(std::optional<uint64_t>, lockstep_iterations, std::nullopt,
              "Schedules to explore per TEST_LOCKSTEP (>= 1; default: the test's own, else 100). "
              "Env: LOCKSTEP_ITERATIONS.");
LOCKSTEP_FLAG(std::optional<uint64_t>, lockstep_iteration, std::nullopt,
              "Run only this iteration (0-based) of each selected test: reproduces one "
              "schedule in one iteration's time (the failure report prints the command). "
              "Env: LOCKSTEP_ITERATION.");
LOCKSTEP_FLAG(std::optional<std::string>, lockstep_strategy, std::nullopt,
              "Exploration strategy: random, pct, fair_pct, pos, idpct (sampling), or dfs, dpor "
              "(exhaustive: every schedule, --lockstep_iterations is then a cap) (default: the "
              "test's own, else pct). Env: LOCKSTEP_STRATEGY.");
LOCKSTEP_FLAG(std::optional<uint32_t>, lockstep_pct_depth, std::nullopt,
              "PCT bug depth d >= 1: d-1 priority change points per schedule (default 3). "
              "Env: LOCKSTEP_PCT_DEPTH.");
LOCKSTEP_FLAG(std::optional<uint64_t>, lockstep_pct_steps, std::nullopt,
              "pct, fair_pct, idpct: the step estimate k that change points are drawn from "
              "(>= 1; default: 100 for iteration 0, then iteration 0's step count). "
              "Env: LOCKSTEP_PCT_STEPS.");
LOCKSTEP_FLAG(std::optional<uint32_t>, lockstep_fair_prefix, std::nullopt,
              "fair_pct: scheduling steps run under PCT before switching to random (>= 1; "
              "default 1000). Env: LOCKSTEP_FAIR_PREFIX.");
LOCKSTEP_FLAG(std::optional<uint32_t>, lockstep_preemption_bound, std::nullopt,
              "dfs: explore only the schedules with at most this many preemptions (switches "
              "away from a thread that could go on), as CHESS does (default: the test's own, "
              "else all schedules). Env: LOCKSTEP_PREEMPTION_BOUND.");
LOCKSTEP_FLAG(std::optional<bool>, lockstep_spurious_wakeups, std::nullopt,
              "Let CondVar waits wake spuriously, as a strategy decision (default: the test's "
              "own, else false). Env: LOCKSTEP_SPURIOUS_WAKEUPS.");
LOCKSTEP_FLAG(std::optional<uint64_t>, lockstep_max_steps, std::nullopt,
              "Scheduling steps after which a schedule fails as a livelock (>= 1; default "
              "10000). Env: LOCKSTEP_MAX_STEPS.");
LOCKSTEP_FLAG(std::optional<absl::Duration>, lockstep_time_budget, std::nullopt,
              "Explore each TEST_LOCKSTEP until this much time is spent, e.g. 30s or 5m; "
              "without --lockstep_iterations the iteration count is then unlimited. "
              "Env: LOCKSTEP_TIME_BUDGET.");
LOCKSTEP_FLAG(std::optional<absl::Duration>, lockstep_progress, std::nullopt,
              "Print a progress line to stderr this often while a test explores (default 10s; "
              "0 turns it off). Env: LOCKSTEP_PROGRESS.");
LOCKSTEP_FLAG(std::string, lockstep_summary, "",
              "Write a JSON summary of every Lockstep test the binary runs to this file (a "
              "relative path is under $TEST_UNDECLARED_OUTPUTS_DIR when `bazel test` runs the "
              "binary). Env: LOCKSTEP_SUMMARY.");
LOCKSTEP_FLAG(std::string, lockstep_replay, "",
              "Replay the schedule in this .lockstep trace file: runs only the test it names, "
              "once, and says whether the failure reproduced. Env: LOCKSTEP_REPLAY.");
LOCKSTEP_FLAG(bool, lockstep_shrink, false,
              "Shrink the failing schedule (after exploration finds one, or the one replayed with "
              "--lockstep_replay): fewest preemptions, then fewest decisions, same failure; writes "
              "<name>.shrunk.lockstep beside the trace. Env: LOCKSTEP_SHRINK.");
LOCKSTEP_FLAG(std::optional<bool>, lockstep_isolate, std::nullopt,
              "Run the code under test in forked child processes (TEST_LOCKSTEP: one explorer "
              "per test; TEST_LOCKSTEP_NATIVE: one per iteration), so crashes, exit() and hangs "
              "become reported failures (default true). Env: LOCKSTEP_ISOLATE.");
LOCKSTEP_FLAG(std::optional<absl::Duration>, lockstep_watchdog, std::nullopt,
              "With isolation: an iteration that reaches no scheduling point for this long fails "
              "as a TIMEOUT (default 10s). Env: LOCKSTEP_WATCHDOG.");
LOCKSTEP_FLAG(std::optional<uint64_t>, lockstep_stack_size, std::nullopt,
              "TEST_LOCKSTEP: bytes of stack of each logical thread (>= 16384; default 262144). "
              "Env: LOCKSTEP_STACK_SIZE.");
LOCKSTEP_FLAG(std::optional<std::string>, lockstep_accesses, std::nullopt,
              "Instrumented code (compiled with -fsanitize=thread, linked with "
              "lockstep/instrument): which plain memory accesses are scheduling points: none, "
              "racy (those at instructions found racing in earlier schedules) or all (default: "
              "the test's own, else racy). Env: LOCKSTEP_ACCESSES.");
LOCKSTEP_FLAG(std::optional<std::string>, lockstep_races, std::nullopt,
              "Instrumented code: a data race fails the test (fail), is printed once per pair "
              "of instructions while exploration goes on (report), or is ignored (ignore) "
              "(default: the test's own, else fail). Env: LOCKSTEP_RACES.");
LOCKSTEP_FLAG(std::string, lockstep_trace_dir, "lockstep-traces",
              "Directory for the traces of failing tests when not under `bazel test` (which "
              "collects them from $TEST_UNDECLARED_OUTPUTS_DIR). Env: LOCKSTEP_TRACE_DIR.");

namespace lockstep::gtest_internal {
namespace {

// The registered flags and validators.
struct Registry {
  std::mutex mutex;
  std::vector<std::string> names;  // in registration order
  // Registered flag -> whether it was set by anything but ApplyEnvironment.
  std::map<std::string, bool, std::less<>> set_explicitly;
  std::vector<absl::Status (*)()> validators;
};

Registry& Flags() {
  static auto* registry = new Registry();
  return *registry;
}

// True while ApplyEnvironment sets a flag, so NoteFlagSet leaves it out.
thread_local bool applying_environment = false;

struct ReplayState {
  std::once_flag once;
  absl::Status status;
  std::optional<Trace> trace;
};

// Flags set from the environment: flag name -> "VARIABLE='value'".
std::map<std::string, std::string, std::less<>>& FromEnvironment() {
  static auto* sources = new std::map<std::string, std::string, std::less<>>();
  return *sources;
}

ReplayState& Replay() {
  static ReplayState* state = new ReplayState();
  return *state;
}

absl::Status ApplyEnvironmentOnce() {
  std::vector<std::pair<std::string, bool>> flags;  // name, set explicitly
  {
    Registry& registry = Flags();
    std::lock_guard<std::mutex> lock(registry.mutex);
    for (const std::string& name : registry.names) {
      flags.emplace_back(name, registry.set_explicitly.at(name));
    }
  }
  for (const auto& [name, set_explicitly] : flags) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    if (set_explicitly) {
      // Abseil parses an empty value of an optional flag as "not set" and
      // would silently run with the default.
      if (flag->CurrentValue().empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, ": empty value; give a value or leave the flag out"));
      }
      continue;  // an explicit value beats the environment
    }
    const std::string variable = absl::AsciiStrToUpper(name);
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) continue;
    const std::string source = absl::StrCat(variable, "='", value, "'");
    if (*value == '\0') {
      return absl::InvalidArgumentError(absl::StrCat("environment variable ", source, " (--", name,
                                                     "): empty value; give a value or unset it"));
    }
    std::string error;
    applying_environment = true;
    const bool parsed = flag->ParseFrom(value, &error);
    applying_environment = false;
    if (!parsed) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", source, " (--", name, "): ", error));
    }
    FromEnvironment()[name] = source;
  }
  return absl::OkStatus();
}

// The checks of the flags defined here.
absl::Status ValidateCommonFlags() {
  if (auto seed = absl::GetFlag(FLAGS_lockstep_seed); seed && *seed != "random") {
    uint64_t parsed;
    if (!absl::SimpleAtoi(*seed, &parsed)) {
      return absl::InvalidArgumentError(
          absl::StrCat(FlagSource("lockstep_seed"),
                       ": expected an unsigned 64-bit number or 'random', got '", *seed, "'"));
    }
  }
  if (auto strategy = absl::GetFlag(FLAGS_lockstep_strategy)) {
    if (absl::StatusOr<StrategyKind> kind = ParseStrategyKind(*strategy); !kind.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(FlagSource("lockstep_strategy"), ": ", kind.status().message()));
    }
  }
  auto positive = [](const char* flag, std::optional<uint64_t> value) {
    if (value && *value == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(FlagSource(flag), ": must be at least 1, got 0"));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = positive("lockstep_iterations", absl::GetFlag(FLAGS_lockstep_iterations));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = positive("lockstep_max_steps", absl::GetFlag(FLAGS_lockstep_max_steps));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = positive("lockstep_pct_steps", absl::GetFlag(FLAGS_lockstep_pct_steps));
      !s.ok()) {
    return s;
  }
  if (auto depth = absl::GetFlag(FLAGS_lockstep_pct_depth)) {
    if (absl::Status s = positive("lockstep_pct_depth", *depth); !s.ok()) return s;
  }
  if (auto prefix = absl::GetFlag(FLAGS_lockstep_fair_prefix)) {
    if (absl::Status s = positive("lockstep_fair_prefix", *prefix); !s.ok()) return s;
  }
  if (auto budget = absl::GetFlag(FLAGS_lockstep_time_budget)) {
    if (*budget <= absl::ZeroDuration() || *budget == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat(FlagSource("lockstep_time_budget"),
                       ": must be a positive, finite duration such as 30s or 5m, got ",
                       absl::FormatDuration(*budget)));
    }
  }
  if (auto progress = absl::GetFlag(FLAGS_lockstep_progress)) {
    if (*progress < absl::ZeroDuration() || *progress == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat(FlagSource("lockstep_progress"),
                       ": must be a finite duration such as 10s, or 0 for none, got ",
                       absl::FormatDuration(*progress)));
    }
  }
  if (auto watchdog = absl::GetFlag(FLAGS_lockstep_watchdog)) {
    if (*watchdog < absl::Milliseconds(1) || *watchdog == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          FlagSource("lockstep_watchdog"), ": must be a finite duration of at least 1ms, got ",
          absl::FormatDuration(*watchdog)));
    }
  }
  if (auto stack = absl::GetFlag(FLAGS_lockstep_stack_size); stack && *stack < 16 * 1024) {
    return absl::InvalidArgumentError(absl::StrCat(FlagSource("lockstep_stack_size"),
                                                   ": must be at least 16384 bytes, got ", *stack));
  }
  if (auto accesses = absl::GetFlag(FLAGS_lockstep_accesses)) {
    if (absl::StatusOr<Accesses> parsed = ParseAccesses(*accesses); !parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(FlagSource("lockstep_accesses"), ": ", parsed.status().message()));
    }
  }
  if (auto races = absl::GetFlag(FLAGS_lockstep_races)) {
    if (absl::StatusOr<RaceMode> parsed = ParseRaceMode(*races); !parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(FlagSource("lockstep_races"), ": ", parsed.status().message()));
    }
  }
  if (absl::GetFlag(FLAGS_lockstep_trace_dir).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(FlagSource("lockstep_trace_dir"), ": must not be empty"));
  }
  return absl::OkStatus();
}

[[maybe_unused]] const bool kCommonFlagsRegistered = RegisterFlags(
    {"lockstep_seed",        "lockstep_iterations",       "lockstep_iteration",
     "lockstep_strategy",    "lockstep_pct_depth",        "lockstep_pct_steps",
     "lockstep_fair_prefix", "lockstep_spurious_wakeups", "lockstep_max_steps",
     "lockstep_time_budget", "lockstep_progress",         "lockstep_summary",
     "lockstep_replay",      "lockstep_shrink",           "lockstep_isolate",
     "lockstep_watchdog",    "lockstep_stack_size",       "lockstep_accesses",
     "lockstep_races",       "lockstep_trace_dir",        "lockstep_preemption_bound"},
    &ValidateCommonFlags);

}  // namespace

bool RegisterFlags(std::initializer_list<const char*> names, absl::Status (*validate)()) {
  Registry& registry = Flags();
  std::lock_guard<std::mutex> lock(registry.mutex);
  for (const char* name : names) {
    if (registry.set_explicitly.emplace(name, false).second) registry.names.emplace_back(name);
  }
  if (validate != nullptr) registry.validators.push_back(validate);
  return true;
}

std::vector<std::string> RegisteredFlags() {
  Registry& registry = Flags();
  std::lock_guard<std::mutex> lock(registry.mutex);
  return registry.names;
}

void NoteFlagSet(const char* name) {
  if (applying_environment) return;
  Registry& registry = Flags();
  std::lock_guard<std::mutex> lock(registry.mutex);
  auto it = registry.set_explicitly.find(std::string_view(name));
  if (it != registry.set_explicitly.end()) it->second = true;
}

std::string FlagSource(std::string_view flag) {
  auto it = FromEnvironment().find(flag);
  const std::string name(flag);  // Abseil's own string_view is not std's here
  if (it == FromEnvironment().end()) return "--" + name;
  return absl::StrCat(it->second, " (--", name, ")");
}

absl::Status ApplyEnvironment() {
  static std::once_flag once;
  static absl::Status* result = new absl::Status();
  std::call_once(once, [] { *result = ApplyEnvironmentOnce(); });
  return *result;
}

absl::Status ValidateFlags() {
  std::vector<absl::Status (*)()> validators;
  {
    Registry& registry = Flags();
    std::lock_guard<std::mutex> lock(registry.mutex);
    validators = registry.validators;
  }
  for (auto* validate : validators) {
    if (absl::Status status = validate(); !status.ok()) return status;
  }
  return ReplayTraceStatus();
}

Options EffectiveOptions(const Options& per_test) {
  Options options = per_test;
  // A numeric --lockstep_seed; 'random' is drawn per test by the runner.
  if (auto v = absl::GetFlag(FLAGS_lockstep_seed); v && *v != "random") {
    (void)absl::SimpleAtoi(*v, &options.seed);  // validated by ValidateFlags
  }
  if (auto v = absl::GetFlag(FLAGS_lockstep_iterations)) options.iterations = *v;
  if (auto v = absl::GetFlag(FLAGS_lockstep_iteration)) options.only_iteration = *v;
  if (auto v = absl::GetFlag(FLAGS_lockstep_pct_steps)) options.pct_step_estimate = *v;
  if (auto v = absl::GetFlag(FLAGS_lockstep_strategy)) {
    options.strategy = *ParseStrategyKind(*v);  // validated by ValidateFlags
  }
  if (auto v = absl::GetFlag(FLAGS_lockstep_pct_depth)) options.pct_depth = *v;
  if (auto v = absl::GetFlag(FLAGS_lockstep_fair_prefix)) options.fair_prefix = *v;
  if (auto v = absl::GetFlag(FLAGS_lockstep_preemption_bound)) options.preemption_bound = *v;
  if (auto v = absl::GetFlag(FLAGS_lockstep_spurious_wakeups)) options.spurious_wakeups = *v;
  if (auto v = absl::GetFlag(FLAGS_lockstep_max_steps)) options.max_steps = *v;
  if (auto v = absl::GetFlag(FLAGS_lockstep_time_budget)) {
    options.time_budget = absl::ToChronoNanoseconds(*v);
    if (!absl::GetFlag(FLAGS_lockstep_iterations)) options.iterations = UINT64_MAX;
  }
  options.progress_interval = absl::ToChronoMilliseconds(
      absl::GetFlag(FLAGS_lockstep_progress).value_or(absl::Seconds(10)));
  if (auto v = absl::GetFlag(FLAGS_lockstep_isolate)) options.isolate = *v;
  if (auto v = absl::GetFlag(FLAGS_lockstep_watchdog)) {
    options.watchdog = absl::ToChronoMilliseconds(*v);
  }
  if (auto v = absl::GetFlag(FLAGS_lockstep_stack_size)) options.stack_size = *v;
  // Validated by ValidateFlags.
  if (auto v = absl::GetFlag(FLAGS_lockstep_accesses)) options.accesses = *ParseAccesses(*v);
  if (auto v = absl::GetFlag(FLAGS_lockstep_races)) options.races = *ParseRaceMode(*v);
  return options;
}

absl::Status ReplayTraceStatus() {
  ReplayState& state = Replay();
  std::call_once(state.once, [&state] {
    const std::string path = absl::GetFlag(FLAGS_lockstep_replay);
    if (path.empty()) return;
    absl::StatusOr<Trace> trace = ReadTraceFile(path);
    if (!trace.ok()) {
      state.status =
          absl::Status(trace.status().code(),
                       absl::StrCat(FlagSource("lockstep_replay"), ": ", trace.status().message()));
      return;
    }
    state.trace = std::move(*trace);
  });
  return state.status;
}

const Trace* ReplayTrace() {
  if (!ReplayTraceStatus().ok()) return nullptr;
  const ReplayState& state = Replay();
  return state.trace ? &*state.trace : nullptr;
}

}  // namespace lockstep::gtest_internal
