#include "lockstep/trace_io.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "lockstep/internal/prng.h"
#include "lockstep/internal/temp_file.h"
#include "lockstep/internal/utf8.h"
#include "lockstep/options.h"
#include "lockstep/run.h"
#include "lockstep/thread.h"
#include "lockstep/trace.pb.h"

namespace lockstep {
namespace {

namespace fs = std::filesystem;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr char kGoldenPath[] = "lockstep/testdata/deadlock_trace.txtpb";

// --- Helpers ---------------------------------------------------------------

// A fresh, empty directory for one test.
std::string FreshDir() {
  const testing::TestInfo* info = testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info->name();
  std::replace(name.begin(), name.end(), '/', '_');  // parameterized tests
  std::string tmpl = absl::StrCat(testing::TempDir(), "/trace_io_", name, "_XXXXXX");
  EXPECT_NE(::mkdtemp(tmpl.data()), nullptr) << tmpl;
  return tmpl;
}

// Status messages are absl::string_view, which gmock's string matchers do not
// take when Abseil does not alias std::string_view.
std::string Msg(const absl::Status& status) { return std::string(status.message()); }

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// An independent implementation of the file format (trace_io.h), so the
// tests pin the format itself, not just "what the writer does".
uint64_t Fnv1a64(const std::string& bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string WithTrailer(std::string payload) {
  const uint64_t sum = Fnv1a64(payload);
  payload += "\xA1\x06";
  for (int i = 0; i < 8; ++i) {
    payload.push_back(static_cast<char>((sum >> (8 * i)) & 0xFF));
  }
  return payload;
}

std::string Serialize(const Trace& trace) {
  std::string bytes;
  EXPECT_TRUE(trace.SerializeToString(&bytes));
  return bytes;
}

// A small, valid, complete trace: 2 threads, 2 objects, a deadlock.
Trace ValidTrace() {
  Trace t;
  t.set_format_version(kTraceFormatVersion);
  t.set_test_suite("Suite");
  t.set_test_name("Name");
  t.set_runner(RUNNER_CONTROLLED);
  t.mutable_strategy()->set_name("random");
  t.set_base_seed(1);
  t.set_iteration(0);
  t.set_iteration_seed(internal::IterationSeed(1, 0));
  t.set_max_steps(100);
  for (int i = 0; i < 2; ++i) {
    ThreadInfo* thread = t.add_threads();
    thread->set_id(static_cast<uint32_t>(i));
    thread->set_name(i == 0 ? "main" : "worker");
  }
  for (int i = 0; i < 2; ++i) {
    ObjectInfo* object = t.add_objects();
    object->set_id(static_cast<uint32_t>(i) + 1);
    object->set_kind("mutex");
    object->set_name(i == 0 ? "a" : "b");
  }
  Decision* d = t.add_decisions();
  d->set_kind(Decision::SCHEDULE);
  d->set_value(1);
  d->set_options(2);
  d = t.add_decisions();
  d->set_kind(Decision::CHOOSE);
  d->set_value(2);
  d->set_options(3);
  Event* e = t.add_events();
  e->set_step(1);
  e->set_thread(0);
  e->set_op("mutex.lock");
  e->set_object(1);
  e = t.add_events();
  e->set_step(2);
  e->set_thread(1);
  e->set_op("mutex.lock");
  e->set_object(2);
  e->set_has_value(true);
  e->set_value(-5);
  e->set_detail("naïve ünïcode");
  Failure* f = t.mutable_failure();
  f->set_kind(Failure::DEADLOCK);
  f->set_message("deadlock");
  f->set_step(2);
  f->set_thread(1);
  BlockedThread* b = f->add_blocked();
  b->set_thread(0);
  b->set_object(2);
  b->set_waiting_for("mutex 'b' held by thread 1");
  return t;
}

// A trace with many events, so that truncation can cut it anywhere.
Trace BigTrace() {
  Trace t = ValidTrace();
  t.clear_failure();
  for (int i = 0; i < 500; ++i) {
    Event* e = t.add_events();
    e->set_step(static_cast<uint64_t>(3 + i));
    e->set_thread(static_cast<uint32_t>(i % 2));
    e->set_op("atomic.store");
    e->set_has_value(true);
    e->set_value(i * 1000003);
    e->set_detail(std::string(static_cast<size_t>(i % 17), 'x'));
  }
  return t;
}

void ExpectSameTrace(const Trace& actual, const Trace& expected) {
  std::string diff;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(expected, actual)) << diff;
}

// --- Round trips -----------------------------------------------------------

TEST(TraceIoTest, WriteThenReadRoundTrips) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/t.lockstep";
  const Trace trace = ValidTrace();
  ASSERT_TRUE(WriteTraceFile(trace, path).ok());
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameTrace(*read, trace);
  EXPECT_EQ(read->checksum(), 0u);
  EXPECT_THAT(ListDir(dir), testing::ElementsAre("t.lockstep"));
}

TEST(TraceIoTest, BigTraceRoundTrips) {
  const std::string path = FreshDir() + "/big.lockstep";
  const Trace trace = BigTrace();
  ASSERT_TRUE(WriteTraceFile(trace, path).ok());
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameTrace(*read, trace);
}

TEST(TraceIoTest, FileIsPayloadPlusChecksumFieldAndAValidProtobuf) {
  const std::string path = FreshDir() + "/t.lockstep";
  const Trace trace = ValidTrace();
  ASSERT_TRUE(WriteTraceFile(trace, path).ok());
  const std::string bytes = ReadBytes(path);
  // Exactly the format documented in trace_io.h.
  EXPECT_EQ(bytes, WithTrailer(Serialize(trace)));
  // Generic protobuf tooling sees the checksum as field 100.
  Trace raw;
  ASSERT_TRUE(raw.ParseFromString(bytes));
  EXPECT_EQ(raw.checksum(), Fnv1a64(bytes.substr(0, bytes.size() - 10)));
  EXPECT_NE(raw.checksum(), 0u);
}

TEST(TraceIoTest, WritingIsDeterministicAndIgnoresAnIncomingChecksum) {
  const std::string dir = FreshDir();
  Trace trace = ValidTrace();
  ASSERT_TRUE(WriteTraceFile(trace, dir + "/a.lockstep").ok());
  trace.set_checksum(0x1234);
  ASSERT_TRUE(WriteTraceFile(trace, dir + "/b.lockstep").ok());
  EXPECT_EQ(ReadBytes(dir + "/a.lockstep"), ReadBytes(dir + "/b.lockstep"));
}

TEST(TraceIoTest, OverwritesAnExistingFile) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/t.lockstep";
  ASSERT_TRUE(WriteTraceFile(BigTrace(), path).ok());
  const Trace second = ValidTrace();
  ASSERT_TRUE(WriteTraceFile(second, path).ok());
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameTrace(*read, second);
  EXPECT_THAT(ListDir(dir), testing::ElementsAre("t.lockstep"));
}

