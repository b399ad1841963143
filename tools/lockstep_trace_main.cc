// lockstep_trace: reads Lockstep trace files (*.lockstep) and shows what
// happened. Run `lockstep_trace --help` for the subcommands.
//
// Exit status: 0 on success, 1 when a file cannot be read or is not a valid
// trace (the message starts with "lockstep_trace: "), 2 on a usage error.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/util/json_util.h"
#include "lockstep/trace.pb.h"
#include "lockstep/trace_io.h"
#include "tools/lockstep_trace_lib.h"

namespace lockstep::trace_tool {
namespace {

constexpr char kUsage[] =
    R"(usage: lockstep_trace <command> [options] FILE...

Shows a Lockstep trace file (*.lockstep), as saved by a failing
TEST_LOCKSTEP test (under `bazel test`, in the test's outputs.zip).

commands:
  print FILE                         the schedule as text, one line per event
  export --format=chrome FILE [-o OUT]
                                     Chrome Trace Event JSON (Perfetto UI,
                                     chrome://tracing)
  export --format=html FILE [-o OUT] a self-contained HTML timeline
  slice [--step N] FILE              only the events the failure (or the
                                     event at step N) causally depends on
  diff A B                           where two traces' schedules first differ
  json FILE                          the whole trace as JSON
  text FILE                          the whole trace as protobuf text
  encode IN.txtpb OUT.lockstep       writes a trace file from protobuf text

`lockstep_trace <command> --help` describes a command.
Exit status: 0 success, 1 unreadable or invalid trace file, 2 usage error.
)";

const std::map<std::string, std::string>& CommandHelp() {
  static const auto* help = new std::map<std::string, std::string>{
      {"print", R"(usage: lockstep_trace print FILE

Prints the trace as text: a header (test, runner, strategy and its
parameters, seed, iteration and iteration seed, the failure with its
location), then one line per event:

  step  thread  op  object  value  detail  file:line

"=>" in the first column marks a context switch (the event runs on another
thread than the one before it); "<== FAILURE" marks the event the failure
happened at. The failure (and, for a deadlock, who waits for what) follows
the events. The output depends only on the trace, so it can be diffed.
)"},
      {"export", R"(usage: lockstep_trace export --format=chrome|html FILE [-o OUT]

--format=chrome  Chrome Trace Event JSON ({"traceEvents": [...]}): one track
                 per logical thread, each event a slice (ts = step * 100 us)
                 with its op, object, value, detail and location as args,
                 wake-ups and messages as flow arrows, the failure as an
                 instant event. Open it in https://ui.perfetto.dev or
                 chrome://tracing.
--format=html    one self-contained HTML page (no network access): the
                 threads as swimlanes along the step axis, arrows for
                 wake-ups and messages, the failure in red. Click an
                 operation for its details.
-o OUT, --output=OUT
                 write to OUT instead of standard output.
)"},
      {"slice", R"(usage: lockstep_trace slice [--step N] FILE

Prints only the events the failure (or, with --step N, the last event at
step N) causally depends on, in `print` format, and "kept K of N events".
An event depends on the thread's previous event (program order), on the
spawn of its thread (for a thread's first event), on the unlock it acquired
a lock after (lock hand-off), on the notify that woke it, on the send of the
message it received, on the last store to the atomic it read (reads-from),
and a join on the joined thread's exit. For a deadlock, every blocked
thread's last event is a starting point too.
)"},
      {"diff", R"(usage: lockstep_trace diff A B

Says where the schedules (decision sequences) of traces A and B first
differ: the decision index, its step, and what each trace decided (which
thread ran, or which choice was made), or "identical schedules". Also says
when the traces are of different tests, seeds or strategies.
)"},
      {"json", R"(usage: lockstep_trace json FILE

Prints the whole trace as JSON (protobuf's JSON mapping, with the field
names of lockstep/trace.proto), for scripts. Fields this build does not know
(the trace is from a newer Lockstep) are left out, and a note on standard
error names them.
)"},
      {"text", R"(usage: lockstep_trace text FILE

Prints the whole trace in protobuf text format (the form of the golden
traces in testdata/). `encode` turns the output back into the same trace
file. Fields this build does not know (the trace is from a newer Lockstep)
are left out, since `encode` could not read them back, and a note on
standard error names them; the exit status is still 0. Text that was not
UTF-8 in the test (an exception's message, say) is stored with each invalid
byte as \xNN and printed as such (a "\\xNN" string escape).
)"},
      {"encode", R"(usage: lockstep_trace encode IN.txtpb OUT.lockstep

Reads a trace in protobuf text format (as `text` prints it), validates it
and writes it as a trace file (with its checksum), atomically. Strings that
are not UTF-8 (written with escapes such as "\377") are stored with each
invalid byte as \xNN. Unknown field names are errors.
)"},
  };
  return *help;
}

int UsageError(const std::string& message, const std::string& command = "") {
  std::cerr << "lockstep_trace: " << message << "\n";
  if (command.empty()) {
    std::cerr << "run `lockstep_trace --help` for usage\n";
  } else {
    std::cerr << "run `lockstep_trace " << command << " --help` for usage\n";
  }
  return 2;
}

int Error(const std::string& message) {
  std::cerr << "lockstep_trace: " << message << "\n";
  return 1;
}

// The parsed arguments of one command.
struct Args {
  std::vector<std::string> files;
  std::optional<std::string> output;
  std::optional<std::string> format;
  std::optional<uint64_t> step;
  bool help = false;
};

// Options each command accepts (besides --help).
bool Accepts(const std::string& command, const std::string& option) {
  if (option == "output") return command == "export";
  if (option == "format") return command == "export";
  if (option == "step") return command == "slice";
  return false;
}

// Parses the arguments after the command. Returns an error message on
// misuse.
std::optional<std::string> ParseArgs(const std::string& command, int argc, char** argv,
                                     Args& args) {
  bool options_done = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_done || arg.empty() || arg[0] != '-' || arg == "-") {
      args.files.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      args.help = true;
      continue;
    }
    std::string name, value;
    bool has_value = false;
    if (arg == "-o") {
      name = "output";
    } else if (arg.rfind("--", 0) == 0) {
      const size_t eq = arg.find('=');
      name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
        has_value = true;
      }
    } else {
      return "unknown option " + arg;
    }
    if (!Accepts(command, name)) return "unknown option " + arg + " for " + command;
    if (!has_value) {
      if (i + 1 >= argc) return "option " + arg + " needs a value";
      value = argv[++i];
    }
    if (name == "output") {
      args.output = value;
    } else if (name == "format") {
      args.format = value;
    } else if (name == "step") {
      char* end = nullptr;
      errno = 0;
      const unsigned long long n = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno != 0 || value[0] == '-') {
        return "--step needs a step number, not '" + value + "'";
      }
      args.step = n;
    }
  }
  return std::nullopt;
}

int Emit(const std::string& text, const std::optional<std::string>& output) {
  if (!output.has_value() || *output == "-") {
    std::cout << text;
    std::cout.flush();
    return std::cout ? 0 : Error("cannot write to standard output");
  }
  std::ofstream out(*output, std::ios::binary | std::ios::trunc);
  if (out) out << text;
  if (out) out.close();
  if (!out) return Error(*output + ": cannot write: " + std::strerror(errno));
  return 0;
}

int Run(int argc, char** argv) {
  if (argc < 2) return UsageError("no command given");
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    if (command == "help" && argc > 2) {
      auto it = CommandHelp().find(argv[2]);
      if (it == CommandHelp().end()) return UsageError(std::string("unknown command ") + argv[2]);
      std::cout << it->second;
      return 0;
    }
    std::cout << kUsage;
    return 0;
  }
  auto help = CommandHelp().find(command);
  if (help == CommandHelp().end()) return UsageError("unknown command " + command);
  Args args;
  if (auto error = ParseArgs(command, argc - 2, argv + 2, args)) {
    return UsageError(*error, command);
  }
  if (args.help) {
    std::cout << help->second;
    return 0;
  }
  const size_t want = (command == "diff" || command == "encode") ? 2 : 1;
  if (args.files.size() != want) {
    return UsageError(command + " takes " + (want == 1 ? "one file" : "two files") + ", got " +
                          std::to_string(args.files.size()),
                      command);
  }

