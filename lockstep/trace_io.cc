#include "lockstep/trace_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "lockstep/internal/prng.h"
#include "lockstep/internal/temp_file.h"
#include "lockstep/internal/utf8.h"
#include "lockstep/trace.pb.h"

// Protobuf before version 22 logs through its own stubs, which can be
// silenced; later versions log through Abseil.
#if __has_include("google/protobuf/stubs/logging.h")
#include "google/protobuf/stubs/logging.h"
#define LOCKSTEP_HAVE_PROTOBUF_LOG_SILENCER 1
#endif

namespace lockstep {
namespace {

// Keeps protobuf from logging while it lives, where protobuf allows that.
struct QuietProtobuf {
#ifdef LOCKSTEP_HAVE_PROTOBUF_LOG_SILENCER
  google::protobuf::LogSilencer silencer;
#endif
};

// The checksum trailer: the key of field 100 with wire type fixed64
// (100 << 3 | 1 = 801, varint-encoded as A1 06), then 8 little-endian bytes.
constexpr unsigned char kTrailerTag[2] = {0xA1, 0x06};
constexpr size_t kTrailerSize = sizeof(kTrailerTag) + sizeof(uint64_t);
static_assert(Trace::kChecksumFieldNumber == 100, "the trailer tag bytes encode field 100");

// FNV-1a, 64-bit: small, dependency-free and good enough to catch
// truncation, bit rot and stray writes (not an adversary).
uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t hash = 0xCBF29CE484222325ull;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001B3ull;
  }
  return hash;
}

void AppendTrailer(uint64_t checksum, std::string& out) {
  out.push_back(static_cast<char>(kTrailerTag[0]));
  out.push_back(static_cast<char>(kTrailerTag[1]));
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>((checksum >> (8 * i)) & 0xFF));
  }
}

// `trace` (whose checksum must be unset) with deterministic serialization,
// so the same trace always gives the same bytes and the same checksum.
bool SerializeDeterministically(const Trace& trace, std::string& out) {
  out.clear();
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  const bool ok = trace.SerializeToCodedStream(&coded);
  coded.Trim();
  return ok && !coded.HadError();
}

// The file's bytes: the trace with checksum cleared, then the trailer.
absl::StatusOr<std::string> EncodeTraceFile(const Trace& trace) {
  std::string bytes;
  bool ok;
  if (trace.checksum() != 0) {
    Trace copy = trace;
    copy.clear_checksum();
    ok = SerializeDeterministically(copy, bytes);
  } else {
    ok = SerializeDeterministically(trace, bytes);
  }
  if (!ok) return absl::InternalError("cannot serialize the trace");
  AppendTrailer(Fnv1a64(bytes), bytes);
  return bytes;
}

// Abseil here is built with its own string_view type, which StrCat and
// Status take; the public API speaks std::string_view.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status OsError(int error_number, const std::string& path, absl::string_view what) {
  return absl::ErrnoToStatus(error_number, absl::StrCat(path, ": ", what));
}

std::string ThreadCount(int n) { return n == 1 ? "1 thread" : absl::StrCat(n, " threads"); }

std::string ObjectCount(int n) { return n == 1 ? "1 object" : absl::StrCat(n, " objects"); }

// "thread 7 is not in the thread table (3 threads)" style checks.
bool ThreadInTable(const Trace& trace, uint64_t thread) {
  return thread < static_cast<uint64_t>(trace.threads_size());
}

std::string NotAThread(const Trace& trace, absl::string_view what, uint64_t thread) {
  return absl::StrCat(what, " ", thread, " is not in the thread table (",
                      ThreadCount(trace.threads_size()), ")");
}

bool ObjectInTable(const Trace& trace, uint32_t object) {
  return object == 0 || object <= static_cast<uint32_t>(trace.objects_size());
}

std::string NotAnObject(const Trace& trace, absl::string_view what, uint32_t object) {
  return absl::StrCat(what, " ", object, " is not in the object table (",
                      ObjectCount(trace.objects_size()), ")");
}

absl::Status ValidateDecision(const Trace& trace, int index, const Decision& decision) {
  auto error = [index](absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat("decision ", index, ": ", message));
  };
  if (decision.kind() == Decision::KIND_UNSPECIFIED) {
    return error("kind is unspecified");
  }
  if (!Decision::Kind_IsValid(decision.kind())) {
    return error(absl::StrCat("unknown kind ", decision.kind()));
  }
  if (decision.options() < 1) {
    return error("options is 0 (a decision has at least 1 option)");
  }
  if (decision.kind() == Decision::CHOOSE) {
    if (decision.value() >= decision.options()) {
      return error(absl::StrCat("value ", decision.value(), " is out of range (",
                                decision.options(), " options)"));
    }
  } else if (trace.threads_size() > 0 && !ThreadInTable(trace, decision.value())) {
    return error(NotAThread(trace, "scheduled thread", decision.value()));
  }
  return absl::OkStatus();
}

