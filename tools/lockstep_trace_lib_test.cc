// Tests of the views lockstep_trace prints, on the golden traces of
// testdata/ (real runs, see tools/trace_golden_gen.cc) and on small traces
// built here. Flags: --traces=DIR (the encoded *.lockstep goldens).
#include "tools/lockstep_trace_lib.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "lockstep/trace.pb.h"
#include "lockstep/trace_io.h"

namespace lockstep::trace_tool {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::string g_traces = "testdata";

Trace Golden(const std::string& name) {
  absl::StatusOr<Trace> trace = ReadTraceFile(g_traces + "/" + name + ".lockstep");
  EXPECT_TRUE(trace.ok()) << trace.status();
  return trace.ok() ? *trace : Trace();
}

int CountOf(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

google::protobuf::Struct ParseJson(const std::string& json) {
  google::protobuf::Struct parsed;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &parsed);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return parsed;
}

// A small trace built by hand: t0 spawns t1 and t2; t1 stores to an atomic,
// unlocks a mutex, sends a message and notifies; t2 locks, loads, receives
// and waits; t0 joins t1.
class Builder {
 public:
  Builder() {
    trace_.set_format_version(kTraceFormatVersion);
    trace_.set_test_suite("Synthetic");
    trace_.set_test_name("Edges");
    trace_.set_runner(RUNNER_NATIVE_OBSERVE);  // no seed derivation check
    trace_.mutable_strategy()->set_name("random");
    for (const char* name : {"main", "one", "two"}) {
      ThreadInfo* t = trace_.add_threads();
      t->set_id(trace_.threads_size() - 1);
      t->set_name(name);
    }
    for (const char* kind : {"atomic", "mutex", "mailbox", "condvar", "atomic"}) {
      ObjectInfo* o = trace_.add_objects();
      o->set_id(trace_.objects_size());
      o->set_kind(kind);
      o->set_name(std::string(kind) + std::to_string(trace_.objects_size()));
    }
  }
  // Adds an event at the next step; returns its index.
  int Add(uint32_t thread, const std::string& op, uint32_t object = 0,
          std::optional<int64_t> value = std::nullopt, uint32_t woken_plus_one = 0,
          const std::string& detail = "") {
    Event* e = trace_.add_events();
    e->set_step(++step_);
    e->set_thread(thread);
    e->set_op(op);
    e->set_object(object);
    if (value) {
      e->set_has_value(true);
      e->set_value(*value);
    }
    e->set_woken_thread_plus_one(woken_plus_one);
    e->set_detail(detail);
    e->mutable_location()->set_file("synthetic.cc");
    e->mutable_location()->set_line(static_cast<uint32_t>(100 + trace_.events_size()));
    return trace_.events_size() - 1;
  }
  Trace& trace() { return trace_; }

