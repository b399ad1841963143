// The views of a Lockstep trace that `lockstep_trace` prints: text, Chrome
// Trace Event JSON, a self-contained HTML timeline, the causal slice of a
// failure and the first difference between two schedules.
//
// Every function takes a trace that passed `lockstep::ValidateTrace` (as
// `ReadTraceFile` returns it) and produces output that depends only on the
// trace's contents, so it can be compared against golden files.
#ifndef LOCKSTEP_TOOLS_LOCKSTEP_TRACE_LIB_H_
#define LOCKSTEP_TOOLS_LOCKSTEP_TRACE_LIB_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "lockstep/trace.pb.h"

namespace lockstep::trace_tool {

// "t1 'worker'" (or "t1" for an unnamed thread).
std::string ThreadLabel(const Trace& trace, uint32_t thread);

// The object's name from the object table, else "#id"; "" for object 0.
std::string ObjectLabel(const Trace& trace, uint32_t object);

// The index of the event the failure happened at: the last event at the
// failure's step on the failure's thread. nullopt when there is no failure
// or no such event (e.g. a deadlock reported where a thread blocked).
std::optional<int> FailingEvent(const Trace& trace);

// The header of `print`: test, runner, strategy and parameters, seeds,
// iteration, failure. Each line ends with '\n'.
std::string FormatHeader(const Trace& trace);

// The full `print` output: header, one line per event (context switches
// marked "=>", the failing event marked "<== FAILURE"), then the failure.
std::string FormatTrace(const Trace& trace);

// Indexes (ascending) of the events the event at `target_step` (the last
// event at that step; default: the failing event) causally depends on,
// including itself: program order, lock hand-offs, wake-ups, messages,
// atomic reads-from, joins and spawns. For a deadlock without a `step`, the
// last event of every blocked thread is a target too. NotFound when no event
// is at `step`, FailedPrecondition when the trace has no failure and no
// step is given.
absl::StatusOr<std::vector<int>> SliceEvents(const Trace& trace, std::optional<uint64_t> step);

// `slice` output: the header, the kept events in `print` format, the failure
// and "kept K of N events".
std::string FormatSlice(const Trace& trace, const std::vector<int>& kept);

// Chrome Trace Event JSON ({"traceEvents": [...]}): one track per thread,
// each event a complete slice, the failure an instant event, wake-ups and
// messages as flow arrows.
std::string ExportChrome(const Trace& trace);

// One self-contained HTML page drawing the threads as swimlanes.
std::string ExportHtml(const Trace& trace);

// Where the schedules of `a` and `b` first differ, or "identical schedules".
std::string DiffTraces(const Trace& a, const Trace& b);

// Pairs each mailbox receive with the send it took its message from, in
// order per mailbox: result[recv index] = send index (-1 if none).
std::vector<int> MatchMessages(const Trace& trace);

// The fields of `trace` this build does not know (unknown fields, from a
// newer schema), e.g. "field 23 of Trace, field 11 of Event (3 times)";
// "" when there are none. `text` and `json` leave them out and say so.
std::string UnknownFieldsSummary(const google::protobuf::Message& trace);

// `s` as a JSON string literal, quotes included.
std::string JsonString(const std::string& s);

}  // namespace lockstep::trace_tool

#endif  // LOCKSTEP_TOOLS_LOCKSTEP_TRACE_LIB_H_