absl::Status ValidateEvent(const Trace& trace, int index, const Event& event,
                           const Event* previous) {
  auto error = [index](absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat("event ", index, ": ", message));
  };
  if (!ThreadInTable(trace, event.thread())) {
    return error(NotAThread(trace, "thread", event.thread()));
  }
  if (!ObjectInTable(trace, event.object())) {
    return error(NotAnObject(trace, "object", event.object()));
  }
  if (event.woken_thread_plus_one() != 0 &&
      !ThreadInTable(trace, event.woken_thread_plus_one() - 1u)) {
    return error(NotAThread(trace, "woken thread", event.woken_thread_plus_one() - 1u));
  }
  if (!MemoryOrder_IsValid(event.order())) {
    return error(absl::StrCat("unknown memory order ", event.order()));
  }
  if (previous != nullptr && event.step() < previous->step()) {
    return error(absl::StrCat("step ", event.step(), " is before the previous event's step ",
                              previous->step()));
  }
  return absl::OkStatus();
}

absl::Status ValidateFailure(const Trace& trace, const Failure& failure) {
  auto error = [](absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat("failure: ", message));
  };
  if (failure.kind() == Failure::KIND_UNSPECIFIED) {
    return error("kind is unspecified");
  }
  if (!Failure::Kind_IsValid(failure.kind())) {
    return error(absl::StrCat("unknown kind ", failure.kind()));
  }
  if (!ThreadInTable(trace, failure.thread())) {
    return error(NotAThread(trace, "thread", failure.thread()));
  }
  for (int i = 0; i < failure.blocked_size(); ++i) {
    const BlockedThread& blocked = failure.blocked(i);
    if (!ThreadInTable(trace, blocked.thread())) {
      return error(
          absl::StrCat("blocked ", i, ": ", NotAThread(trace, "thread", blocked.thread())));
    }
    if (!ObjectInTable(trace, blocked.object())) {
      return error(
          absl::StrCat("blocked ", i, ": ", NotAnObject(trace, "object", blocked.object())));
    }
  }
  for (int i = 0; i < failure.race_size(); ++i) {
    if (!ThreadInTable(trace, failure.race(i).thread())) {
      return error(absl::StrCat("race access ", i, ": ",
                                NotAThread(trace, "thread", failure.race(i).thread())));
    }
  }
  if (failure.kind() == Failure::DATA_RACE && failure.race_size() != 2) {
    return error(absl::StrCat("a data race names 2 accesses, not ", failure.race_size()));
  }
  return absl::OkStatus();
}

// Collects text-format parse errors as "line:column: message" (1-based).
class TextErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    errors_.push_back(absl::StrCat(line + 1, ":", column + 1, ": ", message));
  }

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

// Closes `fd` on scope exit unless released.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Closes now; returns 0 or the errno of close().
  int Close() {
    const int fd = std::exchange(fd_, -1);
    return ::close(fd) == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
// Returns 0 or an errno value.
int WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

// Reads the whole of `path`. Errors name the path and carry strerror.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return OsError(errno, path, "cannot open");
  FdCloser closer(fd);
  std::string bytes;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError(errno, path, "cannot read");
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
  }
  return bytes;
}

}  // namespace

