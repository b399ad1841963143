// Keeping text from user code storable in protobuf `string` fields.
//
// proto3 `string` fields must hold valid UTF-8: a parser rejects a message
// whose string holds anything else, so one stray byte in an exception's
// what() would make a whole trace unreadable. Text Lockstep records from user
// code (failure messages, thread and object names, event details, function
// and file names) goes through `ValidUtf8` (or, for a whole message,
// `MakeStringsValidUtf8`) before it is stored: valid UTF-8 is kept exactly,
// including multi-byte characters, and each byte that is not part of a valid
// UTF-8 sequence becomes the four characters `\xNN` (lower-case hex), as
// Python's "backslashreplace" does. The bytes stay visible and the message
// always parses. The escaping is for reading, not reversible: text that
// already contains a literal `\xNN` looks the same as an escaped byte.
#ifndef LOCKSTEP_INTERNAL_UTF8_H_
#define LOCKSTEP_INTERNAL_UTF8_H_

#include <string>
#include <string_view>

#include "google/protobuf/message.h"

namespace lockstep::internal {

// Whether `text` is well-formed UTF-8 (Unicode 3.9, table 3-7: no overlong
// forms, no surrogates, nothing above U+10FFFF), which is what protobuf
// accepts in a `string` field.
bool IsValidUtf8(std::string_view text);

// `text` with every byte that is not part of a well-formed UTF-8 sequence
// replaced by `\xNN`; valid sequences are copied unchanged. The result is
// always valid UTF-8 and equals `text` when `text` is valid.
//   ValidUtf8("caf\xC3\xA9")  == "caf\xC3\xA9"   ("café", unchanged)
//   ValidUtf8("bad \xFF end") == "bad \\xff end"
std::string ValidUtf8(std::string_view text);

// Applies `ValidUtf8` to every `string` field (not `bytes`) of `message` and
// of every message inside it, singular, repeated and map fields alike.
// Unknown fields are left as they are. Returns whether anything changed.
bool MakeStringsValidUtf8(google::protobuf::Message* message);

// Whether every `string` field of `message`, recursively, is valid UTF-8
// (so `MakeStringsValidUtf8` would change nothing). Does not allocate
// unless `message` holds strings that reflection must copy.
bool StringsAreValidUtf8(const google::protobuf::Message& message);

// Parses `bytes` (the wire format of `message`'s type) into `message` like
// `ParseFromArray`, except that `string` fields holding invalid UTF-8, which
// the ordinary parser rejects, are accepted and escaped with `ValidUtf8`.
// Returns false, leaving `message` in an unspecified state, when `bytes`
// is not a valid encoding of the type for any other reason.
bool ParseEscapingInvalidUtf8(std::string_view bytes, google::protobuf::Message* message);

}  // namespace lockstep::internal

#endif  // LOCKSTEP_INTERNAL_UTF8_H_
