// Tiling and the cost model on the DianNao presets: chosen tiles fit the buffers, nothing fits
// when NBin is tiny (and compile() says so), and a compute-bound 1x1 conv's estimate follows the
// NFU timing of docs/isa.md.
#include <gtest/gtest.h>

#include "compiler/codegen.h"
#include "compiler/cost_model.h"
#include "graph_builders.h"
#include "isa/errors.h"

namespace fusesim::compiler {
namespace {

using namespace testing;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

WinLayer conv_layer(int64_t cin, int64_t cout, int64_t h, int64_t k, int64_t s, int64_t p, bool bias = true) {
  WinLayer l;
  l.kind = WinKind::Conv;
  l.cin = cin, l.cout = cout, l.h = l.w = h;
  l.kh = l.kw = k, l.sh = l.sw = s, l.pt = l.pl = p;
  l.oh = l.ow = (h + 2 * p - k) / s + 1;
  l.bias = bias;
  return l;
}

TEST(Tiling, DianNaoBufferSizesPerHalf) {
  const ArchView av = arch_view(arch_preset("diannao"), isa::DType::Int16, Pipeline::Full);
  // full pipeline double-buffers: NBin 2 KiB / 2 halves / 2 B = 512 elements, NBout 2 KiB / 2 / 4 B
  // = 256 accumulators, SB 32 KiB / 2 / 2 B = 8192 elements
  EXPECT_EQ(av.nbin_elems, 512);
  EXPECT_EQ(av.nbout_elems, 256);
  EXPECT_EQ(av.sb_elems, 8192);
  EXPECT_EQ(av.tn, 16);
  const ArchView fine = arch_view(arch_preset("diannao"), isa::DType::Fp32, Pipeline::Fine);
  EXPECT_EQ(fine.nbin_elems, 512);  // one half of 2048 B / 4 B
  EXPECT_EQ(fine.nbout_elems, 512);
}

struct Case {
  const char* name;
  WinLayer l;
};

std::vector<Case> layers() {
  WinLayer pool;
  pool.kind = WinKind::MaxPool;
  pool.cin = pool.cout = 64, pool.h = pool.w = 55, pool.kh = pool.kw = 3, pool.sh = pool.sw = 2;
  pool.oh = pool.ow = 27;
  WinLayer dw = conv_layer(1, 1, 112, 3, 1, 1);
  dw.kind = WinKind::DwConv, dw.cin = dw.cout = 32;
  WinLayer fc = conv_layer(9216, 4096, 1, 1, 1, 0);
  return {{"alexnet conv1", conv_layer(3, 64, 224, 11, 4, 2)},
          {"3x3 64->64 on 56", conv_layer(64, 64, 56, 3, 1, 1)},
          {"fc 9216->4096", fc},
          {"maxpool 3/2", pool},
          {"depthwise 3x3", dw}};
}

TEST(Tiling, ChosenTilesFitTheDianNaoBuffers) {
  const ArchView av = arch_view(arch_preset("diannao"), isa::DType::Int16, Pipeline::Full);
  for (const Case& c : layers()) {
    SCOPED_TRACE(c.name);
    const WinLayer& l = c.l;
    TilePlan tp;
    ASSERT_TRUE(choose_tile(l, av, Tile{}, tp));
    const Tile& t = tp.tile;
    EXPECT_TRUE(tile_fits(l, av, t));
    // The same check worked out independently: the input window of the tile in NBin, its
    // accumulators in NBout, its weights (+ bias) in SB.
    const bool dense = l.kind == WinKind::Conv;
    const int64_t ir = (t.tr - 1) * l.sh + l.kh, ic = (t.tc - 1) * l.sw + l.kw;
    EXPECT_LE((dense ? t.tci : t.tco) * ir * ic, 512);
    EXPECT_LE(t.tco * t.tr * t.tc, 256);
    if (dense) {
      EXPECT_LE(t.tco * t.tci * l.kh * l.kw + t.tco, 8192);
    }
    EXPECT_GE(t.tco, 1);
    EXPECT_LE(t.tco, l.cout);
    EXPECT_GE(t.tr, 1);
    EXPECT_LE(t.tr, l.oh);
    EXPECT_GE(t.tc, 1);
    EXPECT_LE(t.tc, l.ow);
    if (dense) {
      EXPECT_GE(t.tci, 1);
      EXPECT_LE(t.tci, l.cin);
    }
    // Every output is written once; the weights are read at least once.
    EXPECT_EQ(tp.est.dram_write, l.cout * l.oh * l.ow * 2);
    EXPECT_GE(tp.est.dram_read, (l.weight_elems()) * 2);
    // No tiling beats the NFU: ceil(cout/Tn) * oh * ow blocks of isa::nfu_inner_cycles each
    // (ceil(cin/Tn) * kh * kw for a dense conv with cin >= Tn; taps in parallel otherwise).
    const int64_t inner = dense ? (l.cin >= 16 ? ceil_div(l.cin, 16) * l.kh * l.kw : ceil_div(l.cin * l.kh * l.kw, 16))
                                : ceil_div(l.kh * l.kw, 16);
    EXPECT_GE(tp.est.cycles, ceil_div(l.cout, 16) * l.oh * l.ow * inner);
  }
}

TEST(Tiling, NothingFitsATinyNBin) {
  ArchParams arch = arch_preset("diannao");
  arch.nbin.bytes = 64;  // 64 B / 2 halves / 2 B = 16 elements: a 5x5 window (25) cannot fit
  const ArchView av = arch_view(arch, isa::DType::Int16, Pipeline::Full);
  EXPECT_EQ(av.nbin_elems, 16);
  TilePlan tp;
  EXPECT_FALSE(choose_tile(conv_layer(1, 8, 16, 5, 1, 2), av, Tile{}, tp));
  // a 3x3 window (9 elements) still fits: one input channel of at most (tr+2) x (tc+2) <= 16
  ASSERT_TRUE(choose_tile(conv_layer(1, 8, 16, 3, 1, 1), av, Tile{}, tp));
  EXPECT_EQ(tp.tile.tci, 1);
  EXPECT_LE((tp.tile.tr + 2) * (tp.tile.tc + 2), 16);
}

TEST(Tiling, CompileSaysNoTileFitsAndNamesTheLayer) {
  // NBin 32 B: 8 int16 elements per half, 16 with whole buffers (the fallback of coarse/full
  // pipelining). The 3x3 layer fits whole buffers (9 <= 16); the 5x5 layer fits neither (25).
  ArchParams arch = arch_preset("diannao");
  arch.nbin.bytes = 32;
  Graph g = graph_with_input({1, 16, 16});
  const int ok = g.add_layer("small", OpKind::Conv, {g.input}, "small", conv_attrs(8, 3, 1, 1, true));
  const int big = g.add_layer("wide5x5", OpKind::Conv, {out_of(g, ok)}, "wide5x5", conv_attrs(8, 5, 1, 2, true));
  g.outputs = {out_of(g, big)};
  CompileOptions opt;
  opt.materialize = false;
  try {
    compile(g, arch, opt);
    FAIL() << "compile accepted a layer no tile fits";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("layer 'wide5x5'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("no tile fits"), std::string::npos) << msg;
  }
}

// A compute-bound 1x1 conv on diannao-large: 256 -> 256 channels on 14x14, no bias, with the tile
// fixed to all 256 output and input channels x 2 rows x 14 columns (NBin 256*2*14 = 7168 <=
// 16384, NBout 7168 <= 8192 accumulators, SB 65536 <= 196608 per half: the weights stay resident).
//   steps  = 7 row tiles (1 output-channel tile, 1 input-channel tile)
//   blocks = ceil(256/16) * 14 * 14 = 3136, inner = ceil(256/16) * 1 * 1 = 16
//   NFU    = blocks * inner = 50176 cycles, plus the pipeline fill per instruction with fine
//            pipelining (+3 per COMPUTE: 7 * 3 = 21) = 50197;
//            without fine pipelining every block drains: + blocks * 3 = 9408 -> 59584.
//   DRAM   = input 256*196*2 = 100352 B + weights 256*256*2 = 131072 B read once; output
//            100352 B written once. At 13.06 B/cycle that is ~25,400 bus cycles < 50197.
// Double-buffered (coarse/full), cycles = max(NFU, load + store) + (NFU + load + store) / steps,
// so compute-bound: NFU + NFU/7 < cycles <= NFU + 2 * NFU/7, and the coarse-minus-full difference
// is exactly 9387 + 9387/7 = 9387 + 1341 = 10728 whatever load and store are (DMA is the same).
WinLayer pointwise_256() { return conv_layer(256, 256, 14, 1, 1, 0, false); }

TilePlan plan_pointwise(Pipeline p) {
  const ArchView av = arch_view(arch_preset("diannao-large"), isa::DType::Int16, p);
  TilePlan tp;
  EXPECT_TRUE(choose_tile(pointwise_256(), av, Tile{256, 256, 2, 14}, tp));
  return tp;
}

TEST(CostModel, ComputeBoundPointwiseConv) {
  const TilePlan tp = plan_pointwise(Pipeline::Full);
  EXPECT_EQ(tp.tile.tco, 256);
  EXPECT_EQ(tp.tile.tci, 256);
  EXPECT_EQ(tp.tile.tr, 2);
  EXPECT_EQ(tp.tile.tc, 14);
  EXPECT_TRUE(tp.resident_weights);
  EXPECT_EQ(tp.est.steps, 7);
  EXPECT_EQ(tp.est.dram_read, 100352 + 131072);
  EXPECT_EQ(tp.est.dram_write, 100352);
  const int64_t nfu = 50176 + 7 * 3;
  EXPECT_GT(tp.est.cycles, nfu + nfu / 7);
  EXPECT_LE(tp.est.cycles, nfu + 2 * nfu / 7 + 1);
}

TEST(CostModel, FinePipeliningSavesTheBlockDrains) {
  const TilePlan full = plan_pointwise(Pipeline::Full);
  const TilePlan coarse = plan_pointwise(Pipeline::Coarse);
  EXPECT_EQ(coarse.est.dram_read, full.est.dram_read);
  EXPECT_EQ(coarse.est.cycles - full.est.cycles, 10728);
}

TEST(CostModel, EstimateGroupOfOneLayerIsItsTilePlan) {
  // compile's view of a layer (win_layer_of + choose_tile) agrees with the direct WinLayer above
  Graph g = graph_with_input({256, 14, 14});
  const int c = g.add_layer("pw", OpKind::Conv, {g.input}, "pw", conv_attrs(256, 1));
  g.outputs = {out_of(g, c)};
  infer_shapes(g);
  CompileOptions opt;
  opt.tiles["pw"] = {256, 256, 2, 14};
  Estimate e;
  std::string tiles;
  ASSERT_TRUE(estimate_group(g, arch_preset("diannao-large"), opt, Group{{c}}, e, &tiles));
  const TilePlan tp = plan_pointwise(Pipeline::Full);
  EXPECT_EQ(e.cycles, tp.est.cycles);
  EXPECT_EQ(e.dram_bytes(), 100352 * 2 + 131072);
  EXPECT_NE(tiles.find("co=256 ci=256 rows=2 cols=14"), std::string::npos) << tiles;
}

}  // namespace
}  // namespace fusesim::compiler
