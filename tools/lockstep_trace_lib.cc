#include "tools/lockstep_trace_lib.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/unknown_field_set.h"
#include "lockstep/trace.pb.h"
#include "lockstep/trace_io.h"

namespace lockstep::trace_tool {
namespace {

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string RunnerName(RunnerKind runner) {
  switch (runner) {
    case RUNNER_CONTROLLED:
      return "controlled";
    case RUNNER_NATIVE_CONTROL:
      return "native (control)";
    case RUNNER_NATIVE_OBSERVE:
      return "native (observe)";
    default:
      return "unspecified";
  }
}

std::string Location(const SourceLocation& location) {
  if (location.file().empty()) return "";
  if (location.line() == 0) return location.file();
  return absl::StrCat(location.file(), ":", location.line());
}

std::string TestName(const Trace& trace) {
  return absl::StrCat(trace.test_suite().empty() ? "?" : trace.test_suite(), ".",
                      trace.test_name().empty() ? "?" : trace.test_name());
}

std::string StrategyText(const Trace& trace) {
  const StrategyConfig& s = trace.strategy();
  std::vector<std::string> params;
  if (s.pct_depth() != 0) params.push_back(absl::StrCat("pct_depth=", s.pct_depth()));
  if (s.fair_prefix() != 0) params.push_back(absl::StrCat("fair_prefix=", s.fair_prefix()));
  if (s.max_pct_depth() != 0) {
    params.push_back(absl::StrCat("max_pct_depth=", s.max_pct_depth()));
  }
  if (s.pct_step_estimate() != 0) {
    params.push_back(absl::StrCat("pct_step_estimate=", s.pct_step_estimate()));
  }
  if (s.spurious_wakeups()) params.push_back("spurious_wakeups");
  if (trace.max_steps() != 0) params.push_back(absl::StrCat("max_steps=", trace.max_steps()));
  std::string out = s.name();
  if (!params.empty()) {
    out += " (";
    for (size_t i = 0; i < params.size(); ++i) {
      if (i > 0) out += ", ";
      out += params[i];
    }
    out += ")";
  }
  return out;
}

std::string FailureSummary(const Trace& trace) {
  const Failure& f = trace.failure();
  return absl::StrCat(std::string(FailureKindName(f.kind())), " at step ", f.step(), " in ",
                      ThreadLabel(trace, f.thread()));
}

// `text` with every line after the first indented by `indent`.
std::string Indent(const std::string& text, const std::string& indent) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n') out += indent;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
  return out;
}

// The lines after the event list: the failure with its location and, for a
// deadlock, who waits for what.
std::string FormatFailure(const Trace& trace) {
  if (!trace.has_failure()) return "no failure: the iteration passed\n";
  const Failure& f = trace.failure();
  const std::string first_line = f.message().substr(0, f.message().find('\n'));
  std::string out = absl::StrCat("FAILURE ", FailureSummary(trace), ": ", first_line, "\n");
  const std::string where = Location(f.location());
  if (!where.empty()) absl::StrAppend(&out, "  at ", where, "\n");
  for (const BlockedThread& b : f.blocked()) {
    absl::StrAppend(&out, "  blocked: ", ThreadLabel(trace, b.thread()), " waiting for ",
                    b.waiting_for(), "\n");
  }
  for (const MemoryAccess& a : f.race()) {
    absl::StrAppend(&out, "  race: ", ThreadLabel(trace, a.thread()), " ",
                    a.atomic() ? "atomic " : "", a.write() ? "write" : "read", " of ", a.size(),
                    " bytes at 0x", absl::Hex(a.address()), ", ", Location(a.location()), "\n");
  }
  return out;
}

// "acquire", ... for atomic operations of instrumented code.
std::string OrderName(MemoryOrder order) {
  if (order == ORDER_UNSPECIFIED) return "";
  std::string name = MemoryOrder_Name(order);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::string EventDetail(const Trace& trace, const Event& e) {
  std::string detail = e.detail();
  if (const std::string order = OrderName(e.order()); !order.empty()) {
    absl::StrAppend(&detail, detail.empty() ? "" : "; ", order);
  }
  if (e.size() != 0) absl::StrAppend(&detail, detail.empty() ? "" : "; ", e.size(), " bytes");
  if (e.woken_thread_plus_one() != 0) {
    absl::StrAppend(&detail, detail.empty() ? "" : "; ", "wakes ",
                    ThreadLabel(trace, e.woken_thread_plus_one() - 1));
  }
  return detail;
}

// Formats the events at `indexes` as aligned columns.
std::string FormatEvents(const Trace& trace, const std::vector<int>& indexes) {
  const std::optional<int> failing = FailingEvent(trace);
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"", "step", "thread", "op", "object", "value", "detail", "location"});
  std::optional<uint32_t> previous_thread;
  for (int i : indexes) {
    const Event& e = trace.events(i);
    const bool switched = previous_thread.has_value() && *previous_thread != e.thread();
    previous_thread = e.thread();
    std::string location = Location(e.location());
    if (failing && *failing == i) location += "  <== FAILURE";
    rows.push_back({switched ? "=>" : "", absl::StrCat(e.step()), ThreadLabel(trace, e.thread()),
                    e.op(), ObjectLabel(trace, e.object()),
                    e.has_value() ? absl::StrCat(e.value()) : "", EventDetail(trace, e), location});
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) line += "  ";
      // Steps and values are right-aligned, the rest left-aligned.
      const bool right = c == 1 || c == 5;
      const std::string pad(widths[c] - row[c].size(), ' ');
      line += right ? pad + row[c] : row[c] + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

bool IsAtomicWrite(const std::string& op) {
  return op == "atomic.store" || op == "atomic.exchange" || op == "atomic.compare_exchange" ||
         StartsWith(op, "atomic.fetch_");
}

bool IsAtomicRead(const std::string& op) {
  return StartsWith(op, "atomic.") && op != "atomic.store";
}

// Operations that acquire a lock (or a semaphore) and those that release it.
bool IsAcquire(const Event& e) {
  const std::string& op = e.op();
  if (EndsWith(op, ".try_lock") || EndsWith(op, ".try_lock_shared") ||
      EndsWith(op, ".try_acquire")) {
    return e.has_value() && e.value() != 0;
  }
  return EndsWith(op, ".lock") || EndsWith(op, ".lock_shared") || EndsWith(op, ".acquire");
}

bool IsRelease(const Event& e) {
  return EndsWith(e.op(), ".unlock") || EndsWith(e.op(), ".unlock_shared") ||
         EndsWith(e.op(), ".release");
}

bool IsReceive(const Event& e) {
  if (e.op() == "mailbox.recv") return e.has_value();  // a timeout has no value
  if (e.op() == "mailbox.try_recv") return e.has_value() && e.value() != 0;
  return false;
}

// The events event `i` directly depends on.
std::vector<int> Dependencies(const Trace& trace, int i, const std::vector<int>& prev_on_thread,
                              const std::vector<int>& message_source) {
  std::vector<int> deps;
  const Event& e = trace.events(i);
  const int prev = prev_on_thread[i];
  if (prev >= 0) {
    deps.push_back(prev);
  } else if (e.thread() != 0) {
    // A thread's first event depends on its spawn.
    for (int j = i - 1; j >= 0; --j) {
      const Event& s = trace.events(j);
      if (s.op() == "thread.spawn" && s.has_value() && s.value() == e.thread()) {
        deps.push_back(j);
        break;
      }
    }
  }
  // Wake-ups: the first event of a thread after it was woken.
  for (int j = i - 1; j > prev; --j) {
    const Event& w = trace.events(j);
    if (w.woken_thread_plus_one() == e.thread() + 1) {
      deps.push_back(j);
      break;
    }
    if (e.op() == "condvar.wait" && w.op() == "condvar.notify_all" && w.object() == e.object() &&
        e.detail() == "notified") {
      deps.push_back(j);
      break;
    }
  }
  if (IsAcquire(e)) {
    const bool shared = EndsWith(e.op(), "_shared");
    for (int j = i - 1; j >= 0; --j) {
      const Event& r = trace.events(j);
      if (r.object() != e.object() || !IsRelease(r)) continue;
      if (shared && EndsWith(r.op(), ".unlock_shared")) continue;
      deps.push_back(j);
      break;
    }
  }
  if (message_source[i] >= 0) deps.push_back(message_source[i]);
  if (IsAtomicRead(e.op())) {
    for (int j = i - 1; j >= 0; --j) {
      const Event& w = trace.events(j);
      if (w.object() == e.object() && IsAtomicWrite(w.op())) {
        deps.push_back(j);
        break;
      }
    }
  }
  if (e.op() == "thread.join" && e.has_value()) {
    for (int j = i - 1; j >= 0; --j) {
      const Event& x = trace.events(j);
      if (x.op() == "thread.exit" && x.thread() == static_cast<uint64_t>(e.value())) {
        deps.push_back(j);
        break;
      }
    }
  }
  return deps;
}

int LastEventOfThread(const Trace& trace, uint32_t thread, uint64_t max_step) {
  for (int j = trace.events_size() - 1; j >= 0; --j) {
    const Event& e = trace.events(j);
    if (e.thread() == thread && e.step() <= max_step) return j;
  }
  return -1;
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Shorten(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  // Cut at a UTF-8 character boundary.
  size_t cut = max - 1;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "\xE2\x80\xA6";
}

// An arrow between two events: a wake-up or a message.
struct Arrow {
  int from;
  int to;
  const char* kind;  // "wake" or "message"
};

std::vector<Arrow> Arrows(const Trace& trace) {
  std::vector<Arrow> arrows;
  std::vector<int> prev_on_thread(trace.events_size(), -1);
  const std::vector<int> sources = MatchMessages(trace);
  for (int i = 0; i < trace.events_size(); ++i) {
    const Event& e = trace.events(i);
    if (e.woken_thread_plus_one() != 0) {
      // To the woken thread's next event.
      for (int j = i + 1; j < trace.events_size(); ++j) {
        if (trace.events(j).thread() + 1 == e.woken_thread_plus_one()) {
          arrows.push_back({i, j, "wake"});
          break;
        }
      }
    }
    if (sources[i] >= 0) arrows.push_back({sources[i], i, "message"});
  }
  return arrows;
}

}  // namespace

std::string ThreadLabel(const Trace& trace, uint32_t thread) {
  if (thread < static_cast<uint32_t>(trace.threads_size()) &&
      !trace.threads(thread).name().empty()) {
    return absl::StrCat("t", thread, " '", trace.threads(thread).name(), "'");
  }
  return absl::StrCat("t", thread);
}

std::string ObjectLabel(const Trace& trace, uint32_t object) {
  if (object == 0) return "";
  if (object <= static_cast<uint32_t>(trace.objects_size()) &&
      !trace.objects(object - 1).name().empty()) {
    return absl::StrCat("'", trace.objects(object - 1).name(), "'");
  }
  return absl::StrCat("#", object);
}

std::optional<int> FailingEvent(const Trace& trace) {
  if (!trace.has_failure()) return std::nullopt;
  // A deadlock is found at a step where nothing could run: no event of that
  // step happened before it.
  if (trace.failure().kind() == Failure::DEADLOCK) return std::nullopt;
  // Lock guards unwinding after the failure record releases at its step, so
  // trailing releases are skipped unless the step has nothing else (then the
  // first of them is the operation the thread was scheduled for).
  std::optional<int> first_release;
  for (int i = trace.events_size() - 1; i >= 0; --i) {
    const Event& e = trace.events(i);
    if (e.step() < trace.failure().step()) break;
    if (e.step() != trace.failure().step() || e.thread() != trace.failure().thread()) continue;
    if (!IsRelease(e)) return i;
    first_release = i;
  }
  return first_release;
}

std::string FormatHeader(const Trace& trace) {
  std::string out;
  absl::StrAppend(&out, "test:      ", TestName(trace), "\n");
  absl::StrAppend(&out, "runner:    ", RunnerName(trace.runner()), "\n");
  absl::StrAppend(&out, "strategy:  ", StrategyText(trace), "\n");
  absl::StrAppend(&out, "seed:      ", trace.base_seed(), " (iteration ", trace.iteration(),
                  ", iteration seed ", trace.iteration_seed(), ")\n");
  absl::StrAppend(&out, "size:      decisions ", trace.decisions_size(), ", threads ",
                  trace.threads_size(), ", objects ", trace.objects_size(), ", events ",
                  trace.events_size(), "\n");
  if (trace.has_failure()) {
    const Failure& f = trace.failure();
    absl::StrAppend(&out, "failure:   ", FailureSummary(trace), ": ",
                    Indent(f.message(), "           "), "\n");
    const std::string where = Location(f.location());
    if (!where.empty()) absl::StrAppend(&out, "           at ", where, "\n");
  } else {
    absl::StrAppend(&out, "failure:   none\n");
  }
  return out;
}

std::string FormatTrace(const Trace& trace) {
  std::vector<int> all(trace.events_size());
  for (int i = 0; i < trace.events_size(); ++i) all[i] = i;
  return absl::StrCat(FormatHeader(trace), "\n", FormatEvents(trace, all), "\n",
                      FormatFailure(trace));
}

std::vector<int> MatchMessages(const Trace& trace) {
  std::vector<int> source(trace.events_size(), -1);
  std::map<uint32_t, std::vector<int>> pending;  // mailbox -> unreceived sends
  std::map<uint32_t, size_t> next;               // mailbox -> index into pending
  for (int i = 0; i < trace.events_size(); ++i) {
    const Event& e = trace.events(i);
    if (e.op() == "mailbox.send") {
      pending[e.object()].push_back(i);
    } else if (IsReceive(e)) {
      size_t& n = next[e.object()];
      const std::vector<int>& sends = pending[e.object()];
      if (n < sends.size()) source[i] = sends[n++];
    }
  }
  return source;
}

absl::StatusOr<std::vector<int>> SliceEvents(const Trace& trace, std::optional<uint64_t> step) {
  std::vector<int> targets;
  if (step.has_value()) {
    for (int i = trace.events_size() - 1; i >= 0; --i) {
      if (trace.events(i).step() == *step) {
        targets.push_back(i);
        break;
      }
    }
    if (targets.empty()) {
      return absl::NotFoundError(absl::StrCat("no event at step ", *step));
    }
  } else {
    if (!trace.has_failure()) {
      return absl::FailedPreconditionError(
          "the trace has no failure; give the step to slice from with --step N");
    }
    const std::optional<int> failing = FailingEvent(trace);
    if (failing) {
      targets.push_back(*failing);
    } else {
      const uint64_t before = trace.failure().kind() == Failure::DEADLOCK
                                  ? trace.failure().step() - 1
                                  : trace.failure().step();
      const int last = LastEventOfThread(trace, trace.failure().thread(), before);
      if (last >= 0) targets.push_back(last);
    }
    for (const BlockedThread& b : trace.failure().blocked()) {
      // Events at a deadlock's step are unwinding after it.
      const int last = LastEventOfThread(trace, b.thread(), trace.failure().step() - 1);
      if (last >= 0) targets.push_back(last);
    }
  }
  std::vector<int> prev_on_thread(trace.events_size(), -1);
  std::map<uint32_t, int> last_on_thread;
  for (int i = 0; i < trace.events_size(); ++i) {
    auto it = last_on_thread.find(trace.events(i).thread());
    if (it != last_on_thread.end()) prev_on_thread[i] = it->second;
    last_on_thread[trace.events(i).thread()] = i;
  }
  const std::vector<int> sources = MatchMessages(trace);
  std::vector<bool> kept(trace.events_size(), false);
  std::vector<int> work = targets;
  while (!work.empty()) {
    const int i = work.back();
    work.pop_back();
    if (kept[i]) continue;
    kept[i] = true;
    for (int d : Dependencies(trace, i, prev_on_thread, sources)) {
      if (!kept[d]) work.push_back(d);
    }
  }
  std::vector<int> out;
  for (int i = 0; i < trace.events_size(); ++i) {
    if (kept[i]) out.push_back(i);
  }
  return out;
}

std::string FormatSlice(const Trace& trace, const std::vector<int>& kept) {
  return absl::StrCat(FormatHeader(trace), "\n", FormatEvents(trace, kept), "\n",
                      FormatFailure(trace), "kept ", kept.size(), " of ", trace.events_size(),
                      " events\n");
}

namespace {

// Counts the unknown fields of `message` and the messages inside it by
// (message type, field number).
void CountUnknownFields(const google::protobuf::Message& message,
                        std::map<std::pair<std::string, int>, int>& counts) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  const google::protobuf::UnknownFieldSet& unknown = reflection->GetUnknownFields(message);
  for (int i = 0; i < unknown.field_count(); ++i) {
    ++counts[{message.GetDescriptor()->name(), unknown.field(i).number()}];
  }
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        CountUnknownFields(reflection->GetRepeatedMessage(message, field, i), counts);
      }
    } else {
      CountUnknownFields(reflection->GetMessage(message, field), counts);
    }
  }
}

}  // namespace

