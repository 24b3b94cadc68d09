// Canonicalization on small graphs: BatchNorm folding (numerically), activation merging, the
// standalone BatchNorm/Mul -> depthwise 1x1 conv rewrite, and the cases that must not fold.
#include <gtest/gtest.h>

#include "compiler/passes/passes.h"
#include "graph_builders.h"

namespace fusesim::compiler {
namespace {

using namespace testing;
using isa::Activation;

int live_layers(const Graph& g) { return static_cast<int>(g.topo_order().size()); }

// BatchNorm parameters chosen so that sqrt(var + eps) is exact: eps = 0.25,
//   channel 0: var 3.75 -> sqrt(4) = 2, gamma 3    -> scale 1.5
//   channel 1: var 0.75 -> sqrt(1) = 1, gamma -0.5 -> scale -0.5
// mean = [1, 2], beta = [0.25, 1]
void set_bn(LayerNode& bn) {
  bn.attrs.bn_eps = 0.25f;
  bn.bn_gamma = {3.0f, -0.5f};
  bn.bn_beta = {0.25f, 1.0f};
  bn.bn_mean = {1.0f, 2.0f};
  bn.bn_var = {3.75f, 0.75f};
}

// input 2x1x2 -> conv 1x1 (2 -> 2, bias) -> batchnorm -> relu
struct ConvBnRelu {
  Graph g = graph_with_input({2, 1, 2});
  int conv, bn, relu;
  ConvBnRelu() {
    conv = g.add_layer("conv", OpKind::Conv, {g.input}, "conv", conv_attrs(2, 1, 1, 0, true));
    bn = g.add_layer("bn", OpKind::BatchNorm, {out_of(g, conv)}, "bn");
    relu = g.add_layer("relu", OpKind::Activation, {out_of(g, bn)}, "relu", act_attrs(Activation::Relu));
    g.outputs = {out_of(g, relu)};
    // w[co][ci]: co0 = [1, 2], co1 = [-1, 0.5]; bias [0.5, -1]
    g.layer(conv).weights = {1.0f, 2.0f, -1.0f, 0.5f};
    g.layer(conv).bias = {0.5f, -1.0f};
    set_bn(g.layer(bn));
    infer_shapes(g);
  }
};

TEST(Canonicalize, BatchNormFoldsIntoConvAndReluMerges) {
  ConvBnRelu n;
  Graph& g = n.g;
  canonicalize(g);
  EXPECT_TRUE(g.layer(n.bn).removed);
  EXPECT_TRUE(g.layer(n.relu).removed);
  EXPECT_FALSE(g.layer(n.conv).removed);
  EXPECT_EQ(live_layers(g), 1);
  const LayerNode& c = g.layer(n.conv);
  EXPECT_EQ(c.attrs.act, Activation::Relu);
  EXPECT_TRUE(c.attrs.has_bias);
  // w' = w * g / sqrt(v + eps): co0 [1, 2] * 1.5 = [1.5, 3]; co1 [-1, 0.5] * -0.5 = [0.5, -0.25]
  EXPECT_EQ(c.weights, (std::vector<float>{1.5f, 3.0f, 0.5f, -0.25f}));
  // b' = (b - m) * g / sqrt(v + eps) + beta: (0.5 - 1) * 1.5 + 0.25 = -0.5;
  //                                          (-1 - 2) * -0.5 + 1 = 2.5
  ASSERT_EQ(c.bias.size(), 2u);
  EXPECT_FLOAT_EQ(c.bias[0], -0.5f);
  EXPECT_FLOAT_EQ(c.bias[1], 2.5f);
  // The network output is now the conv's output.
  EXPECT_EQ(g.outputs, (std::vector<int>{out_of(g, n.conv)}));
}

// The canonical graph computes what the original graph meant. Input ci0 = [1, -2], ci1 = [0.5, 1].
//   conv: co0 = [1*1 + 2*0.5 + 0.5, 1*-2 + 2*1 + 0.5] = [2.5, 0.5]
//         co1 = [-1*1 + 0.5*0.5 - 1, -1*-2 + 0.5*1 - 1] = [-1.75, 1.5]
//   bn:   co0 = (x - 1) / 2 * 3 + 0.25 -> [2.5, -0.5]; co1 = (x - 2) * -0.5 + 1 -> [2.875, 1.25]
//   relu: [2.5, 0, 2.875, 1.25]
TEST(Canonicalize, FoldedGraphComputesTheOriginalNetworkFp32) {
  ConvBnRelu n;
  canonicalize(n.g);
  const auto out = run_reference(n.g, isa::DType::Fp32, bytes_of_float({1.0f, -2.0f, 0.5f, 1.0f}));
  EXPECT_EQ(float_of_bytes(out.at(0)), (std::vector<float>{2.5f, 0.0f, 2.875f, 1.25f}));
}

TEST(Canonicalize, FoldedGraphComputesTheOriginalNetworkInt16) {
  ConvBnRelu n;
  canonicalize(n.g);
  // Every folded weight and bias is exact in Q4.12 / Q8.8, so the Q8.8 results are exact:
  // 2.5 -> 640, 0, 2.875 -> 736, 1.25 -> 320
  const auto out = run_reference(n.g, isa::DType::Int16, bytes_of_int16({256, -512, 128, 256}));
  EXPECT_EQ(int16_of_bytes(out.at(0)), (std::vector<int>{640, 0, 736, 320}));
}

TEST(Canonicalize, StandaloneBatchNormBecomesADepthwise1x1Conv) {
  Graph g = graph_with_input({2, 1, 2});
  const int bn = g.add_layer("bn", OpKind::BatchNorm, {g.input}, "bn");
  set_bn(g.layer(bn));
  g.outputs = {out_of(g, bn)};
  infer_shapes(g);
  canonicalize(g);
  const LayerNode& l = g.layer(bn);
  EXPECT_FALSE(l.removed);
  EXPECT_EQ(l.op, OpKind::Conv);
  EXPECT_EQ(l.attrs.groups, 2);
  EXPECT_EQ(l.attrs.out_channels, 2);
  EXPECT_EQ(l.attrs.kernel_h, 1);
  EXPECT_EQ(l.attrs.kernel_w, 1);
  EXPECT_TRUE(l.attrs.has_bias);
  // weights = scale = [1.5, -0.5]; bias = beta - mean * scale = [0.25 - 1.5, 1 + 1] = [-1.25, 2]
  EXPECT_EQ(l.weights, (std::vector<float>{1.5f, -0.5f}));
  ASSERT_EQ(l.bias.size(), 2u);
  EXPECT_FLOAT_EQ(l.bias[0], -1.25f);
  EXPECT_FLOAT_EQ(l.bias[1], 2.0f);
  EXPECT_TRUE(l.bn_gamma.empty());
  // x = [1, -2 | 0.5, 1]: ch0 1.5x - 1.25 = [0.25, -4.25]; ch1 -0.5x + 2 = [1.75, 1.5]
  const auto out = run_reference(g, isa::DType::Fp32, bytes_of_float({1.0f, -2.0f, 0.5f, 1.0f}));
  EXPECT_EQ(float_of_bytes(out.at(0)), (std::vector<float>{0.25f, -4.25f, 1.75f, 1.5f}));
  // a depthwise 1x1 conv: 2 channels x 1 tap x 2 pixels = 4 MACs
  EXPECT_EQ(g.total_macs(), 4);
}

TEST(Canonicalize, BatchNormAfterASharedConvOutputStaysStandalone) {
  // conv's output is read by the BN and by an add: folding would change the add's operand.
  Graph g = graph_with_input({2, 1, 2});
  const int conv = g.add_layer("conv", OpKind::Conv, {g.input}, "conv", conv_attrs(2, 1));
  const int bn = g.add_layer("bn", OpKind::BatchNorm, {out_of(g, conv)}, "bn");
  const int sum = g.add_layer("sum", OpKind::Add, {out_of(g, conv), out_of(g, bn)}, "sum");
  g.outputs = {out_of(g, sum)};
  set_bn(g.layer(bn));
  g.layer(conv).weights = {1, 0, 0, 1};
  infer_shapes(g);
  canonicalize(g);
  EXPECT_FALSE(g.layer(bn).removed);
  EXPECT_EQ(g.layer(bn).op, OpKind::Conv);
  EXPECT_EQ(g.layer(bn).attrs.groups, 2);
  EXPECT_FALSE(g.layer(conv).attrs.has_bias);
  EXPECT_EQ(g.layer(conv).weights, (std::vector<float>{1, 0, 0, 1}));
}

TEST(Canonicalize, BatchNormAfterAConvWithAnActivationStaysStandalone) {
  // relu(conv) then BN: BN does not commute with the relu, so it must not fold.
  Graph g = graph_with_input({2, 1, 2});
  LayerAttrs a = conv_attrs(2, 1);
  a.act = Activation::Relu;
  const int conv = g.add_layer("conv", OpKind::Conv, {g.input}, "conv", a);
  const int bn = g.add_layer("bn", OpKind::BatchNorm, {out_of(g, conv)}, "bn");
  g.outputs = {out_of(g, bn)};
  infer_shapes(g);
  canonicalize(g);
  EXPECT_FALSE(g.layer(bn).removed);
  EXPECT_EQ(g.layer(bn).op, OpKind::Conv);
  EXPECT_EQ(live_layers(g), 2);
}

TEST(Canonicalize, MulBecomesADepthwiseConvWithoutBias) {
  Graph g = graph_with_input({3, 2, 2});
  const int m = g.add_layer("m", OpKind::Mul, {g.input}, "m");
  g.layer(m).weights = {2.0f, -1.0f, 0.5f};
  g.outputs = {out_of(g, m)};
  infer_shapes(g);
  canonicalize(g);
  const LayerNode& l = g.layer(m);
  EXPECT_EQ(l.op, OpKind::Conv);
  EXPECT_EQ(l.attrs.groups, 3);
  EXPECT_FALSE(l.attrs.has_bias);
  // ch0 x2, ch1 x-1, ch2 x0.5 on x = c + 1 everywhere
  const auto out = run_reference(g, isa::DType::Fp32,
                                 bytes_of_float({1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}));
  EXPECT_EQ(float_of_bytes(out.at(0)), (std::vector<float>{2, 2, 2, 2, -2, -2, -2, -2, 1.5, 1.5, 1.5, 1.5}));
}

TEST(Canonicalize, ActivationMergesIntoPoolAndAdd) {
  Graph g = graph_with_input({2, 4, 4});
  const int p = g.add_layer("p", OpKind::MaxPool, {g.input}, "p", pool_attrs(2, 2));
  const int r1 = g.add_layer("r1", OpKind::Activation, {out_of(g, p)}, "r1", act_attrs(Activation::Relu6));
  const int s = g.add_layer("s", OpKind::Add, {out_of(g, r1), out_of(g, r1)}, "s");
  const int r2 = g.add_layer("r2", OpKind::Activation, {out_of(g, s)}, "r2", act_attrs(Activation::Sigmoid));
  g.outputs = {out_of(g, r2)};
  infer_shapes(g);
  canonicalize(g);
  EXPECT_TRUE(g.layer(r1).removed);
  EXPECT_TRUE(g.layer(r2).removed);
  EXPECT_EQ(g.layer(p).attrs.act, Activation::Relu6);
  EXPECT_EQ(g.layer(s).attrs.act, Activation::Sigmoid);
  // the add now reads the pool's output twice
  EXPECT_EQ(g.layer(s).inputs, (std::vector<int>{out_of(g, p), out_of(g, p)}));
}

TEST(Canonicalize, ActivationStaysWhenItsProducerCannotTakeIt) {
  Graph g = graph_with_input({2, 4, 4});
  // (a) the producer's output has a second reader; (b) the producer is a concat;
  // (c) the producer already has an activation; (d) the input is the network input.
  const int c = g.add_layer("c", OpKind::Conv, {g.input}, "c", conv_attrs(2, 1));
  const int ra = g.add_layer("ra", OpKind::Activation, {out_of(g, c)}, "ra", act_attrs(Activation::Relu));
  const int cat = g.add_layer("cat", OpKind::Concat, {out_of(g, c), out_of(g, ra)}, "cat");
  const int rb = g.add_layer("rb", OpKind::Activation, {out_of(g, cat)}, "rb", act_attrs(Activation::Relu));
  LayerAttrs pa = pool_attrs(1, 1);
  pa.act = Activation::Tanh;
  const int p = g.add_layer("p", OpKind::MaxPool, {out_of(g, rb)}, "p", pa);
  const int rc = g.add_layer("rc", OpKind::Activation, {out_of(g, p)}, "rc", act_attrs(Activation::Relu));
  const int rd = g.add_layer("rd", OpKind::Activation, {g.input}, "rd", act_attrs(Activation::Relu));
  const int s = g.add_layer("s", OpKind::Concat, {out_of(g, rc), out_of(g, rd)}, "s");
  g.outputs = {out_of(g, s)};
  infer_shapes(g);
  canonicalize(g);
  for (int id : {ra, rb, rc, rd}) EXPECT_FALSE(g.layer(id).removed) << g.layer(id).name;
  EXPECT_EQ(g.layer(c).attrs.act, Activation::None);
  EXPECT_EQ(g.layer(p).attrs.act, Activation::Tanh);
}

// Generated weights (LayerNode::gen) are worked out on demand; a batch norm folded into them
// scales them as they are generated: the same floats as storing them first and folding after.
TEST(Canonicalize, FoldingIntoGeneratedWeightsEqualsFoldingStoredOnes) {
  auto build = [] {
    Graph g = graph_with_input({3, 5, 5});
    const int c = g.add_layer("c", OpKind::Conv, {g.input}, "c", conv_attrs(4, 3, 1, 1));
    g.add_layer("bn", OpKind::BatchNorm, {out_of(g, c)}, "bn");
    g.outputs = {out_of(g, c + 1)};
    infer_shapes(g);
    materialize_weights(g);
    return g;
  };
  Graph lazy = build(), eager = build();
  const int c = 0;
  ASSERT_TRUE(lazy.layer(c).gen.on);
  ASSERT_TRUE(lazy.layer(c).weights.empty());
  store_weights(eager.layer(c), 4 * 27, 27);  // stored before the fold: folded element by element
  ASSERT_FALSE(eager.layer(c).gen.on);
  canonicalize(lazy);
  canonicalize(eager);
  ASSERT_EQ(lazy.layer(c).gen.scales.size(), 1u);
  store_weights(lazy.layer(c), 4 * 27, 27);
  EXPECT_EQ(lazy.layer(c).weights, eager.layer(c).weights);
  EXPECT_EQ(lazy.layer(c).bias, eager.layer(c).bias);
  // and the weights are the seeded stream's, scaled: not all equal
  EXPECT_NE(lazy.layer(c).weights[0], lazy.layer(c).weights[1]);
}

TEST(Canonicalize, UnmaterializedGraphGetsTheSameStructure) {
  ConvBnRelu n;
  n.g.layer(n.conv).weights.clear();
  n.g.layer(n.conv).bias.clear();
  n.g.layer(n.conv).attrs.has_bias = false;
  n.g.layer(n.bn).bn_gamma.clear();
  canonicalize(n.g);
  EXPECT_TRUE(n.g.layer(n.bn).removed);
  EXPECT_TRUE(n.g.layer(n.conv).attrs.has_bias);  // the BN shift becomes the conv bias
  EXPECT_TRUE(n.g.layer(n.conv).weights.empty());
  // params: 2x2 weights + 2 biases (BN's gamma/beta are gone)
  EXPECT_EQ(n.g.total_params(), 6);
}

TEST(Canonicalize, ForInspectInfersShapesCanonicalizesAndKeepsDataMoves) {
  // what `fusesim inspect --canonical` shows: BN folded, relu merged, the flatten still there
  // (no elimination), shapes inferred, no weights generated
  Graph g = graph_with_input({3, 4, 4});
  const int c = g.add_layer("c", OpKind::Conv, {g.input}, "c", conv_attrs(8, 3, 1, 1));
  const int bn = g.add_layer("bn", OpKind::BatchNorm, {out_of(g, c)}, "bn");
  const int r = g.add_layer("r", OpKind::Activation, {out_of(g, bn)}, "r", act_attrs(Activation::Relu));
  const int f = g.add_layer("f", OpKind::Flatten, {out_of(g, r)}, "f");
  g.outputs = {out_of(g, f)};
  canonicalize_for_inspect(g);
  EXPECT_EQ(g.topo_order(), (std::vector<int>{c, f}));
  EXPECT_EQ(g.layer(c).attrs.act, Activation::Relu);
  EXPECT_TRUE(g.layer(c).attrs.has_bias);
  EXPECT_TRUE(g.layer(c).weights.empty());
  EXPECT_TRUE(g.layer(bn).removed);
  EXPECT_TRUE(g.layer(r).removed);
  EXPECT_EQ(g.tensor(out_of(g, f)).shape, (Shape{8 * 16, 1, 1}));
  // 8*3*9 weights + 8 biases (the BN's shift)
  EXPECT_EQ(g.total_params(), 224);
}

}  // namespace
}  // namespace fusesim::compiler
