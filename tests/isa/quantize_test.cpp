// numerics::quantize and quantize_span round half away from zero and saturate, exactly as
// sat16(llround(x * 2^frac)) (the definition they replaced, without its library call), over
// random floats of every magnitude that matters, the half-way points, signed zeros and NaN; and
// the mul op's Q8.8 product.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "isa/numerics.h"

namespace fusesim::numerics {
namespace {

int16_t by_llround(float x, int frac) {
  if (std::isnan(x)) return INT16_MIN;
  if (std::isinf(x)) return x > 0 ? INT16_MAX : INT16_MIN;  // (llround of an infinity is undefined)
  return sat16(std::clamp<long long>(std::llround(static_cast<double>(x) * (1 << frac)), -65536, 65536));
}

std::vector<float> cases() {
  std::vector<float> v = {0.0f, -0.0f, 0.5f / 4096, -0.5f / 4096, 1.5f / 4096, -1.5f / 4096, 2.5f / 4096,
                          7.99987793f, -8.0f, 8.0f, 1e9f, -1e9f, std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()};
  for (int k = -40000; k <= 40000; k += 7) v.push_back((k + 0.5f) / 256);  // every Q8.8 half-way point class
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int e = -12; e <= 18; ++e)
    for (int k = 0; k < 2000; ++k) v.push_back(std::ldexp(u(gen), e));
  return v;
}

TEST(Quantize, RoundsHalfAwayFromZeroAndSaturatesAsLlround) {
  const std::vector<float> v = cases();
  for (int frac : {8, 12}) {
    std::vector<uint8_t> span(v.size() * 2);
    quantize_span(v.data(), v.size(), frac, span.data());
    for (std::size_t k = 0; k < v.size(); ++k) {
      int16_t s;
      std::memcpy(&s, &span[2 * k], 2);
      ASSERT_EQ(quantize(v[k], frac), by_llround(v[k], frac)) << v[k] << " frac " << frac;
      ASSERT_EQ(s, quantize(v[k], frac)) << v[k] << " frac " << frac;
    }
  }
  // worked by hand: 1.5/256 -> 1.5 -> 2, -1.5/256 -> -2, 2.5/256 -> 3 (half away from zero)
  EXPECT_EQ(quantize(1.5f / 256, 8), 2);
  EXPECT_EQ(quantize(-1.5f / 256, 8), -2);
  EXPECT_EQ(quantize(2.5f / 256, 8), 3);
  EXPECT_EQ(quantize(200.0f, 8), INT16_MAX);
  EXPECT_EQ(quantize(std::numeric_limits<float>::infinity(), 8), INT16_MAX);
}

TEST(Quantize, MulIsTheQ88ProductRoundedHalfUp) {
  // 1.5 * -2.25 = -3.375: 384 * -576 = -221184; (-221184 + 128) >> 8 = -864 (-3.375 exactly)
  EXPECT_EQ(mul_q8(384, -576), -864);
  // 0.5 * 0.00390625 (raw 128 * 1 = 128): (128 + 128) >> 8 = 1, the half rounded up
  EXPECT_EQ(mul_q8(128, 1), 1);
  EXPECT_EQ(mul_q8(-128, 1), 0);  // -0.5 lsb rounds up to 0
  EXPECT_EQ(mul_q8(32767, 32767), INT16_MAX);  // saturates
}

}  // namespace
}  // namespace fusesim::numerics
