// The protobuf wire-format walk of protobuf_wire.h. The rules follow libprotobuf 3.21's parser:
// a tag is a varint of at most 5 bytes, a length one of at most 5 bytes below 2^31 - 16, other
// varints at most 10 bytes; no field may run past the end of its enclosing message; packed
// fixed-width fields hold a whole number of elements; groups end with their own end tag; and
// messages plus groups nest at most 100 deep (CodedInputStream's default recursion limit).
#include "protobuf_wire.h"

#include <google/protobuf/descriptor.h>

#include <climits>
#include <cstdint>
#include <map>

namespace fusesim::compiler {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

constexpr int kMaxDepth = 100;
constexpr uint64_t kMaxLength = INT_MAX - 16;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLength = 2, kStartGroup = 3, kEndGroup = 4, kFixed32 = 5 };

// The wire type a field is written with when not packed.
uint32_t wire_type_of(const FieldDescriptor& f) {
  switch (f.type()) {
    case FieldDescriptor::TYPE_DOUBLE:
    case FieldDescriptor::TYPE_FIXED64:
    case FieldDescriptor::TYPE_SFIXED64:
      return kFixed64;
    case FieldDescriptor::TYPE_FLOAT:
    case FieldDescriptor::TYPE_FIXED32:
    case FieldDescriptor::TYPE_SFIXED32:
      return kFixed32;
    case FieldDescriptor::TYPE_STRING:
    case FieldDescriptor::TYPE_BYTES:
    case FieldDescriptor::TYPE_MESSAGE:
      return kLength;
    case FieldDescriptor::TYPE_GROUP:
      return kStartGroup;
    default:
      return kVarint;
  }
}

struct Found {
  WireError error;
};

