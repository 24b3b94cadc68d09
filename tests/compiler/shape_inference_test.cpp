// Shape inference on hand-built graphs: window arithmetic (stride, padding, dilation, PyTorch's
// ceil_mode rule), concat, flatten, fc, and InputErrors that name the offending layer.
#include <gtest/gtest.h>

#include "graph_builders.h"
#include "isa/errors.h"

namespace fusesim::compiler {
namespace {

using namespace testing;

Shape shape_of(const Graph& g, int layer) { return g.tensor(g.layer(layer).output).shape; }

// Runs infer_shapes expecting an InputError; returns its message.
std::string shape_error(Graph& g) {
  try {
    infer_shapes(g);
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "infer_shapes accepted a bad graph";
  return {};
}

TEST(ShapeInference, ConvStridePadDilationPerAxis) {
  Graph g = graph_with_input({3, 10, 14});
  LayerAttrs a;
  a.out_channels = 4;
  a.kernel_h = 3, a.kernel_w = 2;
  a.stride_h = 2, a.stride_w = 3;
  a.pad_top = 1, a.pad_bottom = 1, a.pad_left = 0, a.pad_right = 1;
  a.dil_h = 2, a.dil_w = 1;
  const int c = g.add_layer("c", OpKind::Conv, {g.input}, "c", a);
  infer_shapes(g);
  // rows: span = 2*(3-1)+1 = 5; (10 + 1 + 1 - 5) / 2 + 1 = 7/2 + 1 = 4
  // cols: span = 2; (14 + 0 + 1 - 2) / 3 + 1 = 13/3 + 1 = 5
  EXPECT_EQ(shape_of(g, c), (Shape{4, 4, 5}));
  // MACs: 4 outputs ch x 3 in ch x (3*2) taps x (4*5) pixels = 1440
  EXPECT_EQ(g.layer_macs(c), 1440);
}

TEST(ShapeInference, GroupedConvAndAlexNetConv1) {
  Graph g = graph_with_input({3, 224, 224});
  // AlexNet conv1: 11x11 stride 4 pad 2: (224 + 4 - 11) / 4 + 1 = 217/4 + 1 = 55
  const int c1 = g.add_layer("conv1", OpKind::Conv, {g.input}, "conv1", conv_attrs(64, 11, 4, 2));
  LayerAttrs dw = conv_attrs(64, 3, 1, 1);
  dw.groups = 64;
  const int c2 = g.add_layer("dw", OpKind::Conv, {out_of(g, c1)}, "dw", dw);
  infer_shapes(g);
  EXPECT_EQ(shape_of(g, c1), (Shape{64, 55, 55}));
  EXPECT_EQ(shape_of(g, c2), (Shape{64, 55, 55}));
  // depthwise: 64 x 1 x 9 x 55 x 55
  EXPECT_EQ(g.layer_macs(c2), 64 * 9 * 55 * 55);
}

TEST(ShapeInference, PoolCeilModeAddsAWindowThatStartsInsideTheInput) {
  Graph g = graph_with_input({2, 8, 8});
  // k3 s2 on 8: floor (8-3)/2+1 = 3; ceil ceil(5/2)+1 = 4, last window starts at 6 < 8: kept.
  const int fl = g.add_layer("floor", OpKind::MaxPool, {g.input}, "floor", pool_attrs(3, 2, 0, false));
  const int ce = g.add_layer("ceil", OpKind::MaxPool, {g.input}, "ceil", pool_attrs(3, 2, 0, true));
  infer_shapes(g);
  EXPECT_EQ(shape_of(g, fl), (Shape{2, 3, 3}));
  EXPECT_EQ(shape_of(g, ce), (Shape{2, 4, 4}));
}

TEST(ShapeInference, PoolCeilModeDropsAWindowStartingInTheRightPadding) {
  Graph g = graph_with_input({1, 5, 5});
  // k2 s2 pad 1 on 5, ceil: ceil((5+2-2)/2)+1 = 4, but window 3 starts at 3*2 = 6 >= 5 + 1
  // (input + left pad): PyTorch drops it, so 3 (a naive ceil formula would give 4).
  const int p = g.add_layer("p", OpKind::AvgPool, {g.input}, "p", pool_attrs(2, 2, 1, true));
  infer_shapes(g);
  EXPECT_EQ(shape_of(g, p), (Shape{1, 3, 3}));
}

TEST(ShapeInference, GoogLeNetStylePoolCeil) {
  Graph g = graph_with_input({64, 112, 112});
  // k3 s2 ceil on 112: ceil(109/2)+1 = 56 (floor would give 54+1 = 55); start 110 < 112.
  const int p = g.add_layer("p", OpKind::MaxPool, {g.input}, "p", pool_attrs(3, 2, 0, true));
  infer_shapes(g);
  EXPECT_EQ(shape_of(g, p), (Shape{64, 56, 56}));
}

TEST(ShapeInference, ConcatFlattenFcGlobalPool) {
  Graph g = graph_with_input({4, 3, 2});
  const int a = g.add_layer("a", OpKind::Conv, {g.input}, "a", conv_attrs(2, 1));
  const int b = g.add_layer("b", OpKind::Conv, {g.input}, "b", conv_attrs(3, 1));
  const int cat = g.add_layer("cat", OpKind::Concat, {out_of(g, a), out_of(g, b), g.input}, "cat");
  const int flat = g.add_layer("flat", OpKind::Flatten, {out_of(g, cat)}, "flat");
  const int fc = g.add_layer("fc", OpKind::FullyConnected, {out_of(g, flat)}, "fc", fc_attrs(10, true));
  const int gap = g.add_layer("gap", OpKind::GlobalAvgPool, {out_of(g, cat)}, "gap");
  infer_shapes(g);
  EXPECT_EQ(shape_of(g, cat), (Shape{2 + 3 + 4, 3, 2}));
  EXPECT_EQ(shape_of(g, flat), (Shape{9 * 3 * 2, 1, 1}));
  EXPECT_EQ(shape_of(g, fc), (Shape{10, 1, 1}));
  EXPECT_EQ(shape_of(g, gap), (Shape{9, 1, 1}));
  EXPECT_EQ(g.layer_macs(fc), 10 * 54);
  EXPECT_EQ(g.layer_params(fc), 10 * 54 + 10);
}

TEST(ShapeInference, ConcatWithDifferentSpatialSizeNamesTheLayer) {
  Graph g = graph_with_input({2, 6, 6});
  const int p = g.add_layer("pool", OpKind::MaxPool, {g.input}, "pool", pool_attrs(2, 2));
  g.add_layer("joiner", OpKind::Concat, {g.input, out_of(g, p)}, "joiner");
  const std::string msg = shape_error(g);
  EXPECT_NE(msg.find("layer 'joiner'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2x6x6"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2x3x3"), std::string::npos) << msg;
}

TEST(ShapeInference, GroupsThatDoNotDivideNameTheLayerAndOrigin) {
  Graph g = graph_with_input({3, 4, 4});
  LayerAttrs a = conv_attrs(4, 1);
  a.groups = 2;  // 3 input channels are not divisible by 2
  const int c = g.add_layer("grouped", OpKind::Conv, {g.input}, "grouped", a);
  g.layer(c).origin = "net.yaml:7:5";
  const std::string msg = shape_error(g);
  EXPECT_EQ(msg.rfind("net.yaml:7:5: layer 'grouped'", 0), 0u) << msg;
}

TEST(ShapeInference, WindowLargerThanThePaddedInput) {
  Graph g = graph_with_input({1, 3, 3});
  g.add_layer("big", OpKind::Conv, {g.input}, "big", conv_attrs(1, 5, 1, 0));  // 5 > 3 + 0
  const std::string msg = shape_error(g);
  EXPECT_NE(msg.find("layer 'big'"), std::string::npos) << msg;
  // pad 1 makes the padded input 5: now it fits, one output pixel
  Graph ok = graph_with_input({1, 3, 3});
  const int c = ok.add_layer("big", OpKind::Conv, {ok.input}, "big", conv_attrs(1, 5, 1, 1));
  infer_shapes(ok);
  EXPECT_EQ(shape_of(ok, c), (Shape{1, 1, 1}));
}

TEST(ShapeInference, AddOperandsMustMatch) {
  Graph g = graph_with_input({2, 4, 4});
  const int c = g.add_layer("c", OpKind::Conv, {g.input}, "c", conv_attrs(3, 1));
  g.add_layer("sum", OpKind::Add, {g.input, out_of(g, c)}, "sum");
  const std::string msg = shape_error(g);
  EXPECT_NE(msg.find("layer 'sum'"), std::string::npos) << msg;
}

TEST(ShapeInference, ChannelSliceTakesItsCountAndMustLieInsideTheInput) {
  Graph g = graph_with_input({4, 2, 3});
  LayerAttrs a;
  a.slice_start = 1, a.slice_count = 3;
  const int s = g.add_layer("s", OpKind::ChannelSlice, {g.input}, "s", a);
  infer_shapes(g);
  EXPECT_EQ(shape_of(g, s), (Shape{3, 2, 3}));
  EXPECT_EQ(g.layer_macs(s), 0);
  g.layer(s).attrs.slice_start = 2;  // channels [2, 5) of 4
  EXPECT_EQ(shape_error(g),
            "layer 's' (channel_slice): channels [2, 5) are not inside the input's 4 channels");
}

TEST(ShapeInference, ReshapeMustKeepTheElementCount) {
  Graph g = graph_with_input({2, 4, 4});
  LayerAttrs a;
  a.reshape_to = {8, 2, 1};  // 16 elements, input has 32
  g.add_layer("rs", OpKind::Reshape, {g.input}, "rs", a);
  const std::string msg = shape_error(g);
  EXPECT_NE(msg.find("layer 'rs'"), std::string::npos) << msg;
}

TEST(ShapeInference, WrongWeightCountIsAnError) {
  Graph g = graph_with_input({2, 4, 4});
  const int c = g.add_layer("cw", OpKind::Conv, {g.input}, "cw", conv_attrs(3, 3, 1, 1));
  g.layer(c).weights.assign(3 * 2 * 9 - 1, 0.0f);  // expects 3 * 2 * 3 * 3 = 54
  const std::string msg = shape_error(g);
  EXPECT_NE(msg.find("layer 'cw'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected 54"), std::string::npos) << msg;
}

TEST(ShapeInference, PoolPaddingMustBeSmallerThanTheKernel) {
  Graph g = graph_with_input({1, 6, 6});
  g.add_layer("mp", OpKind::MaxPool, {g.input}, "mp", pool_attrs(2, 2, 2));
  const std::string msg = shape_error(g);
  EXPECT_NE(msg.find("layer 'mp'"), std::string::npos) << msg;
}

}  // namespace
}  // namespace fusesim::compiler
