// The protobuf wire-format walk that locates parse errors in .onnx and .pb files: hand-encoded
// cases with offsets worked out byte by byte, and agreement with libprotobuf's own verdict on
// every truncation and on seeded byte mutations of a committed model.
#include <gtest/gtest.h>
#include <onnx/onnx-ml.pb.h>

#include <fstream>
#include <random>
#include <sstream>

#include "compiler/frontend/protobuf_wire.h"

namespace fusesim::compiler {
namespace {

std::string bytes_of(std::initializer_list<int> b) {
  std::string s;
  for (int v : b) s += static_cast<char>(v);
  return s;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const google::protobuf::Descriptor& model_type() { return *onnx::ModelProto::descriptor(); }

WireError error_of(const std::string& bytes, const google::protobuf::Descriptor& type) {
  const auto e = find_wire_error(bytes, type);
  EXPECT_TRUE(e.has_value());
  return e.value_or(WireError{});
}

// Agreement with libprotobuf is the walk's contract: an error exactly when the parse fails.
template <class Message>
void expect_agrees(const std::string& bytes, const std::string& label) {
  Message m;
  const bool parsed = m.ParseFromString(bytes);
  const auto e = find_wire_error(bytes, *Message::descriptor());
  EXPECT_EQ(parsed, !e.has_value()) << label << (e ? ": walk says byte " + std::to_string(e->offset) + " " + e->what : "");
}

TEST(ProtobufWire, CommittedModelsAreValid) {
  for (const char* name : {"residual_block", "concat_block", "channel_shuffle", "channel_split"}) {
    const std::string bytes = read_file(std::string(FUSESIM_SOURCE_DIR) + "/models/onnx/" + name + ".onnx");
    ASSERT_GT(bytes.size(), 1000u) << name;
    EXPECT_FALSE(find_wire_error(bytes, model_type()).has_value()) << name;
  }
}

TEST(ProtobufWire, ValueCutOffAfterItsTag) {
  // ir_version (field 1, varint): tag 0x08 at byte 0, its value would start at byte 1.
  const WireError e = error_of(bytes_of({0x08}), model_type());
  EXPECT_EQ(e.offset, 1u);
  EXPECT_EQ(e.field, "ir_version");
  EXPECT_NE(e.what.find("cut off"), std::string::npos) << e.what;
}

TEST(ProtobufWire, WireTypeSevenDoesNotExist) {
  // 0x08 0x07: ir_version = 7; then 0x0F: field 1 with wire type 7, at byte 2.
  const WireError e = error_of(bytes_of({0x08, 0x07, 0x0F}), model_type());
  EXPECT_EQ(e.offset, 2u);
  EXPECT_NE(e.what.find("wire type 7"), std::string::npos) << e.what;
}

TEST(ProtobufWire, LengthPastTheEndNamesTheFieldAndTheShortfall) {
  // graph (field 7, length-delimited, tag 0x3A) claims 10 bytes; 3 follow in a 5-byte file.
  const WireError e = error_of(bytes_of({0x3A, 0x0A, 1, 2, 3}), model_type());
  EXPECT_EQ(e.offset, 0u);
  EXPECT_EQ(e.field, "graph");
  EXPECT_NE(e.what.find("length 10 runs 7 bytes past the end of the file (5 bytes)"), std::string::npos) << e.what;
}

TEST(ProtobufWire, NestedErrorCarriesTheFieldPath) {
  // model: 3A 05 = graph, 5 bytes; graph: 0A 01 = node[0], 1 byte, holding 00 (a tag 0, at
  // byte 4); then 0A 00 = node[1], empty.
  const WireError e = error_of(bytes_of({0x3A, 0x05, 0x0A, 0x01, 0x00, 0x0A, 0x00}), model_type());
  EXPECT_EQ(e.offset, 4u);
  EXPECT_EQ(e.field, "graph.node[0]");
  EXPECT_EQ(wire_error_message("m.onnx", bytes_of({0x3A, 0x05, 0x0A, 0x01, 0x00, 0x0A, 0x00}), model_type(),
                               "an ONNX model"),
            "m.onnx: byte 4: not an ONNX model: in graph.node[0]: tag 0 (field number 0)");
}

TEST(ProtobufWire, SecondRepeatedItemIsIndexed) {
  // graph {node[0] {} node[1] {0x0F}}: 3A 05 | 0A 00 | 0A 01 0F -> wire type 7 at byte 6.
  const WireError e = error_of(bytes_of({0x3A, 0x05, 0x0A, 0x00, 0x0A, 0x01, 0x0F}), model_type());
  EXPECT_EQ(e.offset, 6u);
  EXPECT_EQ(e.field, "graph.node[1]");
}

TEST(ProtobufWire, PackedFloatsMustBeWholeElements) {
  // TensorProto.float_data (field 4, packed: tag 0x22) with 5 bytes: one float and a stray byte.
  const std::string bytes = bytes_of({0x22, 0x05, 0, 0, 0x80, 0x3F, 0});
  const WireError e = error_of(bytes, *onnx::TensorProto::descriptor());
  EXPECT_EQ(e.offset, 2u);
  EXPECT_EQ(e.field, "float_data");
  expect_agrees<onnx::TensorProto>(bytes, "packed floats");
  expect_agrees<onnx::TensorProto>(bytes_of({0x22, 0x04, 0, 0, 0x80, 0x3F}), "one packed float");
}

TEST(ProtobufWire, GroupsMustBeClosedByTheirOwnEndTag) {
  // Unknown field 100 as a group: start tag 100 << 3 | 3 = 803 = A3 06, end tag 804 = A4 06.
  expect_agrees<onnx::ModelProto>(bytes_of({0xA3, 0x06, 0xA4, 0x06}), "closed group");
  expect_agrees<onnx::ModelProto>(bytes_of({0xA3, 0x06}), "open group");
  expect_agrees<onnx::ModelProto>(bytes_of({0xA3, 0x06, 0x0C}), "group closed by field 1's end tag");
  expect_agrees<onnx::ModelProto>(bytes_of({0x0C}), "end tag outside a group");
  EXPECT_EQ(error_of(bytes_of({0xA3, 0x06}), model_type()).offset, 2u);
}

TEST(ProtobufWire, OverlongVarintsAgreeWithLibprotobuf) {
  // ir_version with 10 and 11 varint bytes; a 6-byte tag; a length of 2^31 in 5 bytes.
  std::string ten = bytes_of({0x08}), eleven;
  for (int k = 0; k < 9; ++k) ten += static_cast<char>(0x80);
  eleven = ten + static_cast<char>(0x80) + static_cast<char>(0x01);
  ten += static_cast<char>(0x01);
  expect_agrees<onnx::ModelProto>(ten, "10-byte varint");
  expect_agrees<onnx::ModelProto>(eleven, "11-byte varint");
  expect_agrees<onnx::ModelProto>(bytes_of({0x88, 0x80, 0x80, 0x80, 0x80, 0x00}), "6-byte tag");
  expect_agrees<onnx::ModelProto>(bytes_of({0x3A, 0x80, 0x80, 0x80, 0x80, 0x08}), "2 GiB length");
}

TEST(ProtobufWire, NestingLimitIsLibprotobufs) {
  // Each node -> attribute -> g step nests three messages; the parser allows 100 levels.
  for (int steps = 31; steps <= 35; ++steps) {
    onnx::ModelProto m;
    onnx::GraphProto* g = m.mutable_graph();
    for (int k = 0; k < steps; ++k) g = g->add_node()->add_attribute()->mutable_g();
    expect_agrees<onnx::ModelProto>(m.SerializeAsString(), std::to_string(3 * steps + 1) + " levels");
  }
}

TEST(ProtobufWire, EveryTruncationAndSeededMutationAgreesWithLibprotobuf) {
  const std::string model = read_file(std::string(FUSESIM_SOURCE_DIR) + "/models/onnx/channel_shuffle.onnx");
  ASSERT_FALSE(model.empty());
  int failures = 0;
  for (std::size_t n = 0; n < model.size(); ++n) {
    onnx::ModelProto m;
    const std::string cut = model.substr(0, n);
    if (!m.ParseFromString(cut)) {
      ++failures;
      const WireError e = error_of(cut, model_type());
      EXPECT_LE(e.offset, n) << "cut at " << n;
    } else {
      EXPECT_FALSE(find_wire_error(cut, model_type()).has_value()) << "cut at " << n;
    }
  }
  EXPECT_GT(failures, static_cast<int>(model.size()) / 2);  // most cuts land inside a field
  std::mt19937 rng(12);
  for (int k = 0; k < 3000; ++k) {
    std::string b = model;
    for (int flips = 1 + k % 3; flips > 0; --flips) b[rng() % b.size()] = static_cast<char>(rng() & 0xff);
    expect_agrees<onnx::ModelProto>(b, "mutation " + std::to_string(k));
    expect_agrees<onnx::TensorProto>(b, "mutation " + std::to_string(k) + " as a tensor");
  }
}

}  // namespace
}  // namespace fusesim::compiler
