// Arithmetic of the NFU, shared by the hardware model (hw/nfu) and the reference executor
// (compiler/reference) so that int16 results are bit-exact by construction of one definition.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "isa.h"

namespace fusesim::numerics {

// int16 fixed point: activations are Q8.8, weights Q4.12. A product is Q12.20 and accumulates
// in a 32-bit two's-complement register that wraps (modular addition is associative, so any
// tiling of the reduction gives the same bits). NFU-3 shifts right by kWeightFrac with rounding
// and saturates to int16.
constexpr int kActFrac = 8;
constexpr int kWeightFrac = 12;
constexpr float kLeakySlope = 0.01f;  // LeakyRelu alpha (the ONNX default)

inline int16_t sat16(int64_t v) {
  return static_cast<int16_t>(std::clamp<int64_t>(v, INT16_MIN, INT16_MAX));
}

inline int16_t quantize(float x, int frac) {
  return sat16(static_cast<int64_t>(std::lround(static_cast<double>(x) * (1 << frac))));
}
inline float dequantize(int32_t q, int frac) { return static_cast<float>(q) / static_cast<float>(1 << frac); }

// Wrapping 32-bit accumulate (no signed-overflow UB).
inline int32_t acc_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
inline int32_t acc_mac(int32_t acc, int16_t x, int16_t w) {
  return acc_add(acc, static_cast<int32_t>(x) * static_cast<int32_t>(w));
}
// A bias in Q8.8 enters the accumulator at the product scale.
inline int32_t bias_to_acc(int16_t b, unsigned shift) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<int32_t>(b)) << shift);
}

// Round half up, then saturate.
inline int16_t requantize(int32_t acc, unsigned shift) {
  if (shift == 0) return sat16(acc);
  int64_t v = (static_cast<int64_t>(acc) + (int64_t{1} << (shift - 1))) >> shift;
  return sat16(v);
}

// NFU-3 piecewise-linear interpolation with 16 segments over [-range, range).
inline int16_t pwl16(int16_t x, double (*f)(double), double range) {
  const double lo = -range, seg = 2.0 * range / 16.0;
  const double xr = dequantize(x, kActFrac);
  if (xr < lo) return quantize(static_cast<float>(f(lo)), kActFrac);
  if (xr >= range) return quantize(static_cast<float>(f(range)), kActFrac);
  // Segment endpoints are exact values rounded to Q8.8; the interpolation is integer.
  const int k = std::min(15, static_cast<int>(std::floor((xr - lo) / seg)));
  const int32_t x0 = quantize(static_cast<float>(lo + k * seg), kActFrac);
  const int32_t x1 = quantize(static_cast<float>(lo + (k + 1) * seg), kActFrac);
  const int32_t y0 = quantize(static_cast<float>(f(lo + k * seg)), kActFrac);
  const int32_t y1 = quantize(static_cast<float>(f(lo + (k + 1) * seg)), kActFrac);
  return sat16(y0 + ((y1 - y0) * (x - x0)) / (x1 - x0));
}

inline double sigmoid_d(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double tanh_d(double x) { return std::tanh(x); }

inline int16_t activate_int16(isa::Activation a, int16_t x) {
  switch (a) {
    case isa::Activation::None: return x;
    case isa::Activation::Relu: return x < 0 ? 0 : x;
    case isa::Activation::Relu6: return std::clamp<int16_t>(x, 0, 6 << kActFrac);
    case isa::Activation::Sigmoid: return pwl16(x, sigmoid_d, 8.0);
    case isa::Activation::Tanh: return pwl16(x, tanh_d, 4.0);
    case isa::Activation::LeakyRelu:
      // alpha = 0.01 in Q8.8 arithmetic: x * round(0.01 * 256) / 256, rounded half up
      return x < 0 ? static_cast<int16_t>((static_cast<int32_t>(x) * 3 + 128) >> 8) : x;
  }
  return x;
}

inline float activate_fp32(isa::Activation a, float x) {
  switch (a) {
    case isa::Activation::None: return x;
    case isa::Activation::Relu: return x < 0.f ? 0.f : x;
    case isa::Activation::Relu6: return std::min(6.f, std::max(0.f, x));
    case isa::Activation::Sigmoid: return static_cast<float>(sigmoid_d(x));
    case isa::Activation::Tanh: return std::tanh(x);
    case isa::Activation::LeakyRelu: return x < 0.f ? x * kLeakySlope : x;
  }
  return x;
}

// Pooling. Max over the window; padding elements hold the most negative value. Average: the
// sum of the window (padding counts as zero) divided by the divisor, truncated toward zero in
// int16 and exact in fp32.
inline int16_t avg_int16(int32_t sum, int32_t divisor) { return sat16(sum / divisor); }
inline int16_t add_int16(int32_t a, int32_t b) { return sat16(static_cast<int64_t>(a) + b); }
constexpr int16_t kInt16Min = INT16_MIN;

}  // namespace fusesim::numerics
