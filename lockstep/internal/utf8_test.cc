#include "lockstep/internal/utf8.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "lockstep/internal/prng.h"
#include "lockstep/trace.pb.h"

namespace lockstep::internal {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (const int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// Whether protobuf accepts `text` in a string field: the property that
// matters (a trace holding it can be read back).
bool ProtobufParses(const std::string& text) {
  Failure failure;
  failure.set_message(text);
  std::string wire;
  {
    google::protobuf::LogSilencer quiet;  // serializing invalid UTF-8 logs
    EXPECT_TRUE(failure.SerializeToString(&wire));
  }
  Failure parsed;
  google::protobuf::LogSilencer quiet;
  return parsed.ParseFromString(wire);
}

TEST(Utf8Test, ValidTextIsKeptExactly) {
  for (const std::string& text :
       {std::string(""), std::string("plain ascii"),
        std::string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::string("nul \0 inside", 12),
        std::string("\x7F\x01"), std::string("a literal \\xff stays")}) {
    EXPECT_TRUE(IsValidUtf8(text)) << text;
    EXPECT_EQ(ValidUtf8(text), text);
  }
}

TEST(Utf8Test, EachInvalidByteIsEscaped) {
  EXPECT_EQ(ValidUtf8("bad \xFF end"), "bad \\xff end");
  EXPECT_EQ(ValidUtf8("\x80"), "\\x80");  // lone continuation
  EXPECT_EQ(ValidUtf8("\xC3"), "\\xc3");  // truncated at the end
  EXPECT_EQ(ValidUtf8("\xE2\x82"
                      "A"),
            "\\xe2\\x82A");                                          // truncated in the middle
  EXPECT_EQ(ValidUtf8("\xC0\xAF"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(ValidUtf8("\xE0\x80\xAF"), "\\xe0\\x80\\xaf");           // overlong, 3 bytes
  EXPECT_EQ(ValidUtf8("\xED\xA0\x80"), "\\xed\\xa0\\x80");           // surrogate U+D800
  EXPECT_EQ(ValidUtf8("\xF4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(ValidUtf8("\xF5"), "\\xf5");
  // Valid characters next to invalid bytes are kept.
  EXPECT_EQ(ValidUtf8("\xFF\xC3\xA9\xFF"), "\\xff\xC3\xA9\\xff");
  EXPECT_EQ(ValidUtf8("\xE2\x82\xE2\x82\xAC"), "\\xe2\\x82\xE2\x82\xAC");
  // Boundaries that are valid.
  EXPECT_EQ(ValidUtf8("\xED\x9F\xBF"), "\xED\x9F\xBF");          // U+D7FF
  EXPECT_EQ(ValidUtf8("\xF4\x8F\xBF\xBF"), "\xF4\x8F\xBF\xBF");  // U+10FFFF
  EXPECT_EQ(ValidUtf8("\xC2\x80"), "\xC2\x80");                  // U+0080
}

// Every possible 1-, 2- and 3-byte string (with a few prefixes for longer
// sequences) and many random ones: the result is UTF-8 by our check and by
// protobuf's, our check agrees with protobuf's, and escaping is the
// identity exactly on valid text.
TEST(Utf8Test, AgreesWithProtobufOnManyStrings) {
  std::vector<std::string> inputs;
  for (int a = 0; a < 256; ++a) {
    inputs.push_back(Bytes({a}));
    for (int b = 0; b < 256; ++b) {
      inputs.push_back(Bytes({a, b}));
      if (a >= 0xC0) {
        for (int c : {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF}) {
          inputs.push_back(Bytes({a, b, c}));
          inputs.push_back(Bytes({a, b, c, 0x80}));
          inputs.push_back(Bytes({a, b, c, 0xBF}));
        }
      }
    }
  }
  Prng prng(12345);
  for (int i = 0; i < 20000; ++i) {
    std::string s(prng.Below(12), '\0');
    for (char& c : s) {
      // Mostly high bytes, where UTF-8 goes wrong.
      c = static_cast<char>(prng.Below(4) == 0 ? prng.Below(128) : 0x80 + prng.Below(128));
    }
    inputs.push_back(s);
  }
  for (const std::string& input : inputs) {
    const bool valid = IsValidUtf8(input);
    ASSERT_EQ(valid, google::protobuf::internal::IsStructurallyValidUTF8(input))
        << testing::PrintToString(input);
    const std::string escaped = ValidUtf8(input);
    ASSERT_TRUE(IsValidUtf8(escaped)) << testing::PrintToString(input);
    ASSERT_EQ(escaped == input, valid) << testing::PrintToString(input);
  }
  // Protobuf parses the escaped form (checked on a sample: it is slower).
  for (size_t i = 0; i < inputs.size(); i += 37) {
    ASSERT_TRUE(ProtobufParses(ValidUtf8(inputs[i]))) << testing::PrintToString(inputs[i]);
    ASSERT_EQ(ProtobufParses(inputs[i]), IsValidUtf8(inputs[i]))
        << testing::PrintToString(inputs[i]);
  }
}

google::protobuf::UnknownFieldSet& UnknownFields(google::protobuf::Message& message) {
  return *message.GetReflection()->MutableUnknownFields(&message);
}

int UnknownFieldCount(const google::protobuf::Message& message) {
  return message.GetReflection()->GetUnknownFields(message).field_count();
}

// A trace with bad bytes in every kind of place user text goes.
Trace TraceWithBadText() {
  Trace trace;
  trace.set_test_suite("Suite\xFF");
  trace.mutable_strategy()->set_name("random");
  ThreadInfo* thread = trace.add_threads();
  thread->set_name("w\xC3");
  thread->mutable_created_at()->set_file("f\xFE.cc");
  trace.add_objects()->set_name("\xE9t\xE9");
  Event* event = trace.add_events();
  event->set_detail("d\x80");
  event->mutable_location()->set_function("fn\xC0\xAF");
  trace.add_events()->set_detail("fine \xC3\xA9");
  trace.mutable_failure()->set_message("what(): \xFF\xFE caf\xC3\xA9");
  trace.mutable_failure()->add_blocked()->set_waiting_for("\x81");
  return trace;
}

TEST(Utf8Test, MakeStringsValidUtf8ReachesEveryStringField) {
  Trace trace = TraceWithBadText();
  EXPECT_FALSE(StringsAreValidUtf8(trace));
  EXPECT_TRUE(MakeStringsValidUtf8(&trace));
  EXPECT_TRUE(StringsAreValidUtf8(trace));
  EXPECT_EQ(trace.test_suite(), "Suite\\xff");
  EXPECT_EQ(trace.strategy().name(), "random");
  EXPECT_EQ(trace.threads(0).name(), "w\\xc3");
  EXPECT_EQ(trace.threads(0).created_at().file(), "f\\xfe.cc");
  EXPECT_EQ(trace.objects(0).name(), "\\xe9t\\xe9");
  EXPECT_EQ(trace.events(0).detail(), "d\\x80");
  EXPECT_EQ(trace.events(0).location().function(), "fn\\xc0\\xaf");
  EXPECT_EQ(trace.events(1).detail(), "fine \xC3\xA9");
  EXPECT_EQ(trace.failure().message(), "what(): \\xff\\xfe caf\xC3\xA9");
  EXPECT_EQ(trace.failure().blocked(0).waiting_for(), "\\x81");
  // Done: nothing more to change.
  EXPECT_FALSE(MakeStringsValidUtf8(&trace));
  std::string wire;
  ASSERT_TRUE(trace.SerializeToString(&wire));
  Trace parsed;
  EXPECT_TRUE(parsed.ParseFromString(wire));
}

TEST(Utf8Test, ParseEscapingInvalidUtf8ReadsWhatTheParserRefuses) {
  const Trace bad = TraceWithBadText();
  std::string wire;
  {
    google::protobuf::LogSilencer quiet;
    ASSERT_TRUE(bad.SerializeToString(&wire));
  }
  // Unknown fields survive, in the trace and inside an event.
  Trace with_unknown;
  UnknownFields(with_unknown).AddVarint(1000, 7);
  UnknownFields(*with_unknown.add_events()).AddLengthDelimited(999, "\xFF");
  wire += with_unknown.SerializeAsString();
  {
    Trace strict;
    google::protobuf::LogSilencer quiet;
    ASSERT_FALSE(strict.ParseFromString(wire)) << "the premise: protobuf refuses it";
  }
  Trace parsed;
  ASSERT_TRUE(ParseEscapingInvalidUtf8(wire, &parsed));
  Trace expected = bad;
  MakeStringsValidUtf8(&expected);
  expected.MergeFrom(with_unknown);
  EXPECT_EQ(parsed.SerializeAsString(), expected.SerializeAsString());
  EXPECT_EQ(UnknownFieldCount(parsed), 1);
  EXPECT_EQ(UnknownFieldCount(parsed.events(2)), 1);

  // Valid input parses as usual; garbage does not parse at all.
  ASSERT_TRUE(ParseEscapingInvalidUtf8(expected.SerializeAsString(), &parsed));
  EXPECT_EQ(parsed.SerializeAsString(), expected.SerializeAsString());
  EXPECT_FALSE(ParseEscapingInvalidUtf8(std::string("\x00\xFF\xFF\xFF", 4), &parsed));
  EXPECT_FALSE(
      ParseEscapingInvalidUtf8("\x0A\x05"
                               "ab",
                               &parsed));  // truncated
}

}  // namespace
}  // namespace lockstep::internal
