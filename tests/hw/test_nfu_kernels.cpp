// NFU arithmetic against values worked out by hand, in int16 (Q8.8 data, Q4.12 weights) and fp32.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "nfu_kernels.h"

namespace fusesim::hw::kernels {
namespace {

using isa::Activation;

int16_t q88(double v) { return static_cast<int16_t>(v * 256); }
int16_t q412(double v) { return static_cast<int16_t>(v * 4096); }

Geometry conv_geometry(uint32_t cin, uint32_t cout, uint32_t in, uint32_t k, uint32_t stride = 1,
                       uint32_t dil = 1) {
  Geometry g;
  g.cin = cin;
  g.cout = cout;
  g.in_h = g.in_w = in;
  g.kh = g.kw = k;
  g.stride_h = g.stride_w = stride;
  g.dil_h = g.dil_w = dil;
  g.out_h = g.out_w = (in - dil * (k - 1) - 1) / stride + 1;
  return g;
}

// in = 1..9 on a 3x3 map; the 2x2 kernel [[1, 0], [0, -1]] gives in[y][x] - in[y+1][x+1] = -4.
TEST(NfuKernels, Int16ConvDiagonalDifference) {
  const Geometry g = conv_geometry(1, 1, 3, 2);
  std::vector<int16_t> in;
  for (int v = 1; v <= 9; ++v) in.push_back(q88(v));
  const std::vector<int16_t> w = {q412(1), 0, 0, q412(-1)};
  std::vector<int32_t> acc(4, 0);
  conv(g, in.data(), w.data(), acc.data());
  // Products are Q12.20: -4.0 is -4 * 2^20.
  for (int32_t a : acc) EXPECT_EQ(a, -4 * (1 << 20));
  // NFU-3: >> 12 gives Q8.8 -1024 (-4.0); ReLU clamps it to 0.
  std::vector<int32_t> plain = acc, relu = acc;
  finalize(plain.data(), plain.size(), 12, Activation::None);
  finalize(relu.data(), relu.size(), 12, Activation::Relu);
  EXPECT_EQ(plain, std::vector<int32_t>(4, -1024));
  EXPECT_EQ(relu, std::vector<int32_t>(4, 0));
}

// A bias of 0.5 enters at product scale (128 << 12): -4 + 0.5 = -3.5 = -896 in Q8.8.
TEST(NfuKernels, Int16BiasEntersShifted) {
  const Geometry g = conv_geometry(1, 1, 3, 2);
  std::vector<int16_t> in;
  for (int v = 1; v <= 9; ++v) in.push_back(q88(v));
  const std::vector<int16_t> w = {q412(1), 0, 0, q412(-1)}, bias = {q88(0.5)};
  std::vector<int32_t> acc(4);
  bias_init(g, bias.data(), 12, acc.data());
  EXPECT_EQ(acc[0], 128 << 12);
  conv(g, in.data(), w.data(), acc.data());
  finalize(acc.data(), acc.size(), 12, Activation::None);
  EXPECT_EQ(acc, std::vector<int32_t>(4, -896));
}

TEST(NfuKernels, Int16RequantizeRoundsHalfUpAndSaturates) {
  // 1.5 / 4096 above an integer rounds up; 200.0 saturates to 127.996 (32767).
  std::vector<int32_t> acc = {(5 << 12) + (1 << 11), (5 << 12) + (1 << 11) - 1, 200 * (1 << 20)};
  finalize(acc.data(), acc.size(), 12, Activation::None);
  EXPECT_EQ(acc, (std::vector<int32_t>{6, 5, 32767}));
}

TEST(NfuKernels, Fp32ConvMatchesHandValues) {
  const Geometry g = conv_geometry(1, 1, 3, 2);
  const std::vector<float> in = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w = {1, 0, 0, -1}, bias = {0.5f};
  std::vector<float> acc(4);
  bias_init(g, bias.data(), acc.data());
  conv(g, in.data(), w.data(), acc.data());
  finalize(acc.data(), acc.size(), Activation::Relu);
  EXPECT_EQ(acc, std::vector<float>(4, 0.f));  // -3.5 clamped
}

// 5x5 map holding 0..24. A 1x1 kernel of weight 1 with stride 2 samples every other element;
// a 2x2 kernel of ones with dilation 2 sums in[y][x] + in[y][x+2] + in[y+2][x] + in[y+2][x+2]
// = 4 * in[y][x] + 24.
TEST(NfuKernels, Fp32StrideAndDilation) {
  std::vector<float> in(25);
  for (int i = 0; i < 25; ++i) in[i] = static_cast<float>(i);
  const Geometry strided = conv_geometry(1, 1, 5, 1, 2);
  const std::vector<float> one = {1};
  std::vector<float> acc(9, 0.f);
  conv(strided, in.data(), one.data(), acc.data());
  EXPECT_EQ(acc, (std::vector<float>{0, 2, 4, 10, 12, 14, 20, 22, 24}));

  const Geometry dilated = conv_geometry(1, 1, 5, 2, 1, 2);
  ASSERT_EQ(dilated.out_h, 3u);
  const std::vector<float> ones(4, 1.f);
  std::fill(acc.begin(), acc.end(), 0.f);
  conv(dilated, in.data(), ones.data(), acc.data());
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 3; ++x) EXPECT_EQ(acc[y * 3 + x], 4.f * (5 * y + x) + 24.f);
}

// Channel 0: 1, 2, 3, 4 with weights of 1 sums to 10; channel 1: ones with weights 0.5 give 2.
TEST(NfuKernels, DwConvUsesOneFilterPerChannel) {
  Geometry g = conv_geometry(2, 2, 2, 2);
  g.depthwise = true;
  const std::vector<float> in = {1, 2, 3, 4, 1, 1, 1, 1}, w = {1, 1, 1, 1, .5f, .5f, .5f, .5f};
  std::vector<float> acc(2, 0.f);
  conv(g, in.data(), w.data(), acc.data());
  EXPECT_EQ(acc, (std::vector<float>{10.f, 2.f}));

  std::vector<int16_t> in16, w16;
  for (float v : in) in16.push_back(q88(v));
  for (float v : w) w16.push_back(q412(v));
  std::vector<int32_t> acc16(2, 0);
  conv(g, in16.data(), w16.data(), acc16.data());
  finalize(acc16.data(), 2, 12, Activation::None);
  EXPECT_EQ(acc16, (std::vector<int32_t>{q88(10), q88(2)}));
}

// Splitting the input channels into two passes (the second accumulating onto the first's
// partial sums) gives exactly the same bits as one pass: the int32 sum wraps modularly.
TEST(NfuKernels, Int16AccumulateOverTwoHalvesIsBitExact) {
  const uint32_t cin = 6, cout = 3, half = 3;
  const Geometry full = conv_geometry(cin, cout, 5, 3);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> dist(INT16_MIN, INT16_MAX);  // extreme values make the sum wrap
  std::vector<int16_t> in(full.in_elems()), w(full.weight_elems());
  for (auto& v : in) v = static_cast<int16_t>(dist(rng));
  for (auto& v : w) v = static_cast<int16_t>(dist(rng));
  std::vector<int32_t> one_pass(full.out_elems(), 0), two_pass(full.out_elems(), 0);
  conv(full, in.data(), w.data(), one_pass.data());

  Geometry part = full;
  part.cin = half;
  const size_t plane = size_t{full.in_h} * full.in_w, taps = 9;
  for (uint32_t h = 0; h < 2; ++h) {
    std::vector<int16_t> wpart;
    for (uint32_t co = 0; co < cout; ++co)
      for (uint32_t ci = h * half; ci < (h + 1) * half; ++ci)
        wpart.insert(wpart.end(), w.begin() + (co * cin + ci) * taps, w.begin() + (co * cin + ci + 1) * taps);
    conv(part, in.data() + h * half * plane, wpart.data(), two_pass.data());
  }
  EXPECT_EQ(one_pass, two_pass);
}

// 4x4 map, 2x2 windows with stride 2: maxima by hand; ReLU applies after the max.
// The int16 conv (im2col + GEMM for dense convs) equals the textbook loop with int32 wrap-around,
// over random shapes (FC tiles, strides, dilations, rectangular maps, channel counts off the
// 4-row blocking) and extreme values, so that products and sums overflow and wrap.
TEST(NfuKernels, Int16ConvMatchesTextbookLoopWithWrapAround) {
  std::mt19937 rng(13);
  auto pick = [&](uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(rng); };
  for (int trial = 0; trial < 300; ++trial) {
    Geometry g;
    g.depthwise = trial % 10 == 9;
    g.cout = pick(1, 19);
    g.cin = g.depthwise ? g.cout : pick(1, 40);
    g.kh = pick(1, 5);
    g.kw = pick(1, 7);  // every constant-width im2col copy but 11 (alexnet conv1: perf.golden)
    g.stride_h = pick(1, 3);
    g.stride_w = pick(1, 3);
    g.dil_h = pick(1, 2);
    g.dil_w = pick(1, 2);
    g.out_h = pick(1, 6);
    g.out_w = pick(1, 9);
    if (trial % 5 == 0) g.kh = g.kw = g.out_h = g.out_w = 1;  // an FC tile
    g.in_h = (g.out_h - 1) * g.stride_h + (g.kh - 1) * g.dil_h + 1 + pick(0, 2);
    g.in_w = (g.out_w - 1) * g.stride_w + (g.kw - 1) * g.dil_w + 1 + pick(0, 2);
    std::uniform_int_distribution<int> any(-32768, 32767);
    const bool extreme = trial % 3 == 0;  // all -32768: every product is 2^30, sums wrap
    std::vector<int16_t> in(g.in_elems()), w(g.weight_elems());
    for (auto& v : in) v = static_cast<int16_t>(extreme ? -32768 : any(rng));
    for (auto& v : w) v = static_cast<int16_t>(extreme ? -32768 : any(rng));
    std::vector<int32_t> acc(g.out_elems());
    for (auto& v : acc) v = any(rng) * 65536;
    std::vector<int32_t> want = acc;
    for (uint32_t co = 0; co < g.cout; ++co)
      for (uint32_t y = 0; y < g.out_h; ++y)
        for (uint32_t x = 0; x < g.out_w; ++x) {
          uint32_t sum = static_cast<uint32_t>(want[(size_t{co} * g.out_h + y) * g.out_w + x]);
          const uint32_t ci0 = g.depthwise ? co : 0, ci1 = g.depthwise ? co + 1 : g.cin;
          for (uint32_t ci = ci0; ci < ci1; ++ci)
            for (uint32_t i = 0; i < g.kh; ++i)
              for (uint32_t j = 0; j < g.kw; ++j) {
                const size_t wi = ((g.depthwise ? size_t{co} : size_t{co} * g.cin + ci) * g.kh + i) * g.kw + j;
                const size_t ii = (size_t{ci} * g.in_h + y * g.stride_h + i * g.dil_h) * g.in_w + x * g.stride_w +
                                  j * g.dil_w;
                sum += static_cast<uint32_t>(int64_t{in[ii]} * w[wi]);
              }
          want[(size_t{co} * g.out_h + y) * g.out_w + x] = static_cast<int32_t>(sum);
        }
    conv(g, in.data(), w.data(), acc.data());
    ASSERT_EQ(acc, want) << "trial " << trial << ": cin " << g.cin << " cout " << g.cout << " k " << g.kh << "x"
                         << g.kw << " out " << g.out_h << "x" << g.out_w;
  }
}

TEST(NfuKernels, MaxPool) {
  Geometry g = conv_geometry(1, 1, 4, 2, 2);
  const std::vector<int16_t> in = {1, 5,  -2, -3,  //
                                   4, 2,  -8, -1,  //
                                   0, 0,  7,  7,   //
                                   0, -1, 7,  9};
  std::vector<int32_t> out(4), relu(4);
  max_pool(g, in.data(), Activation::None, out.data());
  EXPECT_EQ(out, (std::vector<int32_t>{5, -1, 0, 9}));
  max_pool(g, in.data(), Activation::Relu, relu.data());
  EXPECT_EQ(relu, (std::vector<int32_t>{5, 0, 0, 9}));
  const std::vector<float> inf(in.begin(), in.end());
  std::vector<float> outf(4);
  max_pool(g, inf.data(), Activation::None, outf.data());
  EXPECT_EQ(outf, (std::vector<float>{5, -1, 0, 9}));
}

// int16 average truncates toward zero: -3/4 -> 0, 7/4 -> 1, -9/4 -> -2; a divisor of 3 given
// explicitly replaces kh*kw.
TEST(NfuKernels, AvgPoolTruncatesTowardZero) {
  Geometry g = conv_geometry(1, 1, 2, 2);
  g.cout = 3;
  g.cin = 3;
  const std::vector<int16_t> in = {-3, 0, 0, 0, 7, 0, 0, 0, -9, 0, 0, 0};
  std::vector<int32_t> out(3);
  avg_pool(g, in.data(), 0, Activation::None, out.data());
  EXPECT_EQ(out, (std::vector<int32_t>{0, 1, -2}));
  avg_pool(g, in.data(), 3, Activation::None, out.data());
  EXPECT_EQ(out, (std::vector<int32_t>{-1, 2, -3}));
  const std::vector<float> inf(in.begin(), in.end());
  std::vector<float> outf(3);
  avg_pool(g, inf.data(), 0, Activation::None, outf.data());
  EXPECT_EQ(outf, (std::vector<float>{-0.75f, 1.75f, -2.25f}));
}

TEST(NfuKernels, AddSaturatesAndActivates) {
  const std::vector<int16_t> in = {10000, -10000, 5};
  std::vector<int32_t> out = {30000, -30000, -9};
  add(in.data(), 3, Activation::Relu, out.data());
  EXPECT_EQ(out, (std::vector<int32_t>{32767, 0, 0}));
  const std::vector<float> inf = {1.5f, -2.f};
  std::vector<float> outf = {1.f, 1.f};
  add(inf.data(), 2, Activation::None, outf.data());
  EXPECT_EQ(outf, (std::vector<float>{2.5f, -1.f}));
}

TEST(NfuKernels, ActCopiesThroughNfu3) {
  const std::vector<int16_t> in = {q88(7), q88(-1), q88(3)};
  std::vector<int32_t> out(3);
  activate(in.data(), 3, Activation::Relu6, out.data());
  EXPECT_EQ(out, (std::vector<int32_t>{q88(6), 0, q88(3)}));
}

}  // namespace
}  // namespace fusesim::hw::kernels