absl::Status ValidateTrace(const Trace& trace) {
  if (trace.format_version() != kTraceFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("trace format version ", trace.format_version(),
                     " is not supported: this build of Lockstep reads version ",
                     kTraceFormatVersion, "; the trace was written by ",
                     trace.format_version() > kTraceFormatVersion
                         ? "a newer Lockstep"
                         : "an older Lockstep (or has no format_version)"));
  }
  if (trace.runner() == RUNNER_UNSPECIFIED) {
    return absl::InvalidArgumentError("runner is unspecified");
  }
  if (!RunnerKind_IsValid(trace.runner())) {
    return absl::InvalidArgumentError(absl::StrCat("unknown runner ", trace.runner()));
  }
  if (trace.strategy().name().empty()) {
    return absl::InvalidArgumentError("strategy name is empty");
  }
  for (int i = 0; i < trace.threads_size(); ++i) {
    const ThreadInfo& thread = trace.threads(i);
    if (thread.id() != static_cast<uint32_t>(i)) {
      return absl::InvalidArgumentError(absl::StrCat("thread table entry ", i, ": id is ",
                                                     thread.id(), ", expected ", i,
                                                     " (thread ids are 0..n-1 in order)"));
    }
    if (!ThreadInTable(trace, thread.parent())) {
      return absl::InvalidArgumentError(absl::StrCat("thread table entry ", i, ": ",
                                                     NotAThread(trace, "parent", thread.parent())));
    }
  }
  for (int i = 0; i < trace.objects_size(); ++i) {
    const ObjectInfo& object = trace.objects(i);
    if (object.id() != static_cast<uint32_t>(i) + 1) {
      return absl::InvalidArgumentError(absl::StrCat("object table entry ", i, ": id is ",
                                                     object.id(), ", expected ", i + 1,
                                                     " (object ids are 1..m in order)"));
    }
  }
  for (int i = 0; i < trace.decisions_size(); ++i) {
    if (absl::Status s = ValidateDecision(trace, i, trace.decisions(i)); !s.ok()) {
      return s;
    }
  }
  for (int i = 0; i < trace.events_size(); ++i) {
    if (absl::Status s =
            ValidateEvent(trace, i, trace.events(i), i > 0 ? &trace.events(i - 1) : nullptr);
        !s.ok()) {
      return s;
    }
  }
  if (trace.has_failure()) {
    if (absl::Status s = ValidateFailure(trace, trace.failure()); !s.ok()) {
      return s;
    }
  }
  if (trace.runner() == RUNNER_CONTROLLED) {
    const uint64_t expected = internal::IterationSeed(trace.base_seed(), trace.iteration());
    if (trace.iteration_seed() != expected) {
      return absl::InvalidArgumentError(
          absl::StrFormat("iteration_seed %#x does not match base_seed %#x and iteration %d "
                          "(expected %#x)",
                          trace.iteration_seed(), trace.base_seed(), trace.iteration(), expected));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Trace> ReadTraceFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  if (bytes->empty()) {
    return absl::DataLossError(absl::StrCat(path, ": empty file"));
  }
  const std::string_view all = *bytes;
  if (all.size() < kTrailerSize ||
      static_cast<unsigned char>(all[all.size() - kTrailerSize]) != kTrailerTag[0] ||
      static_cast<unsigned char>(all[all.size() - kTrailerSize + 1]) != kTrailerTag[1]) {
    return absl::DataLossError(
        absl::StrCat(path, ": truncated or not a Lockstep trace (no checksum trailer)"));
  }
  uint64_t stored = 0;
  for (int i = 7; i >= 0; --i) {
    stored =
        (stored << 8) | static_cast<unsigned char>(all[all.size() - 8 + static_cast<size_t>(i)]);
  }
  if (Fnv1a64(all.substr(0, all.size() - kTrailerSize)) != stored) {
    return absl::DataLossError(absl::StrCat(path, ": corrupt (checksum mismatch)"));
  }
  Trace trace;
  bool parsed;
  {
    // Quiet: protobuf logs an error for a string that is not UTF-8, which
    // the second attempt below reads after all.
    QuietProtobuf quiet;
    parsed = trace.ParseFromString(*bytes);
  }
  // Earlier writers stored text from user code as it came, not always UTF-8:
  // escape what is not UTF-8 rather than refuse the whole trace.
  if (!parsed) parsed = internal::ParseEscapingInvalidUtf8(*bytes, &trace);
  if (!parsed) {
    return absl::DataLossError(absl::StrCat(path, ": not a valid Trace protobuf"));
  }
  trace.clear_checksum();
  if (absl::Status s = ValidateTrace(trace); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  }
  return trace;
}

absl::Status WriteTraceFile(const Trace& trace, const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("cannot write a trace to an empty path");
  }
  if (absl::Status s = ValidateTrace(trace); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": refusing to write an invalid trace: ", s.message()));
  }
  // Strings that are not UTF-8 would make the file unreadable (protobuf
  // refuses them when parsing): escape them in a copy.
  absl::StatusOr<std::string> bytes;
  if (internal::StringsAreValidUtf8(trace)) {
    bytes = EncodeTraceFile(trace);
  } else {
    Trace escaped = trace;
    internal::MakeStringsValidUtf8(&escaped);
    bytes = EncodeTraceFile(escaped);
  }
  if (!bytes.ok()) {
    return absl::Status(bytes.status().code(), absl::StrCat(path, ": ", bytes.status().message()));
  }

  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return OsError(ec.value(), path,
                     absl::StrCat("cannot create directory '", parent.string(), "'"));
    }
  }

  // Temporary files of writers that were killed mid-write would pile up
  // (a trace can be large): the next writer into the directory removes them.
  internal::RemoveStaleTempFiles(parent.string());

  static std::atomic<uint64_t> counter{0};
  const internal::TempFileWriter writer = internal::ThisTempFileWriter();
  std::string temp;
  int fd = -1;
  // A name can be taken only by a file the cleanup left alone (a reused PID
  // whose start time is unknown, say): then the next counter value is used.
  for (int attempt = 0; fd < 0; ++attempt) {
    temp = internal::TempFilePath(path, writer, counter.fetch_add(1));
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && (errno != EEXIST || attempt == 100)) {
      return OsError(errno, path, absl::StrCat("cannot create temporary file '", temp, "'"));
    }
  }
  FdCloser closer(fd);
  auto fail = [&](int error_number, absl::string_view what) {
    closer.Close();
    ::unlink(temp.c_str());
    return OsError(error_number, path, absl::StrCat(what, " temporary file '", temp, "'"));
  };
  if (const int error_number = WriteAll(fd, *bytes); error_number != 0) {
    return fail(error_number, "cannot write");
  }
  if (::fsync(fd) != 0) return fail(errno, "cannot fsync");
  if (const int error_number = closer.Close(); error_number != 0) {
    ::unlink(temp.c_str());
    return OsError(error_number, path, absl::StrCat("cannot close temporary file '", temp, "'"));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int error_number = errno;
    ::unlink(temp.c_str());
    return OsError(error_number, path,
                   absl::StrCat("cannot rename temporary file '", temp, "' to it"));
  }
  // Make the rename itself durable. Best effort: the trace is in place
  // already, and a failure here does not make the file any less complete.
  const std::string dir = parent.empty() ? "." : parent.string();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return absl::OkStatus();
}