TEST(TraceIoTest, CreatesMissingParentDirectories) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/x/y/z/t.lockstep";
  ASSERT_TRUE(WriteTraceFile(ValidTrace(), path).ok());
  EXPECT_TRUE(ReadTraceFile(path).ok());
  EXPECT_THAT(ListDir(dir + "/x/y/z"), testing::ElementsAre("t.lockstep"));
}

TEST(TraceIoTest, TextRoundTrips) {
  Trace trace = ValidTrace();
  const std::string text = TraceToText(trace);
  absl::StatusOr<Trace> parsed = TraceFromText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
  ExpectSameTrace(*parsed, trace);
  // Readable UTF-8, not octal escapes.
  EXPECT_THAT(text, HasSubstr("naïve ünïcode"));
  // The checksum is a property of a file, never of the text form.
  trace.set_checksum(99);
  EXPECT_EQ(TraceToText(trace), text);
  EXPECT_THAT(text, testing::Not(HasSubstr("checksum")));
}

TEST(TraceIoTest, TextFormIsStable) {
  Trace trace;
  trace.set_format_version(1);
  trace.set_test_suite("S");
  trace.set_test_name("N");
  trace.set_runner(RUNNER_NATIVE_OBSERVE);
  trace.mutable_strategy()->set_name("random");
  trace.add_threads()->set_name("main");
  EXPECT_EQ(TraceToText(trace),
            "format_version: 1\n"
            "test_suite: \"S\"\n"
            "test_name: \"N\"\n"
            "runner: RUNNER_NATIVE_OBSERVE\n"
            "strategy {\n"
            "  name: \"random\"\n"
            "}\n"
            "threads {\n"
            "  name: \"main\"\n"
            "}\n");
}

TEST(TraceIoTest, TextSyntaxErrorsNameLineAndColumn) {
  absl::StatusOr<Trace> parsed = TraceFromText("format_version: 1\nno_such_field: 3\n");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(parsed.status()), AllOf(HasSubstr("2:"), HasSubstr("no_such_field")));
}

TEST(TraceIoTest, TextIsValidated) {
  absl::StatusOr<Trace> parsed = TraceFromText("format_version: 1\n");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(Msg(parsed.status()), HasSubstr("runner is unspecified"));
}

TEST(TraceIoTest, GoldenTextFileParsesAndValidates) {
  const std::string text = ReadBytes(kGoldenPath);
  ASSERT_FALSE(text.empty()) << "cannot read " << kGoldenPath << " from " << fs::current_path();
  absl::StatusOr<Trace> trace = TraceFromText(text);
  ASSERT_TRUE(trace.ok()) << trace.status();
  EXPECT_EQ(trace->test_suite(), "LockOrderTest");
  EXPECT_EQ(trace->test_name(), "Inversion");
  EXPECT_EQ(trace->threads_size(), 2);
  EXPECT_EQ(trace->objects_size(), 2);
  EXPECT_GE(trace->decisions_size(), 3);
  EXPECT_GE(trace->events_size(), 3);
  ASSERT_TRUE(trace->has_failure());
  EXPECT_EQ(FailureKindName(trace->failure().kind()), "deadlock");
  EXPECT_EQ(trace->failure().blocked_size(), 2);
  EXPECT_TRUE(CheckTraceIsFor(*trace, "LockOrderTest", "Inversion").ok());

  // Text -> binary file -> text is lossless.
  const std::string path = FreshDir() + "/golden.lockstep";
  ASSERT_TRUE(WriteTraceFile(*trace, path).ok());
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameTrace(*read, *trace);
  EXPECT_EQ(TraceToText(*read), TraceToText(*trace));
}

