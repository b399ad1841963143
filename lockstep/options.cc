// Names of the exploration strategies, as used by flags, traces and
// messages, and the checks of the options every runner shares.
#include "lockstep/options.h"

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace lockstep {
namespace {

// Every kind, in the order the error message lists them.
constexpr StrategyKind kAllKinds[] = {
    StrategyKind::kRandom, StrategyKind::kPct, StrategyKind::kFairPct, StrategyKind::kPos,
    StrategyKind::kIdPct,  StrategyKind::kDfs, StrategyKind::kDpor,
};

}  // namespace

std::string_view StrategyKindName(StrategyKind kind) {
  switch (kind) {
    case StrategyKind::kRandom:
      return "random";
    case StrategyKind::kPct:
      return "pct";
    case StrategyKind::kFairPct:
      return "fair_pct";
    case StrategyKind::kPos:
      return "pos";
    case StrategyKind::kIdPct:
      return "idpct";
    case StrategyKind::kDfs:
      return "dfs";
    case StrategyKind::kDpor:
      return "dpor";
  }
  // Only reachable through a value cast from outside the enum's range.
  return "unknown";
}

absl::StatusOr<StrategyKind> ParseStrategyKind(std::string_view name) {
  // Exact, case-sensitive match: these strings also appear in traces, and one
  // spelling per strategy keeps flags, traces and docs consistent.
  for (StrategyKind kind : kAllKinds) {
    if (StrategyKindName(kind) == name) return kind;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown lockstep strategy \"", absl::string_view(name.data(), name.size()),
                   "\"; accepted names: random, pct, fair_pct, pos, idpct, dfs, dpor"));
}

namespace {

// Exact match of `name` among `names` (indexed by enum value); the error
// names `what` and lists them.
template <typename E, size_t N>
absl::StatusOr<E> ParseName(std::string_view name, const char* what,
                            const std::string_view (&names)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  std::string accepted;
  for (std::string_view n : names) {
    absl::StrAppend(&accepted, accepted.empty() ? "" : ", ", std::string(n));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown lockstep ", what, " \"",
                                                 std::string(name), "\"; accepted: ", accepted));
}

constexpr std::string_view kAccessesNames[] = {"none", "racy", "all"};
constexpr std::string_view kRaceModeNames[] = {"fail", "report", "ignore"};

}  // namespace

std::string_view AccessesName(Accesses accesses) {
  return kAccessesNames[static_cast<int>(accesses)];
}
absl::StatusOr<Accesses> ParseAccesses(std::string_view name) {
  return ParseName<Accesses>(name, "accesses level", kAccessesNames);
}
std::string_view RaceModeName(RaceMode mode) { return kRaceModeNames[static_cast<int>(mode)]; }
absl::StatusOr<RaceMode> ParseRaceMode(std::string_view name) {
  return ParseName<RaceMode>(name, "races mode", kRaceModeNames);
}

bool IsExhaustive(StrategyKind kind) {
  return kind == StrategyKind::kDfs || kind == StrategyKind::kDpor;
}

absl::Status ValidateExploration(const Options& options) {
  if (options.iterations == 0) return absl::InvalidArgumentError("iterations must be >= 1");
  if (options.max_steps == 0) return absl::InvalidArgumentError("max_steps must be >= 1");
  if (options.time_budget.count() < 0) {
    return absl::InvalidArgumentError("time_budget must not be negative");
  }
  if (options.progress_interval.count() < 0) {
    return absl::InvalidArgumentError("progress_interval must not be negative");
  }
  if (options.watchdog.count() <= 0) return absl::InvalidArgumentError("watchdog must be > 0");
  if (options.shard.count == 0 || options.shard.index >= options.shard.count) {
    return absl::InvalidArgumentError(absl::StrCat("shard ", options.shard.index, " of ",
                                                   options.shard.count, " does not exist"));
  }
  if (options.preemption_bound && options.strategy != StrategyKind::kDfs) {
    return absl::InvalidArgumentError(absl::StrCat(
        "preemption_bound applies to the dfs strategy only, not ",
        std::string(StrategyKindName(options.strategy)),
        (options.strategy == StrategyKind::kDpor
             ? " (dpor explores every equivalence class of schedules; a bound would make it "
               "miss some)"
             : "")));
  }
  return absl::OkStatus();
}

}  // namespace lockstep
