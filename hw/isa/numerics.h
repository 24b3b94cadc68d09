// Arithmetic of the NFU, shared by the hardware model (hw/nfu) and the reference executor
// (compiler/reference) so that int16 results are bit-exact by construction of one definition.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

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

// Round half away from zero (std::lround's rule), then saturate. x * 2^frac is exact in double and
// has at most 24 significant bits, so adding +-0.5 is exact and truncation rounds as lround does,
// without lround's library call (codegen quantizes every weight).
inline int16_t quantize(float x, int frac) {
  double v = static_cast<double>(x) * (1 << frac);
  if (!(v > -65536.0)) v = -65536.0;  // (NaN saturates low)
  if (v > 65536.0) v = 65536.0;
  return sat16(static_cast<int64_t>(v + (v >= 0 ? 0.5 : -0.5)));
}
// quantize over a span, into little-endian int16 at out (a loop the compiler vectorizes).
inline void quantize_span(const float* x, std::size_t n, int frac, uint8_t* out) {
  const double scale = static_cast<double>(1 << frac);
  // branch-free (random weight signs would mispredict): max/min, copysign and a truncation
  for (std::size_t j = 0; j < n; ++j) {
    double v = static_cast<double>(x[j]) * scale;
    v = v > -65536.0 ? v : -65536.0;  // (NaN saturates low, as in quantize)
    v = v < 65536.0 ? v : 65536.0;
    int32_t r = static_cast<int32_t>(v + std::copysign(0.5, v));
    r = r > INT16_MIN ? r : INT16_MIN;
    r = r < INT16_MAX ? r : INT16_MAX;
    const auto q = static_cast<int16_t>(r);
    std::memcpy(out + 2 * j, &q, 2);
  }
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

// NFU-3 evaluates the smooth functions by piecewise-linear interpolation, as DianNao does: a
// table of `segments` equal segments over a fixed input range per function (kPwlFunctions),
// knots and values rounded to Q8.8, integer interpolation between them. The segment count is
// the arch key nfu.pwl_segments; the hw model and the reference executor build the same table
// from it, so int16 results are bit-exact. fp32 evaluates the exact functions.
constexpr uint32_t kDefaultPwlSegments = 16;
constexpr uint32_t kMaxPwlSegments = 256;

// ONNX defaults, the only parameters NFU-3 implements (docs/onnx.md).
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluGamma = 1.0507009873554804934193349852946;
constexpr double kHardSigmoidAlpha = 0.2, kHardSigmoidBeta = 0.5;

inline double sigmoid_d(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double tanh_d(double x) { return std::tanh(x); }
inline double elu_d(double x) { return x >= 0 ? x : std::expm1(x); }
inline double selu_d(double x) { return kSeluGamma * (x >= 0 ? x : kSeluAlpha * std::expm1(x)); }
inline double softplus_d(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
inline double hard_sigmoid_d(double x) { return std::clamp(kHardSigmoidAlpha * x + kHardSigmoidBeta, 0.0, 1.0); }
inline double hard_swish_d(double x) { return x * std::clamp(x / 6.0 + 0.5, 0.0, 1.0); }

// How NFU-3 treats inputs outside a table's range: the end value, or the input itself (the
// function's asymptote there is the identity: softplus and hard-swish above the range; elu and
// selu are exact above 0).
enum class PwlBeyond { Clamp, Identity, Scaled };
struct PwlFunction {
  isa::Activation act;
  double (*f)(double);
  double lo, hi;
  PwlBeyond above;
};
// Input ranges: outside them the functions are within half a Q8.8 step of their end values
// (sigmoid, tanh, softplus below, elu/selu below), or exactly the identity (hard-swish).
constexpr PwlFunction kPwlFunctions[] = {
    {isa::Activation::Sigmoid, sigmoid_d, -8.0, 8.0, PwlBeyond::Clamp},
    {isa::Activation::Tanh, tanh_d, -4.0, 4.0, PwlBeyond::Clamp},
    {isa::Activation::Elu, elu_d, -8.0, 0.0, PwlBeyond::Identity},
    {isa::Activation::Selu, selu_d, -8.0, 0.0, PwlBeyond::Scaled},
    {isa::Activation::Softplus, softplus_d, -8.0, 8.0, PwlBeyond::Identity},
    {isa::Activation::HardSwish, hard_swish_d, -3.0, 3.0, PwlBeyond::Identity},
};

inline int16_t quantize_d(double x) { return sat16(std::llround(x * (1 << kActFrac))); }

// x * m / 2^8 rounded half up, saturated: a Q8.8 multiply by the Q8.8 constant m.
inline int16_t mul_q8(int32_t x, int32_t m) {
  return sat16((static_cast<int64_t>(x) * m + (int64_t{1} << (kActFrac - 1))) >> kActFrac);
}

// One function's table: segments + 1 knots (x_k, y_k) in Q8.8.
class PwlTable {
 public:
  PwlTable(const PwlFunction& fn, uint32_t segments) : fn_(fn) {
    const double step = (fn.hi - fn.lo) / segments;
    for (uint32_t k = 0; k <= segments; ++k) {
      const double x = k == segments ? fn.hi : fn.lo + k * step;
      xs_.push_back(quantize_d(x));
      ys_.push_back(quantize_d(fn.f(x)));
    }
  }
  int16_t eval(int16_t x) const {
    if (x < xs_.front()) return ys_.front();
    if (x >= xs_.back()) {
      switch (fn_.above) {
        case PwlBeyond::Clamp: return ys_.back();
        case PwlBeyond::Identity: return x;
        case PwlBeyond::Scaled: return mul_q8(x, kSeluGammaQ8);
      }
    }
    // The segment: the last knot at or below x.
    const std::size_t k = static_cast<std::size_t>(std::upper_bound(xs_.begin(), xs_.end(), x) - xs_.begin()) - 1;
    const int32_t x0 = xs_[k], x1 = xs_[k + 1], y0 = ys_[k], y1 = ys_[k + 1];
    return sat16(y0 + ((y1 - y0) * (x - x0)) / (x1 - x0));
  }
  static constexpr int32_t kSeluGammaQ8 = 269;  // round(1.0507 * 256)

 private:
  PwlFunction fn_;
  std::vector<int16_t> xs_, ys_;
};

// NFU-3's tables for every interpolated function, for one segment count.
class PwlTables {
 public:
  explicit PwlTables(uint32_t segments) : segments_(segments) {
    for (const PwlFunction& fn : kPwlFunctions) tables_.emplace_back(fn, segments);
  }
  uint32_t segments() const { return segments_; }
  // nullptr when `a` is not interpolated.
  const PwlTable* find(isa::Activation a) const {
    for (std::size_t i = 0; i < tables_.size(); ++i)
      if (kPwlFunctions[i].act == a) return &tables_[i];
    return nullptr;
  }

 private:
  uint32_t segments_;
  std::vector<PwlTable> tables_;
};

// The tables for a segment count, built once per process and shared (read-only afterwards).
inline const PwlTables& pwl_tables(uint32_t segments) {
  static std::mutex m;
  static std::map<uint32_t, std::unique_ptr<PwlTables>> cache;
  std::lock_guard<std::mutex> lock(m);
  auto& t = cache[segments];
  if (!t) t = std::make_unique<PwlTables>(segments);
  return *t;
}

// What NFU-3 applies: the activation and the interpolation tables of the arch it runs on.
// Converts implicitly from an Activation (default tables) for tables-agnostic callers.
struct Nfu3 {
  isa::Activation act = isa::Activation::None;
  const PwlTables* tables = nullptr;
  Nfu3(isa::Activation a, const PwlTables& t = pwl_tables(kDefaultPwlSegments))  // NOLINT: implicit
      : act(a), tables(&t) {}
};

// Floor division (rounding toward -inf) for the Q8.8 arithmetic below.
inline int32_t floor_div(int32_t a, int32_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

inline int16_t activate_int16(const Nfu3& f, int16_t x) {
  switch (f.act) {
    case isa::Activation::None: return x;
    case isa::Activation::Relu: return x < 0 ? 0 : x;
    case isa::Activation::Relu6: return std::clamp<int16_t>(x, 0, 6 << kActFrac);
    case isa::Activation::LeakyRelu:
      // alpha = 0.01 in Q8.8 arithmetic: x * round(0.01 * 256) / 256, rounded half up
      return x < 0 ? static_cast<int16_t>((static_cast<int32_t>(x) * 3 + 128) >> 8) : x;
    case isa::Activation::HardSigmoid:
      // One linear segment, clamped: round_half_up(x / 5) + 0.5, in [0, 1].
      return static_cast<int16_t>(std::clamp(floor_div(2 * x + 5, 10) + (1 << (kActFrac - 1)), 0, 1 << kActFrac));
    case isa::Activation::Sigmoid:
    case isa::Activation::Tanh:
    case isa::Activation::Elu:
    case isa::Activation::Selu:
    case isa::Activation::Softplus:
    case isa::Activation::HardSwish: return f.tables->find(f.act)->eval(x);
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
    case isa::Activation::Elu: return static_cast<float>(elu_d(x));
    case isa::Activation::Selu: return static_cast<float>(selu_d(x));
    case isa::Activation::Softplus: return static_cast<float>(softplus_d(x));
    case isa::Activation::HardSigmoid: return static_cast<float>(hard_sigmoid_d(x));
    case isa::Activation::HardSwish: return static_cast<float>(hard_swish_d(x));
  }
  return x;
}
inline float activate_fp32(const Nfu3& f, float x) { return activate_fp32(f.act, x); }

// Pooling. Max over the window; padding elements hold the most negative value. Average: the
// sum of the window (padding counts as zero) divided by the divisor, truncated toward zero in
// int16 and exact in fp32.
inline int16_t avg_int16(int32_t sum, int32_t divisor) { return sat16(sum / divisor); }
inline int16_t add_int16(int32_t a, int32_t b) { return sat16(static_cast<int64_t>(a) + b); }
constexpr int16_t kInt16Min = INT16_MIN;

}  // namespace fusesim::numerics
