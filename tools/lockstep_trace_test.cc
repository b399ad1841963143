// Runs the lockstep_trace binary: its output on the golden traces matches
// the expected files exactly, every command rejects broken files with a
// clear message, and --help and usage errors behave.
//
// Flags: --binary=PATH (lockstep_trace), --traces=DIR (the encoded
// *.lockstep goldens), --goldens=DIR (the expected *.print.txt and
// *.slice.txt). To regenerate the expected outputs after an intended
// change, run `bash tools/trace_update_goldens.sh` and review the diff.
#include <sys/wait.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "lockstep/trace.pb.h"
#include "lockstep/trace_io.h"

namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string g_binary = "tools/lockstep_trace";
std::string g_traces = "testdata";
std::string g_goldens = "testdata";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  if (dir != nullptr) return dir;
  static std::string made = [] {
    char pattern[] = "/tmp/lockstep_trace_test.XXXXXX";
    const char* d = mkdtemp(pattern);
    return std::string(d != nullptr ? d : "/tmp");
  }();
  return made;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

Result RunTool(const std::vector<std::string>& args) {
  static int counter = 0;
  const std::string base = absl::StrCat(TempDir(), "/run", ++counter);
  std::string command = Quote(g_binary);
  for (const std::string& arg : args) command += " " + Quote(arg);
  command += " >" + Quote(base + ".out") + " 2>" + Quote(base + ".err");
  const int status = std::system(command.c_str());
  Result result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadFile(base + ".out");
  result.err = ReadFile(base + ".err");
  return result;
}

std::string TracePath(const std::string& name) { return g_traces + "/" + name + ".lockstep"; }

const char* const kGoldens[] = {"lost_update", "deadlock", "handoff"};