namespace fusesim::hw::kernels {
namespace {

// finalize's vectorized None and ReLU loops against requantize and activate element by element:
// every shift the ISA field holds (0 to 31), random accumulators over the whole int32 range and
// the edges where rounding and saturation turn.
TEST(NfuKernels, FinalizeMatchesRequantizeAndActivate) {
  std::mt19937 rng(5);
  std::vector<int32_t> base;
  for (int i = 0; i < 20000; ++i) base.push_back(static_cast<int32_t>(rng()));
  for (int32_t v : {0, 1, -1, 2, -2, INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1, 32767, 32768, -32768,
                    -32769, 65535, -65536, (1 << 20) - 1, -(1 << 20)})
    base.push_back(v);
  for (unsigned shift = 0; shift < 32; ++shift) {
    for (int b = 0; b < 31; ++b) {  // values around the rounding point of this shift
      const int64_t half = shift ? int64_t{1} << (shift - 1) : 0, p = int64_t{1} << b;
      base.push_back(static_cast<int32_t>(std::min<int64_t>(p + half - 1, INT32_MAX)));
      base.push_back(static_cast<int32_t>(std::max<int64_t>(-p - half, INT32_MIN)));
    }
  }
  for (Activation act : {Activation::None, Activation::Relu}) {
    const numerics::Nfu3 f(act);
    for (unsigned shift = 0; shift < 32; ++shift) {
      std::vector<int32_t> got = base;
      finalize(got.data(), got.size(), shift, f);
      for (size_t i = 0; i < base.size(); ++i)
        ASSERT_EQ(got[i], numerics::activate_int16(f, numerics::requantize(base[i], shift)))
            << "acc " << base[i] << " shift " << shift << " act " << static_cast<int>(act);
    }
  }
}

}  // namespace
}  // namespace fusesim::hw::kernels
