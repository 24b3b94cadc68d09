// Fusion planning on small graphs: which pairs may fuse, the trivial plan, and that a fused
// conv-conv group moves no more DRAM bytes than its layers run one by one.
#include <gtest/gtest.h>

#include <algorithm>

#include "compiler/codegen.h"
#include "compiler/fused.h"
#include "compiler/passes/passes.h"
#include "graph_builders.h"

namespace fusesim::compiler {
namespace {

using namespace testing;

// input 16x28x28 -> a: conv 3x3 pad 1 (32) -> b: conv 3x3 pad 1 (32) -> p: maxpool 2/2
//   -> fc 10
struct Chain {
  Graph g = graph_with_input({16, 28, 28});
  int a, b, p, fc;
  Chain() {
    a = g.add_layer("a", OpKind::Conv, {g.input}, "a", conv_attrs(32, 3, 1, 1, true));
    b = g.add_layer("b", OpKind::Conv, {out_of(g, a)}, "b", conv_attrs(32, 3, 1, 1, true));
    p = g.add_layer("p", OpKind::MaxPool, {out_of(g, b)}, "p", pool_attrs(2, 2));
    fc = g.add_layer("fc", OpKind::FullyConnected, {out_of(g, p)}, "fc", fc_attrs(10, true));
    g.outputs = {out_of(g, fc)};
    infer_shapes(g);
  }
};

TEST(Fusion, ConvConvPoolChainsAreFusable) {
  Chain n;
  EXPECT_TRUE(fusable_pair(n.g, n.a, n.b));
  EXPECT_TRUE(fusable_pair(n.g, n.b, n.p));
  EXPECT_FALSE(fusable_pair(n.g, n.p, n.fc));  // fc is not a window op a fused group can hold
  EXPECT_FALSE(fusable_pair(n.g, n.a, n.p));   // p does not read a's output
}

TEST(Fusion, AnIntermediateWithTwoReadersIsNotFusable) {
  Chain n;
  Graph& g = n.g;
  // a second reader of b's output
  const int side = g.add_layer("side", OpKind::Conv, {out_of(g, n.b)}, "side", conv_attrs(4, 1));
  g.outputs.push_back(out_of(g, side));
  infer_shapes(g);
  EXPECT_FALSE(fusable_pair(g, n.b, n.p));
  EXPECT_FALSE(fusable_pair(g, n.b, side));
  EXPECT_TRUE(fusable_pair(g, n.a, n.b));
}

TEST(Fusion, AnIntermediateThatIsANetworkOutputIsNotFusable) {
  Chain n;
  n.g.outputs.push_back(out_of(n.g, n.b));
  EXPECT_FALSE(fusable_pair(n.g, n.b, n.p));
  EXPECT_TRUE(fusable_pair(n.g, n.a, n.b));
}

TEST(Fusion, AddAndGroupedConvAreNotFusable) {
  Graph g = graph_with_input({8, 8, 8});
  const int a = g.add_layer("a", OpKind::Conv, {g.input}, "a", conv_attrs(8, 3, 1, 1));
  const int s = g.add_layer("s", OpKind::Add, {out_of(g, a), g.input}, "s");
  LayerAttrs ga = conv_attrs(8, 3, 1, 1);
  ga.groups = 2;
  const int grouped = g.add_layer("grouped", OpKind::Conv, {out_of(g, s)}, "grouped", ga);
  const int c = g.add_layer("c", OpKind::Conv, {out_of(g, grouped)}, "c", conv_attrs(8, 1));
  g.outputs = {out_of(g, c)};
  infer_shapes(g);
  EXPECT_FALSE(fusable_pair(g, a, s));
  EXPECT_FALSE(fusable_pair(g, grouped, c));
}

TEST(Fusion, NoneGivesOneGroupPerLayerInTopologicalOrder) {
  Chain n;
  CompileOptions opt;
  opt.fusion = Fusion::None;
  const auto groups = plan_groups(n.g, arch_preset("diannao"), opt);
  ASSERT_EQ(groups.size(), 4u);
  const std::vector<int> order = {n.a, n.b, n.p, n.fc};
  for (std::size_t i = 0; i < groups.size(); ++i) EXPECT_EQ(groups[i].layers, std::vector<int>{order[i]});
}

// Compulsory DRAM traffic of a fused a+b: the input, both layers' weights and biases, and b's
// output, each once: 16*784*2 + (32*16*9 + 32)*2 + (32*32*9 + 32)*2 + 32*784*2
//                  = 25088 + 9280 + 18496 + 50176 = 103040 B.
// Unfused, a's output (32*784*2 = 50176 B) is also written and read back: >= 203392 B.
constexpr int64_t kFusedFloor = 25088 + 9280 + 18496 + 50176;
constexpr int64_t kUnfusedFloor = kFusedFloor + 2 * 50176;

TEST(Fusion, FusedConvConvMovesNoMoreDramBytesThanUnfused) {
  Chain n;
  const ArchParams arch = arch_preset("diannao-large");
  CompileOptions opt;
  Estimate ea, eb, eab;
  ASSERT_TRUE(estimate_group(n.g, arch, opt, Group{{n.a}}, ea));
  ASSERT_TRUE(estimate_group(n.g, arch, opt, Group{{n.b}}, eb));
  ASSERT_TRUE(estimate_group(n.g, arch, opt, Group{{n.a, n.b}}, eab));
  EXPECT_GE(ea.dram_bytes() + eb.dram_bytes(), kUnfusedFloor);
  EXPECT_GE(eab.dram_bytes(), kFusedFloor);
  EXPECT_LE(eab.dram_bytes(), ea.dram_bytes() + eb.dram_bytes());
  // the fused group writes only b's output
  EXPECT_EQ(eab.dram_write, 50176);
}

TEST(Fusion, OptimalPlanIsAPartitionOfFusableChainsThatSavesBytes) {
  Chain n;
  const ArchParams arch = arch_preset("diannao-large");
  CompileOptions opt;
  opt.fusion = Fusion::Optimal;
  const auto groups = plan_groups(n.g, arch, opt);
  std::vector<int> flat;
  for (const Group& grp : groups) {
    flat.insert(flat.end(), grp.layers.begin(), grp.layers.end());
    for (std::size_t k = 0; k + 1 < grp.layers.size(); ++k)
      EXPECT_TRUE(fusable_pair(n.g, grp.layers[k], grp.layers[k + 1]));
    if (grp.layers.size() < 2) continue;
    Estimate fused;
    ASSERT_TRUE(estimate_group(n.g, arch, opt, grp, fused));
    int64_t sum = 0;
    for (int id : grp.layers) {
      Estimate e;
      ASSERT_TRUE(estimate_group(n.g, arch, opt, Group{{id}}, e));
      sum += e.dram_bytes_with_fetch();
    }
    EXPECT_LE(fused.dram_bytes_with_fetch(), sum);
  }
  EXPECT_EQ(flat, n.g.topo_order());
  // Optimal is never worse than no fusion under its own cost model.
  CompileOptions none = opt;
  none.fusion = Fusion::None;
  int64_t c_opt = 0, c_none = 0;
  for (const Group& grp : groups) {
    Estimate e;
    ASSERT_TRUE(estimate_group(n.g, arch, opt, grp, e));
    c_opt += e.cycles;
  }
  for (const Group& grp : plan_groups(n.g, arch, none)) {
    Estimate e;
    ASSERT_TRUE(estimate_group(n.g, arch, none, grp, e));
    c_none += e.cycles;
  }
  EXPECT_LE(c_opt, c_none);
}


// A MobileNetV2 inverted residual at 28x28: expand 1x1 (24 -> 144), depthwise 3x3, project 1x1
// (144 -> 24), and the residual add of the block's input.
struct InvertedResidual {
  Graph g = graph_with_input({24, 28, 28});
  int e, d, p, add;
  InvertedResidual() {
    e = g.add_layer("e", OpKind::Conv, {g.input}, "e", conv_attrs(144, 1));
    LayerAttrs dw = conv_attrs(144, 3, 1, 1);
    dw.groups = 144;
    d = g.add_layer("d", OpKind::Conv, {out_of(g, e)}, "d", dw);
    p = g.add_layer("p", OpKind::Conv, {out_of(g, d)}, "p", conv_attrs(24, 1));
    add = g.add_layer("add", OpKind::Add, {g.input, out_of(g, p)}, "add");
    g.outputs = {out_of(g, add)};
    infer_shapes(g);
  }
};

TEST(Fusion, AResidualAddClosesTheChainItsInputFeeds) {
  InvertedResidual b;
  EXPECT_TRUE(residual_tail(b.g, {b.e, b.d, b.p}, b.add));
  EXPECT_EQ(fusable_group(b.g, {b.e, b.d, b.p, b.add}), "");
  EXPECT_FALSE(residual_tail(b.g, {b.d, b.p}, b.add));  // the add reads the block input, not d's
  EXPECT_NE(fusable_group(b.g, {b.d, b.p, b.add}), "");
}

// On diannao-large (64 KiB NBout: 8,192 accumulators a ping-pong half) the 144 expanded
// channels cannot all stay on chip for a useful tile, so the plan runs channel-chunked: a chunk
// of the expanded channels at a time, the project conv accumulating over the chunks. Every slot
// fits NBout, and the input tile holds all 24 input channels for the add.
TEST(Fusion, AnInvertedResidualFusesWholeChannelChunked) {
  InvertedResidual b;
  const ArchParams arch = arch_preset("diannao-large");
  const ArchView av = arch_view(arch, isa::DType::Int16, Pipeline::Full);
  FusedPlan plan;
  ASSERT_TRUE(plan_fused(b.g, av, {b.e, b.d, b.p, b.add}, plan));
  EXPECT_EQ(plan.add_id, b.add);
  EXPECT_TRUE(plan.chunked);
  ASSERT_EQ(plan.layers.size(), 3u);
  const int64_t chunk = plan.layers[0].tco;
  EXPECT_LT(chunk, 144);
  EXPECT_EQ(plan.layers[0].tci, 24);  // all input channels: the add reads them from NBin
  EXPECT_EQ(plan.layers[1].tco, chunk);
  EXPECT_EQ(plan.layers[2].tco, 24);
  EXPECT_EQ(plan.layers[2].tci, chunk);
  const FusedSlots fs = fused_slots(plan);
  EXPECT_EQ(fs.slot[2], 24 * plan.tr * plan.tc);  // the project conv's accumulators
  EXPECT_LE(fs.slot[0] + fs.slot[1] + fs.slot[2], av.nbout_elems);
  // Fused, only the block's input and output (and the weights) touch DRAM.
  const int64_t map = 24 * 28 * 28 * 2;
  const int64_t weights = (144 * 24 + 144 * 9 + 24 * 144) * 2;
  EXPECT_EQ(plan.est.dram_write, map);
  EXPECT_GE(plan.est.dram_read, map + weights);
  // The optimal planner takes the whole block as one group.
  CompileOptions opt;
  opt.fusion = Fusion::Optimal;
  const auto groups = plan_groups(b.g, arch, opt);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].layers, (std::vector<int>{b.e, b.d, b.p, b.add}));
}

}  // namespace
}  // namespace fusesim::compiler