TEST(GoldenTest, PrintMatchesExactly) {
  for (const char* name : kGoldens) {
    SCOPED_TRACE(name);
    const Result r = RunTool({"print", TracePath(name)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out, ReadFile(g_goldens + "/" + name + ".print.txt"))
        << "regenerate with tools/trace_update_goldens.sh if the change is intended";
  }
}

TEST(GoldenTest, SliceMatchesExactly) {
  for (const char* name : kGoldens) {
    SCOPED_TRACE(name);
    const Result r = RunTool({"slice", TracePath(name)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, ReadFile(g_goldens + "/" + name + ".slice.txt"))
        << "regenerate with tools/trace_update_goldens.sh if the change is intended";
  }
  // The deadlock and the handoff slices keep fewer events than there are.
  EXPECT_THAT(RunTool({"slice", TracePath("deadlock")}).out, HasSubstr("\nkept 4 of 4 events\n"));
  EXPECT_THAT(RunTool({"slice", TracePath("handoff")}).out, HasSubstr("\nkept 16 of 18 events\n"));
}

TEST(SliceTest, AtAStep) {
  Result r = RunTool({"slice", "--step", "7", TracePath("lost_update")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\nkept 5 of 11 events\n"));
  r = RunTool({"slice", "--step=2", TracePath("lost_update")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no event at step 2"));
}

TEST(ExportTest, ChromeIsJsonWithATrackPerThread) {
  const std::string out = TempDir() + "/handoff.json";
  Result r = RunTool({"export", "--format=chrome", TracePath("handoff"), "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  google::protobuf::Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(ReadFile(out), &json).ok());
  int tracks = 0;
  for (const auto& v : json.fields().at("traceEvents").list_value().values()) {
    tracks += v.struct_value().fields().at("name").string_value() == "thread_name";
  }
  EXPECT_EQ(tracks, 3);
  // Without -o, to standard output; --format as a separate argument.
  r = RunTool({"export", "--format", "chrome", TracePath("handoff")});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, ReadFile(out));
}

TEST(ExportTest, Html) {
  const Result r = RunTool({"export", "--format=html", TracePath("deadlock")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("<!DOCTYPE html>"));
  EXPECT_THAT(r.out, HasSubstr("id=\"lockstep-timeline\" data-threads=\"3\""));
}

TEST(JsonTest, IsTheWholeTrace) {
  const Result r = RunTool({"json", TracePath("handoff")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  google::protobuf::Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &json).ok()) << r.out;
  EXPECT_EQ(json.fields().at("test_suite").string_value(), "Golden");
  EXPECT_EQ(json.fields().at("events").list_value().values_size(), 18);
}

TEST(TextTest, RoundTripsThroughEncode) {
  const Result text = RunTool({"text", TracePath("deadlock")});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  const std::string txtpb = TempDir() + "/again.txtpb";
  const std::string again = TempDir() + "/again.lockstep";
  WriteFile(txtpb, text.out);
  const Result encoded = RunTool({"encode", txtpb, again});
  ASSERT_EQ(encoded.exit_code, 0) << encoded.err;
  EXPECT_EQ(ReadFile(again), ReadFile(TracePath("deadlock")));

  WriteFile(txtpb, "format_version: 1\nbogus_field: 3\n");
  const Result bad = RunTool({"encode", txtpb, again});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, StartsWith("lockstep_trace: " + txtpb + ": "));
}

// FNV-1a 64, as trace_io.h specifies the checksum trailer.
uint64_t Fnv1a64(const std::string& bytes) {
  uint64_t hash = 0xCBF29CE484222325ull;
  for (char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001B3ull;
  }
  return hash;
}

std::string WithTrailer(std::string bytes) {
  const uint64_t sum = Fnv1a64(bytes);
  bytes.push_back(static_cast<char>(0xA1));
  bytes.push_back(static_cast<char>(0x06));
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((sum >> (8 * i)) & 0xFF));
  return bytes;
}

// Writes `trace` as a trace file the way a writer that does no escaping
// would (checksum trailer, bytes as they are), and returns its path.
std::string WriteRaw(const std::string& name, const lockstep::Trace& trace) {
  const std::string path = TempDir() + "/" + name;
  std::string bytes;
  {
    google::protobuf::LogSilencer quiet;  // serializing invalid UTF-8 logs
    bytes = trace.SerializeAsString();
  }
  WriteFile(path, WithTrailer(bytes));
  return path;
}

// The handoff golden with bytes that are not UTF-8 in user text.
lockstep::Trace TraceWithBadText() {
  absl::StatusOr<lockstep::Trace> trace = lockstep::ReadTraceFile(TracePath("handoff"));
  EXPECT_TRUE(trace.ok()) << trace.status();
  trace->mutable_failure()->set_message("std::runtime_error: bad \xFF\xFE bytes, caf\xC3\xA9");
  trace->mutable_threads(1)->set_name("prod\xE9");
  trace->mutable_objects(0)->set_name(
      "in\x80"
      "box");
  trace->mutable_events(0)->set_detail("\xC0\xAF");
  return *trace;
}

TEST(Utf8Test, TextThatIsNotUtf8IsReadableEverywhere) {
  // As the writer stores it now (escaped), and as an older writer stored it.
  const std::string escaped = TempDir() + "/escaped.lockstep";
  ASSERT_TRUE(lockstep::WriteTraceFile(TraceWithBadText(), escaped).ok());
  const std::string raw = WriteRaw("raw.lockstep", TraceWithBadText());
  for (const std::string& file : {escaped, raw}) {
    SCOPED_TRACE(file);
    Result r = RunTool({"print", file});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_THAT(r.out, HasSubstr("bad \\xff\\xfe bytes, caf\xC3\xA9"));
    EXPECT_THAT(r.out, HasSubstr("prod\\xe9"));

    r = RunTool({"json", file});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    google::protobuf::Struct json;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &json).ok()) << r.out;
    EXPECT_EQ(json.fields().at("failure").struct_value().fields().at("message").string_value(),
              "std::runtime_error: bad \\xff\\xfe bytes, caf\xC3\xA9");

    r = RunTool({"export", "--format=chrome", file});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("bad \\\\xff\\\\xfe bytes"));  // a JSON string
    r = RunTool({"export", "--format=html", file});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out,
                HasSubstr("<pre>std::runtime_error: bad \\xff\\xfe bytes, caf\xC3\xA9</pre>"));

    // text -> encode -> the same file as the escaping writer's.
    r = RunTool({"text", file});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_THAT(r.out, HasSubstr("\\\\xff\\\\xfe"));
    const std::string txtpb = TempDir() + "/utf8.txtpb";
    const std::string again = TempDir() + "/utf8.lockstep";
    WriteFile(txtpb, r.out);
    const Result encoded = RunTool({"encode", txtpb, again});
    ASSERT_EQ(encoded.exit_code, 0) << encoded.err;
    EXPECT_EQ(ReadFile(again), ReadFile(escaped));
  }
}

TEST(UnknownFieldsTest, TextLeavesThemOutSaysSoAndRoundTrips) {
  // A trace from a newer schema: a field of the Trace and one of every event
  // that this build does not know.
  absl::StatusOr<lockstep::Trace> trace = lockstep::ReadTraceFile(TracePath("handoff"));
  ASSERT_TRUE(trace.ok()) << trace.status();
  lockstep::Trace newer = *trace;
  newer.GetReflection()->MutableUnknownFields(&newer)->AddVarint(200, 5);
  for (lockstep::Event& event : *newer.mutable_events()) {
    event.GetReflection()->MutableUnknownFields(&event)->AddLengthDelimited(201, "new");
  }
  const std::string file = WriteRaw("newer.lockstep", newer);
  const std::string note = "lockstep_trace: " + file +
                           ": note: left out fields this build does not know (from a newer "
                           "Lockstep?): field 201 of Event (18 times), field 200 of Trace\n";

  const Result text = RunTool({"text", file});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.err, note);
  EXPECT_EQ(text.out, RunTool({"text", TracePath("handoff")}).out);
  const std::string txtpb = TempDir() + "/newer.txtpb";
  const std::string again = TempDir() + "/newer-again.lockstep";
  WriteFile(txtpb, text.out);
  const Result encoded = RunTool({"encode", txtpb, again});
  ASSERT_EQ(encoded.exit_code, 0) << encoded.err;
  EXPECT_EQ(ReadFile(again), ReadFile(TracePath("handoff")));

  const Result json = RunTool({"json", file});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.err, note);
  EXPECT_EQ(json.out, RunTool({"json", TracePath("handoff")}).out);

  // Other commands show what they know, without a note.
  const Result print = RunTool({"print", file});
  EXPECT_EQ(print.exit_code, 0) << print.err;
  EXPECT_EQ(print.err, "");
  EXPECT_EQ(print.out, ReadFile(g_goldens + "/handoff.print.txt"));
}

