// What the in-process and the isolated controlled runner share.
#ifndef LOCKSTEP_INTERNAL_RUN_SUPPORT_H_
#define LOCKSTEP_INTERNAL_RUN_SUPPORT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lockstep/internal/controller.h"
#include "lockstep/options.h"
#include "lockstep/run.h"
#include "lockstep/strategy/strategy.h"
#include "lockstep/trace.pb.h"

namespace lockstep::internal {

// The controller settings of an exploration, and of a replay of `recorded`.
Controller::Settings ExploreSettings(const Options& options);
Controller::Settings ReplaySettings(const Options& options, const Trace& recorded);

// The header of the trace of iteration `iteration` of a run with `options`.
Trace HeaderFromOptions(const Options& options, uint64_t iteration, uint64_t seed,
                        StrategyConfig strategy);

void AddDecisions(const std::vector<DecisionRecord>& decisions, Trace* trace);

// "passed", or "failed with deadlock: ...".
std::string Describe(const std::optional<Failure>& failure);

// The failure to report once the failing iteration was re-executed to
// record its events: the re-execution's (it has them) when it failed the
// same way, else the original with a note saying what the re-execution did
// (`described`, e.g. "passed").
Failure ReportedFailure(const Failure& original, std::optional<Failure> again,
                        const std::string& described);

// Runner::Run with process isolation (Options::isolate).
RunResult RunIsolated(const std::function<void()>& body, const Options& options,
                      Strategy& strategy);

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_RUN_SUPPORT_H_