// --- Text that is not UTF-8 ----------------------------------------------

// ValidTrace() with bytes that are not UTF-8 wherever user text goes.
Trace TraceWithBadText() {
  Trace t = ValidTrace();
  t.set_test_name("Name\xFF");
  t.mutable_threads(1)->set_name("w\xC3");
  t.mutable_threads(1)->mutable_created_at()->set_file("src/f\xFE.cc");
  t.mutable_objects(0)->set_name("m\x80");
  t.mutable_events(0)->mutable_location()->set_function("fn\xC0\xAF");
  t.mutable_events(1)->set_detail("caf\xC3\xA9 \xE9t\xE9");
  t.mutable_failure()->set_message("std::runtime_error: \xFF\xFE bytes");
  t.mutable_failure()->mutable_blocked(0)->set_waiting_for("mutex 'b\x81'");
  return t;
}

void ExpectEscaped(const Trace& t) {
  EXPECT_EQ(t.test_name(), "Name\\xff");
  EXPECT_EQ(t.threads(1).name(), "w\\xc3");
  EXPECT_EQ(t.threads(1).created_at().file(), "src/f\\xfe.cc");
  EXPECT_EQ(t.objects(0).name(), "m\\x80");
  EXPECT_EQ(t.events(0).location().function(), "fn\\xc0\\xaf");
  EXPECT_EQ(t.events(1).detail(), "caf\xC3\xA9 \\xe9t\\xe9");  // valid UTF-8 kept
  EXPECT_EQ(t.failure().message(), "std::runtime_error: \\xff\\xfe bytes");
  EXPECT_EQ(t.failure().blocked(0).waiting_for(), "mutex 'b\\x81'");
}

TEST(TraceIoTest, TextThatIsNotUtf8IsWrittenEscapedAndReadsBack) {
  const std::string path = FreshDir() + "/t.lockstep";
  const Trace trace = TraceWithBadText();
  ASSERT_TRUE(WriteTraceFile(trace, path).ok());
  EXPECT_EQ(trace.failure().message(), "std::runtime_error: \xFF\xFE bytes") << "not changed";
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectEscaped(*read);
  // The file holds the escaped strings, so any protobuf parser reads it.
  Trace escaped = trace;
  internal::MakeStringsValidUtf8(&escaped);
  EXPECT_EQ(ReadBytes(path), WithTrailer(Serialize(escaped)));
  Trace raw;
  EXPECT_TRUE(raw.ParseFromString(ReadBytes(path)));
}

TEST(TraceIoTest, FileFromAnOlderWriterWithTextThatIsNotUtf8Reads) {
  // What a writer that stored user text as it came produced.
  const std::string path = FreshDir() + "/old.lockstep";
  std::string bytes;
  {
    google::protobuf::LogSilencer quiet;
    bytes = Serialize(TraceWithBadText());
  }
  WriteBytes(path, WithTrailer(bytes));
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectEscaped(*read);
  EXPECT_EQ(read->events_size(), 2);
}

TEST(TraceIoTest, EscapedTextRoundTripsThroughText) {
  const std::string dir = FreshDir();
  ASSERT_TRUE(WriteTraceFile(TraceWithBadText(), dir + "/t.lockstep").ok());
  absl::StatusOr<Trace> read = ReadTraceFile(dir + "/t.lockstep");
  ASSERT_TRUE(read.ok()) << read.status();
  const std::string text = TraceToText(*read);
  EXPECT_THAT(text, HasSubstr("message: \"std::runtime_error: \\\\xff\\\\xfe bytes\""));
  absl::StatusOr<Trace> parsed = TraceFromText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
  ExpectSameTrace(*parsed, *read);
  ASSERT_TRUE(WriteTraceFile(*parsed, dir + "/again.lockstep").ok());
  EXPECT_EQ(ReadBytes(dir + "/again.lockstep"), ReadBytes(dir + "/t.lockstep"));
}

TEST(TraceIoTest, TextEscapesThatSpellInvalidUtf8AreEscaped) {
  std::string text = TraceToText(ValidTrace());
  const std::string from = "message: \"deadlock\"";
  ASSERT_THAT(text, HasSubstr(from));
  text.replace(text.find(from), from.size(), "message: \"bad \\377 \\303\\251\"");
  absl::StatusOr<Trace> parsed = TraceFromText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->failure().message(), "bad \\xff \xC3\xA9");
}

