// compile() end to end without SystemC: the Program's basic invariants and totals, worked out
// by hand for a tiny conv -> pool -> fc network.
#include <gtest/gtest.h>

#include "graph_builders.h"
#include "isa/isa.h"

namespace fusesim::compiler {
namespace {

using namespace testing;

// input 3x8x8 -> conv 3x3 pad 1 (8, bias) + relu -> maxpool 2/2 (8x4x4) -> fc 10 (bias)
//   MACs:   conv 8 * 3 * 9 * 8 * 8 = 13824; fc 10 * 128 = 1280; total 15104
//   params: conv 8*3*9 + 8 = 224; fc 10*128 + 10 = 1290; total 1514
Graph tiny() {
  Graph g = graph_with_input({3, 8, 8}, "tiny");
  LayerAttrs ca = conv_attrs(8, 3, 1, 1, true);
  const int c = g.add_layer("conv", OpKind::Conv, {g.input}, "conv", ca);
  const int r = g.add_layer("relu", OpKind::Activation, {out_of(g, c)}, "relu", act_attrs(isa::Activation::Relu));
  const int p = g.add_layer("pool", OpKind::MaxPool, {out_of(g, r)}, "pool", pool_attrs(2, 2));
  const int f = g.add_layer("fc", OpKind::FullyConnected, {out_of(g, p)}, "fc", fc_attrs(10, true));
  g.outputs = {out_of(g, f)};
  return g;
}

void expect_program_basics(const Program& p) {
  ASSERT_FALSE(p.instrs.empty());
  EXPECT_EQ(p.instrs.back().opcode, static_cast<uint32_t>(isa::Opcode::End));
  for (std::size_t i = 0; i < p.instrs.size(); ++i) {
    EXPECT_NO_THROW((void)isa::encode(p.instrs[i])) << "instruction " << i;
    // and the word decodes back to the same instruction
    const auto back = isa::decode(isa::encode(p.instrs[i]));
    ASSERT_TRUE(back.has_value()) << "instruction " << i;
    EXPECT_EQ(*back, p.instrs[i]) << "instruction " << i;
  }
  // only one END, at the end
  for (std::size_t i = 0; i + 1 < p.instrs.size(); ++i)
    EXPECT_NE(p.instrs[i].opcode, static_cast<uint32_t>(isa::Opcode::End)) << i;
  EXPECT_EQ(p.macs, 15104);
  EXPECT_EQ(p.input.shape, (Shape{3, 8, 8}));
  ASSERT_EQ(p.outputs.size(), 1u);
  EXPECT_EQ(p.outputs[0].shape, (Shape{10, 1, 1}));
  EXPECT_GE(p.dram_footprint, p.prog_addr + p.instrs.size() * isa::kInstrBytes);
}

TEST(Compile, Int16ProgramBasics) {
  Graph g = tiny();
  const Program p = compile(g, arch_preset("diannao"), CompileOptions{});
  expect_program_basics(p);
  EXPECT_EQ(p.dtype, isa::DType::Int16);
  EXPECT_EQ(p.weight_bytes, 1514u * 2u);
  uint64_t constant_bytes = 0;
  for (const Segment& s : p.constants) constant_bytes += s.bytes.size();
  EXPECT_EQ(constant_bytes, 1514u * 2u);
  // weights + input 3*64*2 = 384 + output 10*2 = 20
  EXPECT_EQ(p.compulsory_bytes, 3028u + 384u + 20u);
  // the relu merged into the conv: three groups (conv, pool, fc) without fusion
  ASSERT_EQ(p.schedule.size(), 3u);
  EXPECT_EQ(p.schedule[0].name, "conv");
  EXPECT_EQ(p.schedule[0].macs, 13824);
  EXPECT_EQ(p.schedule[1].macs, 0);
  EXPECT_EQ(p.schedule[2].macs, 1280);
}

TEST(Compile, Fp32WeightsTakeFourBytes) {
  Graph g = tiny();
  CompileOptions opt;
  opt.dtype = isa::DType::Fp32;
  const Program p = compile(g, arch_preset("diannao"), opt);
  expect_program_basics(p);
  EXPECT_EQ(p.weight_bytes, 1514u * 4u);
  // every LOAD, COMPUTE and STORE carries the fp32 dtype (1)
  int data_instrs = 0;
  for (const isa::Instr& in : p.instrs)
    if (in.opcode >= static_cast<uint32_t>(isa::Opcode::Load) && in.opcode <= static_cast<uint32_t>(isa::Opcode::Compute)) {
      EXPECT_EQ(in.dtype, 1u);
      ++data_instrs;
    }
  EXPECT_GT(data_instrs, 0);
  EXPECT_EQ(p.compulsory_bytes, 1514u * 4u + 192u * 4u + 10u * 4u);
}

TEST(Compile, TimingOnlyCompileHasNoConstantsButTheSameLayout) {
  Graph g = tiny();
  CompileOptions opt;
  opt.materialize = false;
  const Program p = compile(g, arch_preset("diannao"), opt);
  expect_program_basics(p);
  EXPECT_TRUE(p.constants.empty());
  EXPECT_EQ(p.weight_bytes, 3028u);
  Graph g2 = tiny();
  const Program q = compile(g2, arch_preset("diannao"), CompileOptions{});
  EXPECT_EQ(p.instrs.size(), q.instrs.size());
  EXPECT_EQ(p.prog_addr, q.prog_addr);
}

TEST(Compile, LeavesTheGraphCanonicalizedForTheReference) {
  Graph g = tiny();
  compile(g, arch_preset("diannao"), CompileOptions{});
  EXPECT_EQ(g.topo_order().size(), 3u);  // the relu merged into the conv
  const auto out = run_reference(g, isa::DType::Int16, make_input(g, isa::DType::Int16));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), 10u * 2u);
}

TEST(Compile, FusionKeepsTheTotals) {
  for (Fusion f : {Fusion::Greedy, Fusion::Optimal}) {
    Graph g = tiny();
    CompileOptions opt;
    opt.fusion = f;
    const Program p = compile(g, arch_preset("diannao-large"), opt);
    expect_program_basics(p);
    EXPECT_EQ(p.weight_bytes, 3028u);
    int64_t macs = 0;
    std::size_t members = 0;
    for (const ScheduleEntry& s : p.schedule) macs += s.macs, members += s.members.size();
    EXPECT_EQ(macs, 15104);
    EXPECT_EQ(members, 3u);
  }
}


// Groups hand tensors over through DRAM without a barrier: under pipeline full no SYNC is
// emitted, and every LOAD of a tensor an earlier group stored carries a store fence. Under
// pipeline none every step still ends with a SYNC.
TEST(Compile, GroupsAreOrderedByStoreFencesNotBarriers) {
  for (Pipeline pipe : {Pipeline::Full, Pipeline::None}) {
    Graph g = load_model(std::string(FUSESIM_SOURCE_DIR) + "/models/lenet5.yaml");
    CompileOptions opt;
    opt.materialize = false;
    opt.pipeline = pipe;
    const Program p = compile(g, arch_preset("diannao"), opt);
    int syncs = 0, fences = 0;
    for (const isa::Instr& in : p.instrs) {
      syncs += in.opcode == static_cast<uint32_t>(isa::Opcode::Sync);
      fences += in.store_fence;
    }
    EXPECT_GT(fences, 0);
    if (pipe == Pipeline::Full)
      EXPECT_EQ(syncs, 0);
    else
      EXPECT_GT(syncs, static_cast<int>(p.schedule.size()));
  }
}

}  // namespace
}  // namespace fusesim::compiler
