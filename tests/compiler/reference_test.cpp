// The reference executor against values worked out by hand, in int16 (Q8.8 data, Q4.12 weights,
// Q12.20 products in a 32-bit accumulator, bias << 12, requantize (acc + 2^11) >> 12 with
// saturation) and in fp32. Every expected number is derived in the comments.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "compiler/passes/passes.h"
#include "graph_builders.h"

namespace fusesim::compiler {
namespace {

using namespace testing;
using isa::Activation;
using isa::DType;

std::vector<int> run_int16(const Graph& g, const std::vector<int>& input_raw, std::size_t output = 0) {
  return int16_of_bytes(run_reference(g, DType::Int16, bytes_of_int16(input_raw)).at(output));
}
std::vector<float> run_fp32(const Graph& g, const std::vector<float>& input, std::size_t output = 0) {
  return float_of_bytes(run_reference(g, DType::Fp32, bytes_of_float(input)).at(output));
}

// ---------------------------------------------------------------------------------------------
// 3x3 conv, stride 2, pad 1, on a 1x3x3 input; four output channels, 2x2 each.
//
// input x (Q8.8 raw):        weights of channel 0 (Q4.12 raw):
//    256   512  -128            4096  2048 -4096
//     64  -256   384            1024  6144 -2048
//      1   768    -1            6144  2048  4096
//
// Output (oy, ox) reads input rows oy*2-1 .. oy*2+1 and columns ox*2-1 .. ox*2+1; rows/columns
// -1 and 3 are padding, so each output sees four input pixels:
//   (0,0): x00*w11 + x01*w12 + x10*w21 + x11*w22
//        = 256*6144 + 512*-2048 + 64*2048 + -256*4096 = 1572864-1048576+131072-1048576 = -393216
//   (0,1): x01*w10 + x02*w11 + x11*w20 + x12*w21
//        = 512*1024 + -128*6144 + -256*6144 + 384*2048 = 524288-786432-1572864+786432 = -1048576
//   (1,0): x10*w01 + x11*w02 + x20*w11 + x21*w12
//        = 64*2048 + -256*-4096 + 1*6144 + 768*-2048 = 131072+1048576+6144-1572864 = -387072
//   (1,1): x11*w00 + x12*w01 + x21*w10 + x22*w11
//        = -256*4096 + 384*2048 + 768*1024 + -1*6144 = -1048576+786432+786432-6144 = 518144
// Channel 0 bias 0.5 = Q8.8 128, entering as 128 << 12 = 524288:
//   acc = 131072, -524288, 137216, 1042432
//   (acc + 2048) >> 12 = 32 (exact), -128 (exact), 34 (33.5 rounds up), 255 (254.5 rounds up)
// Channel 1: weights and bias negated (bias -0.5 = -128 << 12), so acc = -131072, 524288,
//   -137216, -1042432 -> -32, 128, -33 (-33.5 rounds half up to -33), -254 (-254.5 -> -254).
// Channel 2: every weight 32767 (7.99976), bias 127 (Q8.8 32512). The four windows' input sums
//   are 256+512+64-256 = 576, 512-128-256+384 = 512, 64-256+1+768 = 577, -256+384+768-1 = 895,
//   all positive, so acc >= 512*32767 + 32512*4096 > 32767*4096: saturates to 32767 everywhere.
// Channel 3: every weight -32768 (-8.0), bias -128 (Q8.8 -32768): acc <= -512*32768 -
//   32768*4096 < -32768*4096: saturates to -32768 everywhere. (|acc| < 2^31: no wrapping.)
const std::vector<int> kConvIn = {256, 512, -128, 64, -256, 384, 1, 768, -1};
const std::vector<int> kConvW0 = {4096, 2048, -4096, 1024, 6144, -2048, 6144, 2048, 4096};
const std::vector<int> kWindowSum = {576, 512, 577, 895};

Graph conv_graph(Activation act) {
  Graph g = graph_with_input({1, 3, 3});
  LayerAttrs a = conv_attrs(4, 3, 2, 1, true);
  a.act = act;
  const int c = g.add_layer("conv", OpKind::Conv, {g.input}, "conv", a);
  std::vector<int> w = kConvW0;
  for (int v : kConvW0) w.push_back(-v);
  for (int k = 0; k < 9; ++k) w.push_back(32767);
  for (int k = 0; k < 9; ++k) w.push_back(-32768);
  g.layer(c).weights = q412(w);
  g.layer(c).bias = q88({128, -128, 32512, -32768});
  g.outputs = {out_of(g, c)};
  infer_shapes(g);
  return g;
}

TEST(ReferenceInt16, Conv3x3StridePadRoundingAndSaturation) {
  const Graph g = conv_graph(Activation::None);
  EXPECT_EQ(run_int16(g, kConvIn), (std::vector<int>{32, -128, 34, 255,             //
                                                     -32, 128, -33, -254,           //
                                                     32767, 32767, 32767, 32767,    //
                                                     -32768, -32768, -32768, -32768}));
}

TEST(ReferenceInt16, ConvWithRelu) {
  const Graph g = conv_graph(Activation::Relu);
  // max(0, v) of the values above
  EXPECT_EQ(run_int16(g, kConvIn), (std::vector<int>{32, 0, 34, 255, 0, 128, 0, 0,  //
                                                     32767, 32767, 32767, 32767, 0, 0, 0, 0}));
}

TEST(ReferenceInt16, ConvWithRelu6) {
  const Graph g = conv_graph(Activation::Relu6);
  // clamp to [0, 6.0] = [0, 1536]
  EXPECT_EQ(run_int16(g, kConvIn), (std::vector<int>{32, 0, 34, 255, 0, 128, 0, 0,  //
                                                     1536, 1536, 1536, 1536, 0, 0, 0, 0}));
}

TEST(ReferenceFp32, Conv3x3StridePad) {
  const Graph g = conv_graph(Activation::None);
  const std::vector<float> y = run_fp32(g, q88(kConvIn));
  ASSERT_EQ(y.size(), 16u);
  // fp32 has no rounding to Q8.8: acc / 2^20 exactly (all terms are dyadic with < 24 bits).
  const double acc0[4] = {131072, -524288, 137216, 1042432};
  for (int p = 0; p < 4; ++p) {
    EXPECT_FLOAT_EQ(y[p], static_cast<float>(acc0[p] / 1048576.0)) << p;
    EXPECT_FLOAT_EQ(y[4 + p], static_cast<float>(-acc0[p] / 1048576.0)) << p;
    // channel 2: window sum / 256 * 32767 / 4096 + 127; channel 3: sum / 256 * -8 - 128
    EXPECT_FLOAT_EQ(y[8 + p], static_cast<float>(kWindowSum[p] / 256.0 * 32767.0 / 4096.0 + 127.0)) << p;
    EXPECT_FLOAT_EQ(y[12 + p], static_cast<float>(kWindowSum[p] / 256.0 * -8.0 - 128.0)) << p;
  }
  EXPECT_FLOAT_EQ(y[0], 0.125f);  // 1*1.5 + 2*-0.5 + 0.25*0.5 + -1*1 + 0.5
  EXPECT_FLOAT_EQ(y[1], -0.5f);   // 2*0.25 + -0.5*1.5 + -1*1.5 + 1.5*0.5 + 0.5
}

TEST(ReferenceFp32, ConvWithRelu6) {
  const Graph g = conv_graph(Activation::Relu6);
  const std::vector<float> y = run_fp32(g, q88(kConvIn));
  EXPECT_FLOAT_EQ(y[0], 0.125f);
  EXPECT_FLOAT_EQ(y[1], 0.0f);            // -0.5 -> 0
  EXPECT_FLOAT_EQ(y[3], 254.5f / 256.0f); // below 6: unchanged
  EXPECT_FLOAT_EQ(y[5], 0.5f);
  for (int p = 0; p < 4; ++p) {
    EXPECT_FLOAT_EQ(y[8 + p], 6.0f);   // >= 127: clamped to 6
    EXPECT_FLOAT_EQ(y[12 + p], 0.0f);  // negative
  }
}

// ---------------------------------------------------------------------------------------------
// Max pool k2 s2 pad 1 on 1x2x3: output 1x2x2 ((2+2-2)/2+1 = 2, (3+2-2)/2+1 = 2). Windows:
// (0,0) {x00}, (0,1) {x01, x02}, (1,0) {x10}, (1,1) {x11, x12}; the rest is padding. With every
// input negative, a zero padding would make every output 0; -inf padding gives the true maxima.
//   x = [[-5, -3, -7], [-2, -9, -4]]  ->  [-5, -3, -2, -4]
Graph maxpool_graph() {
  Graph g = graph_with_input({1, 2, 3});
  const int p = g.add_layer("mp", OpKind::MaxPool, {g.input}, "mp", pool_attrs(2, 2, 1));
  g.outputs = {out_of(g, p)};
  infer_shapes(g);
  return g;
}

TEST(ReferenceInt16, MaxPoolPaddingIsMinusInfinity) {
  const Graph g = maxpool_graph();
  EXPECT_EQ(run_int16(g, {-5 * 256, -3 * 256, -7 * 256, -2 * 256, -9 * 256, -4 * 256}),
            (std::vector<int>{-5 * 256, -3 * 256, -2 * 256, -4 * 256}));
}

TEST(ReferenceFp32, MaxPoolPaddingIsMinusInfinity) {
  const Graph g = maxpool_graph();
  EXPECT_EQ(run_fp32(g, {-5, -3, -7, -2, -9, -4}), (std::vector<float>{-5, -3, -2, -4}));
}

// Avg pool k2 s2 pad 1 on 1x2x2, count_include_pad: every window holds one input pixel and three
// padding zeros, divided by kh*kw = 4. int16 truncates toward zero:
//   1025/4 = 256.25 -> 256, 2050/4 = 512.5 -> 512, 3071/4 = 767.75 -> 767,
//   -769/4 = -192.25 -> -192 (a floor would give -193).
Graph avgpool_graph() {
  Graph g = graph_with_input({1, 2, 2});
  const int p = g.add_layer("ap", OpKind::AvgPool, {g.input}, "ap", pool_attrs(2, 2, 1));
  g.outputs = {out_of(g, p)};
  infer_shapes(g);
  return g;
}

TEST(ReferenceInt16, AvgPoolDividesByTheKernelAreaAndTruncates) {
  const Graph g = avgpool_graph();
  EXPECT_EQ(g.tensor(g.outputs[0]).shape, (Shape{1, 2, 2}));
  EXPECT_EQ(run_int16(g, {1025, 2050, 3071, -769}), (std::vector<int>{256, 512, 767, -192}));
}

TEST(ReferenceFp32, AvgPoolDividesByTheKernelArea) {
  const Graph g = avgpool_graph();
  EXPECT_EQ(run_fp32(g, {4.0f, 8.0f, 12.0f, -3.0f}), (std::vector<float>{1.0f, 2.0f, 3.0f, -0.75f}));
}

TEST(ReferenceInt16, GlobalAvgPoolWithRelu) {
  Graph g = graph_with_input({2, 2, 2});
  const int p = g.add_layer("gap", OpKind::GlobalAvgPool, {g.input}, "gap", act_attrs(Activation::Relu));
  g.outputs = {out_of(g, p)};
  infer_shapes(g);
  // channel 0: (100 + 200 + 300 + 401) / 4 = 1001/4 = 250.25 -> 250
  // channel 1: (-100 - 200 - 300 - 400) / 4 = -250 -> relu 0
  EXPECT_EQ(run_int16(g, {100, 200, 300, 401, -100, -200, -300, -400}), (std::vector<int>{250, 0}));
}

// ---------------------------------------------------------------------------------------------
// Add saturates at the int16 limits: add(x, x) = 2x clamped to [-32768, 32767].
TEST(ReferenceInt16, AddSaturates) {
  Graph g = graph_with_input({6, 1, 1});
  const int s = g.add_layer("sum", OpKind::Add, {g.input, g.input}, "sum");
  g.outputs = {out_of(g, s)};
  infer_shapes(g);
  EXPECT_EQ(run_int16(g, {100, -16384, 16384, 20000, -20000, 16383}),
            (std::vector<int>{200, -32768, 32767, 32767, -32768, 32766}));
}

TEST(ReferenceInt16, AddWithReluOfTwoDifferentOperands) {
  Graph g = graph_with_input({1, 2, 2});
  // r = relu(x); sum = relu(x + r)
  const int r = g.add_layer("r", OpKind::Activation, {g.input}, "r", act_attrs(Activation::Relu));
  const int s = g.add_layer("sum", OpKind::Add, {g.input, out_of(g, r)}, "sum", act_attrs(Activation::Relu));
  g.outputs = {out_of(g, s)};
  infer_shapes(g);
  // x = 300 -> 600; -300 -> -300 + 0 -> relu 0; 32000 -> 64000 sat 32767; -1 -> 0
  EXPECT_EQ(run_int16(g, {300, -300, 32000, -1}), (std::vector<int>{600, 0, 32767, 0}));
}

TEST(ReferenceFp32, AddDoesNotSaturate) {
  Graph g = graph_with_input({3, 1, 1});
  const int s = g.add_layer("sum", OpKind::Add, {g.input, g.input}, "sum");
  g.outputs = {out_of(g, s)};
  infer_shapes(g);
  EXPECT_EQ(run_fp32(g, {1.5f, -200.0f, 300.0f}), (std::vector<float>{3.0f, -400.0f, 600.0f}));
}

// ---------------------------------------------------------------------------------------------
// Concat along channels: channels of the first input, then of the second.
TEST(ReferenceInt16, ConcatStacksChannels) {
  Graph g = graph_with_input({2, 1, 2});
  const int r = g.add_layer("r", OpKind::Activation, {g.input}, "r", act_attrs(Activation::Relu));
  const int c = g.add_layer("cat", OpKind::Concat, {out_of(g, r), g.input}, "cat");
  g.outputs = {out_of(g, c)};
  infer_shapes(g);
  EXPECT_EQ(g.tensor(out_of(g, c)).shape, (Shape{4, 1, 2}));
  EXPECT_EQ(run_int16(g, {5, -6, -7, 8}), (std::vector<int>{5, 0, 0, 8, 5, -6, -7, 8}));
}

// Channel shuffle: out channel j <- in channel (j % G) * (C / G) + j / G.
//   C = 6, G = 2 (C/G = 3): j = 0..5 <- 0, 3, 1, 4, 2, 5
//   C = 6, G = 3 (C/G = 2): j = 0..5 <- 0, 2, 4, 1, 3, 5
// Each channel holds 2 pixels (c*10, c*10 + 1) so whole channels are seen to move.
std::vector<int> shuffled(int groups) {
  Graph g = graph_with_input({6, 1, 2});
  LayerAttrs a;
  a.groups = groups;
  const int s = g.add_layer("sh", OpKind::ChannelShuffle, {g.input}, "sh", a);
  g.outputs = {out_of(g, s)};
  infer_shapes(g);
  std::vector<int> in;
  for (int c = 0; c < 6; ++c) in.insert(in.end(), {c * 10, c * 10 + 1});
  return run_int16(g, in);
}

TEST(ReferenceInt16, ChannelShufflePermutation) {
  EXPECT_EQ(shuffled(2), (std::vector<int>{0, 1, 30, 31, 10, 11, 40, 41, 20, 21, 50, 51}));
  EXPECT_EQ(shuffled(3), (std::vector<int>{0, 1, 20, 21, 40, 41, 10, 11, 30, 31, 50, 51}));
}

// Channel slice (a split): channels [start, start + count) of a 5x1x2 input whose channel c
// holds (c*10, c*10 + 1), so the output is those pairs in order. Eliminated, the slice is a view
// of the input and the reference reads the same elements through it.
std::vector<int> sliced(int64_t start, int64_t count, bool eliminated) {
  Graph g = graph_with_input({5, 1, 2});
  LayerAttrs a;
  a.slice_start = start, a.slice_count = count;
  const int s = g.add_layer("s", OpKind::ChannelSlice, {g.input}, "s", a);
  g.outputs = {out_of(g, s)};
  infer_shapes(g);
  EXPECT_EQ(g.tensor(out_of(g, s)).shape, (Shape{count, 1, 2}));
  if (eliminated) {
    EXPECT_EQ(eliminate(g), 1);
    EXPECT_EQ(g.tensor(out_of(g, s)).alias_of, g.input);
  }
  std::vector<int> in;
  for (int c = 0; c < 5; ++c) in.insert(in.end(), {c * 10, c * 10 + 1});
  return run_int16(g, in);
}

TEST(ReferenceInt16, ChannelSliceKeepsItsChannelRange) {
  for (bool elim : {false, true}) {
    EXPECT_EQ(sliced(0, 2, elim), (std::vector<int>{0, 1, 10, 11})) << elim;
    EXPECT_EQ(sliced(1, 3, elim), (std::vector<int>{10, 11, 20, 21, 30, 31})) << elim;
    EXPECT_EQ(sliced(4, 1, elim), (std::vector<int>{40, 41})) << elim;
  }
}

TEST(ReferenceFp32, ChannelSliceKeepsItsChannelRange) {
  Graph g = graph_with_input({3, 2, 1});
  LayerAttrs a;
  a.slice_start = 2, a.slice_count = 1;
  const int s = g.add_layer("s", OpKind::ChannelSlice, {g.input}, "s", a);
  g.outputs = {out_of(g, s)};
  infer_shapes(g);
  EXPECT_EQ(run_fp32(g, {0.5f, -1.0f, 2.0f, 3.0f, -4.25f, 1e-3f}), (std::vector<float>{-4.25f, 1e-3f}));
}

// ---------------------------------------------------------------------------------------------
// Fully connected on a 1x2x2 input (flattened to 4).
//   x = [256, -512, 128, 3] (1, -2, 0.5, 3/256)
//   row 0: w = [4096, 4096, 4096, 2048], bias 0.25 (64 << 12 = 262144)
//     256*4096 - 512*4096 + 128*4096 + 3*2048 = 1048576 - 2097152 + 524288 + 6144 = -518144
//     acc = -518144 + 262144 = -256000 = -62.5 * 4096 -> (acc + 2048) >> 12 = -62
//   row 1: w = [-2048, 1024, 0, -4096], bias -1 (-256 << 12 = -1048576)
//     -524288 - 524288 + 0 - 12288 = -1060864; acc = -2109440 = -515 * 4096 -> -515
//   fp32: row 0 = 1 - 2 + 0.5 + 3/512 + 0.25 = -0.244140625; row 1 = -0.5 - 0.5 - 3/256 - 1
//         = -2.01171875
Graph fc_graph() {
  Graph g = graph_with_input({1, 2, 2});
  const int f = g.add_layer("fc", OpKind::FullyConnected, {g.input}, "fc", fc_attrs(2, true));
  g.layer(f).weights = q412({4096, 4096, 4096, 2048, -2048, 1024, 0, -4096});
  g.layer(f).bias = q88({64, -256});
  g.outputs = {out_of(g, f)};
  infer_shapes(g);
  return g;
}

TEST(ReferenceInt16, FullyConnected) {
  EXPECT_EQ(run_int16(fc_graph(), {256, -512, 128, 3}), (std::vector<int>{-62, -515}));
}

TEST(ReferenceFp32, FullyConnected) {
  EXPECT_EQ(run_fp32(fc_graph(), q88({256, -512, 128, 3})), (std::vector<float>{-0.244140625f, -2.01171875f}));
}

// The accumulator wraps at 32 bits (docs/isa.md): 1x1 conv over 8 channels of 32767 with weights
// of 32767: 8 * 32767^2 = 8 * 1073676289 = 8589410312 = 2 * 2^32 - 524280 -> wraps to -524280.
// (-524280 + 2048) >> 12 = floor(-522232 / 4096) = floor(-127.498) = -128.
TEST(ReferenceInt16, AccumulatorWraps) {
  Graph g = graph_with_input({8, 1, 1});
  const int c = g.add_layer("c", OpKind::Conv, {g.input}, "c", conv_attrs(1, 1));
  g.layer(c).weights = q412(std::vector<int>(8, 32767));
  g.outputs = {out_of(g, c)};
  infer_shapes(g);
  EXPECT_EQ(run_int16(g, std::vector<int>(8, 32767)), (std::vector<int>{-128}));
}

// ---------------------------------------------------------------------------------------------
// After layer elimination the reference reads views and concat slices; the values are the same.
// Nested concats (a concat output that is itself a concat input) are eliminated into one
// tensor; the reference must follow both levels of slices.
// (Regression: the reference used to recurse forever here, cat1 being both a slice of cat2
// and the owner of its own slices.)
TEST(ReferenceInt16, NestedConcatAfterElimination) {
  Graph g = graph_with_input({1, 1, 2});
  const int a = g.add_layer("a", OpKind::MaxPool, {g.input}, "a", pool_attrs(1, 1));
  const int b = g.add_layer("b", OpKind::Activation, {g.input}, "b", act_attrs(Activation::Relu));
  const int c = g.add_layer("c", OpKind::AvgPool, {g.input}, "c", pool_attrs(1, 1));
  const int cat1 = g.add_layer("cat1", OpKind::Concat, {out_of(g, a), out_of(g, b)}, "cat1");
  const int cat2 = g.add_layer("cat2", OpKind::Concat, {out_of(g, cat1), out_of(g, c)}, "cat2");
  g.outputs = {out_of(g, cat2)};
  infer_shapes(g);
  ASSERT_EQ(eliminate(g), 2);
  // a = x, b = relu(x), c = x: [x; relu(x); x] with x = [7, -9]
  EXPECT_EQ(run_int16(g, {7, -9}), (std::vector<int>{7, -9, 7, 0, 7, -9}));
}

}  // namespace
}  // namespace fusesim::compiler
