// Locates the byte where a protobuf file stops being a valid encoding of its message type, so
// that an .onnx or .pb file that does not parse is reported with an offset and a field path
// rather than a bare "parse failed". Walks the wire format with the message's descriptor,
// applying the same rules as libprotobuf's parser (tags, varints, lengths, packed fields, groups,
// nesting depth).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace google::protobuf {
class Descriptor;
}

namespace fusesim::compiler {

struct WireError {
  std::size_t offset = 0;  // of the offending tag or value, from the start of the bytes
  std::string field;       // the message holding it, e.g. "graph.node[3].attribute[0]"; "" at the top
  std::string what;
};

// The first place where `bytes` is not a valid `type`; nullopt when the wire format is valid.
std::optional<WireError> find_wire_error(const std::string& bytes, const google::protobuf::Descriptor& type);

// The InputError text for a file that did not parse as `what` (e.g. "an ONNX model"):
// "FILE: byte N: not WHAT: in FIELD: REASON", or without the byte when the walk found nothing.
std::string wire_error_message(const std::string& file, const std::string& bytes,
                               const google::protobuf::Descriptor& type, const std::string& what);

}  // namespace fusesim::compiler
