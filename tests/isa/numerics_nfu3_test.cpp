// NFU-3's functions in int16: the piecewise-linear tables against the exact functions, the
// segment count's effect, and the exact piecewise-linear ones (hard sigmoid) bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "isa/numerics.h"

using namespace fusesim;
using isa::Activation;
namespace num = fusesim::numerics;

namespace {

// Max |PWL(x) - f(x)| over every Q8.8 input in [-16, 16), in real units.
double max_error(Activation a, double (*f)(double), uint32_t segments) {
  const num::Nfu3 fn(a, num::pwl_tables(segments));
  double worst = 0;
  for (int32_t q = -16 * 256; q < 16 * 256; ++q) {
    const double got = num::dequantize(num::activate_int16(fn, static_cast<int16_t>(q)), num::kActFrac);
    worst = std::max(worst, std::fabs(got - f(num::dequantize(q, num::kActFrac))));
  }
  return worst;
}

struct Case {
  Activation act;
  double (*f)(double);
  double bound16;  // documented in docs/onnx.md ("NFU-3 functions"), 16 segments
};
const Case kCases[] = {
    {Activation::Sigmoid, num::sigmoid_d, 0.017}, {Activation::Tanh, num::tanh_d, 0.028},
    {Activation::Elu, num::elu_d, 0.024},         {Activation::Selu, num::selu_d, 0.044},
    {Activation::Softplus, num::softplus_d, 0.028}, {Activation::HardSwish, num::hard_swish_d, 0.010},
};

}  // namespace

TEST(Nfu3, PwlErrorWithinTheDocumentedBoundAndFallsWithMoreSegments) {
  for (const Case& c : kCases) {
    const double e16 = max_error(c.act, c.f, 16), e64 = max_error(c.act, c.f, 64);
    std::printf("%-12s 16 segments %.5f  64 segments %.5f\n", isa::activation_name(c.act), e16, e64);
    EXPECT_LE(e16, c.bound16) << isa::activation_name(c.act);
    // Interpolation error falls as h^2; what remains with 64 segments is the integer
    // arithmetic: the truncating division (< 1 Q8.8 step) and the rounded knots (1/2 step).
    EXPECT_LT(e64, e16) << isa::activation_name(c.act);
    EXPECT_LT(e64, 2.0 / 256) << isa::activation_name(c.act);
  }
}

TEST(Nfu3, KnotsAreTheRoundedFunctionValues) {
  // With 16 segments sigmoid's knots are the integers -8..8: at a knot the table returns
  // f rounded to Q8.8, e.g. sigmoid(1) = 0.7311 -> 187/256 and sigmoid(-2) = 0.1192 -> 31/256.
  const num::Nfu3 sig(Activation::Sigmoid, num::pwl_tables(16));
  EXPECT_EQ(num::activate_int16(sig, 256), 187);
  EXPECT_EQ(num::activate_int16(sig, -512), 31);
  EXPECT_EQ(num::activate_int16(sig, 0), 128);
  // Outside the range: the end values; softplus and hard-swish continue as the identity above.
  EXPECT_EQ(num::activate_int16(sig, 20 * 256), 256);
  const num::Nfu3 sp(Activation::Softplus, num::pwl_tables(16));
  EXPECT_EQ(num::activate_int16(sp, 10 * 256), 10 * 256);
  const num::Nfu3 hs(Activation::HardSwish, num::pwl_tables(16));
  EXPECT_EQ(num::activate_int16(hs, -5 * 256), 0);
  EXPECT_EQ(num::activate_int16(hs, 5 * 256), 5 * 256);
  // elu and selu are exact at and above 0: x, and round(1.0507 * 256) / 256 * x.
  const num::Nfu3 elu(Activation::Elu), selu(Activation::Selu);
  EXPECT_EQ(num::activate_int16(elu, 300), 300);
  EXPECT_EQ(num::activate_int16(selu, 256), 269);
}

TEST(Nfu3, HardSigmoidIsExactToTheRounding) {
  // clip(0.2 x + 0.5, 0, 1): one segment with clamps, rounded half up like requantization.
  for (int32_t q = -8 * 256; q < 8 * 256; ++q) {
    const double want = std::floor(std::clamp(0.2 * q + 128, 0.0, 256.0) + 0.5);
    ASSERT_EQ(num::activate_int16(Activation::HardSigmoid, static_cast<int16_t>(q)), want) << q;
  }
}