class WireWalker {
 public:
  explicit WireWalker(const std::string& bytes)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())), size_(bytes.size()) {}

  // The fields of one message in [pos, end), or of a group when `group_field` > 0; returns where
  // it ends (for a group, after its end tag). `type` is null for an unknown group's contents.
  std::size_t message(std::size_t pos, std::size_t end, const Descriptor* type, const std::string& path,
                      int depth, uint32_t group_field) {
    std::map<int, int> items;  // next index of each repeated field, for the path
    while (pos < end) {
      const std::size_t at = pos;
      const uint64_t tag = varint(pos, end, 5, path, "tag") & 0xffffffffu;
      const auto number = static_cast<uint32_t>(tag >> 3), wire = static_cast<uint32_t>(tag & 7);
      if (tag == 0) fail(at, path, "tag 0 (field number 0)");
      if (wire == kEndGroup) {
        if (group_field > 0 && number == group_field) return pos;
        fail(at, path,
             "end-group tag of field " + std::to_string(number) +
                 (group_field > 0 ? " inside group " + std::to_string(group_field) : " outside any group"));
      }
      if (number == 0) fail(at, path, "field number 0");
      const FieldDescriptor* f = type ? type->FindFieldByNumber(static_cast<int>(number)) : nullptr;
      const bool known = f && wire == wire_type_of(*f);
      const bool packed_run = f && f->is_packable() && wire == kLength;
      std::string item = (path.empty() ? "" : path + ".") + (f ? f->name() : "field " + std::to_string(number));
      if (f && f->is_repeated() && !packed_run) item += "[" + std::to_string(items[f->number()]++) + "]";
      switch (wire) {
        case kVarint:
          varint(pos, end, 10, item, "value");
          break;
        case kFixed64:
        case kFixed32: {
          const std::size_t width = wire == kFixed64 ? 8 : 4;
          if (end - pos < width)
            fail(at, item, std::to_string(width) + "-byte value runs past the end" + end_of(path, end));
          pos += width;
          break;
        }
        case kLength: {
          const uint64_t len = varint(pos, end, 5, item, "length");
          if (len > kMaxLength) fail(at, item, "length " + std::to_string(len) + " is 2 GiB or more");
          if (len > end - pos)
            fail(at, item,
                 "length " + std::to_string(len) + " runs " + std::to_string(len - (end - pos)) +
                     " bytes past the end" + end_of(path, end));
          const std::size_t stop = pos + static_cast<std::size_t>(len);
          if (known && f->type() == FieldDescriptor::TYPE_MESSAGE) {
            nest(at, item, depth);
            message(pos, stop, f->message_type(), item, depth - 1, 0);
          } else if (packed_run) {
            packed(pos, stop, *f, item);
          }
          pos = stop;
          break;
        }
        case kStartGroup:
          nest(at, item, depth);
          pos = message(pos, end, known ? f->message_type() : nullptr, item, depth - 1, number);
          break;
        default:
          fail(at, path, "field " + std::to_string(number) + " has wire type " + std::to_string(wire) +
                             " (only 0 to 5 exist)");
      }
    }
    if (group_field > 0)
      fail(end, path, "no end-group tag for field " + std::to_string(group_field) + " before the end" + end_of("", end));
    return pos;
  }

 private:
  const uint8_t* p_;
  std::size_t size_;

  [[noreturn]] static void fail(std::size_t at, const std::string& field, const std::string& what) {
    throw Found{WireError{at, field, what}};
  }

  // " of the file (N bytes)" or " of FIELD (byte N)": the bound a field ran into.
  std::string end_of(const std::string& path, std::size_t end) const {
    if (end == size_) return " of the file (" + std::to_string(size_) + " bytes)";
    return " of " + (path.empty() ? std::string("its message") : path) + " (byte " + std::to_string(end) + ")";
  }

  static void nest(std::size_t at, const std::string& item, int depth) {
    if (depth <= 0) fail(at, item, "messages nested more than " + std::to_string(kMaxDepth) + " deep");
  }

  // A varint of at most `max_bytes` bytes that ends before `end`; advances `pos`. A 5-byte length
  // keeps its last byte below 8 (the parser refuses sizes of 2^31 and more at the varint).
  uint64_t varint(std::size_t& pos, std::size_t end, int max_bytes, const std::string& field, const char* what) {
    const std::size_t at = pos;
    const bool length = std::string(what) == "length";
    uint64_t value = 0;
    for (int k = 0; k < max_bytes; ++k) {
      if (pos >= end) fail(at, field, std::string(what) + " varint is cut off by the end" + end_of("", end));
      const uint8_t b = p_[pos++];
      value |= static_cast<uint64_t>(b & 0x7f) << (7 * k);
      if (b < 0x80) {
        if (length && k == 4 && b >= 8) fail(at, field, "length varint encodes 2 GiB or more");
        return value;
      }
    }
    fail(at, field, std::string(what) + " varint is longer than " + std::to_string(max_bytes) + " bytes");
  }

  // A packed run of a repeated scalar field in [pos, stop).
  void packed(std::size_t pos, std::size_t stop, const FieldDescriptor& f, const std::string& item) {
    const uint32_t wire = wire_type_of(f);
    if (wire == kVarint) {
      while (pos < stop) varint(pos, stop, 10, item, "packed element");
      return;
    }
    const std::size_t width = wire == kFixed64 ? 8 : 4;
    if ((stop - pos) % width != 0)
      fail(pos, item,
           "packed run of " + std::to_string(stop - pos) + " bytes is not a whole number of " +
               std::to_string(width) + "-byte elements");
  }
};

}  // namespace

std::optional<WireError> find_wire_error(const std::string& bytes, const Descriptor& type) {
  try {
    WireWalker(bytes).message(0, bytes.size(), &type, "", kMaxDepth, 0);
  } catch (const Found& found) {
    return found.error;
  }
  return std::nullopt;
}

std::string wire_error_message(const std::string& file, const std::string& bytes, const Descriptor& type,
                               const std::string& what) {
  const auto e = find_wire_error(bytes, type);
  if (!e) return file + ": not " + what + " (protobuf parse failed, but its wire format is valid)";
  return file + ": byte " + std::to_string(e->offset) + ": not " + what + ": " +
         (e->field.empty() ? "" : "in " + e->field + ": ") + e->what;
}

}  // namespace fusesim::compiler