  if (command == "encode") {
    std::ifstream in(args.files[0], std::ios::binary);
    if (!in) return Error(args.files[0] + ": " + std::strerror(errno));
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    absl::StatusOr<Trace> trace = TraceFromText(text);
    if (!trace.ok()) return Error(args.files[0] + ": " + std::string(trace.status().message()));
    absl::Status written = WriteTraceFile(*trace, args.files[1]);
    if (!written.ok()) return Error(std::string(written.message()));
    return 0;
  }

  std::vector<Trace> traces;
  for (const std::string& file : args.files) {
    absl::StatusOr<Trace> trace = ReadTraceFile(file);
    if (!trace.ok()) return Error(std::string(trace.status().message()));
    traces.push_back(*std::move(trace));
  }
  const Trace& trace = traces[0];

  if (command == "text" || command == "json") {
    if (const std::string unknown = UnknownFieldsSummary(trace); !unknown.empty()) {
      std::cerr << "lockstep_trace: " << args.files[0]
                << ": note: left out fields this build does not know (from a newer Lockstep?): "
                << unknown << "\n";
    }
  }
  if (command == "print") return Emit(FormatTrace(trace), std::nullopt);
  if (command == "text") return Emit(TraceToText(trace), std::nullopt);
  if (command == "diff") return Emit(DiffTraces(traces[0], traces[1]), std::nullopt);
  if (command == "slice") {
    absl::StatusOr<std::vector<int>> kept = SliceEvents(trace, args.step);
    if (!kept.ok()) return Error(args.files[0] + ": " + std::string(kept.status().message()));
    return Emit(FormatSlice(trace, *kept), std::nullopt);
  }
  if (command == "json") {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = true;
    const auto status = google::protobuf::util::MessageToJsonString(trace, &json, options);
    if (!status.ok()) return Error(args.files[0] + ": " + status.ToString());
    return Emit(json, std::nullopt);
  }
  if (command == "export") {
    if (!args.format.has_value()) return UsageError("export needs --format=chrome|html", command);
    if (*args.format == "chrome") return Emit(ExportChrome(trace), args.output);
    if (*args.format == "html") return Emit(ExportHtml(trace), args.output);
    return UsageError("unknown format '" + *args.format + "' (chrome or html)", command);
  }
  return UsageError("unknown command " + command);
}

}  // namespace
}  // namespace lockstep::trace_tool

int main(int argc, char** argv) { return lockstep::trace_tool::Run(argc, argv); }