absl::Status CheckTraceIsFor(const Trace& trace, std::string_view suite, std::string_view name) {
  if (trace.test_suite() == suite && trace.test_name() == name) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat("the trace is from test ", trace.test_suite(),
                                                    ".", trace.test_name(), ", not ",
                                                    AbslView(suite), ".", AbslView(name)));
}

std::string TraceToText(const Trace& trace) {
  google::protobuf::TextFormat::Printer printer;
  printer.SetUseUtf8StringEscaping(true);
  // The text parser cannot read unknown fields back (they are printed by
  // number, with guessed types), so they are left out.
  printer.SetHideUnknownFields(true);
  std::string text;
  if (trace.checksum() != 0) {
    Trace copy = trace;
    copy.clear_checksum();
    printer.PrintToString(copy, &text);
  } else {
    printer.PrintToString(trace, &text);
  }
  return text;
}

absl::StatusOr<Trace> TraceFromText(std::string_view text) {
  google::protobuf::TextFormat::Parser parser;
  TextErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  Trace trace;
  if (!parser.ParseFromString(std::string(text), &trace)) {
    if (errors.errors().empty()) {
      return absl::InvalidArgumentError("not a valid Trace in text format");
    }
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid Trace in text format: ", absl::StrJoin(errors.errors(), "; ")));
  }
  trace.clear_checksum();
  // Text format escapes such as "\377" can spell bytes that are not UTF-8.
  internal::MakeStringsValidUtf8(&trace);
  if (absl::Status s = ValidateTrace(trace); !s.ok()) return s;
  return trace;
}

std::string_view FailureKindName(Failure::Kind kind) {
  switch (kind) {
    case Failure::KIND_UNSPECIFIED:
      return "unspecified";
    case Failure::ASSERTION:
      return "assertion";
    case Failure::EXCEPTION:
      return "exception";
    case Failure::DEADLOCK:
      return "deadlock";
    case Failure::STEP_LIMIT:
      return "step limit";
    case Failure::UNJOINED_THREADS:
      return "unjoined threads";
    case Failure::MISUSE:
      return "misuse";
    case Failure::NONDETERMINISM:
      return "nondeterminism";
    case Failure::CRASH:
      return "crash";
    case Failure::TIMEOUT:
      return "timeout";
    case Failure::EXIT:
      return "exit";
    case Failure::DATA_RACE:
      return "data race";
    case Failure::NOT_LINEARIZABLE:
      return "not linearizable";
    default:
      return "unknown";
  }
}

Trace TraceHeader(const Trace& trace) {
  Trace header = trace;
  header.clear_decisions();
  header.clear_threads();
  header.clear_objects();
  header.clear_events();
  header.clear_failure();
  header.clear_shrink();
  header.clear_checksum();
  return header;
}

bool SameFailure(const Failure& a, const Failure& b) {
  return a.kind() == b.kind() && a.location().file() == b.location().file() &&
         a.location().line() == b.location().line();
}

}  // namespace lockstep
