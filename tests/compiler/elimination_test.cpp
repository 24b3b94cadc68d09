// Layer elimination on small graphs: data-movement layers become aliases, concats become channel
// slices their producers write into, channel slices (splits) become views, and the cases that
// must stay copies.
#include <gtest/gtest.h>

#include <algorithm>

#include "compiler/passes/passes.h"
#include "graph_builders.h"
#include "isa/isa.h"

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
  // generated (LayerNode::gen) from the seed and the name alike
  store_weights(kept.g.layer(kept.fc), 320, 80);
  store_weights(gone.g.layer(gone.fc), 320, 80);
  ASSERT_EQ(kept.g.layer(kept.fc).weights.size(), 320u);
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

// ShuffleNet v2's stride-1 unit on 4x4 maps, plus a reader of a slice of its concat:
//   x = conv 1x1 (8) of the 3x4x4 input
//   left = x[0:4], right = x[4:8] (channel slices) -> r = conv 1x1 (4) of right
//   cat = concat(left, r) 8x4x4 -> shuffle (groups 2): output 0
//   mid = cat[2:6] (crosses from left into r) -> tail = conv 1x1 (2): output 1
// MACs: x 8*3*16 = 384, r 4*4*16 = 256, tail 2*4*16 = 128; 768 in all.
LayerAttrs slice_attrs(int64_t start, int64_t count) {
  LayerAttrs a;
  a.slice_start = start, a.slice_count = count;
  return a;
}

struct SplitNet {
  Graph g = graph_with_input({3, 4, 4});
  int x, left, right, r, cat, shuffle, mid, tail;
  SplitNet() {
    x = g.add_layer("x", OpKind::Conv, {g.input}, "x", conv_attrs(8, 1, 1, 0, true));
    left = g.add_layer("left", OpKind::ChannelSlice, {out_of(g, x)}, "left", slice_attrs(0, 4));
    right = g.add_layer("right", OpKind::ChannelSlice, {out_of(g, x)}, "right", slice_attrs(4, 4));
    r = g.add_layer("r", OpKind::Conv, {out_of(g, right)}, "r", conv_attrs(4, 1, 1, 0, true));
    cat = g.add_layer("cat", OpKind::Concat, {out_of(g, left), out_of(g, r)}, "cat");
    LayerAttrs sh;
    sh.groups = 2;
    shuffle = g.add_layer("shuffle", OpKind::ChannelShuffle, {out_of(g, cat)}, "shuffle", sh);
    mid = g.add_layer("mid", OpKind::ChannelSlice, {out_of(g, cat)}, "mid", slice_attrs(2, 4));
    tail = g.add_layer("tail", OpKind::Conv, {out_of(g, mid)}, "tail", conv_attrs(2, 1, 1, 0, true));
    g.outputs = {out_of(g, shuffle), out_of(g, tail)};
    infer_shapes(g);
  }
};

TEST(Eliminate, ChannelSlicesBecomeViewsExceptWhereAConcatReadsThem) {
  SplitNet n;
  Graph& g = n.g;
  EXPECT_EQ(g.total_macs(), 768);
  EXPECT_EQ(eliminate(g), 3);  // right, cat, mid
  for (int l : {n.right, n.cat, n.mid}) EXPECT_TRUE(g.layer(l).removed) << g.layer(l).name;
  for (int l : {n.x, n.left, n.r, n.shuffle, n.tail}) EXPECT_FALSE(g.layer(l).removed) << g.layer(l).name;
  // right reads channels [4, 8) of x in place
  EXPECT_EQ(g.tensor(out_of(g, n.right)).alias_of, out_of(g, n.x));
  EXPECT_EQ(g.tensor(out_of(g, n.right)).channel_offset, 4);
  // left stays a copy, written straight into channels [0, 4) of cat; r writes [4, 8)
  EXPECT_EQ(g.tensor(out_of(g, n.left)).alias_of, out_of(g, n.cat));
  EXPECT_EQ(g.tensor(out_of(g, n.left)).channel_offset, 0);
  EXPECT_EQ(g.tensor(out_of(g, n.r)).alias_of, out_of(g, n.cat));
  EXPECT_EQ(g.tensor(out_of(g, n.r)).channel_offset, 4);
  // mid: a view of channels [2, 6) of cat, across both of cat's slices
  EXPECT_EQ(g.tensor(out_of(g, n.mid)).alias_of, out_of(g, n.cat));
  EXPECT_EQ(g.tensor(out_of(g, n.mid)).channel_offset, 2);
  EXPECT_EQ(g.total_macs(), 768);
}