TEST(DiffTest, SameAndDifferent) {
  Result r = RunTool({"diff", TracePath("handoff"), TracePath("handoff")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("identical schedules"));
  r = RunTool({"diff", TracePath("handoff"), TracePath("lost_update")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("tests differ: A is Golden.handoff, B is Golden.lost_update"));
  EXPECT_THAT(r.out, HasSubstr("seeds differ"));
  EXPECT_THAT(r.out, HasSubstr("schedules first differ at decision"));
}

struct BrokenFile {
  std::string name;
  std::string path;
  std::string message;  // expected in stderr after the path
};

std::vector<BrokenFile> BrokenFiles() {
  const std::string good = ReadFile(TracePath("handoff"));
  const std::string dir = TempDir();
  std::vector<BrokenFile> files;

  files.push_back({"truncated", dir + "/truncated.lockstep",
                   "truncated or not a Lockstep trace (no checksum trailer)"});
  WriteFile(files.back().path, good.substr(0, good.size() - 25));

  std::string corrupt = good;
  corrupt[corrupt.size() / 2] ^= 0x5A;
  files.push_back({"corrupt", dir + "/corrupt.lockstep", "corrupt (checksum mismatch)"});
  WriteFile(files.back().path, corrupt);

  // A well-formed file (valid checksum) from a newer format version: only
  // ValidateTrace can tell, so it is written here, not by WriteTraceFile.
  absl::StatusOr<lockstep::Trace> trace = lockstep::ReadTraceFile(TracePath("handoff"));
  EXPECT_TRUE(trace.ok());
  trace->set_format_version(2);
  files.push_back({"wrong version", dir + "/version2.lockstep", "version 2"});
  WriteFile(files.back().path, WithTrailer(trace->SerializeAsString()));

  // Checksum right, bytes not a Trace.
  files.push_back({"not a protobuf", dir + "/garbage.lockstep", "not a valid Trace protobuf"});
  WriteFile(files.back().path, WithTrailer("\xFF\xFF\xFF\xFF garbage"));

  files.push_back({"empty", dir + "/empty.lockstep", "empty file"});
  WriteFile(files.back().path, "");

  files.push_back({"missing", dir + "/missing.lockstep", "No such file"});
  return files;
}

TEST(BrokenFileTest, EveryCommandRejectsIt) {
  const std::string good = TracePath("handoff");
  for (const BrokenFile& file : BrokenFiles()) {
    const std::vector<std::vector<std::string>> commands = {
        {"print", file.path},
        {"export", "--format=chrome", file.path},
        {"export", "--format=html", file.path, "-o", TempDir() + "/unused.html"},
        {"slice", file.path},
        {"slice", "--step", "3", file.path},
        {"diff", file.path, good},
        {"diff", good, file.path},
        {"json", file.path},
        {"text", file.path},
    };
    for (const auto& command : commands) {
      SCOPED_TRACE(file.name + ": " + command[0] + " " + command[1]);
      const Result r = RunTool(command);
      EXPECT_EQ(r.exit_code, 1);
      EXPECT_EQ(r.out, "");
      EXPECT_THAT(r.err, StartsWith("lockstep_trace: " + file.path + ": "));
      EXPECT_THAT(r.err, HasSubstr(file.message));
    }
  }
}

TEST(HelpTest, EveryCommandHasHelp) {
  const Result top = RunTool({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_THAT(top.out, StartsWith("usage: lockstep_trace <command>"));
  for (const char* command : {"print", "export", "slice", "diff", "json", "text", "encode"}) {
    SCOPED_TRACE(command);
    EXPECT_THAT(top.out, HasSubstr(absl::StrCat("\n  ", command, " ")));
    for (const char* flag : {"--help", "-h"}) {
      const Result r = RunTool({command, flag});
      EXPECT_EQ(r.exit_code, 0);
      EXPECT_THAT(r.out, StartsWith(absl::StrCat("usage: lockstep_trace ", command)));
    }
    EXPECT_EQ(RunTool({"help", command}).out, RunTool({command, "--help"}).out);
  }
}

TEST(UsageTest, MistakesExitWithTwo) {
  const std::vector<std::vector<std::string>> mistakes = {
      {},
      {"frobnicate", TracePath("handoff")},
      {"print", "--verbose", TracePath("handoff")},
      {"print"},
      {"print", TracePath("handoff"), TracePath("handoff")},
      {"diff", TracePath("handoff")},
      {"export", TracePath("handoff")},
      {"export", "--format=svg", TracePath("handoff")},
      {"export", "--format"},
      {"slice", "--step", "seven", TracePath("handoff")},
      {"slice", "--step=-1", TracePath("handoff")},
      {"print", "-o", "x", TracePath("handoff")},
  };
  for (const auto& args : mistakes) {
    SCOPED_TRACE(args.empty() ? "(none)" : args[0] + (args.size() > 1 ? " " + args[1] : ""));
    const Result r = RunTool(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, StartsWith("lockstep_trace: "));
    EXPECT_THAT(r.err, HasSubstr("--help"));
  }
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--binary=", 0) == 0) g_binary = arg.substr(9);
    if (arg.rfind("--traces=", 0) == 0) g_traces = arg.substr(9);
    if (arg.rfind("--goldens=", 0) == 0) g_goldens = arg.substr(10);
  }
  return RUN_ALL_TESTS();
}