// The whole path: an exception whose what() is not UTF-8, thrown in a
// logical thread with a name that is not either, becomes a trace file that
// reads back.
TEST(TraceIoTest, ExceptionWithBytesThatAreNotUtf8GivesAReadableTrace) {
  Options options;
  options.iterations = 10;
  options.test_suite = "Utf8";
  options.test_name = "Exception";
  const RunResult result = Runner::Run(
      [] {
        Thread t = spawn([] { throw std::runtime_error("bad \xFF\xFE bytes"); },
                         "thr\xE9"
                         "ad");
        t.join();
      },
      options);
  ASSERT_TRUE(result.status.ok()) << result.status;
  ASSERT_TRUE(result.failed());
  const std::string path = FreshDir() + "/exception.lockstep";
  ASSERT_TRUE(WriteTraceFile(*result.trace, path).ok());
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->failure().kind(), Failure::EXCEPTION);
  EXPECT_THAT(read->failure().message(), HasSubstr("bad \\xff\\xfe bytes"));
  bool named = false;
  for (const ThreadInfo& thread : read->threads()) named |= thread.name() == "thr\\xe9ad";
  EXPECT_TRUE(named) << TraceToText(*read);
  EXPECT_TRUE(TraceFromText(TraceToText(*read)).ok());
}

// --- Unknown fields --------------------------------------------------------

google::protobuf::UnknownFieldSet& UnknownFields(google::protobuf::Message& message) {
  return *message.GetReflection()->MutableUnknownFields(&message);
}

int UnknownFieldCount(const google::protobuf::Message& message) {
  return message.GetReflection()->GetUnknownFields(message).field_count();
}

TEST(TraceIoTest, UnknownFieldsAreKeptOnReadAndLeftOutOfText) {
  Trace newer = ValidTrace();
  UnknownFields(newer).AddVarint(200, 5);
  UnknownFields(*newer.mutable_events(0)).AddLengthDelimited(201, "new");
  const std::string path = FreshDir() + "/newer.lockstep";
  WriteBytes(path, WithTrailer(Serialize(newer)));
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(UnknownFieldCount(*read), 1);
  EXPECT_EQ(UnknownFieldCount(read->events(0)), 1);

  const std::string text = TraceToText(*read);
  EXPECT_THAT(text, testing::Not(HasSubstr("200:")));
  EXPECT_THAT(text, testing::Not(HasSubstr("201 ")));
  EXPECT_EQ(text, TraceToText(ValidTrace()));
  absl::StatusOr<Trace> parsed = TraceFromText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
  ExpectSameTrace(*parsed, ValidTrace());
}

// --- Temporary files of killed writers --------------------------------------

// Creates `name` in `dir` holding `bytes`, last modified `age_seconds` ago.
void MakeFile(const std::string& dir, const std::string& name, const std::string& bytes,
              int64_t age_seconds = 0) {
  const std::string path = dir + "/" + name;
  WriteBytes(path, bytes);
  if (age_seconds > 0) {
    const timespec now{::time(nullptr) - age_seconds, 0};
    const timespec times[2] = {now, now};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
  }
}

// The start of a trace, as a writer killed mid-write leaves it.
std::string PartialTrace() {
  const std::string bytes = Serialize(BigTrace());
  return bytes.substr(0, bytes.size() / 2);
}

// Runs `child` in a forked process that exits when it returns; returns the
// child's pid after it has exited and been reaped, so it is gone.
pid_t RunInDeadChild(const std::function<void()>& child) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    child();
    ::_exit(0);
  }
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return pid;
}

TEST(TraceIoTest, WriterRemovesTempFilesOfKilledWriters) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/t.lockstep";
  // Two writers that died mid-write (one before writing a byte) into this
  // directory, one of them for another destination.
  RunInDeadChild([&] {
    const internal::TempFileWriter me = internal::ThisTempFileWriter();
    WriteBytes(internal::TempFilePath(path, me, 0), PartialTrace());
    WriteBytes(internal::TempFilePath(dir + "/other.lockstep", me, 1), "");
  });
  RunInDeadChild([&] {
    WriteBytes(internal::TempFilePath(path, internal::ThisTempFileWriter(), 0), PartialTrace());
  });
  ASSERT_EQ(ListDir(dir).size(), 3u);
  ASSERT_TRUE(WriteTraceFile(ValidTrace(), path).ok());
  EXPECT_THAT(ListDir(dir), testing::ElementsAre("t.lockstep"));
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
}

