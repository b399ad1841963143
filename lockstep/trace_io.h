// Reading, writing, validating and printing Lockstep trace files.
//
// A trace file (`*.lockstep`) is a serialized `lockstep::Trace` (see
// trace.proto) followed by one more field, `Trace.checksum` (field 100,
// fixed64): the FNV-1a 64-bit hash of every byte before it. The file as a
// whole is therefore still a valid `Trace` protobuf, so generic protobuf
// tooling can read it, while a truncated, overwritten or unrelated file is
// recognized before it is parsed:
//
//   [ Trace, deterministic serialization, checksum unset ][ A1 06 ][ 8 bytes ]
//                                                          tag 100  little-endian
//
// Readers validate everything and report problems as `absl::Status` errors
// whose messages start with the file's path; a broken file never crashes the
// reader. Writers replace the destination atomically, so a reader never sees
// a partially written trace.
//
// Text from user code (failure messages, names, details, source locations)
// may hold any bytes, while protobuf refuses to parse a `string` field that
// is not UTF-8. So every string a writer stores is valid UTF-8: bytes that
// are not are escaped as `\xNN` (see internal/utf8.h), and a written trace
// always reads back.
//
// The text form (`TraceToText`, `TraceFromText`) is protobuf text format; it
// is what golden files in testdata/ hold.
#ifndef LOCKSTEP_TRACE_IO_H_
#define LOCKSTEP_TRACE_IO_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lockstep/trace.pb.h"

namespace lockstep {

// The `Trace.format_version` this build writes and the only one it reads.
// Bumped whenever a change to trace.proto changes the meaning of existing
// fields; adding a field does not bump it.
inline constexpr uint32_t kTraceFormatVersion = 1;

// Checks that `trace` is structurally sound, so that code printing or
// replaying it may index its tables without further checks:
//
//  * `format_version` is `kTraceFormatVersion` (else FailedPrecondition,
//    saying which version the trace has, which one this build reads, and
//    whether a newer or an older Lockstep wrote it);
//  * `runner` is a known value other than RUNNER_UNSPECIFIED;
//  * `strategy.name` is not empty;
//  * every decision has a known kind other than KIND_UNSPECIFIED and
//    `options >= 1`; a CHOOSE decision has `value < options`, a SCHEDULE
//    decision (whose value is a thread id) has `value < threads_size()`
//    when the thread table is not empty;
//  * the thread table holds ids 0..n-1 in order, and each parent is in it;
//  * the object table holds ids 1..m in order;
//  * every event's thread is in the thread table, its object is 0 or in the
//    object table, its woken thread (if any) is in the thread table, and
//    steps never decrease from one event to the next;
//  * a present failure (`has_failure()`) has a known kind other than
//    KIND_UNSPECIFIED, its thread is in the thread table, and so are the
//    threads and objects of its blocked-thread list;
//  * for RUNNER_CONTROLLED traces,
//    `iteration_seed == internal::IterationSeed(base_seed, iteration)`.
//
// Returns OK or the first violation found, as InvalidArgument (or
// FailedPrecondition for the version) with a message naming the offending
// element by its index, e.g.
//   "event 12: thread 7 is not in the thread table (3 threads)".
absl::Status ValidateTrace(const Trace& trace);

// Reads, checks and parses the trace file at `path`.
//
// Errors, each message starting with `path` (e.g.
// "foo.lockstep: corrupt (checksum mismatch)"):
//  * the file is missing or unreadable: the code matching errno (NotFound,
//    PermissionDenied, ...), the message includes strerror;
//  * the file is empty: DataLoss, "empty file";
//  * it does not end with a checksum trailer: DataLoss,
//    "truncated or not a Lockstep trace (no checksum trailer)";
//  * the checksum does not match: DataLoss, "corrupt (checksum mismatch)";
//  * the bytes are not a Trace: DataLoss, "not a valid Trace protobuf";
//  * `ValidateTrace` fails: its code and message.
// The returned trace has `checksum` cleared, so it compares equal to the
// trace that was written. A string field that is not valid UTF-8 (from a
// writer that did not escape them) does not make the file unreadable: it is
// read with the offending bytes escaped as `\xNN`. Fields this build does not
// know (from a newer schema) are kept as unknown fields.
absl::StatusOr<Trace> ReadTraceFile(const std::string& path);

// Writes `trace` to `path` atomically, in the format `ReadTraceFile` reads.
//
// Creates missing parent directories, writes to a temporary file in the
// destination's directory (`path` + ".tmp-" + pid + "-" + start time + "-" +
// counter + "-" + host, see internal/temp_file.h), flushes and fsyncs it,
// then renames it over `path`. Either `path` afterwards holds the complete
// new trace, or it is left as it was and the temporary file is removed; the
// returned status then names the path and the OS error. Before writing, it
// removes the temporary files that writers killed mid-write left in the
// directory (`internal::RemoveStaleTempFiles`), never one of a running
// process.
//
// The trace is written as given, with two exceptions: its `checksum` field is
// computed here, and string fields that are not valid UTF-8 are written
// escaped (`internal::ValidUtf8`; `trace` itself is not changed). A trace
// that fails `ValidateTrace` is refused with InvalidArgument and nothing is
// written, so a broken trace never reaches disk.
absl::Status WriteTraceFile(const Trace& trace, const std::string& path);

// Returns OK if `trace` was recorded by the test `suite`.`name`, else
// FailedPrecondition "the trace is from test A.B, not C.D". Guards replay
// against feeding one test's schedule to another.
absl::Status CheckTraceIsFor(const Trace& trace, std::string_view suite, std::string_view name);

// The protobuf text form of `trace`, for golden files and for reading by
// people: fields in field-number order, strings as UTF-8, the `checksum`
// field omitted. The output depends only on the trace's contents.
// Unknown fields (read from a trace a newer schema wrote) are omitted too:
// text format can show them only by number with guessed types, and
// `TraceFromText` could not read them back. `TraceFromText(TraceToText(t))`
// therefore gives `t` without its unknown fields.
std::string TraceToText(const Trace& trace);

// Parses the text form written by `TraceToText` (any protobuf text format of
// a Trace), then validates it with `ValidateTrace`. A syntax error is
// InvalidArgument listing every problem as "line:column: message" (1-based).
// A `checksum` given in the text is ignored. String fields that text escapes
// (such as "\377") make invalid UTF-8 are escaped as by `WriteTraceFile`.
absl::StatusOr<Trace> TraceFromText(std::string_view text);

// A short lower-case name of a failure kind for messages: "assertion",
// "exception", "deadlock", "step limit", "unjoined threads", "misuse",
// "nondeterminism", "crash", "timeout"; "unspecified" for KIND_UNSPECIFIED
// and "unknown" for values outside the enum.
std::string_view FailureKindName(Failure::Kind kind);

// The header of `trace`: test identity, runner, strategy, seeds and limits,
// without the decisions and without what a run records (threads, objects,
// events, failure, shrink counts). The start of a trace for a re-run.
Trace TraceHeader(const Trace& trace);

// Whether two failures count as the same bug: same kind and same source
// location (file and line). Replay verdicts and shrinking use it.
bool SameFailure(const Failure& a, const Failure& b);

}  // namespace lockstep

#endif  // LOCKSTEP_TRACE_IO_H_