std::string UnknownFieldsSummary(const google::protobuf::Message& trace) {
  std::map<std::pair<std::string, int>, int> counts;
  CountUnknownFields(trace, counts);
  std::string out;
  for (const auto& [where, count] : counts) {
    absl::StrAppend(&out, out.empty() ? "" : ", ", "field ", where.second, " of ", where.first);
    if (count > 1) absl::StrAppend(&out, " (", count, " times)");
  }
  return out;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (c == '\t') {
      out += "\\t";
      ++i;
    } else if (c == '\r') {
      out += "\\r";
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      // Copy a valid UTF-8 sequence; replace an invalid byte with U+FFFD.
      size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
      bool valid = len != 0 && i + len <= s.size();
      for (size_t k = 1; valid && k < len; ++k) {
        valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
      }
      if (valid) {
        out += s.substr(i, len);
        i += len;
      } else {
        out += "\\ufffd";
        ++i;
      }
    }
  }
  return out + "\"";
}

std::string ExportChrome(const Trace& trace) {
  // Time axis: each step is a 100 µs slot, shared by the events at that step.
  std::vector<uint64_t> ts(trace.events_size()), dur(trace.events_size());
  for (int i = 0; i < trace.events_size();) {
    int j = i;
    while (j < trace.events_size() && trace.events(j).step() == trace.events(i).step()) ++j;
    const uint64_t width = 100 / static_cast<uint64_t>(std::min(j - i, 50));
    for (int k = i; k < j; ++k) {
      ts[k] = trace.events(k).step() * 100 + static_cast<uint64_t>(std::min(k - i, 49)) * width;
      dur[k] = width > 2 ? width - 2 : 1;
    }
    i = j;
  }
  std::vector<std::string> items;
  items.push_back(absl::StrCat(R"({"ph":"M","pid":1,"tid":0,"name":"process_name","args":{"name":)",
                               JsonString(absl::StrCat("lockstep ", TestName(trace))), "}}"));
  for (const ThreadInfo& t : trace.threads()) {
    items.push_back(absl::StrCat(R"({"ph":"M","pid":1,"tid":)", t.id(),
                                 R"(,"name":"thread_name","args":{"name":)",
                                 JsonString(ThreadLabel(trace, t.id())), "}}"));
    items.push_back(absl::StrCat(R"({"ph":"M","pid":1,"tid":)", t.id(),
                                 R"(,"name":"thread_sort_index","args":{"sort_index":)", t.id(),
                                 "}}"));
  }
  const std::optional<int> failing = FailingEvent(trace);
  for (int i = 0; i < trace.events_size(); ++i) {
    const Event& e = trace.events(i);
    const std::string object = ObjectLabel(trace, e.object());
    std::string args = absl::StrCat("\"step\":", e.step(), ",\"op\":", JsonString(e.op()));
    if (!object.empty()) absl::StrAppend(&args, ",\"object\":", JsonString(object));
    if (e.has_value()) absl::StrAppend(&args, ",\"value\":", e.value());
    const std::string detail = EventDetail(trace, e);
    if (!detail.empty()) absl::StrAppend(&args, ",\"detail\":", JsonString(detail));
    const std::string where = Location(e.location());
    if (!where.empty()) absl::StrAppend(&args, ",\"location\":", JsonString(where));
    absl::StrAppend(&args, ",\"time_ns\":", e.time_ns());
    if (failing && *failing == i) absl::StrAppend(&args, ",\"failure\":true");
    items.push_back(absl::StrCat(
        R"({"ph":"X","pid":1,"tid":)", e.thread(), ",\"ts\":", ts[i], ",\"dur\":", dur[i],
        ",\"name\":", JsonString(object.empty() ? e.op() : absl::StrCat(e.op(), " ", object)),
        ",\"cat\":", JsonString(e.op().substr(0, e.op().find('.'))), ",\"args\":{", args, "}}"));
  }
  int flow_id = 0;
  for (const Arrow& a : Arrows(trace)) {
    ++flow_id;
    items.push_back(absl::StrCat(R"({"ph":"s","pid":1,"tid":)", trace.events(a.from).thread(),
                                 ",\"ts\":", ts[a.from], ",\"id\":", flow_id, ",\"name\":\"",
                                 a.kind, "\",\"cat\":\"", a.kind, "\"}"));
    items.push_back(absl::StrCat(
        R"({"ph":"f","bp":"e","pid":1,"tid":)", trace.events(a.to).thread(), ",\"ts\":", ts[a.to],
        ",\"id\":", flow_id, ",\"name\":\"", a.kind, "\",\"cat\":\"", a.kind, "\"}"));
  }
  if (trace.has_failure()) {
    const Failure& f = trace.failure();
    const uint64_t at = failing ? ts[*failing] + dur[*failing] : f.step() * 100;
    std::string args =
        absl::StrCat("\"kind\":", JsonString(std::string(FailureKindName(f.kind()))),
                     ",\"message\":", JsonString(f.message()), ",\"step\":", f.step());
    const std::string where = Location(f.location());
    if (!where.empty()) absl::StrAppend(&args, ",\"location\":", JsonString(where));
    for (int b = 0; b < f.blocked_size(); ++b) {
      absl::StrAppend(&args, ",\"blocked_", b, "\":",
                      JsonString(absl::StrCat(ThreadLabel(trace, f.blocked(b).thread()),
                                              " waiting for ", f.blocked(b).waiting_for())));
    }
    items.push_back(absl::StrCat(
        R"({"ph":"i","s":"t","pid":1,"tid":)", f.thread(), ",\"ts\":", at,
        ",\"name\":", JsonString(absl::StrCat("FAILURE: ", std::string(FailureKindName(f.kind())))),
        ",\"cat\":\"failure\",\"args\":{", args, "}}"));
  }
  std::string out = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  for (size_t i = 0; i < items.size(); ++i) {
    out += items[i];
    out += i + 1 < items.size() ? ",\n" : "\n";
  }
  out += "]}\n";
  return out;
}

