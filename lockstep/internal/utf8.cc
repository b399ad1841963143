#include "lockstep/internal/utf8.h"

#include <cstddef>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"

namespace lockstep::internal {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::DescriptorProto;
using google::protobuf::DynamicMessageFactory;
using google::protobuf::FieldDescriptor;
using google::protobuf::FieldDescriptorProto;
using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;
using google::protobuf::Message;
using google::protobuf::Reflection;

// The length of the well-formed UTF-8 sequence `text` starts with, or 0 if
// it does not start with one (Unicode 3.9, table 3-7). `text` is not empty.
size_t SequenceLength(std::string_view text) {
  const auto byte = [text](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length;
  unsigned char low = 0x80;  // range of the second byte
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead == 0xE0) {
    length = 3;
    low = 0xA0;  // no overlong forms
  } else if (lead == 0xED) {
    length = 3;
    high = 0x9F;  // no surrogates
  } else if (lead >= 0xE1 && lead <= 0xEF) {
    length = 3;
  } else if (lead == 0xF0) {
    length = 4;
    low = 0x90;  // no overlong forms
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    length = 4;
  } else if (lead == 0xF4) {
    length = 4;
    high = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;  // continuation bytes, C0, C1, F5..FF
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

bool IsString(const FieldDescriptor* field) {
  return field->type() == FieldDescriptor::TYPE_STRING;
}

bool IsMessage(const FieldDescriptor* field) {
  return field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
}

// Applies ValidUtf8 to the string fields of `message`, recursively; returns
// whether anything changed. With `original` set (for ParseEscapingInvalidUtf8),
// `message` is of a twin type whose strings are bytes, and the fields that are
// strings in `original` (matched by number) are the ones escaped.
bool EscapeFields(Message* message, const Descriptor* original) {
  const Reflection* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  bool changed = false;
  std::string scratch;
  for (const FieldDescriptor* field : fields) {
    const FieldDescriptor* real =
        original == nullptr ? field : original->FindFieldByNumber(field->number());
    if (real == nullptr) continue;  // an extension of the twin type: left alone
    if (IsString(real)) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
          const std::string& value =
              reflection->GetRepeatedStringReference(*message, field, i, &scratch);
          if (!IsValidUtf8(value)) {
            reflection->SetRepeatedString(message, field, i, ValidUtf8(value));
            changed = true;
          }
        }
      } else {
        const std::string& value = reflection->GetStringReference(*message, field, &scratch);
        if (!IsValidUtf8(value)) {
          reflection->SetString(message, field, ValidUtf8(value));
          changed = true;
        }
      }
    } else if (IsMessage(field)) {
      const Descriptor* inner = original == nullptr ? nullptr : real->message_type();
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
          changed |= EscapeFields(reflection->MutableRepeatedMessage(message, field, i), inner);
        }
      } else {
        changed |= EscapeFields(reflection->MutableMessage(message, field), inner);
      }
    }
  }
  return changed;
}

// --- The twin type with bytes for strings, for ParseEscapingInvalidUtf8 ---

void StringsToBytes(FieldDescriptorProto& field) {
  if (field.type() == FieldDescriptorProto::TYPE_STRING) {
    field.set_type(FieldDescriptorProto::TYPE_BYTES);
  }
}

void StringsToBytes(DescriptorProto& message) {
  for (FieldDescriptorProto& field : *message.mutable_field()) StringsToBytes(field);
  for (FieldDescriptorProto& field : *message.mutable_extension()) StringsToBytes(field);
  for (DescriptorProto& nested : *message.mutable_nested_type()) StringsToBytes(nested);
}

// Adds `file` and its dependencies to `pool`, every string field made bytes.
bool AddWithBytes(const FileDescriptor* file, DescriptorPool& pool, std::set<std::string>& added) {
  if (!added.insert(file->name()).second) return true;
  for (int i = 0; i < file->dependency_count(); ++i) {
    if (!AddWithBytes(file->dependency(i), pool, added)) return false;
  }
  FileDescriptorProto proto;
  file->CopyTo(&proto);
  for (DescriptorProto& message : *proto.mutable_message_type()) StringsToBytes(message);
  for (FieldDescriptorProto& field : *proto.mutable_extension()) StringsToBytes(field);
  return pool.BuildFile(proto) != nullptr;
}

// A message type with the wire format of another whose strings are bytes,
// which any bytes parse into.
struct Twin {
  DescriptorPool pool;
  DynamicMessageFactory factory{&pool};
  const Message* prototype = nullptr;
};

// The twin of `type`, built once per type and kept for the process's life.
const Message* TwinPrototype(const Descriptor* type) {
  static std::mutex mutex;
  static auto* twins = new std::map<const Descriptor*, std::unique_ptr<Twin>>();
  std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<Twin>& twin = (*twins)[type];
  if (twin == nullptr) {
    twin = std::make_unique<Twin>();
    std::set<std::string> added;
    if (AddWithBytes(type->file(), twin->pool, added)) {
      if (const Descriptor* twin_type = twin->pool.FindMessageTypeByName(type->full_name())) {
        twin->prototype = twin->factory.GetPrototype(twin_type);
      }
    }
  }
  return twin->prototype;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  while (!text.empty()) {
    if (static_cast<unsigned char>(text[0]) < 0x80) {
      text.remove_prefix(1);
      continue;
    }
    const size_t length = SequenceLength(text);
    if (length == 0) return false;
    text.remove_prefix(length);
  }
  return true;
}

std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const size_t length = SequenceLength(text);
    if (length == 0) {
      static constexpr char kHex[] = "0123456789abcdef";
      const unsigned char byte = static_cast<unsigned char>(text[0]);
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
      text.remove_prefix(1);
    } else {
      out.append(text.data(), length);
      text.remove_prefix(length);
    }
  }
  return out;
}

bool MakeStringsValidUtf8(Message* message) { return EscapeFields(message, nullptr); }

bool StringsAreValidUtf8(const Message& message) {
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  std::string scratch;
  for (const FieldDescriptor* field : fields) {
    if (IsString(field)) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          if (!IsValidUtf8(reflection->GetRepeatedStringReference(message, field, i, &scratch))) {
            return false;
          }
        }
      } else if (!IsValidUtf8(reflection->GetStringReference(message, field, &scratch))) {
        return false;
      }
    } else if (IsMessage(field)) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          if (!StringsAreValidUtf8(reflection->GetRepeatedMessage(message, field, i))) {
            return false;
          }
        }
      } else if (!StringsAreValidUtf8(reflection->GetMessage(message, field))) {
        return false;
      }
    }
  }
  return true;
}

bool ParseEscapingInvalidUtf8(std::string_view bytes, Message* message) {
  const Message* prototype = TwinPrototype(message->GetDescriptor());
  if (prototype == nullptr) return false;
  std::unique_ptr<Message> twin(prototype->New());
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !twin->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return false;
  }
  EscapeFields(twin.get(), message->GetDescriptor());
  std::string escaped;
  if (!twin->SerializeToString(&escaped)) return false;
  return message->ParseFromString(escaped);
}

}  // namespace lockstep::internal
