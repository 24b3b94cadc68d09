// Layer elimination on small graphs: data-movement layers become aliases, concats become channel
// slices their producers write into, and the cases that must stay copies.
#include <gtest/gtest.h>

#include "compiler/passes/passes.h"
#include "graph_builders.h"

namespace fusesim::compiler {
namespace {

using namespace testing;

// input 3x4x4 -> a: conv 1x1 (2 ch), b: conv 3x3 pad 1 (3 ch), both reading the input
//   -> cat(a, b) 5x4x4 -> dropout -> flatten 80 -> fc 4 -> identity (the network output)
struct Net {
  Graph g = graph_with_input({3, 4, 4});
  int a, b, cat, drop, flat, fc, id;
  Net() {
    a = g.add_layer("a", OpKind::Conv, {g.input}, "a", conv_attrs(2, 1, 1, 0, true));
    b = g.add_layer("b", OpKind::Conv, {g.input}, "b", conv_attrs(3, 3, 1, 1, true));
    cat = g.add_layer("cat", OpKind::Concat, {out_of(g, a), out_of(g, b)}, "cat");
    drop = g.add_layer("drop", OpKind::Dropout, {out_of(g, cat)}, "drop");
    flat = g.add_layer("flat", OpKind::Flatten, {out_of(g, drop)}, "flat");
    fc = g.add_layer("fc", OpKind::FullyConnected, {out_of(g, flat)}, "fc", fc_attrs(4, true));
    id = g.add_layer("id", OpKind::Identity, {out_of(g, fc)}, "id");
    g.outputs = {out_of(g, id)};
    infer_shapes(g);
  }
};

TEST(Eliminate, AliasesAndConcatSlices) {
  Net n;
  Graph& g = n.g;
  EXPECT_EQ(eliminate(g), 4);  // cat, drop, flat, id
  for (int l : {n.cat, n.drop, n.flat, n.id}) EXPECT_TRUE(g.layer(l).removed) << g.layer(l).name;
  for (int l : {n.a, n.b, n.fc}) EXPECT_FALSE(g.layer(l).removed) << g.layer(l).name;
  // a writes channels [0, 2) of cat, b channels [2, 5)
  EXPECT_EQ(g.tensor(out_of(g, n.a)).alias_of, out_of(g, n.cat));
  EXPECT_EQ(g.tensor(out_of(g, n.a)).channel_offset, 0);
  EXPECT_EQ(g.tensor(out_of(g, n.b)).alias_of, out_of(g, n.cat));
  EXPECT_EQ(g.tensor(out_of(g, n.b)).channel_offset, 2);
  EXPECT_EQ(g.tensor(out_of(g, n.cat)).alias_of, -1);  // the concat output is the real tensor
  EXPECT_EQ(g.tensor(out_of(g, n.drop)).alias_of, out_of(g, n.cat));
  EXPECT_EQ(g.tensor(out_of(g, n.flat)).alias_of, out_of(g, n.drop));
  EXPECT_EQ(g.tensor(out_of(g, n.id)).alias_of, out_of(g, n.fc));
  EXPECT_EQ(g.topo_order(), (std::vector<int>{n.a, n.b, n.fc}));
  // MACs do not change: a 2*3*16 = 96, b 3*3*9*16 = 1296, fc 4*80 = 320
  EXPECT_EQ(g.total_macs(), 96 + 1296 + 320);
}

TEST(Eliminate, ReferenceGivesTheSameValuesWithAndWithoutElimination) {
  Net kept, gone;
  materialize_weights(kept.g);
  materialize_weights(gone.g);
  ASSERT_EQ(kept.g.layer(kept.fc).weights, gone.g.layer(gone.fc).weights);
  eliminate(gone.g);
  const std::vector<uint8_t> in = make_input(kept.g, isa::DType::Int16);
  const auto a = run_reference(kept.g, isa::DType::Int16, in);
  const auto b = run_reference(gone.g, isa::DType::Int16, in);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].size(), 4u * 2u);
  EXPECT_EQ(a, b);
}

TEST(Eliminate, ConcatOfTheNetworkInputIsKept) {
  Graph g = graph_with_input({2, 3, 3});
  const int c = g.add_layer("c", OpKind::Conv, {g.input}, "c", conv_attrs(4, 1));
  const int cat = g.add_layer("cat", OpKind::Concat, {g.input, out_of(g, c)}, "cat");
  const int after = g.add_layer("after", OpKind::Conv, {out_of(g, cat)}, "after", conv_attrs(1, 1));
  g.outputs = {out_of(g, after)};
  infer_shapes(g);
  EXPECT_EQ(eliminate(g), 0);
  EXPECT_FALSE(g.layer(cat).removed);
  EXPECT_EQ(g.tensor(out_of(g, c)).alias_of, -1);
  EXPECT_EQ(g.tensor(g.input).alias_of, -1);
}

TEST(Eliminate, ConcatOfANetworkOutputOrADuplicatedInputIsKept) {
  Graph g = graph_with_input({2, 3, 3});
  const int a = g.add_layer("a", OpKind::Conv, {g.input}, "a", conv_attrs(2, 1));
  const int b = g.add_layer("b", OpKind::Conv, {g.input}, "b", conv_attrs(2, 1));
  const int cat1 = g.add_layer("cat1", OpKind::Concat, {out_of(g, a), out_of(g, b)}, "cat1");
  const int c = g.add_layer("c", OpKind::Conv, {g.input}, "c", conv_attrs(2, 1));
  const int cat2 = g.add_layer("cat2", OpKind::Concat, {out_of(g, c), out_of(g, c)}, "cat2");
  g.outputs = {out_of(g, a), out_of(g, cat1), out_of(g, cat2)};  // a is also an output
  infer_shapes(g);
  EXPECT_EQ(eliminate(g), 0);
  EXPECT_FALSE(g.layer(cat1).removed);
  EXPECT_FALSE(g.layer(cat2).removed);
}

TEST(Eliminate, ConcatOfAnAliasIsKept) {
  // flatten's output already lives inside conv's output: it cannot also be a slice of cat.
  Graph g = graph_with_input({2, 1, 1});
  const int a = g.add_layer("a", OpKind::Conv, {g.input}, "a", conv_attrs(2, 1));
  const int f = g.add_layer("f", OpKind::Flatten, {out_of(g, a)}, "f");
  const int b = g.add_layer("b", OpKind::Conv, {g.input}, "b", conv_attrs(3, 1));
  const int cat = g.add_layer("cat", OpKind::Concat, {out_of(g, f), out_of(g, b)}, "cat");
  g.outputs = {out_of(g, cat)};
  infer_shapes(g);
  EXPECT_EQ(eliminate(g), 1);  // only the flatten
  EXPECT_TRUE(g.layer(f).removed);
  EXPECT_FALSE(g.layer(cat).removed);
  EXPECT_EQ(g.tensor(out_of(g, b)).alias_of, -1);
}

}  // namespace
}  // namespace fusesim::compiler