TEST(TraceIoTest, WriterNeverRemovesTempFilesOfRunningWriters) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/t.lockstep";
  // This process, writing: its pid and start time.
  const internal::TempFileWriter me = internal::ThisTempFileWriter();
  ASSERT_GT(me.start_time, 0u) << "no /proc?";
  const std::string mine = internal::TempFilePath(path, me, 1u << 30);
  MakeFile(dir, mine.substr(dir.size() + 1), PartialTrace());

  // Another process, writing (it waits for the pipe to close).
  int ready[2];
  int done[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(done), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(ready[0]);
    ::close(done[1]);
    WriteBytes(internal::TempFilePath(path, internal::ThisTempFileWriter(), 0), PartialTrace());
    char c = 0;
    (void)!::write(ready[1], &c, 1);
    (void)!::read(done[0], &c, 1);
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(done[0]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);

  ASSERT_TRUE(WriteTraceFile(ValidTrace(), path).ok());
  EXPECT_EQ(ListDir(dir).size(), 3u) << testing::PrintToString(ListDir(dir));
  EXPECT_TRUE(fs::exists(mine));

  // Once the other process is gone, its file goes with the next write.
  ::close(done[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WriteTraceFile(ValidTrace(), path).ok());
  EXPECT_EQ(ListDir(dir).size(), 2u) << testing::PrintToString(ListDir(dir));
  EXPECT_TRUE(fs::exists(mine));
  ::close(ready[0]);
}

TEST(TraceIoTest, WhichTempFilesCountAsStale) {
  const std::string dir = FreshDir();
  const std::string partial = PartialTrace();
  const pid_t dead = RunInDeadChild([] {});
  internal::TempFileWriter me = internal::ThisTempFileWriter();
  internal::TempFileWriter gone = me;
  gone.pid = dead;
  internal::TempFileWriter reused = me;  // this pid, an earlier process's
  reused.start_time = me.start_time - 1;
  internal::TempFileWriter elsewhere = gone;  // another host or PID namespace
  elsewhere.host = me.host == "0123456789abcdef" ? "fedcba9876543210" : "0123456789abcdef";
  const int64_t kOld = internal::kUncheckableTempFileAgeSeconds + 60;
  auto name = [](const internal::TempFileWriter& w, uint64_t counter) {
    return internal::TempFilePath("t.lockstep", w, counter);
  };

  const std::vector<std::string> stale = {
      name(gone, 0), name(reused, 0), name(elsewhere, 1),
      absl::StrCat("t.lockstep.tmp-", dead, "-7"),  // earlier versions' names
  };
  MakeFile(dir, stale[0], partial);
  MakeFile(dir, stale[1], "");
  MakeFile(dir, stale[2], partial, kOld);
  MakeFile(dir, stale[3], partial, kOld);

  const std::vector<std::string> kept = {
      name(me, 0),                                  // running: this process
      name(elsewhere, 2),                           // cannot tell, and recent
      absl::StrCat("t.lockstep.tmp-", dead, "-8"),  // cannot tell, and recent
      name(gone, 3),                                // not a trace: not ours
      "t.lockstep.tmp-" + std::to_string(dead),     // other names
      absl::StrCat("t.lockstep.tmp-", dead, "-1-2-3"),
      absl::StrCat("t.lockstep.tmp-0-0-0-", me.host),   // pid 0: a process group
      absl::StrCat("t.lockstep.tmp--1-0-0-", me.host),  // negative
      absl::StrCat(".tmp-", dead, "-0-0-", me.host),    // no destination name
      "t.lockstep",
  };
  MakeFile(dir, kept[0], partial);
  MakeFile(dir, kept[1], partial);
  MakeFile(dir, kept[2], partial);
  MakeFile(dir, kept[3], "#!/bin/sh\n");
  for (size_t i = 4; i < kept.size(); ++i) MakeFile(dir, kept[i], "", kOld);
  // Neither a directory nor a symbolic link is removed.
  const std::string subdir = name(gone, 4);
  ASSERT_EQ(::mkdir((dir + "/" + subdir).c_str(), 0755), 0);
  const std::string link = name(gone, 5);
  ASSERT_EQ(::symlink("t.lockstep", (dir + "/" + link).c_str()), 0);

  EXPECT_EQ(internal::RemoveStaleTempFiles(dir), 4);
  std::vector<std::string> expected = kept;
  expected.push_back(subdir);
  expected.push_back(link);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ListDir(dir), expected);
  EXPECT_EQ(internal::RemoveStaleTempFiles(dir), 0);
}

TEST(TraceIoTest, TempFileNamesFitLongDestinations) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/" + std::string(240, 'n') + ".lockstep";  // 249 bytes
  const internal::TempFileWriter me = internal::ThisTempFileWriter();
  const std::string temp = internal::TempFilePath(path, me, 12);
  EXPECT_EQ(fs::path(temp).filename().string().size(), 255u);
  EXPECT_EQ(fs::path(temp).parent_path(), fs::path(dir));
  ASSERT_TRUE(WriteTraceFile(ValidTrace(), path).ok());
  EXPECT_TRUE(ReadTraceFile(path).ok());
  // A dead writer's temporary file for it is still recognized.
  const pid_t dead = RunInDeadChild([] {});
  internal::TempFileWriter gone = me;
  gone.pid = dead;
  WriteBytes(internal::TempFilePath(path, gone, 0), "");
  EXPECT_EQ(internal::RemoveStaleTempFiles(dir), 1);
}

// --- Broken files ----------------------------------------------------------

TEST(TraceIoTest, MissingFile) {
  const std::string path = FreshDir() + "/nope.lockstep";
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(read.status()),
              AllOf(StartsWith(path + ": "), HasSubstr("No such file or directory")));
}

TEST(TraceIoTest, DirectoryIsNotATraceFile) {
  const std::string dir = FreshDir();
  absl::StatusOr<Trace> read = ReadTraceFile(dir);
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(Msg(read.status()), StartsWith(dir + ": "));
}

TEST(TraceIoTest, EmptyFile) {
  const std::string path = FreshDir() + "/empty.lockstep";
  WriteBytes(path, "");
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(Msg(read.status()), path + ": empty file");
}