std::string ExportHtml(const Trace& trace) {
  constexpr int kLabelWidth = 150, kColumn = 124, kBoxWidth = 114, kLane = 64, kBox = 40, kTop = 30;
  const int n = trace.events_size();
  const int threads = trace.threads_size();
  const std::optional<int> failing = FailingEvent(trace);
  const bool failure_marker = trace.has_failure() && !failing;
  const int columns = n + (failure_marker ? 1 : 0);
  const int width = kLabelWidth + columns * kColumn + 20;
  const int height = kTop + threads * kLane + 10;
  auto box_x = [&](int column) { return kLabelWidth + column * kColumn + 5; };
  auto box_y = [&](uint32_t thread) {
    return kTop + static_cast<int>(thread) * kLane + (kLane - kBox) / 2;
  };

  std::string svg =
      absl::StrCat("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", width, "\" height=\"",
                   height, "\" viewBox=\"0 0 ", width, " ", height, "\">\n",
                   "<defs><marker id=\"arrowhead\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
                   "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
                   "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"context-stroke\"/></marker></defs>\n");
  // Step axis.
  svg += "<g class=\"axis\">";
  for (int i = 0; i < n; ++i) {
    if (i > 0 && trace.events(i).step() == trace.events(i - 1).step()) continue;
    absl::StrAppend(&svg, "<text x=\"", box_x(i), "\" y=\"18\">step ", trace.events(i).step(),
                    "</text>");
  }
  svg += "</g>\n";
  // Lanes with their events.
  for (int t = 0; t < threads; ++t) {
    absl::StrAppend(&svg, "<g class=\"lane\" data-thread=\"", t,
                    "\">\n<rect class=\"lane-bg\" x=\"0\" y=\"", kTop + t * kLane, "\" width=\"",
                    width, "\" height=\"", kLane, "\"/><text class=\"lane-label\" x=\"8\" y=\"",
                    kTop + t * kLane + kLane / 2 + 5, "\">",
                    HtmlEscape(Shorten(ThreadLabel(trace, t), 20)), "</text>\n");
    for (int i = 0; i < n; ++i) {
      const Event& e = trace.events(i);
      if (e.thread() != static_cast<uint32_t>(t)) continue;
      const std::string object = ObjectLabel(trace, e.object());
      const std::string value = e.has_value() ? absl::StrCat(" = ", e.value()) : "";
      const std::string detail = EventDetail(trace, e);
      const std::string where = Location(e.location());
      const std::string tooltip = absl::StrCat(
          "step ", e.step(), "  ", ThreadLabel(trace, e.thread()), "\n", e.op(), " ", object, value,
          detail.empty() ? "" : "\n", detail, where.empty() ? "" : "\n", where);
      const bool is_failure = failing && *failing == i;
      const std::string cat = e.op().substr(0, e.op().find('.'));
      absl::StrAppend(&svg, "<g class=\"event", is_failure ? " failure" : "", " op-",
                      HtmlEscape(cat), "\" data-index=\"", i, "\" data-step=\"", e.step(),
                      "\" data-details=\"", HtmlEscape(tooltip), "\"><title>", HtmlEscape(tooltip),
                      "</title><rect x=\"", box_x(i), "\" y=\"", box_y(e.thread()), "\" width=\"",
                      kBoxWidth, "\" height=\"", kBox, "\" rx=\"4\"/><text x=\"", box_x(i) + 5,
                      "\" y=\"", box_y(e.thread()) + 16, "\">", HtmlEscape(Shorten(e.op(), 18)),
                      "</text><text class=\"obj\" x=\"", box_x(i) + 5, "\" y=\"",
                      box_y(e.thread()) + 32, "\">", HtmlEscape(Shorten(object + value, 18)),
                      "</text></g>\n");
    }
    if (failure_marker && trace.failure().thread() == static_cast<uint32_t>(t)) {
      const std::string text =
          absl::StrCat("FAILURE: ", std::string(FailureKindName(trace.failure().kind())));
      absl::StrAppend(&svg, "<g class=\"event failure marker\" data-step=\"",
                      trace.failure().step(), "\" data-details=\"",
                      HtmlEscape(absl::StrCat(text, "\n", trace.failure().message())), "\"><title>",
                      HtmlEscape(trace.failure().message()), "</title><rect x=\"", box_x(n),
                      "\" y=\"", box_y(t), "\" width=\"", kBoxWidth, "\" height=\"", kBox,
                      "\" rx=\"4\"/><text x=\"", box_x(n) + 5, "\" y=\"", box_y(t) + 16, "\">",
                      HtmlEscape(text), "</text></g>\n");
    }
    svg += "</g>\n";
  }
  // Arrows for wake-ups and messages, drawn over the lanes.
  const std::vector<Arrow> arrows = Arrows(trace);
  for (const Arrow& a : arrows) {
    const Event& from = trace.events(a.from);
    const Event& to = trace.events(a.to);
    const int x1 = box_x(a.from) + kBoxWidth, y1 = box_y(from.thread()) + kBox / 2;
    const int x2 = box_x(a.to), y2 = box_y(to.thread()) + kBox / 2;
    const int bend = std::max(20, (x2 - x1) / 2);
    absl::StrAppend(&svg, "<path class=\"arrow ", a.kind, "\" data-from=\"", a.from,
                    "\" data-to=\"", a.to, "\" d=\"M", x1, ",", y1, " C", x1 + bend, ",", y1, " ",
                    x2 - bend, ",", y2, " ", x2, ",", y2,
                    "\" marker-end=\"url(#arrowhead)\"><title>", a.kind, ": step ", from.step(),
                    " to step ", to.step(), "</title></path>\n");
  }
  svg += "</svg>\n";

  std::string header = absl::StrCat(
      "<h1>", HtmlEscape(TestName(trace)), "</h1>\n<table class=\"info\">\n",
      "<tr><th>runner</th><td>", HtmlEscape(RunnerName(trace.runner())), "</td></tr>\n",
      "<tr><th>strategy</th><td>", HtmlEscape(StrategyText(trace)), "</td></tr>\n",
      "<tr><th>seed</th><td>", trace.base_seed(), "</td></tr>\n", "<tr><th>iteration</th><td>",
      trace.iteration(), " (iteration seed ", trace.iteration_seed(), ")</td></tr>\n",
      "<tr><th>schedule</th><td>", trace.decisions_size(), " decisions, ", threads, " threads, ", n,
      " events</td></tr>\n");
  if (trace.has_failure()) {
    const Failure& f = trace.failure();
    const std::string where = Location(f.location());
    absl::StrAppend(&header, "<tr><th>failure</th><td class=\"failure-text\"><b>",
                    HtmlEscape(FailureSummary(trace)), "</b><pre>", HtmlEscape(f.message()),
                    "</pre>", where.empty() ? "" : "at ", HtmlEscape(where));
    for (const BlockedThread& b : f.blocked()) {
      absl::StrAppend(&header, "<br>blocked: ", HtmlEscape(ThreadLabel(trace, b.thread())),
                      " waiting for ", HtmlEscape(b.waiting_for()));
    }
    header += "</td></tr>\n";
  } else {
    header += "<tr><th>failure</th><td>none</td></tr>\n";
  }
  header += "</table>\n";

  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>",
      HtmlEscape(absl::StrCat("Lockstep trace: ", TestName(trace))), "</title>\n<style>\n",
      "body{font-family:system-ui,sans-serif;margin:16px;color:#222}\n"
      "h1{font-size:20px;margin:0 0 8px}\n"
      "table.info th{text-align:left;padding-right:12px;vertical-align:top;color:#555}\n"
      "table.info pre{margin:2px 0;white-space:pre-wrap}\n"
      ".failure-text{color:#b00020}\n"
      "#lockstep-timeline{overflow:auto;border:1px solid #ccc;margin-top:12px}\n"
      "svg{font-family:ui-monospace,monospace;font-size:11px}\n"
      ".lane:nth-child(odd) .lane-bg{fill:#f6f8fa}.lane:nth-child(even) .lane-bg{fill:#fff}\n"
      ".lane-label{font-weight:bold;font-size:12px}\n"
      ".axis text{fill:#888}\n"
      ".event rect{fill:#dbe9ff;stroke:#4a78c2}.event .obj{fill:#444}\n"
      ".event.op-atomic rect{fill:#e3f5e1;stroke:#3d8b37}\n"
      ".event.op-mailbox rect{fill:#fff1d6;stroke:#c08a1e}\n"
      ".event.op-condvar rect{fill:#f1e3ff;stroke:#8a4fc2}\n"
      ".event.op-thread rect{fill:#eee;stroke:#888}\n"
      ".event.failure rect{fill:#ffd6d6;stroke:#d00000;stroke-width:3}\n"
      ".event.selected rect{stroke:#000;stroke-width:3}\n"
      ".event{cursor:pointer}\n"
      ".arrow{fill:none;stroke-width:1.5}.arrow.wake{stroke:#8a4fc2}"
      ".arrow.message{stroke:#c08a1e;stroke-dasharray:5 3}\n"
      "#details{background:#f6f8fa;border:1px solid #ddd;padding:8px;min-height:3em;"
      "white-space:pre-wrap}\n"
      ".legend span{margin-right:16px}\n"
      "</style>\n</head>\n<body>\n",
      header,
      "<p class=\"legend\"><span>boxes: operations, one row per thread, along the step "
      "axis</span><span style=\"color:#8a4fc2\">&#8594; wake-up</span>"
      "<span style=\"color:#c08a1e\">&#8594; message</span>"
      "<span style=\"color:#d00000\">red: the failure</span></p>\n",
      "<div id=\"lockstep-timeline\" data-threads=\"", threads, "\" data-events=\"", n,
      "\" data-arrows=\"", arrows.size(), "\">\n", svg, "</div>\n",
      "<pre id=\"details\">Click an operation to see its details.</pre>\n",
      "<script>\n"
      "document.querySelectorAll('#lockstep-timeline .event').forEach(function(e){\n"
      "  e.addEventListener('click',function(){\n"
      "    document.querySelectorAll('.event.selected').forEach(function(s){"
      "s.classList.remove('selected');});\n"
      "    e.classList.add('selected');\n"
      "    document.getElementById('details').textContent=e.getAttribute('data-details');\n"
      "  });\n"
      "});\n"
      "</script>\n</body>\n</html>\n");
}