 private:
  Trace trace_;
  uint64_t step_ = 0;
};

TEST(SliceTest, FollowsEveryKindOfDependency) {
  Builder b;
  const int spawn1 = b.Add(0, "thread.spawn", 0, 1);
  const int spawn2 = b.Add(0, "thread.spawn", 0, 2);
  const int t2_lock = b.Add(2, "mutex.lock", 2);
  const int t2_unlock = b.Add(2, "mutex.unlock", 2);
  const int t1_store = b.Add(1, "atomic.store", 1, 7);
  const int t1_lock = b.Add(1, "mutex.lock", 2);  // after t2's unlock
  const int t1_unlock = b.Add(1, "mutex.unlock", 2);
  const int t1_send = b.Add(1, "mailbox.send", 3, 1);
  const int t1_notify = b.Add(1, "condvar.notify_one", 4, std::nullopt, 3);
  const int t1_store_other = b.Add(1, "atomic.store", 5, 9);  // after the notify
  const int t1_exit = b.Add(1, "thread.exit");
  const int t0_store = b.Add(0, "atomic.store", 1, 8);
  const int t0_join = b.Add(0, "thread.join", 0, 1);
  const int t2_wait = b.Add(2, "condvar.wait", 4, std::nullopt, 0, "notified");
  const int t2_recv = b.Add(2, "mailbox.recv", 3, 0);
  const int t2_load = b.Add(2, "atomic.load", 1, 8);
  ASSERT_TRUE(ValidateTrace(b.trace()).ok()) << ValidateTrace(b.trace());

  // t2's load: program order (lock, unlock, wait, recv), its spawn, the
  // notify that woke it, the send it received (and so t1 up to it, whose
  // lock followed t2's unlock), the store it read (t0's, not t1's). Not t1's
  // later events, nor t0's join.
  absl::StatusOr<std::vector<int>> kept = SliceEvents(b.trace(), b.trace().events(t2_load).step());
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_THAT(*kept, ElementsAre(spawn1, spawn2, t2_lock, t2_unlock, t1_store, t1_lock, t1_unlock,
                                 t1_send, t1_notify, t0_store, t2_wait, t2_recv, t2_load));

  // t0's join depends on t1's exit and so on all of t1, but not on t2's
  // wait and what follows.
  kept = SliceEvents(b.trace(), b.trace().events(t0_join).step());
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_THAT(*kept, ElementsAre(spawn1, spawn2, t2_lock, t2_unlock, t1_store, t1_lock, t1_unlock,
                                 t1_send, t1_notify, t1_store_other, t1_exit, t0_store, t0_join));

  EXPECT_EQ(SliceEvents(b.trace(), 999).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(SliceEvents(b.trace(), std::nullopt).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SliceTest, NotifyAllWakesTheWaiter) {
  Builder b;
  b.Add(0, "thread.spawn", 0, 1);
  const int wait_start = b.Add(1, "mutex.unlock", 2);
  const int notify = b.Add(0, "condvar.notify_all", 4, 1);
  const int wait = b.Add(1, "condvar.wait", 4, std::nullopt, 0, "notified");
  absl::StatusOr<std::vector<int>> kept = SliceEvents(b.trace(), b.trace().events(wait).step());
  ASSERT_TRUE(kept.ok());
  EXPECT_THAT(*kept, ElementsAre(0, wait_start, notify, wait));
}

TEST(MatchMessagesTest, PairsSendsAndReceivesInOrderPerMailbox) {
  Builder b;
  b.trace().mutable_objects(0)->set_kind("mailbox");
  const int s1 = b.Add(0, "mailbox.send", 3, 1);
  const int s2 = b.Add(0, "mailbox.send", 1, 1);  // another mailbox
  const int s3 = b.Add(0, "mailbox.send", 3, 2);
  const int timeout = b.Add(1, "mailbox.recv", 3, std::nullopt, 0, "timed out");
  const int r1 = b.Add(1, "mailbox.recv", 3, 1);
  const int empty = b.Add(2, "mailbox.try_recv", 3, 0);
  const int r2 = b.Add(2, "mailbox.try_recv", 3, 1);
  const int r3 = b.Add(2, "mailbox.recv", 1, 0);
  const std::vector<int> source = MatchMessages(b.trace());
  EXPECT_EQ(source[r1], s1);
  EXPECT_EQ(source[r2], s3);
  EXPECT_EQ(source[r3], s2);
  EXPECT_EQ(source[timeout], -1);
  EXPECT_EQ(source[empty], -1);
  EXPECT_EQ(source[s1], -1);
}

TEST(GoldenSliceTest, KeepsOnlyWhatTheFailureDependsOn) {
  // The deadlock: the last event of each blocked thread and their history,
  // which is every event.
  const Trace deadlock = Golden("deadlock");
  absl::StatusOr<std::vector<int>> kept = SliceEvents(deadlock, std::nullopt);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_THAT(*kept, ElementsAre(0, 1, 2, 3));

  // The handoff: the producer's exit and the consumer's are not causes.
  const Trace handoff = Golden("handoff");
  kept = SliceEvents(handoff, std::nullopt);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->size(), 16u);
  std::set<std::string> dropped;
  for (int i = 0; i < handoff.events_size(); ++i) {
    if (std::find(kept->begin(), kept->end(), i) == kept->end()) {
      dropped.insert(absl::StrCat(handoff.events(i).step(), " ", handoff.events(i).op()));
    }
  }
  EXPECT_THAT(dropped, ElementsAre("17 thread.exit", "4 thread.exit"));

  // The lost update at b's exit (step 7): b's history and the spawns only.
  const Trace lost = Golden("lost_update");
  kept = SliceEvents(lost, 7);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_THAT(*kept, ElementsAre(0, 2, 3, 4, 5));
}

TEST(FailingEventTest, IsTheOperationTheFailingThreadWasScheduledFor) {
  const Trace handoff = Golden("handoff");
  std::optional<int> failing = FailingEvent(handoff);
  ASSERT_TRUE(failing.has_value());
  EXPECT_EQ(handoff.events(*failing).op(), "mutex.lock");
  EXPECT_EQ(handoff.events(*failing).step(), handoff.failure().step());

  const Trace lost = Golden("lost_update");
  failing = FailingEvent(lost);
  ASSERT_TRUE(failing.has_value());
  EXPECT_EQ(*failing, lost.events_size() - 1);

  EXPECT_FALSE(FailingEvent(Golden("deadlock")).has_value());
}

TEST(FormatTest, MarksContextSwitchesAndTheFailure) {
  const std::string text = FormatTrace(Golden("lost_update"));
  EXPECT_THAT(text, HasSubstr("test:      Golden.lost_update\n"));
  EXPECT_THAT(text, HasSubstr("strategy:  pct (pct_depth=3"));
  EXPECT_EQ(CountOf(text, "<== FAILURE"), 1);
  EXPECT_EQ(CountOf(text, "\n=>"), 5);
  EXPECT_THAT(text, HasSubstr("t1 'a'     atomic.load   'counter'"));
  EXPECT_THAT(text, HasSubstr("FAILURE assertion at step 12 in t0 'main'"));
}

// Instrumented code: atomics carry their memory order, memory events their
// size, and a data race names both accesses.
TEST(FormatTest, ShowsMemoryOrdersSizesAndRaceAccesses) {
  Trace trace = Golden("lost_update");
  Event* atomic = trace.mutable_events(0);
  atomic->set_order(ACQUIRE);
  atomic->set_size(4);
  Failure* failure = trace.mutable_failure();
  failure->set_kind(Failure::DATA_RACE);
  for (bool write : {true, false}) {
    MemoryAccess* access = failure->add_race();
    access->set_thread(write ? 1 : 2);
    access->set_write(write);
    access->set_size(8);
    access->set_address(0x1000);
    access->mutable_location()->set_file("queue.cc");
    access->mutable_location()->set_line(write ? 12 : 20);
  }
  const std::string text = FormatTrace(trace);
  EXPECT_THAT(text, HasSubstr("acquire; 4 bytes"));
  EXPECT_THAT(text, HasSubstr("FAILURE data race"));
  EXPECT_THAT(text, HasSubstr("race: t1 'a' write of 8 bytes at 0x1000, queue.cc:12"));
  EXPECT_THAT(text, HasSubstr("race: t2 'b' read of 8 bytes at 0x1000, queue.cc:20"));
}

TEST(ChromeExportTest, IsJsonWithOneTrackPerThread) {
  for (const char* name : {"lost_update", "deadlock", "handoff"}) {
    SCOPED_TRACE(name);
    const Trace trace = Golden(name);
    const google::protobuf::Struct json = ParseJson(ExportChrome(trace));
    ASSERT_TRUE(json.fields().contains("traceEvents"));
    const auto& events = json.fields().at("traceEvents").list_value().values();
    std::map<int, std::string> tracks;
    std::map<std::string, int> phases;
    for (const auto& v : events) {
      const auto& f = v.struct_value().fields();
      const std::string ph = f.at("ph").string_value();
      ++phases[ph];
      if (ph == "M" && f.at("name").string_value() == "thread_name") {
        const int tid = static_cast<int>(f.at("tid").number_value());
        EXPECT_EQ(tracks.count(tid), 0u) << "two names for thread " << tid;
        tracks[tid] = f.at("args").struct_value().fields().at("name").string_value();
      }
      if (ph == "X") {
        EXPECT_TRUE(f.at("args").struct_value().fields().contains("op"));
        EXPECT_GT(f.at("dur").number_value(), 0);
      }
    }
    EXPECT_EQ(static_cast<int>(tracks.size()), trace.threads_size());
    for (int t = 0; t < trace.threads_size(); ++t) {
      EXPECT_EQ(tracks[t], ThreadLabel(trace, t));
    }
    EXPECT_EQ(phases["X"], trace.events_size());
    EXPECT_EQ(phases["i"], 1);  // the failure
    EXPECT_EQ(phases["s"], phases["f"]);
  }
  // The handoff has two messages and one wake-up.
  const google::protobuf::Struct json = ParseJson(ExportChrome(Golden("handoff")));
  int flows = 0;
  for (const auto& v : json.fields().at("traceEvents").list_value().values()) {
    flows += v.struct_value().fields().at("ph").string_value() == "s";
  }
  EXPECT_EQ(flows, 3);
}

TEST(ChromeExportTest, EscapesStrings) {
  Builder b;
  b.trace().mutable_threads(1)->set_name("quote\" back\\slash\nnew\tline\x01");
  b.trace().mutable_objects(0)->set_name("bad utf8 \xC3 \xFF ok \xC3\xA9");
  b.Add(1, "atomic.store", 1, 1, 0, "</script>");
  const google::protobuf::Struct json = ParseJson(ExportChrome(b.trace()));
  bool found = false;
  for (const auto& v : json.fields().at("traceEvents").list_value().values()) {
    const auto& f = v.struct_value().fields();
    if (f.at("ph").string_value() == "M" && f.at("name").string_value() == "thread_name" &&
        f.at("tid").number_value() == 1) {
      EXPECT_EQ(f.at("args").struct_value().fields().at("name").string_value(),
                "t1 'quote\" back\\slash\nnew\tline\x01'");
      found = true;
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(JsonString("a\xC3"), "\"a\\ufffd\"");
  EXPECT_EQ(JsonString("\xE2\x82\xAC"), "\"\xE2\x82\xAC\"");
}

TEST(HtmlExportTest, HasLanesEventsArrowsAndTheFailure) {
  const Trace trace = Golden("handoff");
  const std::string html = ExportHtml(trace);
  EXPECT_THAT(html, HasSubstr("<div id=\"lockstep-timeline\" data-threads=\"3\" "
                              "data-events=\"18\" data-arrows=\"3\">"));
  EXPECT_EQ(CountOf(html, "class=\"lane\""), 3);
  EXPECT_EQ(CountOf(html, "<g class=\"event"), 18);
  EXPECT_EQ(CountOf(html, "class=\"event failure"), 1);
  EXPECT_EQ(CountOf(html, "class=\"arrow wake\""), 1);
  EXPECT_EQ(CountOf(html, "class=\"arrow message\""), 2);
  EXPECT_THAT(html, HasSubstr("Golden.handoff"));
  // Self-contained: nothing is fetched.
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));

  // A deadlock has no failing event: a separate failure box.
  const std::string deadlock = ExportHtml(Golden("deadlock"));
  EXPECT_EQ(CountOf(deadlock, "class=\"event failure marker\""), 1);

  // Names are escaped.
  Builder b;
  b.trace().mutable_threads(2)->set_name("<script>alert(1)</script>");
  b.Add(2, "mutex.lock", 2);
  const std::string escaped = ExportHtml(b.trace());
  EXPECT_THAT(escaped, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(escaped, HasSubstr("&lt;script&gt;alert"));
}

TEST(DiffTest, FindsTheFirstDifferentDecision) {
  const Trace a = Golden("handoff");
  EXPECT_THAT(DiffTraces(a, a), HasSubstr("identical schedules (18 decisions)"));

  Trace b = a;
  // Decision 5 is the 5th SCHEDULE decision or later: find its step.
  uint64_t step = 0;
  for (int i = 0; i <= 5; ++i) step += a.decisions(i).kind() == Decision::SCHEDULE;
  b.mutable_decisions(5)->set_value(a.decisions(5).value() == 1 ? 2 : 1);
  const std::string diff = DiffTraces(a, b);
  EXPECT_THAT(diff, HasSubstr(absl::StrCat("first differ at decision 5 (step ", step, ")")));
  EXPECT_THAT(diff, HasSubstr("  B: schedule t"));
  EXPECT_THAT(diff, Not(HasSubstr("seeds differ")));

  Trace c = a;
  c.mutable_decisions()->RemoveLast();
  c.set_base_seed(99);
  const std::string prefix = DiffTraces(a, c);
  EXPECT_THAT(prefix, HasSubstr("first differ at decision 17"));
  EXPECT_THAT(prefix, HasSubstr("B: no decision (the schedule ended)"));
  EXPECT_THAT(prefix, HasSubstr("seeds differ"));

  EXPECT_THAT(DiffTraces(a, Golden("deadlock")),
              HasSubstr("tests differ: A is Golden.handoff, B is Golden.deadlock"));
}

}  // namespace
}  // namespace lockstep::trace_tool

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--traces=", 0) == 0) lockstep::trace_tool::g_traces = arg.substr(9);
  }
  return RUN_ALL_TESTS();
}