TEST(TraceIoTest, TruncatedAtEveryLengthIsRejected) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/t.lockstep";
  ASSERT_TRUE(WriteTraceFile(ValidTrace(), path).ok());
  const std::string bytes = ReadBytes(path);
  ASSERT_GT(bytes.size(), 10u);
  const std::string cut = dir + "/cut.lockstep";
  for (size_t n = 1; n < bytes.size(); ++n) {
    WriteBytes(cut, bytes.substr(0, n));
    absl::StatusOr<Trace> read = ReadTraceFile(cut);
    ASSERT_FALSE(read.ok()) << "accepted a file cut to " << n << " bytes";
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(Msg(read.status()),
                AllOf(StartsWith(cut + ": "), AnyOf(HasSubstr("truncated or not a Lockstep trace "
                                                              "(no checksum trailer)"),
                                                    HasSubstr("corrupt (checksum mismatch)"))))
        << "cut to " << n << " bytes";
  }
}

TEST(TraceIoTest, TruncatedBigTraceIsRejected) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/big.lockstep";
  ASSERT_TRUE(WriteTraceFile(BigTrace(), path).ok());
  const std::string bytes = ReadBytes(path);
  for (size_t n : {size_t{1}, size_t{9}, size_t{10}, size_t{11}, bytes.size() / 3, bytes.size() / 2,
                   bytes.size() - 11, bytes.size() - 10, bytes.size() - 9, bytes.size() - 1}) {
    WriteBytes(path, bytes.substr(0, n));
    absl::StatusOr<Trace> read = ReadTraceFile(path);
    ASSERT_FALSE(read.ok()) << "accepted a file cut to " << n << " bytes";
    EXPECT_THAT(Msg(read.status()),
                AnyOf(HasSubstr("(no checksum trailer)"), HasSubstr("(checksum mismatch)")))
        << "cut to " << n << " bytes";
  }
}

TEST(TraceIoTest, EveryFlippedByteIsDetected) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/t.lockstep";
  ASSERT_TRUE(WriteTraceFile(ValidTrace(), path).ok());
  const std::string bytes = ReadBytes(path);
  const std::string bad = dir + "/bad.lockstep";
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x10);
    WriteBytes(bad, flipped);
    absl::StatusOr<Trace> read = ReadTraceFile(bad);
    ASSERT_FALSE(read.ok()) << "accepted a flip at byte " << i;
    const bool in_tag = i == bytes.size() - 10 || i == bytes.size() - 9;
    EXPECT_EQ(Msg(read.status()), bad + (in_tag ? ": truncated or not a Lockstep trace (no "
                                                  "checksum trailer)"
                                                : ": corrupt (checksum mismatch)"))
        << "flip at byte " << i;
  }
}

TEST(TraceIoTest, RawProtobufWithoutTrailerIsRejected) {
  const std::string path = FreshDir() + "/raw.lockstep";
  WriteBytes(path, Serialize(ValidTrace()));
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(Msg(read.status()), path + ": truncated or not a Lockstep trace (no checksum trailer)");
}

TEST(TraceIoTest, OtherFilesAreRejected) {
  const std::string path = FreshDir() + "/other.lockstep";
  WriteBytes(path, "#!/bin/sh\necho this is not a trace\n");
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(Msg(read.status()), HasSubstr("no checksum trailer"));
}

TEST(TraceIoTest, ChecksummedGarbageIsNotAValidProtobuf) {
  const std::string path = FreshDir() + "/garbage.lockstep";
  // Field 0 does not exist in any protobuf; 0xFF... is an unterminated varint.
  WriteBytes(path, WithTrailer(std::string("\x00\xFF\xFF\xFF", 4)));
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(Msg(read.status()), path + ": not a valid Trace protobuf");
}

TEST(TraceIoTest, NewerFormatVersionIsRejectedWithBothVersions) {
  const std::string path = FreshDir() + "/v2.lockstep";
  Trace trace = ValidTrace();
  trace.set_format_version(2);
  WriteBytes(path, WithTrailer(Serialize(trace)));
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(read.status()), AllOf(StartsWith(path + ": "), HasSubstr("version 2"),
                                        HasSubstr("reads version 1"), HasSubstr("newer")));
}

TEST(TraceIoTest, OlderFormatVersionIsRejected) {
  const std::string path = FreshDir() + "/v0.lockstep";
  Trace trace = ValidTrace();
  trace.set_format_version(0);
  WriteBytes(path, WithTrailer(Serialize(trace)));
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(Msg(read.status()),
              AllOf(HasSubstr("version 0"), HasSubstr("reads version 1"), HasSubstr("older")));
}

TEST(TraceIoTest, ReadValidatesAndNamesThePath) {
  const std::string path = FreshDir() + "/invalid.lockstep";
  Trace trace = ValidTrace();
  trace.mutable_events(1)->set_thread(7);
  WriteBytes(path, WithTrailer(Serialize(trace)));
  absl::StatusOr<Trace> read = ReadTraceFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(read.status()),
            path + ": event 1: thread 7 is not in the thread table (2 threads)");
}

// --- ValidateTrace ---------------------------------------------------------