std::string DiffTraces(const Trace& a, const Trace& b) {
  std::string out;
  if (TestName(a) != TestName(b)) {
    absl::StrAppend(&out, "tests differ: A is ", TestName(a), ", B is ", TestName(b), "\n");
  } else {
    absl::StrAppend(&out, "test: ", TestName(a), "\n");
  }
  if (a.base_seed() != b.base_seed() || a.iteration() != b.iteration() ||
      a.iteration_seed() != b.iteration_seed()) {
    absl::StrAppend(&out, "seeds differ: A has seed ", a.base_seed(), " iteration ", a.iteration(),
                    " (iteration seed ", a.iteration_seed(), "), B has seed ", b.base_seed(),
                    " iteration ", b.iteration(), " (iteration seed ", b.iteration_seed(), ")\n");
  }
  if (StrategyText(a) != StrategyText(b)) {
    absl::StrAppend(&out, "strategies differ: A ", StrategyText(a), ", B ", StrategyText(b), "\n");
  }
  auto describe = [](const Trace& t, int i) -> std::string {
    if (i >= t.decisions_size()) return "no decision (the schedule ended)";
    const Decision& d = t.decisions(i);
    if (d.kind() == Decision::SCHEDULE) {
      return absl::StrCat("schedule ", ThreadLabel(t, d.value()), " (", d.options(), " enabled)");
    }
    return absl::StrCat("choose ", d.value(), " of ", d.options());
  };
  int i = 0;
  uint64_t step = 0;
  const int common = std::min(a.decisions_size(), b.decisions_size());
  for (; i < common; ++i) {
    const Decision& da = a.decisions(i);
    const Decision& db = b.decisions(i);
    if (da.kind() == Decision::SCHEDULE) ++step;  // step k is the k-th SCHEDULE decision
    if (da.kind() != db.kind() || da.value() != db.value()) break;
  }
  if (i == a.decisions_size() && i == b.decisions_size()) {
    absl::StrAppend(&out, "identical schedules (", i, " decisions)\n");
    return out;
  }
  if (i == common) {
    // One is a prefix of the other; the first extra decision's step.
    const Trace& longer = a.decisions_size() > b.decisions_size() ? a : b;
    if (longer.decisions(i).kind() == Decision::SCHEDULE) ++step;
  }
  absl::StrAppend(&out, "schedules first differ at decision ", i, " (step ", step, ") after ", i,
                  " equal decisions:\n");
  absl::StrAppend(&out, "  A: ", describe(a, i), "\n");
  absl::StrAppend(&out, "  B: ", describe(b, i), "\n");
  absl::StrAppend(&out, "A has ", a.decisions_size(), " decisions, B has ", b.decisions_size(),
                  "\n");
  return out;
}

}  // namespace lockstep::trace_tool
