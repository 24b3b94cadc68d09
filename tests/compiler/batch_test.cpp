// Batch (issue 10): what a batch of N samples must cost, worked out from the loop nests
// (docs/compiler.md, "Batch"): MACs and tensor bytes scale by N, weights do not; an fc weight
// tile is loaded once per pass of Tile::tb samples; resident conv weights once for the batch;
// the reference runs every sample as it runs one.
#include <gtest/gtest.h>

#include <regex>

#include "compiler/cost_model.h"
#include "graph_builders.h"
#include "isa/errors.h"
#include "isa/isa.h"

namespace fusesim::compiler {
namespace {

using namespace testing;

// input 3x8x8 -> conv 3x3 pad 1 (8, bias) + relu -> maxpool 2/2 (8x4x4) -> fc 10 (bias)
//   MACs per sample: conv 8*3*9*8*8 = 13824 + fc 10*128 = 1280 = 15104
//   weights: conv 8*3*9 + 8 = 224, fc 10*128 + 10 = 1290: 1514 elements
Graph small_net(int64_t batch) {
  Graph g = graph_with_input({3, 8, 8}, "small");
  g.batch = batch;
  const int c = g.add_layer("conv", OpKind::Conv, {g.input}, "conv", conv_attrs(8, 3, 1, 1, true));
  const int r =
      g.add_layer("relu", OpKind::Activation, {out_of(g, c)}, "relu", act_attrs(isa::Activation::Relu));
  const int p = g.add_layer("pool", OpKind::MaxPool, {out_of(g, r)}, "pool", pool_attrs(2, 2));
  const int f = g.add_layer("fc", OpKind::FullyConnected, {out_of(g, p)}, "fc", fc_attrs(10, true));
  g.outputs = {out_of(g, f)};
  return g;
}

// A classifier layer far larger than SB (1024 x 1024 weights + 1024 biases, 2 MiB as int16,
// against 32 KiB of SB): DRAM-bound at batch 1, its weights necessarily tiled.
Graph big_fc(int64_t batch) {
  Graph g = graph_with_input({1024, 1, 1}, "big_fc");
  g.batch = batch;
  const int f = g.add_layer("fc", OpKind::FullyConnected, {g.input}, "fc", fc_attrs(1024, true));
  g.outputs = {out_of(g, f)};
  return g;
}

struct Traffic {
  int64_t sb = 0, nbin = 0;  // elements LOADed into SB and NBin
  int64_t computes = 0, stores = 0;
};
Traffic traffic_of(const Program& p, uint32_t group) {
  Traffic t;
  for (const isa::Instr& in : p.instrs) {
    if (in.layer != group) continue;
    const int64_t n = int64_t{std::max<uint32_t>(1, in.size0)} * std::max<uint32_t>(1, in.size1) *
                      std::max<uint32_t>(1, in.size2);
    if (in.opcode == static_cast<uint32_t>(isa::Opcode::Load)) {
      if (in.buf == static_cast<uint32_t>(isa::Buffer::SB)) t.sb += n;
      if (in.buf == static_cast<uint32_t>(isa::Buffer::NBin)) t.nbin += n;
    } else if (in.opcode == static_cast<uint32_t>(isa::Opcode::Compute)) {
      ++t.computes;
    } else if (in.opcode == static_cast<uint32_t>(isa::Opcode::Store)) {
      ++t.stores;
    }
  }
  return t;
}

// co, ci and samples of a "co=.. ci=.. rows=.. cols=.. [samples=..]" tile summary.
void parse_tile(const std::string& tiles, int64_t& co, int64_t& ci, int64_t& samples) {
  std::smatch m;
  ASSERT_TRUE(std::regex_search(tiles, m, std::regex("co=([0-9]+) ci=([0-9]+)"))) << tiles;
  co = std::stoll(m[1]), ci = std::stoll(m[2]);
  samples = std::regex_search(tiles, m, std::regex("samples=([0-9]+)")) ? std::stoll(m[1]) : 1;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

TEST(Batch, MacsAndTensorBytesScaleWithTheBatchWeightsDoNot) {
  Graph g1 = small_net(1), g4 = small_net(4);
  const Program p1 = compile(g1, arch_preset("diannao"), CompileOptions{});
  const Program p4 = compile(g4, arch_preset("diannao"), CompileOptions{});
  EXPECT_EQ(p1.batch, 1);
  EXPECT_EQ(p4.batch, 4);
  EXPECT_EQ(p1.macs, 15104);
  EXPECT_EQ(p4.macs, 4 * 15104);
  int64_t sched_macs = 0;
  for (const ScheduleEntry& s : p4.schedule) sched_macs += s.macs;
  EXPECT_EQ(sched_macs, 4 * 15104);
  EXPECT_EQ(p4.weight_bytes, 1514u * 2u);
  // weights once, then 4 x (input 3*64*2 = 384 B + output 10*2 = 20 B)
  EXPECT_EQ(p4.compulsory_bytes, 3028u + 4u * (384u + 20u));
  EXPECT_EQ(p4.input.shape, (Shape{3, 8, 8}));  // placements stay per sample
}

TEST(Batch, CompileOptionsBatchOverridesTheModelsAndIsChecked) {
  Graph g = small_net(2);
  CompileOptions o;
  o.batch = 3;
  EXPECT_EQ(compile(g, arch_preset("diannao"), o).batch, 3);
  for (int64_t bad : {int64_t{-1}, kMaxBatch + 1}) {
    Graph h = small_net(1);
    o.batch = bad;
    try {
      compile(h, arch_preset("diannao"), o);
      ADD_FAILURE() << "batch " << bad << " compiled";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("--batch: the batch must be"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(batch_problem(0), "the batch must be >= 1, got 0");
  EXPECT_EQ(batch_problem(4097), "the batch must be <= 4096, got 4097");
  EXPECT_EQ(batch_problem(4096), "");
  int64_t v = 0;
  EXPECT_EQ(batch_text_problem("16", v), "");
  EXPECT_EQ(v, 16);
  EXPECT_EQ(batch_text_problem("4x", v), "expected an integer batch, got '4x'");
}

// The fc's weights cross DRAM once per pass of tb samples; every sample's input is loaded per
// output-channel tile and every sample has its own COMPUTE per weight tile.
TEST(Batch, FcWeightTileIsLoadedOncePerPassNotPerSample) {
  const int64_t W = 1024 * 1024 + 1024;  // weights + biases
  Graph g1 = big_fc(1);
  const Program p1 = compile(g1, arch_preset("diannao"), CompileOptions{});
  EXPECT_EQ(traffic_of(p1, 0).sb, W);
  for (int64_t N : {4, 8, 16}) {
    Graph g = big_fc(N);
    const Program p = compile(g, arch_preset("diannao"), CompileOptions{});
    ASSERT_EQ(p.schedule.size(), 1u);
    int64_t co = 0, ci = 0, tb = 0;
    parse_tile(p.schedule[0].tiles, co, ci, tb);
    // sharing the weight tile is what the cost model picks for a DRAM-bound layer
    EXPECT_GT(tb, 1) << p.schedule[0].tiles;
    // NBout holds tb output tiles of co 4-byte accumulators (whole: 2 KiB = 512)
    EXPECT_LE(co * tb, 512) << p.schedule[0].tiles;
    const Traffic t = traffic_of(p, 0);
    EXPECT_EQ(t.sb, ceil_div(N, tb) * W) << "batch " << N << ": " << p.schedule[0].tiles;
    EXPECT_EQ(t.nbin, N * 1024 * ceil_div(1024, co)) << "batch " << N;
    EXPECT_EQ(t.computes, N * ceil_div(1024, co) * ceil_div(1024, ci)) << "batch " << N;
    EXPECT_EQ(t.stores, N * ceil_div(1024, co)) << "batch " << N;
    // and fewer weight bytes per sample than at batch 1
    EXPECT_LT(t.sb / N, W);
  }
}

TEST(Batch, ResidentConvWeightsAreLoadedOnceForTheBatch) {
  Graph g = small_net(4);
  const Program p = compile(g, arch_preset("diannao"), CompileOptions{});
  ASSERT_NE(p.schedule[0].tiles.find("w-resident"), std::string::npos) << p.schedule[0].tiles;
  const Traffic t = traffic_of(p, 0);
  EXPECT_EQ(t.sb, 224);            // 8*3*9 weights + 8 biases, once
  EXPECT_EQ(t.nbin % (3 * 4), 0);  // whole input rows of 3 channels, for 4 samples...
  Graph g1 = small_net(1);
  const Program p1 = compile(g1, arch_preset("diannao"), CompileOptions{});
  EXPECT_EQ(t.nbin, 4 * traffic_of(p1, 0).nbin);  // ...exactly 4 times a sample's
  EXPECT_EQ(t.computes, 4 * traffic_of(p1, 0).computes);
}

// The cost model's fc estimate, term by term: weights once per pass, inputs per sample and
// output-channel tile, outputs per sample.
TEST(Batch, FcEstimateCountsWeightsPerPassAndInputsPerSample) {
  WinLayer l;
  l.kind = WinKind::Conv;
  l.cin = 1024, l.cout = 1024, l.bias = true, l.batch = 12;
  ArchView av = arch_view(arch_preset("diannao"), isa::DType::Int16, Pipeline::Full, 1);
  const Tile t{64, 128, 1, 1, 8};  // 64 x 8 = 512 accumulators: the whole NBout
  ASSERT_TRUE(tile_fits(l, av, t));
  const Estimate e = estimate(l, av, t, false, false);
  const int64_t W = 1024 * 1024 + 1024, passes = 2, co_tiles = 16;
  EXPECT_EQ(e.dram_read, (passes * W + 12 * 1024 * co_tiles) * 2);
  EXPECT_EQ(e.dram_write, 12 * 1024 * 2);
  EXPECT_EQ(e.steps, 12 * co_tiles * 8);  // a step per sample per weight tile
  // one more sample per tile would overflow NBout
  EXPECT_FALSE(tile_fits(l, av, Tile{64, 128, 1, 1, 9}));
}

TEST(Batch, ReferenceRunsEverySampleAsItRunsOne) {
  for (isa::DType dt : {isa::DType::Int16, isa::DType::Fp32}) {
    Graph g1 = small_net(1), g4 = small_net(4);
    CompileOptions opt;
    opt.dtype = dt;
    compile(g1, arch_preset("diannao"), opt);
    compile(g4, arch_preset("diannao"), opt);
    const std::vector<uint8_t> in1 = make_input(g1, dt), in4 = make_input(g4, dt);
    ASSERT_EQ(in4.size(), 4 * in1.size());
    // sample 0 of a batch is the batch-1 input; the other samples are new data
    EXPECT_TRUE(std::equal(in1.begin(), in1.end(), in4.begin()));
    EXPECT_FALSE(std::equal(in1.begin(), in1.end(), in4.begin() + static_cast<std::ptrdiff_t>(in1.size())));
    const auto out1 = run_reference(g1, dt, in1), out4 = run_reference(g4, dt, in4);
    ASSERT_EQ(out4.size(), 1u);
    ASSERT_EQ(out4[0].size(), 4 * out1[0].size());
    EXPECT_TRUE(std::equal(out1[0].begin(), out1[0].end(), out4[0].begin()));
    // each sample k of the batch gives what a batch-1 run of sample k gives
    for (std::size_t k = 1; k < 4; ++k) {
      const auto first = in4.begin() + static_cast<std::ptrdiff_t>(k * in1.size());
      const auto alone =
          run_reference(g1, dt, std::vector<uint8_t>(first, first + static_cast<std::ptrdiff_t>(in1.size())));
      EXPECT_TRUE(std::equal(alone[0].begin(), alone[0].end(),
                             out4[0].begin() + static_cast<std::ptrdiff_t>(k * out1[0].size())))
          << "sample " << k;
    }
  }
}

}  // namespace
}  // namespace fusesim::compiler