struct Violation {
  std::string rule;
  std::function<void(Trace&)> mutate;
  std::string message;  // the exact message ValidateTrace returns

  friend void PrintTo(const Violation& v, std::ostream* os) { *os << v.rule; }
};

class ValidateTraceTest : public testing::TestWithParam<Violation> {};

TEST(ValidateTraceBaseTest, ValidTraceIsValid) {
  EXPECT_TRUE(ValidateTrace(ValidTrace()).ok()) << ValidateTrace(ValidTrace());
  // Native traces carry no seed relation; the thread table may be empty when
  // nothing refers to it.
  Trace native;
  native.set_format_version(1);
  native.set_runner(RUNNER_NATIVE_OBSERVE);
  native.mutable_strategy()->set_name("random");
  native.set_iteration_seed(12345);
  native.add_decisions()->set_kind(Decision::SCHEDULE);
  native.mutable_decisions(0)->set_value(3);
  native.mutable_decisions(0)->set_options(4);
  EXPECT_TRUE(ValidateTrace(native).ok()) << ValidateTrace(native);
}

TEST_P(ValidateTraceTest, RejectsViolation) {
  Trace trace = ValidTrace();
  GetParam().mutate(trace);
  const absl::Status status = ValidateTrace(trace);
  ASSERT_FALSE(status.ok()) << GetParam().rule;
  EXPECT_EQ(Msg(status), GetParam().message);
  EXPECT_THAT(status.code(),
              AnyOf(absl::StatusCode::kInvalidArgument, absl::StatusCode::kFailedPrecondition));
  // And the writer refuses it, leaving nothing behind.
  const std::string dir = FreshDir();
  const absl::Status written = WriteTraceFile(trace, dir + "/t.lockstep");
  EXPECT_EQ(written.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(written), HasSubstr(GetParam().message));
  EXPECT_THAT(ListDir(dir), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    Rules, ValidateTraceTest,
    testing::Values(
        Violation{"version", [](Trace& t) { t.set_format_version(3); },
                  "trace format version 3 is not supported: this build of "
                  "Lockstep reads version 1; the trace was written by a newer "
                  "Lockstep"},
        Violation{"runner", [](Trace& t) { t.set_runner(RUNNER_UNSPECIFIED); },
                  "runner is unspecified"},
        Violation{"unknown_runner", [](Trace& t) { t.set_runner(static_cast<RunnerKind>(17)); },
                  "unknown runner 17"},
        Violation{"strategy", [](Trace& t) { t.mutable_strategy()->clear_name(); },
                  "strategy name is empty"},
        Violation{"decision_kind",
                  [](Trace& t) { t.mutable_decisions(1)->set_kind(Decision::KIND_UNSPECIFIED); },
                  "decision 1: kind is unspecified"},
        Violation{"decision_options",
                  [](Trace& t) {
                    t.mutable_decisions(0)->set_options(0);
                    t.mutable_decisions(0)->set_value(0);
                  },
                  "decision 0: options is 0 (a decision has at least 1 "
                  "option)"},
        Violation{"choose_value", [](Trace& t) { t.mutable_decisions(1)->set_value(3); },
                  "decision 1: value 3 is out of range (3 options)"},
        Violation{"schedule_thread", [](Trace& t) { t.mutable_decisions(0)->set_value(2); },
                  "decision 0: scheduled thread 2 is not in the thread table "
                  "(2 threads)"},
        Violation{"thread_ids", [](Trace& t) { t.mutable_threads(1)->set_id(5); },
                  "thread table entry 1: id is 5, expected 1 (thread ids are "
                  "0..n-1 in order)"},
        Violation{"thread_parent", [](Trace& t) { t.mutable_threads(1)->set_parent(2); },
                  "thread table entry 1: parent 2 is not in the thread table "
                  "(2 threads)"},
        Violation{"object_ids", [](Trace& t) { t.mutable_objects(0)->set_id(0); },
                  "object table entry 0: id is 0, expected 1 (object ids are "
                  "1..m in order)"},
        Violation{"event_thread", [](Trace& t) { t.mutable_events(1)->set_thread(7); },
                  "event 1: thread 7 is not in the thread table (2 threads)"},
        Violation{"event_object", [](Trace& t) { t.mutable_events(0)->set_object(3); },
                  "event 0: object 3 is not in the object table (2 objects)"},
        Violation{"event_woken",
                  [](Trace& t) { t.mutable_events(0)->set_woken_thread_plus_one(3); },
                  "event 0: woken thread 2 is not in the thread table (2 "
                  "threads)"},
        Violation{"event_steps", [](Trace& t) { t.mutable_events(1)->set_step(0); },
                  "event 1: step 0 is before the previous event's step 1"},
        Violation{"failure_kind",
                  [](Trace& t) { t.mutable_failure()->set_kind(Failure::KIND_UNSPECIFIED); },
                  "failure: kind is unspecified"},
        Violation{"failure_present_but_empty", [](Trace& t) { t.mutable_failure()->Clear(); },
                  "failure: kind is unspecified"},
        Violation{"failure_thread", [](Trace& t) { t.mutable_failure()->set_thread(2); },
                  "failure: thread 2 is not in the thread table (2 threads)"},
        Violation{"blocked_thread",
                  [](Trace& t) { t.mutable_failure()->mutable_blocked(0)->set_thread(9); },
                  "failure: blocked 0: thread 9 is not in the thread table (2 "
                  "threads)"},
        Violation{"blocked_object",
                  [](Trace& t) { t.mutable_failure()->mutable_blocked(0)->set_object(4); },
                  "failure: blocked 0: object 4 is not in the object table (2 "
                  "objects)"},
        Violation{"iteration_seed", [](Trace& t) { t.set_iteration_seed(0x10); },
                  absl::StrCat("iteration_seed 0x10 does not match base_seed "
                               "0x1 and iteration 0 (expected ",
                               absl::StrFormat("%#x", internal::IterationSeed(1, 0)), ")")}),
    [](const testing::TestParamInfo<Violation>& info) { return info.param.rule; });

// --- WriteTraceFile failures -----------------------------------------------

TEST(TraceIoTest, WriteOverADirectoryFailsAndCleansUp) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/target";
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
  const absl::Status status = WriteTraceFile(ValidTrace(), path);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(Msg(status), StartsWith(path + ": "));
  EXPECT_THAT(Msg(status), HasSubstr("Is a directory"));
  EXPECT_THAT(ListDir(dir), testing::ElementsAre("target"));
  EXPECT_THAT(ListDir(path), IsEmpty());
}

