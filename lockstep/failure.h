// Reporting failures from inside a Lockstep run.
#ifndef LOCKSTEP_FAILURE_H_
#define LOCKSTEP_FAILURE_H_

#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>

#include "lockstep/trace.pb.h"

namespace lockstep {

// Thrown by Lockstep's API when it is used where it cannot work, e.g. a
// primitive used outside any run. (Misuse inside a run is reported as a
// MISUSE failure of the iteration instead.)
class UsageError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// True while the calling code runs inside a logical thread of a run.
bool InRun();

// Reports a failure of the current iteration: it becomes the iteration's
// failure (if it is the first), exploration stops, and the calling logical
// thread stops right here: it never returns, and no destructor of the failed
// iteration runs (see the guide's "Failures" section). Outside a run it
// prints the message and calls std::abort().
void ReportFailure(Failure::Kind kind, std::string_view message,
                   std::source_location location = std::source_location::current());

// The same with a location given as file and line (assertion frameworks
// carry these). `file` may be null.
void ReportFailure(Failure::Kind kind, std::string_view message, const char* file, int line);

// Records the failure and returns; the iteration ends at the calling
// thread's next scheduling point (or when it finishes). For hooks that run
// inside locks of their own, such as an assertion framework's reporter.
void RecordFailure(Failure::Kind kind, std::string_view message, const char* file, int line);

}  // namespace lockstep

// Fails the current iteration with an ASSERTION failure when `condition` is
// false. Usable in any logical thread; outside a run it aborts.
#define LOCKSTEP_CHECK(condition)                                         \
  do {                                                                    \
    if (!(condition)) {                                                   \
      ::lockstep::ReportFailure(::lockstep::Failure::ASSERTION,           \
                                "LOCKSTEP_CHECK(" #condition ") failed"); \
    }                                                                     \
  } while (false)

// As LOCKSTEP_CHECK, with an explanation appended to the message.
#define LOCKSTEP_CHECK_MSG(condition, message)                                 \
  do {                                                                         \
    if (!(condition)) {                                                        \
      ::lockstep::ReportFailure(                                               \
          ::lockstep::Failure::ASSERTION,                                      \
          std::string("LOCKSTEP_CHECK(" #condition ") failed: ") + (message)); \
    }                                                                          \
  } while (false)

#endif  // LOCKSTEP_FAILURE_H_