TEST(Eliminate, SliceOfASliceAndOfAConcatInputAreViews) {
  // input 8x2x2 -> a = conv (6) -> s1 = a[1:5] -> s2 = s1[2:4] (= a[3:5]) -> c2 = conv
  //                                a also feeds cat(a, b) with b = conv (2) of the input
  Graph g = graph_with_input({8, 2, 2});
  const int a = g.add_layer("a", OpKind::Conv, {g.input}, "a", conv_attrs(6, 1));
  const int s1 = g.add_layer("s1", OpKind::ChannelSlice, {out_of(g, a)}, "s1", slice_attrs(1, 4));
  const int s2 = g.add_layer("s2", OpKind::ChannelSlice, {out_of(g, s1)}, "s2", slice_attrs(2, 2));
  const int c2 = g.add_layer("c2", OpKind::Conv, {out_of(g, s2)}, "c2", conv_attrs(1, 1));
  const int b = g.add_layer("b", OpKind::Conv, {g.input}, "b", conv_attrs(2, 1));
  const int cat = g.add_layer("cat", OpKind::Concat, {out_of(g, b), out_of(g, a)}, "cat");
  g.outputs = {out_of(g, c2), out_of(g, cat)};
  infer_shapes(g);
  materialize_weights(g);
  const Graph kept = g;
  EXPECT_EQ(eliminate(g), 3);  // s1, s2, cat
  EXPECT_EQ(g.tensor(out_of(g, s2)).alias_of, out_of(g, s1));
  EXPECT_EQ(g.tensor(out_of(g, s2)).channel_offset, 2);
  EXPECT_EQ(g.tensor(out_of(g, s1)).alias_of, out_of(g, a));
  EXPECT_EQ(g.tensor(out_of(g, a)).alias_of, out_of(g, cat));  // a lives in cat at channel 2
  EXPECT_EQ(g.tensor(out_of(g, a)).channel_offset, 2);
  // c2 reads cat's channels 2 + 1 + 2 = 5 and 6: the same numbers as with copies
  for (isa::DType dt : {isa::DType::Int16, isa::DType::Fp32}) {
    const std::vector<uint8_t> in = make_input(kept, dt);
    EXPECT_EQ(run_reference(kept, dt, in), run_reference(g, dt, in));
  }
}

TEST(Eliminate, ReferenceOfTheSplitNetIsTheSameWithAndWithoutElimination) {
  SplitNet kept, gone;
  materialize_weights(kept.g);
  materialize_weights(gone.g);
  eliminate(gone.g);
  for (isa::DType dt : {isa::DType::Int16, isa::DType::Fp32}) {
    const std::vector<uint8_t> in = make_input(kept.g, dt);
    const auto a = run_reference(kept.g, dt, in);
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[1].size(), 2u * 16u * isa::data_bytes(dt));
    EXPECT_EQ(a, run_reference(gone.g, dt, in));
  }
}

// The schedule entries' names, in order, and the first instruction of group `name` with opcode
// `op` (and, for loads, buffer NBin).
std::vector<std::string> group_names(const Program& p) {
  std::vector<std::string> v;
  for (const ScheduleEntry& e : p.schedule) v.push_back(e.name);
  return v;
}
isa::Instr first_of(const Program& p, const std::string& name, isa::Opcode op) {  // a decoded copy
  const std::vector<std::string> names = group_names(p);
  const auto gi = static_cast<uint32_t>(std::find(names.begin(), names.end(), name) - names.begin());
  for (const isa::Instr& in : p.instrs)
    if (in.layer == gi && in.opcode == static_cast<uint32_t>(op) &&
        (op != isa::Opcode::Load || in.buf == static_cast<uint32_t>(isa::Buffer::NBin)))
      return in;
  throw std::runtime_error("no such instruction in group " + name);
}

TEST(Eliminate, ViewsCostNoInstructionAndConsumersReadInPlace) {
  const ArchParams arch = arch_preset("diannao");
  SplitNet on, off;
  CompileOptions opt;
  const Program p = compile(on.g, arch, opt);
  opt.elimination = false;
  const Program q = compile(off.g, arch, opt);
  // right, cat and mid have no group (no instruction) with elimination; they are copies without
  EXPECT_EQ(group_names(p), (std::vector<std::string>{"x", "left", "r", "shuffle", "tail"}));
  EXPECT_EQ(group_names(q),
            (std::vector<std::string>{"x", "left", "right", "r", "cat", "shuffle", "mid", "tail"}));
  EXPECT_EQ(p.macs, 768);
  EXPECT_EQ(q.macs, 768);
  // int16, 16 pixels a channel: 32 bytes a channel
  const int64_t x_at = first_of(p, "x", isa::Opcode::Store).dram_addr;
  const int64_t cat_at = first_of(p, "left", isa::Opcode::Store).dram_addr;  // left writes cat[0:4]
  EXPECT_EQ(first_of(p, "left", isa::Opcode::Load).dram_addr, x_at);
  EXPECT_EQ(first_of(p, "r", isa::Opcode::Load).dram_addr, x_at + 4 * 32);       // right = x[4:8]
  EXPECT_EQ(first_of(p, "r", isa::Opcode::Store).dram_addr, cat_at + 4 * 32);    // r -> cat[4:8]
  EXPECT_EQ(first_of(p, "tail", isa::Opcode::Load).dram_addr, cat_at + 2 * 32);  // mid = cat[2:6]
  // without elimination the copy of right reads x[4:8] and r reads the copy
  EXPECT_EQ(first_of(q, "right", isa::Opcode::Load).dram_addr,
            first_of(q, "x", isa::Opcode::Store).dram_addr + 4 * 32);
  EXPECT_EQ(first_of(q, "r", isa::Opcode::Load).dram_addr,
            first_of(q, "right", isa::Opcode::Store).dram_addr);
  EXPECT_LT(p.instrs.size(), q.instrs.size());
}

}  // namespace
}  // namespace fusesim::compiler