TEST(Nfu3, SixteenSegmentsKeepTheV3SigmoidAndTanh) {
  // Before the table moved to the arch config, sigmoid and tanh were fixed 16-segment tables
  // over [-8, 8) and [-4, 4): the default must give the same bits (tanh(0.25) -> 59/256:
  // knots 0 -> 0 and 0.5 -> 118, interpolated (118 * 64) / 128 = 59).
  const num::Nfu3 th(Activation::Tanh);
  EXPECT_EQ(num::activate_int16(th, 64), 59);
  EXPECT_EQ(num::activate_int16(th, 128), 118);
}

TEST(Nfu3, Fp32IsExact) {
  EXPECT_FLOAT_EQ(num::activate_fp32(Activation::Selu, -1.0f), static_cast<float>(num::kSeluGamma * num::kSeluAlpha * std::expm1(-1.0)));
  EXPECT_FLOAT_EQ(num::activate_fp32(Activation::Softplus, 30.0f), 30.0f);
  EXPECT_FLOAT_EQ(num::activate_fp32(Activation::HardSwish, 1.0f), 1.0f * (1.0f / 6 + 0.5f));
  EXPECT_FLOAT_EQ(num::activate_fp32(Activation::HardSigmoid, -3.0f), 0.0f);
}

// exp, log, reciprocal and sqrt are range-reduced (a shift and a [0, 1) table): their error
// is the Q8.8 rounding of the result plus the table's, bounded over the whole int16 domain
// (docs/onnx.md, "NFU-3 functions"), and exact at the points where the reduction is exact.
TEST(Nfu3, RangeReducedFunctionsAreAccurateOverTheWholeDomain) {
  struct Reduced {
    Activation act;
    double (*f)(double);
    int32_t lo, hi;   // Q8.8 inputs [lo, hi)
    double bound16;   // max |got - exact| with 16 segments, exact value saturated to int16's range
  };
  const Reduced cases[] = {{Activation::Exp, num::exp_d, -32768, 32768, 0.027},
                           {Activation::Log, num::log_d, 1, 32768, 0.0025},
                           {Activation::Reciprocal, num::reciprocal_d, 1, 32768, 0.0081},
                           {Activation::Sqrt, num::sqrt_d, 0, 32768, 0.0030}};
  for (const Reduced& c : cases) {
    for (uint32_t segments : {16u, 64u}) {
      const num::Nfu3 fn(c.act, num::pwl_tables(segments));
      double worst = 0;
      for (int32_t q = c.lo; q < c.hi; ++q) {
        const double exact = std::clamp(c.f(q / 256.0), -128.0, 32767.0 / 256);
        worst = std::max(worst, std::fabs(num::activate_int16(fn, static_cast<int16_t>(q)) / 256.0 - exact));
      }
      std::printf("%-11s %2u segments %.5f\n", isa::activation_name(c.act), segments, worst);
      EXPECT_LE(worst, c.bound16) << isa::activation_name(c.act) << " " << segments;
    }
  }
  const num::Nfu3 ex(Activation::Exp), lg(Activation::Log), rc(Activation::Reciprocal), sq(Activation::Sqrt),
      ab(Activation::Abs);
  EXPECT_EQ(num::activate_int16(ex, 0), 256);       // e^0 = 1
  EXPECT_EQ(num::activate_int16(ex, -4096), 0);     // e^-16 rounds to 0
  EXPECT_EQ(num::activate_int16(ex, 2048), 32767);  // e^8 saturates
  EXPECT_EQ(num::activate_int16(lg, 256), 0);       // log 1 = 0
  EXPECT_EQ(num::activate_int16(lg, 0), INT16_MIN);  // log 0 = -inf: the lowest value
  EXPECT_EQ(num::activate_int16(lg, -5), INT16_MIN);
  EXPECT_EQ(num::activate_int16(rc, 256), 256);   // 1/1
  EXPECT_EQ(num::activate_int16(rc, 512), 128);   // 1/2
  EXPECT_EQ(num::activate_int16(rc, -1024), -64);  // odd: 1/-4
  EXPECT_EQ(num::activate_int16(rc, 0), INT16_MAX);
  EXPECT_EQ(num::activate_int16(sq, 1024), 512);  // sqrt 4 = 2
  EXPECT_EQ(num::activate_int16(sq, 64), 128);    // sqrt 1/4 = 1/2
  EXPECT_EQ(num::activate_int16(sq, -3), 0);
  EXPECT_EQ(num::activate_int16(ab, -300), 300);
  EXPECT_EQ(num::activate_int16(ab, INT16_MIN), INT16_MAX);
}
