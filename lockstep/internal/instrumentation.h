// How instrumented code (compiled with -fsanitize=thread and linked with
// lockstep/instrument) takes part in runs: the settings the runners give it
// and the racing instructions the race detector learns.
//
// Racy sites: with accesses = racy, an instruction found in a data race
// becomes a scheduling point from the next iteration on. The table is
// shared by the processes of a run (mapped before isolation forks), so what
// a forked explorer or iteration learns, later ones see; a site counts in
// iteration i when it was found in an earlier one, so an iteration runs the
// same again when re-executed or replayed (a trace lists its sites).
#ifndef LOCKSTEP_INTERNAL_INSTRUMENTATION_H_
#define LOCKSTEP_INTERNAL_INSTRUMENTATION_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "lockstep/options.h"
#include "lockstep/trace.pb.h"

namespace lockstep::internal {

class Instrumentation {
 public:
  // True when lockstep/instrument is linked into the binary.
  static bool Linked() { return linked_; }
  static void SetLinked() { linked_ = true; }

  // A run starts (before it forks): its settings, and no sites learned yet;
  // a replay of `replay` runs with its accesses level and sites.
  static void BeginRun(Accesses accesses, RaceMode races, const Trace* replay);
  // Iteration `iteration`'s trace gets the accesses level and the sites
  // that counted in it (when instrumented code is linked).
  static void Describe(uint64_t iteration, Trace* trace);
  static Accesses accesses() { return accesses_; }
  static RaceMode races() { return races_; }
  // Whether runs keep happens-before for race detection.
  static bool DetectRaces() {
    return linked_ && (races_ != RaceMode::kIgnore || accesses_ == Accesses::kRacy);
  }

  // Iteration `iteration` starts in this process: sites found before count.
  static void BeginIteration(uint64_t iteration) { iteration_ = iteration; }
  static uint64_t iteration() { return iteration_; }
  // Is `pc` a scheduling point in this iteration? (accesses = racy)
  static bool IsRacySite(uintptr_t pc);
  // The detector found `pc` racing in this iteration; false if known.
  static bool AddRacySite(uintptr_t pc);

 private:
  static bool linked_;
  static Accesses accesses_;
  static RaceMode races_;
  static uint64_t iteration_;
};

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_INSTRUMENTATION_H_