TEST(TraceIoTest, WriteUnderAFileFailsAndCleansUp) {
  const std::string dir = FreshDir();
  WriteBytes(dir + "/file", "not a directory");
  const std::string path = dir + "/file/sub/t.lockstep";
  const absl::Status status = WriteTraceFile(ValidTrace(), path);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(Msg(status), StartsWith(path + ": "));
  EXPECT_THAT(ListDir(dir), testing::ElementsAre("file"));
  EXPECT_EQ(ReadBytes(dir + "/file"), "not a directory");

  const std::string direct = dir + "/file/t.lockstep";
  const absl::Status status2 = WriteTraceFile(ValidTrace(), direct);
  ASSERT_FALSE(status2.ok());
  EXPECT_THAT(Msg(status2), AllOf(StartsWith(direct + ": "), HasSubstr("Not a directory")));
  EXPECT_THAT(ListDir(dir), testing::ElementsAre("file"));
}

TEST(TraceIoTest, RefusedWriteLeavesTheExistingFileAlone) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/t.lockstep";
  ASSERT_TRUE(WriteTraceFile(ValidTrace(), path).ok());
  const std::string before = ReadBytes(path);
  Trace broken = ValidTrace();
  broken.clear_runner();
  const absl::Status status = WriteTraceFile(broken, path);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(status), AllOf(StartsWith(path + ": "), HasSubstr("runner is unspecified")));
  EXPECT_EQ(ReadBytes(path), before);
  EXPECT_THAT(ListDir(dir), testing::ElementsAre("t.lockstep"));
}

TEST(TraceIoTest, WriteToEmptyPathFails) {
  EXPECT_EQ(WriteTraceFile(ValidTrace(), "").code(), absl::StatusCode::kInvalidArgument);
}

// --- Small functions -------------------------------------------------------

TEST(TraceIoTest, CheckTraceIsFor) {
  const Trace trace = ValidTrace();
  EXPECT_TRUE(CheckTraceIsFor(trace, "Suite", "Name").ok());
  const absl::Status other = CheckTraceIsFor(trace, "Suite", "Other");
  EXPECT_EQ(other.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Msg(other), "the trace is from test Suite.Name, not Suite.Other");
  EXPECT_EQ(CheckTraceIsFor(trace, "Other", "Name").message(),
            "the trace is from test Suite.Name, not Other.Name");
}

TEST(TraceIoTest, FailureKindNames) {
  EXPECT_EQ(FailureKindName(Failure::KIND_UNSPECIFIED), "unspecified");
  EXPECT_EQ(FailureKindName(Failure::ASSERTION), "assertion");
  EXPECT_EQ(FailureKindName(Failure::EXCEPTION), "exception");
  EXPECT_EQ(FailureKindName(Failure::DEADLOCK), "deadlock");
  EXPECT_EQ(FailureKindName(Failure::STEP_LIMIT), "step limit");
  EXPECT_EQ(FailureKindName(Failure::UNJOINED_THREADS), "unjoined threads");
  EXPECT_EQ(FailureKindName(Failure::MISUSE), "misuse");
  EXPECT_EQ(FailureKindName(Failure::NONDETERMINISM), "nondeterminism");
  EXPECT_EQ(FailureKindName(Failure::CRASH), "crash");
  EXPECT_EQ(FailureKindName(Failure::TIMEOUT), "timeout");
  EXPECT_EQ(FailureKindName(static_cast<Failure::Kind>(42)), "unknown");
  // Every named kind has a name of its own.
  for (int k = Failure::Kind_MIN; k <= Failure::Kind_MAX; ++k) {
    EXPECT_NE(FailureKindName(static_cast<Failure::Kind>(k)), "unknown") << k;
  }
}

}  // namespace
}  // namespace lockstep
