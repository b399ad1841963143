// Names of the exploration strategies, as used by flags, traces and messages.
#include "lockstep/options.h"

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace lockstep {
namespace {

// Every kind, in the order the error message lists them.
constexpr StrategyKind kAllKinds[] = {
    StrategyKind::kRandom, StrategyKind::kPct,   StrategyKind::kFairPct,
    StrategyKind::kPos,    StrategyKind::kIdPct,
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
                   "\"; accepted names: random, pct, fair_pct, pos, idpct"));
}

}  // namespace lockstep
