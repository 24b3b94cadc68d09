// ONNX import: op mapping, weight layouts, padding rules, constant folding, unsupported
// reporting and the committed models, each checked against numbers derived by hand.
#include <gtest/gtest.h>

#include <fstream>

#include "compiler/compiler.h"
#include "compiler/frontend/onnx_import.h"
#include "compiler/frontend/onnx_support.h"
#include "onnx_builder.h"

namespace fusesim::compiler {
namespace {

using fusesim::testing::iota_floats;
using fusesim::testing::OnnxBuilder;

// Live layers of `g` in topological order.
std::vector<const LayerNode*> layers_of(const Graph& g) {
  std::vector<const LayerNode*> out;
  for (int id : g.topo_order()) out.push_back(&g.layer(id));
  return out;
}

const LayerNode& only_layer(const Graph& g, OpKind op) {
  const LayerNode* found = nullptr;
  for (const auto& l : g.layers)
    if (l.op == op) {
      EXPECT_EQ(found, nullptr) << "more than one " << op_kind_name(op);
      found = &l;
    }
  if (!found) throw std::runtime_error(std::string("no ") + op_kind_name(op) + " layer");
  return *found;
}

std::string model_path(const std::string& name) {
  return std::string(FUSESIM_SOURCE_DIR) + "/models/onnx/" + name + ".onnx";
}

TEST(OnnxImport, GemmWithoutTransBTransposesTheWeights) {
  OnnxBuilder b;
  b.input("x", {1, 2}).output("y", {1, 3});
  b.init("B", {2, 3}, iota_floats(6));  // B[k][n] = 3k + n
  b.init("C", {3}, {10, 20, 30});
  b.node("Gemm", {"x", "B", "C"}, {"y"}, "fc");
  Graph g = import_onnx(b.save("gemm"));
  const LayerNode& fc = only_layer(g, OpKind::FullyConnected);
  EXPECT_EQ(fc.attrs.out_channels, 3);
  // weights[n][k] = B[k][n]
  EXPECT_EQ(fc.weights, (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(fc.bias, (std::vector<float>{10, 20, 30}));
  EXPECT_EQ(g.tensor(fc.output).shape, (Shape{3, 1, 1}));
  EXPECT_EQ(g.total_macs(), 6);
}

TEST(OnnxImport, GemmAlphaBetaScaleWeightsAndBias) {
  OnnxBuilder b;
  b.input("x", {1, 2}).output("y");
  b.init("B", {2, 2}, {1, 2, 3, 4});
  b.init("C", {1}, {5});
  auto& n = b.node("Gemm", {"x", "B", "C"}, {"y"}, "fc");
  OnnxBuilder::attr(n, "transB", int64_t{1});
  OnnxBuilder::attr(n, "alpha", 2.0f);
  OnnxBuilder::attr(n, "beta", 0.5f);
  Graph g = import_onnx(b.save("gemm_ab"));
  const LayerNode& fc = only_layer(g, OpKind::FullyConnected);
  EXPECT_EQ(fc.weights, (std::vector<float>{2, 4, 6, 8}));  // transB: already [N][K]
  EXPECT_EQ(fc.bias, (std::vector<float>{2.5f, 2.5f}));     // scalar broadcast, times beta
}

TEST(OnnxImport, MatMulWithConstantB) {
  OnnxBuilder b;
  b.input("x", {1, 3}).output("y");
  b.init("B", {3, 2}, iota_floats(6));
  b.node("MatMul", {"x", "B"}, {"y"}, "mm");
  Graph g = import_onnx(b.save("matmul"));
  const LayerNode& fc = only_layer(g, OpKind::FullyConnected);
  EXPECT_EQ(fc.weights, (std::vector<float>{0, 2, 4, 1, 3, 5}));
  EXPECT_FALSE(fc.attrs.has_bias);
}

// SAME padding: out = ceil(in / stride); total = (out - 1) * stride + (k - 1) * d + 1 - in;
// SAME_UPPER puts the odd pixel at the end, SAME_LOWER at the start.
TEST(OnnxImport, ConvAutoPadSameUpperAndLower) {
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER"}) {
    OnnxBuilder b;
    b.input("x", {1, 1, 6, 6}).output("y");
    b.init("W", {2, 1, 4, 4}, std::vector<float>(32, 1.0f));
    auto& n = b.node("Conv", {"x", "W"}, {"y"}, "conv");
    OnnxBuilder::attr(n, "auto_pad", std::string(mode));
    Graph g = import_onnx(b.save(std::string("autopad_") + mode));
    const LayerNode& c = only_layer(g, OpKind::Conv);
    // in 6, k 4, s 1: out 6, total 3
    const bool upper = std::string(mode) == "SAME_UPPER";
    EXPECT_EQ(c.attrs.pad_top, upper ? 1 : 2) << mode;
    EXPECT_EQ(c.attrs.pad_bottom, upper ? 2 : 1) << mode;
    EXPECT_EQ(c.attrs.pad_left, upper ? 1 : 2) << mode;
    EXPECT_EQ(g.tensor(c.output).shape, (Shape{2, 6, 6}));
    EXPECT_EQ(g.total_macs(), 2 * 16 * 36);
  }
}

TEST(OnnxImport, ConvGroupsDilationsStridesAndPads) {
  OnnxBuilder b;
  b.input("x", {1, 4, 9, 9}).output("y");
  b.init("W", {8, 2, 3, 3}, std::vector<float>(8 * 2 * 9, 0.5f));
  b.init("bias", {8}, iota_floats(8));
  auto& n = b.node("Conv", {"x", "W", "bias"}, {"y"}, "conv");
  OnnxBuilder::attr(n, "group", int64_t{2});
  OnnxBuilder::attr(n, "dilations", {2, 2});
  OnnxBuilder::attr(n, "strides", {2, 1});
  OnnxBuilder::attr(n, "pads", {1, 0, 2, 3});  // top, left, bottom, right
  Graph g = import_onnx(b.save("conv_attrs"));
  const LayerNode& c = only_layer(g, OpKind::Conv);
  EXPECT_EQ(c.attrs.groups, 2);
  EXPECT_EQ(c.attrs.dil_h, 2);
  EXPECT_EQ(c.attrs.stride_h, 2);
  EXPECT_EQ(c.attrs.stride_w, 1);
  EXPECT_EQ(c.attrs.pad_top, 1);
  EXPECT_EQ(c.attrs.pad_left, 0);
  EXPECT_EQ(c.attrs.pad_bottom, 2);
  EXPECT_EQ(c.attrs.pad_right, 3);
  EXPECT_TRUE(c.attrs.has_bias);
  // H: (9 + 3 - 5) / 2 + 1 = 4; W: (9 + 3 - 5) / 1 + 1 = 8
  EXPECT_EQ(g.tensor(c.output).shape, (Shape{8, 4, 8}));
}

TEST(OnnxImport, Conv1dMapsToOneRow) {
  OnnxBuilder b;
  b.input("x", {1, 3, 10}).output("y", {1, 2, 8});
  b.init("W", {2, 3, 3}, std::vector<float>(18, 1.0f));
  b.node("Conv", {"x", "W"}, {"y"}, "conv1d");
  Graph g = import_onnx(b.save("conv1d"));
  const LayerNode& c = only_layer(g, OpKind::Conv);
  EXPECT_EQ(c.attrs.kernel_h, 1);
  EXPECT_EQ(c.attrs.kernel_w, 3);
  EXPECT_EQ(g.tensor(g.input).shape, (Shape{3, 1, 10}));
  EXPECT_EQ(g.tensor(c.output).shape, (Shape{2, 1, 8}));
}

TEST(OnnxImport, ClipBecomesRelu6OrReluAcrossOpsets) {
  {
    OnnxBuilder b(11);  // min/max are inputs
    b.input("x", {1, 2, 3, 3}).output("y");
    b.init("lo", {}, {0});
    b.init("hi", {}, {6});
    b.node("Clip", {"x", "lo", "hi"}, {"y"}, "clip");
    EXPECT_EQ(only_layer(import_onnx(b.save("clip11")), OpKind::Activation).attrs.act,
              isa::Activation::Relu6);
  }
  {
    OnnxBuilder b(6);  // min/max are attributes
    b.input("x", {1, 2, 3, 3}).output("y");
    auto& n = b.node("Clip", {"x"}, {"y"}, "clip");
    OnnxBuilder::attr(n, "min", 0.0f);
    EXPECT_EQ(only_layer(import_onnx(b.save("clip6")), OpKind::Activation).attrs.act, isa::Activation::Relu);
  }
  {
    OnnxBuilder b(11);
    b.input("x", {1, 2, 3, 3}).output("y");
    b.init("lo", {}, {-1});
    b.node("Clip", {"x", "lo"}, {"y"}, "clip_m1");
    // another bound: relu(x + 1) - 1 (GeneralClipIsThreeAffineLayers)
    const Graph g = import_onnx(b.save("clip_m1"));
    std::vector<isa::Activation> acts;
    for (const LayerNode& l : g.layers)
      if (l.op == OpKind::BatchNorm) acts.push_back(l.attrs.act);
    EXPECT_EQ(acts, (std::vector<isa::Activation>{isa::Activation::Relu, isa::Activation::None}));
  }
}

TEST(OnnxImport, PerChannelAddAndMulConstants) {
  OnnxBuilder b;
  b.input("x", {1, 3, 4, 4}).output("y");
  b.init("scale", {3, 1, 1}, {1, 2, 3});
  b.init("shift", {1, 3, 1, 1}, {-1, 0, 1});
  b.node("Mul", {"x", "scale"}, {"m"}, "mul");
  b.node("Add", {"shift", "m"}, {"y"}, "add");
  Graph g = import_onnx(b.save("perchannel"));
  EXPECT_EQ(only_layer(g, OpKind::Mul).weights, (std::vector<float>{1, 2, 3}));
  const LayerNode& bn = only_layer(g, OpKind::BatchNorm);
  EXPECT_EQ(bn.bn_beta, (std::vector<float>{-1, 0, 1}));
  EXPECT_EQ(bn.bn_gamma, (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(bn.bn_var, (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(bn.attrs.bn_eps, 0.0f);
}

TEST(OnnxImport, ShapeSubgraphFoldsIntoFlatten) {
  // torch's x.view(x.size(0), -1) at opset 13 (Unsqueeze axes as an input)
  OnnxBuilder b;
  b.input("x", {1, 4, 3, 3}).output("y", {1, 36});
  b.init_ints("zero", {}, {0}).init_ints("axes0", {1}, {0}).init_ints("minus1", {1}, {-1});
  b.node("Shape", {"x"}, {"s"});
  b.node("Gather", {"s", "zero"}, {"n"});
  b.node("Unsqueeze", {"n", "axes0"}, {"n1"});
  OnnxBuilder::attr(b.node("Concat", {"n1", "minus1"}, {"target"}), "axis", int64_t{0});
  b.node("Reshape", {"x", "target"}, {"y"}, "view");
  Graph g = import_onnx(b.save("shape_subgraph"));
  const auto ls = layers_of(g);
  ASSERT_EQ(ls.size(), 1u);  // the shape arithmetic leaves no layers
  EXPECT_EQ(ls[0]->op, OpKind::Flatten);
  EXPECT_EQ(g.tensor(ls[0]->output).shape, (Shape{36, 1, 1}));
}

// A MatMul whose 2x2 weights W live in weights.bin (five floats: 99, 1, 2, 3, 4) at the given
// external_data offset and length ("" leaves the key out). Returns the model's path.
std::string external_weights_model(const std::string& name, const std::string& offset, const std::string& length) {
  OnnxBuilder b;
  b.input("x", {1, 2}).output("y");
  onnx::TensorProto& w = b.init("W", {2, 2}, {});
  w.set_data_location(onnx::TensorProto::EXTERNAL);
  const std::pair<const char*, std::string> keys[] = {{"location", "weights.bin"}, {"offset", offset}, {"length", length}};
  for (const auto& [key, value] : keys) {
    if (value.empty()) continue;
    auto* kv = w.add_external_data();
    kv->set_key(key);
    kv->set_value(value);
  }
  b.node("MatMul", {"x", "W"}, {"y"}, "mm");
  const std::string path = b.save(name);
  const float data[5] = {99, 1, 2, 3, 4};
  std::ofstream(std::filesystem::path(path).parent_path() / "weights.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(data), sizeof data);
  return path;
}

TEST(OnnxImport, ExternalDataIsReadRelativeToTheModel) {
  Graph g = import_onnx(external_weights_model("external", "4", ""));  // the offset skips the 99
  EXPECT_EQ(only_layer(g, OpKind::FullyConnected).weights, (std::vector<float>{1, 3, 2, 4}));
  g = import_onnx(external_weights_model("external_len", "4", "16"));
  EXPECT_EQ(only_layer(g, OpKind::FullyConnected).weights, (std::vector<float>{1, 3, 2, 4}));
}

// issue 12: malformed external_data entries were std::stoll / std::string exceptions (exit 1).
TEST(OnnxImport, MalformedExternalDataIsAnInputErrorNamingTheInitializer) {
  const std::string file_bytes = std::to_string(5 * sizeof(float));
  const std::pair<std::pair<std::string, std::string>, std::string> cases[] = {
      {{"abc", ""}, "external data offset 'abc' is not a byte count"},
      {{"-4", ""}, "external data offset '-4' is not a byte count"},
      {{"4", "99999999999999999999"}, "external data length '99999999999999999999' is not a byte count"},
      {{"8", "16"}, "external data range [8, 24) lies outside"},
      {{"21", ""}, "external data offset 21 lies past the end of"},
  };
  for (const auto& [keys, message] : cases) {
    const std::string path = external_weights_model("bad_external", keys.first, keys.second);
    try {
      import_onnx(path);
      ADD_FAILURE() << "no error for offset " << keys.first << " length " << keys.second;
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("bad_external.onnx: initializer 'W': " + message), std::string::npos) << what;
      if (message.find("outside") != std::string::npos || message.find("past") != std::string::npos) {
        EXPECT_NE(what.find("(" + file_bytes + " B)"), std::string::npos) << what;
      }
    }
  }
}

// issue 12: an attribute the op's schema does not define was ignored (Relu group=-100 ran).
TEST(OnnxImport, AttributeOutsideTheOpSchemaNamesTheNode) {
  OnnxBuilder b;
  b.input("x", {1, 2, 3, 3}).output("y");
  OnnxBuilder::attr(b.node("Relu", {"x"}, {"y"}, "relu1"), "group", int64_t{-100});
  try {
    import_onnx(b.save("relu_group"));
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("relu_group.onnx: node 'relu1' (Relu): attribute 'group' is not defined for Relu"),
              std::string::npos)
        << e.what();
  }
  // The same attribute on an op that defines it is accepted.
  OnnxBuilder ok;
  ok.input("x", {1, 2, 3, 3}).output("y");
  OnnxBuilder::attr(ok.node("LeakyRelu", {"x"}, {"y"}, "lrelu"), "alpha", 0.01f);
  EXPECT_NO_THROW(import_onnx(ok.save("lrelu_ok")));
}

// The channel_slice layers of `g`, as (name, start, count, output shape) in definition order.
struct SliceSeen {
  std::string name;
  int64_t start, count;
  Shape out;
  bool operator==(const SliceSeen& o) const {
    return name == o.name && start == o.start && count == o.count && out == o.out;
  }
};
std::ostream& operator<<(std::ostream& os, const SliceSeen& s) {
  return os << s.name << " [" << s.start << ", +" << s.count << ") " << s.out.str();
}
std::vector<SliceSeen> slices_of(const Graph& g) {
  std::vector<SliceSeen> v;
  for (const auto& l : g.layers)
    if (l.op == OpKind::ChannelSlice)
      v.push_back({l.name, l.attrs.slice_start, l.attrs.slice_count, g.tensor(l.output).shape});
  return v;
}

TEST(OnnxImport, SplitWithSizesAsInputBecomesChannelSlices) {
  // opset 13: sizes are an input; axis -3 of a rank-4 tensor is the channel axis
  OnnxBuilder b(13);
  b.input("x", {1, 6, 2, 3}).output("a", {1, 2, 2, 3}).output("c", {1, 4, 2, 3});
  b.init_ints("sizes", {2}, {2, 4});
  OnnxBuilder::attr(b.node("Split", {"x", "sizes"}, {"a", "c"}, "split"), "axis", int64_t{-3});
  Graph g = import_onnx(b.save("split13"));
  EXPECT_EQ(slices_of(g),
            (std::vector<SliceSeen>{{"split_0", 0, 2, {2, 2, 3}}, {"split_1", 2, 4, {4, 2, 3}}}));
  EXPECT_EQ(g.outputs, (std::vector<int>{g.layer(0).output, g.layer(1).output}));
  EXPECT_EQ(g.total_macs(), 0);
  EXPECT_EQ(g.total_params(), 0);
}

TEST(OnnxImport, SplitWithSizesAsAttributeOrInEqualParts) {
  {  // opset 11: the split attribute
    OnnxBuilder b(11);
    b.input("x", {1, 6, 2, 2}).output("a").output("c");
    auto& n = b.node("Split", {"x"}, {"a", "c"}, "s");
    OnnxBuilder::attr(n, "axis", int64_t{1});
    OnnxBuilder::attr(n, "split", {1, 5});
    EXPECT_EQ(slices_of(import_onnx(b.save("split11"))),
              (std::vector<SliceSeen>{{"s_0", 0, 1, {1, 2, 2}}, {"s_1", 1, 5, {5, 2, 2}}}));
  }
  {  // no sizes: equal parts (torch.chunk(3, dim=1)), on a [1, N] tensor too
    OnnxBuilder b(13);
    b.input("x", {1, 9}).output("a").output("c").output("d");
    OnnxBuilder::attr(b.node("Split", {"x"}, {"a", "c", "d"}, "s"), "axis", int64_t{1});
    EXPECT_EQ(slices_of(import_onnx(b.save("split_equal"))),
              (std::vector<SliceSeen>{
                  {"s_0", 0, 3, {3, 1, 1}}, {"s_1", 3, 3, {3, 1, 1}}, {"s_2", 6, 3, {3, 1, 1}}}));
  }
}

TEST(OnnxImport, SplitOfAConstantFoldsAndOfTheRowsSlicesRows) {
  {  // a constant split along axis 0 feeds a per-channel Mul: [4] -> [1], [3]
    OnnxBuilder b(13);
    b.input("x", {1, 3, 2, 2}).output("y");
    b.init("k", {4, 1, 1}, {9, 2, 3, 4});
    b.init_ints("sizes", {2}, {1, 3});
    b.node("Split", {"k", "sizes"}, {"k0", "k1"}, "s");
    b.node("Mul", {"x", "k1"}, {"y"}, "m");
    Graph g = import_onnx(b.save("split_const"));
    EXPECT_TRUE(slices_of(g).empty());
    EXPECT_EQ(only_layer(g, OpKind::Mul).weights, (std::vector<float>{2, 3, 4}));
  }
  {  // along the rows: on the view [C, H, W] a slice of the rows of every channel (strided copies)
    OnnxBuilder b(13);
    b.input("x", {1, 2, 4, 4}).output("a").output("c");
    OnnxBuilder::attr(b.node("Split", {"x"}, {"a", "c"}, "rows"), "axis", int64_t{2});
    Graph g = import_onnx(b.save("split_rows"));
    std::vector<std::pair<int64_t, Shape>> rows;
    for (const LayerNode& l : g.layers)
      if (l.op == OpKind::ChannelSlice && l.attrs.slice_rows) rows.push_back({l.attrs.slice_start, g.tensor(l.output).shape});
    EXPECT_EQ(rows, (std::vector<std::pair<int64_t, Shape>>{{0, Shape{2, 2, 4}}, {2, Shape{2, 2, 4}}}));
  }
}

TEST(OnnxImport, SliceOfAChannelRangeIsAChannelSlice) {
  // torch's x.chunk(2, dim=1) as exported (opset 13): starts/ends/axes (negative) as inputs;
  // then a conv on the second half. Only the conv has MACs: 2 * 3 * 9 * 4 * 4 = 864.
  OnnxBuilder b(13);
  b.input("x", {1, 6, 4, 4}).output("first").output("y", {1, 2, 4, 4});
  b.init_ints("s0", {1}, {0}).init_ints("e0", {1}, {3}).init_ints("ax", {1}, {-3}).init_ints("one", {1}, {1});
  b.init_ints("s1", {1}, {3}).init_ints("e1", {1}, {INT64_MAX});
  b.init("w", {2, 3, 3, 3}, std::vector<float>(54, 0.5f));
  b.node("Slice", {"x", "s0", "e0", "ax"}, {"first"}, "lo");
  b.node("Slice", {"x", "s1", "e1", "ax", "one"}, {"second"}, "hi");
  OnnxBuilder::attr(b.node("Conv", {"second", "w"}, {"y"}, "conv"), "pads", {1, 1, 1, 1});
  Graph g = import_onnx(b.save("slice13"));
  EXPECT_EQ(slices_of(g), (std::vector<SliceSeen>{{"lo", 0, 3, {3, 4, 4}}, {"hi", 3, 3, {3, 4, 4}}}));
  EXPECT_EQ(g.total_macs(), 864);
  {  // opset 9: attributes; the whole channel range is an alias, not a layer
    OnnxBuilder c(9);
    c.input("x", {1, 6, 4, 4}).output("y");
    auto& n = c.node("Slice", {"x"}, {"y"}, "all");
    OnnxBuilder::attr(n, "starts", {0});
    OnnxBuilder::attr(n, "ends", {100});
    OnnxBuilder::attr(n, "axes", {1});
    EXPECT_TRUE(slices_of(import_onnx(c.save("slice9"))).empty());
  }
  {  // a step of 2 along the channels is not a contiguous range
    OnnxBuilder c(13);
    c.input("x", {1, 6, 4, 4}).output("y");
    c.init_ints("s", {1}, {0}).init_ints("e", {1}, {6}).init_ints("ax", {1}, {1}).init_ints("st", {1}, {2});
    c.node("Slice", {"x", "s", "e", "ax", "st"}, {"y"}, "odd");
    EXPECT_THROW(import_onnx(c.save("slice_step")), OnnxUnsupported);
  }
}

TEST(OnnxImport, UnsupportedOpNamesTheNodeAndOpType) {
  OnnxBuilder b;
  b.input("x", {1, 10}).output("y");
  b.node("Hardmax", {"x"}, {"y"}, "prob");
  try {
    import_onnx(b.save("hardmax"));
    FAIL() << "no error";
  } catch (const OnnxUnsupported& e) {
    EXPECT_EQ(std::string(e.what()), "hardmax.onnx: node 'prob' (Hardmax): unsupported op");
    EXPECT_EQ(e.reason, "Hardmax");
  }
}

TEST(OnnxImport, UnsupportedAttributeAndBatchNameTheNode) {
  {
    OnnxBuilder b;
    b.input("x", {1, 2, 3, 3}).output("y");
    OnnxBuilder::attr(b.node("Elu", {"x"}, {"y"}, "elu"), "alpha", 2.0f);
    try {
      import_onnx(b.save("elu"));
      FAIL() << "no error";
    } catch (const OnnxUnsupported& e) {
      EXPECT_NE(std::string(e.what()).find("node 'elu' (Elu): attribute alpha=2.0"),
                std::string::npos)
          << e.what();
    }
  }
  {
    // issue 10: dim 0 is the graph's batch, and every tensor keeps it per sample...
    OnnxBuilder b;
    b.input("x", {2, 3, 4, 4}).output("y");
    b.node("GlobalAveragePool", {"x"}, {"y"}, "gap");
    const Graph g = import_onnx(b.save("batch2"));
    EXPECT_EQ(g.batch, 2);
    EXPECT_EQ(g.tensor(g.outputs.at(0)).shape, (Shape{3, 1, 1}));
  }
  {
    // ...so an op that folds the samples together has no mapping, and names its node
    OnnxBuilder b;
    b.input("x", {2, 3, 4, 4}).output("y");
    OnnxBuilder::attr(b.node("Flatten", {"x"}, {"y"}, "flat0"), "axis", int64_t{0});
    try {
      import_onnx(b.save("batch2_flatten0"));
      FAIL() << "no error";
    } catch (const OnnxUnsupported& e) {
      EXPECT_EQ(e.reason, "Flatten: axis 0 gives [1,96] (batch 2)");
      EXPECT_NE(std::string(e.what()).find("node 'flat0' (Flatten)"), std::string::npos) << e.what();
    }
  }
}

TEST(OnnxImport, ValueInfoShapeMismatchIsAnError) {
  OnnxBuilder b;
  b.input("x", {1, 2, 8, 8}).output("y");
  auto& n = b.node("MaxPool", {"x"}, {"y"}, "pool");
  OnnxBuilder::attr(n, "kernel_shape", {2, 2});
  OnnxBuilder::attr(n, "strides", {2, 2});
  b.value_info("y", {1, 2, 5, 5});  // the right answer is 4x4
  try {
    import_onnx(b.save("bad_value_info"));
    FAIL() << "no error";
  } catch (const OnnxUnsupported&) {
    FAIL() << "a wrong shape is an error, not an unsupported feature";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("node 'pool' (MaxPool)"), std::string::npos) << e.what();
  }
}

// ---- the committed models ----

TEST(OnnxModels, ResidualBlockLayersAndMacs) {
  Graph g = load_model(model_path("residual_block"));
  std::vector<OpKind> ops;
  for (const auto* l : layers_of(g)) ops.push_back(l->op);
  EXPECT_EQ(ops, (std::vector<OpKind>{OpKind::Conv, OpKind::BatchNorm, OpKind::Activation, OpKind::Conv,
                                      OpKind::BatchNorm, OpKind::Add, OpKind::Activation,
                                      OpKind::GlobalAvgPool, OpKind::Flatten, OpKind::FullyConnected}));
  EXPECT_EQ(g.name, "residual_block");
  EXPECT_EQ(g.tensor(g.input).shape, (Shape{8, 12, 12}));
  // two 3x3 convs 8 -> 8 on 12x12, then fc 8 -> 10
  EXPECT_EQ(g.total_macs(), 2 * (8 * 8 * 9 * 144) + 8 * 10);
  // the skip connection reads the network input
  const LayerNode& add = only_layer(g, OpKind::Add);
  EXPECT_EQ(add.inputs.at(1), g.input);
}

TEST(OnnxModels, ConcatBlockFoldsItsShapeSubgraph) {
  Graph g = load_model(model_path("concat_block"));
  const LayerNode& cat = only_layer(g, OpKind::Concat);
  EXPECT_EQ(cat.inputs.size(), 3u);
  EXPECT_EQ(g.tensor(cat.output).shape, (Shape{4 + 6 + 6, 5, 5}));
  const LayerNode& fc = only_layer(g, OpKind::FullyConnected);
  EXPECT_EQ(g.tensor(fc.inputs[0]).shape, (Shape{16 * 3 * 3, 1, 1}));  // ceil-mode pool: 5 -> 3
  EXPECT_EQ(only_layer(g, OpKind::Activation).attrs.act, isa::Activation::Relu6);
  EXPECT_EQ(g.total_macs(), 4 * 6 * 25 + 6 * 6 * 9 * 25 + 144 * 7);
}

TEST(OnnxModels, ChannelShuffleIsOneLayer) {
  Graph g = load_model(model_path("channel_shuffle"));
  const LayerNode& cs = only_layer(g, OpKind::ChannelShuffle);
  EXPECT_EQ(cs.attrs.groups, 4);
  EXPECT_EQ(g.tensor(cs.output).shape, (Shape{16, 8, 8}));
  // grouped 1x1 (16 x 4 per pixel) and depthwise 3x3 stride 2 with SAME_UPPER (8 -> 4)
  EXPECT_EQ(g.total_macs(), 16 * 4 * 64 + 16 * 9 * 16);
}

TEST(OnnxModels, ChannelSplitHasSlicesAndOnlyTheConvsMacs) {
  Graph g = load_model(model_path("channel_split"));
  EXPECT_EQ(slices_of(g), (std::vector<SliceSeen>{{"split_0", 0, 4, {4, 6, 6}},
                                                  {"split_1", 4, 4, {4, 6, 6}},
                                                  {"upper", 5, 3, {3, 6, 6}},  // ends = INT64_MAX
                                                  {"mid", 1, 2, {2, 6, 6}}}));
  // pw 8 * 8 * 36 = 2304, dwconv 4 * 9 * 36 = 1296, head 4 * 3 * 36 = 432
  EXPECT_EQ(g.total_macs(), 2304 + 1296 + 432);
}

// issue 10: PRelu has no NFU-3 function of its own: (1 - a)·relu(x) + a·x, two depthwise 1x1
// scales (the first one's relu merges into it) and an add, per channel.
TEST(OnnxImport, PReluLowersToTwoScalesAndAnAdd) {
  OnnxBuilder b;
  b.input("x", {1, 3, 4, 4}).output("y");
  b.init("slope", {3, 1, 1}, {0.25f, -0.5f, 1.0f});
  b.node("PRelu", {"x", "slope"}, {"y"}, "prelu");
  Graph g = import_onnx(b.save("prelu"));
  std::vector<std::vector<float>> scales;
  for (const LayerNode& l : g.layers)
    if (l.op == OpKind::Mul) scales.push_back(l.weights);
  EXPECT_EQ(scales, (std::vector<std::vector<float>>{{0.75f, 1.5f, 0.0f}, {0.25f, -0.5f, 1.0f}}));
  EXPECT_EQ(only_layer(g, OpKind::Activation).attrs.act, isa::Activation::Relu);
  EXPECT_EQ(g.tensor(only_layer(g, OpKind::Add).output).name, "y");
  OnnxBuilder big;
  big.input("x", {1, 2, 4, 4}).output("y");
  big.init("slope", {2, 1, 1}, {0.5f, 2.0f});
  big.node("PRelu", {"x", "slope"}, {"y"}, "steep");
  EXPECT_THROW(import_onnx(big.save("prelu_steep")), OnnxUnsupported);
}

// An element-wise graph runs on a tensor of any rank and batch as one map: leading dims fold
// into the channels. A per-channel constant there would be ambiguous and stays unsupported;
// with batch 1 the graph keeps its channels (PerChannelAddAndMulConstants).
TEST(OnnxImport, ElementwiseGraphOfAnyRankRunsAsOneMap) {
  OnnxBuilder b;
  b.input("x", {3, 4, 5}).output("y");
  b.node("Softplus", {"x"}, {"s"}, "sp");
  b.node("Elu", {"s"}, {"y"}, "elu");
  Graph g = import_onnx(b.save("ew"));
  EXPECT_EQ(g.tensor(g.input).shape, (Shape{3, 4, 5}));
  OnnxBuilder c;
  c.input("x", {2, 3, 4, 5}).output("y");
  c.init("k", {3, 1, 1}, {1, 2, 3});
  c.node("Mul", {"x", "k"}, {"y"}, "mul");
  EXPECT_THROW(import_onnx(c.save("ew_pc")), OnnxUnsupported);
}

TEST(OnnxImport, GlobalMaxPoolIsAMaxPoolOverTheMap) {
  OnnxBuilder b;
  b.input("x", {1, 3, 5, 7}).output("y");
  b.node("GlobalMaxPool", {"x"}, {"y"}, "gmp");
  Graph g = import_onnx(b.save("gmp"));
  const LayerNode& p = only_layer(g, OpKind::MaxPool);
  EXPECT_EQ(p.attrs.kernel_h, 5);
  EXPECT_EQ(p.attrs.kernel_w, 7);
  EXPECT_EQ(g.tensor(p.output).shape, (Shape{3, 1, 1}));
}

// Softmax over the 10 logits of [1,10]: the view [1, 10, 1], a max pool of 10 rows, the negated
// maximum added with a row broadcast, exp, a sum pool (divisor 1), the reciprocal and a product.
TEST(OnnxImport, SoftmaxIsPoolsAndBroadcastsOnAView) {
  OnnxBuilder b;
  b.input("x", {1, 10}).output("y");
  b.node("Softmax", {"x"}, {"y"}, "prob");
  Graph g = import_onnx(b.save("softmax"));
  const LayerNode& mx = only_layer(g, OpKind::MaxPool);
  EXPECT_EQ(mx.attrs.kernel_h, 10);
  EXPECT_EQ(g.tensor(mx.inputs[0]).shape, (Shape{1, 10, 1}));
  const LayerNode& sum = only_layer(g, OpKind::AvgPool);
  EXPECT_EQ(sum.attrs.kernel_h, 10);
  EXPECT_EQ(sum.attrs.pool_divisor, 1);
  const LayerNode& add = only_layer(g, OpKind::Add);
  EXPECT_EQ(g.tensor(add.inputs[1]).shape, (Shape{1, 1, 1}));  // broadcast along the rows
  const LayerNode& prod = only_layer(g, OpKind::Product);
  EXPECT_EQ(g.tensor(prod.inputs[1]).shape, (Shape{1, 1, 1}));
  std::vector<isa::Activation> acts;
  for (const LayerNode& l : g.layers)
    if (l.op == OpKind::Activation) acts.push_back(l.attrs.act);
  EXPECT_EQ(acts, (std::vector<isa::Activation>{isa::Activation::Exp, isa::Activation::Reciprocal}));
  EXPECT_EQ(g.tensor(g.outputs.at(0)).shape, (Shape{10, 1, 1}));
  EXPECT_EQ(g.tensor(g.outputs.at(0)).name, "y");
}

// A reduction over 1000 elements pools in stages whose windows fit the 8-bit kh field
// (250 x 4); one over a prime above 255 has no such split and is refused, naming the node.
TEST(OnnxImport, ReductionsPoolInStagesOfAtMost255Rows) {
  OnnxBuilder b;
  b.input("x", {1, 1000}).output("y");
  OnnxBuilder::attr(b.node("ReduceMax", {"x"}, {"y"}, "rmax"), "axes", {1});
  Graph g = import_onnx(b.save("rmax"));
  std::vector<int64_t> kernels;
  for (const LayerNode& l : g.layers)
    if (l.op == OpKind::MaxPool) kernels.push_back(l.attrs.kernel_h);
  EXPECT_EQ(kernels, (std::vector<int64_t>{250, 4}));
  EXPECT_EQ(g.tensor(g.outputs.at(0)).shape, (Shape{1, 1, 1}));
  OnnxBuilder p;
  p.input("x", {1, 257}).output("y");
  OnnxBuilder::attr(p.node("ReduceSum", {"x"}, {"y"}, "rsum"), "keepdims", int64_t{0});
  try {
    import_onnx(p.save("rsum_prime"));
    FAIL() << "no error";
  } catch (const OnnxUnsupported& e) {
    EXPECT_NE(std::string(e.what()).find("node 'rsum' (ReduceSum): a reduction over 257 elements"), std::string::npos)
        << e.what();
  }
}

// ReduceL2 over the channels and a division by it (SSD's L2Norm): the norm broadcasts along the
// channels of the [C, 1, H*W] view. A broadcast along the last dims is no DMA stride and is
// refused; so is a reduction across the samples of a batch.
TEST(OnnxImport, BroadcastDivisionAndItsLimits) {
  OnnxBuilder b;
  b.input("x", {1, 8, 3, 3}).output("y");
  OnnxBuilder::attr(b.node("ReduceL2", {"x"}, {"n"}, "norm"), "axes", {1});
  b.node("Div", {"x", "n"}, {"y"}, "div");
  Graph g = import_onnx(b.save("l2norm"));
  const LayerNode& prod = g.layers.back();
  ASSERT_EQ(prod.op, OpKind::Reshape);  // the product's [8, 1, 9] back to 8 x 3 x 3
  std::vector<Shape> operands;
  for (const LayerNode& l : g.layers)
    if (l.op == OpKind::Product) operands.push_back(g.tensor(l.inputs[1]).shape);
  // x*x for the norm, then x times the reciprocal norm broadcast along the channels
  EXPECT_EQ(operands, (std::vector<Shape>{Shape{8, 3, 3}, Shape{1, 1, 9}}));
  EXPECT_EQ(g.tensor(g.outputs.at(0)).shape, (Shape{8, 3, 3}));

  OnnxBuilder t;
  t.input("x", {2, 3, 4}).output("y");
  OnnxBuilder::attr(t.node("ReduceMax", {"x"}, {"m"}, "rmax"), "axes", {0, 2});
  t.node("Mul", {"x", "m"}, {"y"}, "mul");
  try {
    import_onnx(t.save("bcast_last"));
    FAIL() << "no error";
  } catch (const OnnxUnsupported& e) {
    EXPECT_NE(std::string(e.what()).find("node 'mul' (Mul): broadcast of [2,3,4] and [1,3,1]"), std::string::npos)
        << e.what();
  }

  OnnxBuilder r;
  r.input("x", {2, 3, 4, 4}).output("y");
  r.init("w", {3, 3, 1, 1}, std::vector<float>(9, 0.5f));
  r.node("Conv", {"x", "w"}, {"c"}, "conv");
  OnnxBuilder::attr(r.node("ReduceMax", {"c"}, {"y"}, "over_batch"), "axes", {0});
  try {
    import_onnx(r.save("reduce_batch"));
    FAIL() << "no error";
  } catch (const OnnxUnsupported& e) {
    EXPECT_NE(std::string(e.what()).find("node 'over_batch' (ReduceMax): a reduction over the batch"),
              std::string::npos)
        << e.what();
  }
}

// NCHW -> NHWC of [1, 8, 3, 5]: H and W stay adjacent and in order, so they move as one dim: a
// Transpose layer of [8, 15] -> [15, 8]. A permutation that keeps the order of the non-unit dims
// moves no data (a reshape); one that moves the batch of a batch-2 graph mixes samples.
TEST(OnnxImport, TransposeMergesDimsThatStayTogether) {
  OnnxBuilder b;
  b.input("x", {1, 8, 3, 5}).output("y");
  b.init("w", {8, 8, 1, 1}, std::vector<float>(64, 0.125f));
  b.node("Conv", {"x", "w"}, {"c"}, "conv");
  OnnxBuilder::attr(b.node("Transpose", {"c"}, {"y"}, "nhwc"), "perm", {0, 2, 3, 1});
  Graph g = import_onnx(b.save("nhwc"));
  const LayerNode& t = only_layer(g, OpKind::Transpose);
  EXPECT_EQ(t.attrs.perm_in, (std::vector<int64_t>{8, 15}));
  EXPECT_EQ(t.attrs.perm, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(g.tensor(t.output).shape, (Shape{3, 5, 8}));
  OnnxBuilder u;
  u.input("x", {1, 8, 1, 5}).output("y");
  u.init("w", {8, 8, 1, 1}, std::vector<float>(64, 0.125f));
  u.node("Conv", {"x", "w"}, {"c"}, "conv");
  OnnxBuilder::attr(u.node("Transpose", {"c"}, {"y"}, "unit"), "perm", {0, 2, 1, 3});
  for (const LayerNode& l : import_onnx(u.save("unit_move")).layers) EXPECT_NE(l.op, OpKind::Transpose);
  OnnxBuilder m;
  m.input("x", {2, 8, 3, 5}).output("y");
  m.init("w", {8, 8, 1, 1}, std::vector<float>(64, 0.125f));
  m.node("Conv", {"x", "w"}, {"c"}, "conv");
  OnnxBuilder::attr(m.node("Transpose", {"c"}, {"y"}, "mix"), "perm", {1, 0, 2, 3});
  try {
    import_onnx(m.save("mix"));
    FAIL() << "no error";
  } catch (const OnnxUnsupported& e) {
    EXPECT_NE(std::string(e.what()).find("node 'mix' (Transpose): perm [1,0,2,3] moves the batch"), std::string::npos)
        << e.what();
  }
}

// A bilinear x2 Resize of [1, 2, 4, 4]: a conv over the columns ([1, 8, 4] -> [8, 8, 1]), one over
// the rows ([1, 16, 4] -> [8, 16, 1]) and a transpose [64, 2] -> [2, 64]. Each output is a convex
// combination of its inputs: the rows of both matrices sum to 1.
TEST(OnnxImport, ResizeIsTwoMatrixConvsAndATranspose) {
  OnnxBuilder b;
  b.input("x", {1, 2, 4, 4}).output("y");
  b.init("scales", {4}, {1, 1, 2, 2});
  OnnxBuilder::attr(b.node("Resize", {"x", "", "scales"}, {"y"}, "up"), "mode", std::string("linear"));
  Graph g = import_onnx(b.save("resize"));
  std::vector<const LayerNode*> convs;
  for (const LayerNode& l : g.layers)
    if (l.op == OpKind::Conv) convs.push_back(&l);
  ASSERT_EQ(convs.size(), 2u);
  for (const LayerNode* c : convs) {
    EXPECT_EQ(c->attrs.kernel_w, 4);
    EXPECT_EQ(c->attrs.out_channels, 8);
    ASSERT_EQ(c->weights.size(), 32u);
    for (int o = 0; o < 8; ++o) {
      float row = 0;
      for (int k = 0; k < 4; ++k) row += c->weights[static_cast<std::size_t>(o * 4 + k)];
      EXPECT_FLOAT_EQ(row, 1.0f);
    }
  }
  // half_pixel: output 1 sits at input 0.25: 0.75 of input 0, 0.25 of input 1; output 0 clamps
  EXPECT_FLOAT_EQ(convs[0]->weights[4], 0.75f);
  EXPECT_FLOAT_EQ(convs[0]->weights[5], 0.25f);
  EXPECT_FLOAT_EQ(convs[0]->weights[0], 1.0f);
  const LayerNode& t = only_layer(g, OpKind::Transpose);
  EXPECT_EQ(t.attrs.perm_in, (std::vector<int64_t>{64, 2}));
  EXPECT_EQ(g.tensor(g.outputs.at(0)).shape, (Shape{2, 8, 8}));
}

// Clip(-1, 1) is relu(x + 1), relu(2 - that) and 1 - that: three per-channel affine layers (depthwise
// 1x1 convs after canonicalization), the first two with NFU-3's relu.
TEST(OnnxImport, GeneralClipIsThreeAffineLayers) {
  OnnxBuilder b;
  b.input("x", {1, 2, 3, 3}).output("y");
  b.init("lo", {}, {-1.0f});
  b.init("hi", {}, {1.0f});
  b.node("Clip", {"x", "lo", "hi"}, {"y"}, "clip");
  Graph g = import_onnx(b.save("clip"));
  std::vector<std::pair<float, float>> affine;
  std::vector<isa::Activation> acts;
  for (const LayerNode& l : g.layers)
    if (l.op == OpKind::BatchNorm) affine.push_back({l.bn_gamma.at(0), l.bn_beta.at(0)}), acts.push_back(l.attrs.act);
  EXPECT_EQ(affine, (std::vector<std::pair<float, float>>{{1.0f, 1.0f}, {-1.0f, 2.0f}, {-1.0f, 1.0f}}));
  EXPECT_EQ(acts, (std::vector<isa::Activation>{isa::Activation::Relu, isa::Activation::Relu, isa::Activation::None}));
}

// torch's expand_as of a runtime tensor stays lazy: the Mul reading it broadcasts the original
// (a zero DMA stride); an Expand that a graph output or another op reads is refused.
TEST(OnnxImport, ExpandOfARuntimeTensorIsABroadcastOperand) {
  OnnxBuilder b;
  b.input("x", {1, 4, 3, 3}).output("y");
  OnnxBuilder::attr(b.node("ReduceMax", {"x"}, {"m"}, "peak"), "axes", {1});
  b.init_ints("shape", {4}, {1, 4, 3, 3});
  b.node("Expand", {"m", "shape"}, {"e"}, "expand");
  b.node("Mul", {"x", "e"}, {"y"}, "gate");
  Graph g = import_onnx(b.save("expand_mul"));
  const LayerNode& p = only_layer(g, OpKind::Product);
  EXPECT_EQ(g.tensor(p.inputs[1]).shape, (Shape{1, 1, 9}));
  OnnxBuilder o;
  o.input("x", {1, 4, 3, 3}).output("e");
  OnnxBuilder::attr(o.node("ReduceMax", {"x"}, {"m"}, "peak"), "axes", {1});
  o.init_ints("shape", {4}, {1, 4, 3, 3});
  o.node("Expand", {"m", "shape"}, {"e"}, "expand");
  EXPECT_THROW(import_onnx(o.save("expand_out")), OnnxUnsupported);
}

// ConvTranspose k3 s2 p1 of a [1, 1, 3, 3] map: the 0/1 matrices insert one zero between the
// inputs and pad by d (k - 1) - p = 1 (a 7-long axis), then a plain 3x3 conv with the kernel
// flipped gives s (L - 1) + k - 2p = 5 outputs per axis.
TEST(OnnxImport, ConvTransposeIsZeroInsertionAndAFlippedConv) {
  OnnxBuilder b;
  b.input("x", {1, 1, 3, 3}).output("y");
  b.init("w", {1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto& n = b.node("ConvTranspose", {"x", "w"}, {"y"}, "deconv");
  OnnxBuilder::attr(n, "strides", {2, 2});
  OnnxBuilder::attr(n, "pads", {1, 1, 1, 1});
  Graph g = import_onnx(b.save("deconv"));
  std::vector<const LayerNode*> convs;
  for (const LayerNode& l : g.layers)
    if (l.op == OpKind::Conv) convs.push_back(&l);
  ASSERT_EQ(convs.size(), 3u);  // two axis matrices, then the convolution
  const std::vector<float> zero_insert = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
  EXPECT_EQ(convs[0]->weights, zero_insert);  // row r of the 7 x 3 matrix: input (r - 1) / 2 when odd
  EXPECT_EQ(convs[2]->weights, (std::vector<float>{9, 8, 7, 6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(convs[2]->attrs.pad_top, 0);
  EXPECT_EQ(g.tensor(g.outputs.at(0)).shape, (Shape{1, 5, 5}));
}

// LRN: a product x*x, an average pool of `size` rows over the [1, C, H*W] view (channels as rows,
// zero padding (size-1)/2 before and size/2 after), then log, a scale by -beta, exp and a product.
TEST(OnnxImport, LrnPoolsOverTheChannelsOfAView) {
  OnnxBuilder b;
  b.input("x", {1, 6, 2, 3}).output("y");
  OnnxBuilder::attr(b.node("LRN", {"x"}, {"y"}, "lrn"), "size", int64_t{5});
  Graph g = import_onnx(b.save("lrn"));
  const LayerNode& p = only_layer(g, OpKind::AvgPool);
  EXPECT_EQ(p.attrs.kernel_h, 5);
  EXPECT_EQ(p.attrs.pad_top, 2);
  EXPECT_EQ(p.attrs.pad_bottom, 2);
  EXPECT_TRUE(p.attrs.count_include_pad);
  EXPECT_EQ(g.tensor(p.inputs[0]).shape, (Shape{1, 6, 6}));
  EXPECT_EQ(g.tensor(g.outputs.at(0)).shape, (Shape{6, 2, 3}));
}

}  // namespace
}  // namespace fusesim::compiler
