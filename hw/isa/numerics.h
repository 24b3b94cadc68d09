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
inline double exp_d(double x) { return std::exp(x); }
inline double log_d(double x) { return std::log(x); }
inline double reciprocal_d(double x) { return 1.0 / x; }
inline double sqrt_d(double x) { return std::sqrt(x); }

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
    return sat16(y0 + (static_cast<int64_t>(y1 - y0) * (x - x0)) / (x1 - x0));
  }
  static constexpr int32_t kSeluGammaQ8 = 269;  // round(1.0507 * 256)

 private:
  PwlFunction fn_;
  std::vector<int16_t> xs_, ys_;
};

// exp, log, reciprocal and sqrt in int16 are range-reduced, as a DSP's or an NFU's function unit
// does them: the input is split into a power of two (a shift) and a fraction in [0, 1), and one
// `segments`-segment table over [0, 1) interpolates the fraction's function at 16 fractional bits:
//   exp(x)  = 2^n * 2^f              with x * log2(e) = n + f
//   log(x)  = (e - 8 + log2(1 + f)) * ln 2   with the Q8.8 integer x = (1 + f) * 2^e
//   1/x     = (1 / (1 + f)) * 2^-e   (Q8.8: 256/x), odd in x
//   sqrt(x) = sqrt(1 + f) * 2^(e/2) or sqrt(2 (1 + f)) * 2^((e-1)/2)
// The results are rounded half up to Q8.8 and saturated. The relative error is that of the
// [0, 1) table, under 1e-3 with 16 segments, so the Q8.8 rounding dominates (docs/onnx.md).
class UnitTable {
 public:
  static constexpr int kFrac = 16;  // fraction bits of the argument and of the values
  UnitTable(double (*f)(double), uint32_t segments) {
    for (uint32_t k = 0; k <= segments; ++k) {
      xs_.push_back(static_cast<int64_t>((static_cast<uint64_t>(k) << kFrac) / segments));
      ys_.push_back(std::llround(f(static_cast<double>(xs_.back()) / (1 << kFrac)) * (1 << kFrac)));
    }
  }
  // f(fr / 2^16) * 2^16 for fr in [0, 2^16).
  int64_t eval(int64_t fr) const {
    const std::size_t k = static_cast<std::size_t>(std::upper_bound(xs_.begin(), xs_.end(), fr) - xs_.begin()) - 1;
    const int64_t x0 = xs_[k], x1 = xs_[k + 1], y0 = ys_[k], y1 = ys_[k + 1];
    return y0 + ((y1 - y0) * (fr - x0)) / (x1 - x0);
  }

 private:
  std::vector<int64_t> xs_, ys_;
};
inline double pow2_unit(double f) { return std::exp2(f); }
inline double log2_unit(double f) { return std::log2(1.0 + f); }
inline double recip_unit(double f) { return 1.0 / (1.0 + f); }
inline double sqrt_unit(double f) { return std::sqrt(1.0 + f); }
inline double sqrt2_unit(double f) { return std::sqrt(2.0 * (1.0 + f)); }

// v / 2^s rounded half up (s >= 0), or v * 2^-s (s < 0), saturated to int16.
inline int16_t shift_round_sat(int64_t v, int s) {
  if (s <= 0) return -s >= 32 ? (v > 0 ? INT16_MAX : v < 0 ? INT16_MIN : 0) : sat16(v * (int64_t{1} << -s));
  if (s >= 62) return 0;
  return sat16((v + (int64_t{1} << (s - 1))) >> s);
}
// The position of the leading one of x > 0.
inline int leading_bit(int32_t x) {
  int e = 0;
  while ((x >> (e + 1)) != 0) ++e;
  return e;
}

// NFU-3's tables for every interpolated function, for one segment count.
class PwlTables {
 public:
  explicit PwlTables(uint32_t segments)
      : segments_(segments),
        pow2_(pow2_unit, segments),
        log2_(log2_unit, segments),
        recip_(recip_unit, segments),
        sqrt_(sqrt_unit, segments),
        sqrt2_(sqrt2_unit, segments) {
    for (const PwlFunction& fn : kPwlFunctions) tables_.emplace_back(fn, segments);
  }
  // exp(x / 256) in Q8.8.
  int16_t exp(int16_t x) const {
    constexpr int64_t kLog2eQ16 = 94548;  // round(log2(e) * 2^16)
    const int64_t t = static_cast<int64_t>(x) * kLog2eQ16;  // x * log2(e) at 24 fraction bits
    const int64_t n = t >= 0 ? t >> 24 : -((-t + (int64_t{1} << 24) - 1) >> 24);  // floor
    const int64_t fr = (t - n * (int64_t{1} << 24)) >> 8;  // [0, 2^16) (n may be negative: no left shift)
    // 2^n * p / 2^16 in Q8.8: p shifted right by 8 - n
    return shift_round_sat(pow2_.eval(fr), static_cast<int>(8 - n));
  }
  // log(x / 256) in Q8.8 for x > 0.
  int16_t log(int16_t x) const {
    constexpr int64_t kLn2Q16 = 45426;  // round(ln 2 * 2^16)
    const int e = leading_bit(x);
    const int64_t fr = ((static_cast<int64_t>(x) << UnitTable::kFrac) >> e) - (int64_t{1} << UnitTable::kFrac);
    const int64_t l2 = static_cast<int64_t>(e - 8) * (int64_t{1} << UnitTable::kFrac) + log2_.eval(fr);  // log2, 16 bits
    const int64_t v = l2 * kLn2Q16;  // ln at 32 fraction bits; Q8.8 wants 8
    return sat16(v >= 0 ? (v + (int64_t{1} << 23)) >> 24 : -((-v + (int64_t{1} << 23) - 1) >> 24));
  }
  // 256 / x in Q8.8 for x > 0.
  int16_t reciprocal(int16_t x) const {
    const int e = leading_bit(x);
    const int64_t fr = ((static_cast<int64_t>(x) << UnitTable::kFrac) >> e) - (int64_t{1} << UnitTable::kFrac);
    return shift_round_sat(recip_.eval(fr), e);
  }
  // sqrt(x / 256) in Q8.8 for x > 0.
  int16_t sqrt(int16_t x) const {
    const int e = leading_bit(x);
    const int64_t fr = ((static_cast<int64_t>(x) << UnitTable::kFrac) >> e) - (int64_t{1} << UnitTable::kFrac);
    const int64_t r = (e % 2 == 0 ? sqrt_ : sqrt2_).eval(fr);
    return shift_round_sat(r, 12 - e / 2);
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
  UnitTable pow2_, log2_, recip_, sqrt_, sqrt2_;
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

constexpr int16_t kInt16MinValue = INT16_MIN;

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
    case isa::Activation::Exp: return f.tables->exp(x);
    case isa::Activation::Sqrt: return x <= 0 ? 0 : f.tables->sqrt(x);  // (fp32: NaN below 0)
    case isa::Activation::Log:  // log 0 is -inf and a negative input has none: the lowest value
      return x <= 0 ? kInt16MinValue : f.tables->log(x);
    case isa::Activation::Reciprocal: {  // odd: 1/(-x) = -(1/x); 1/0 saturates
      if (x == 0) return INT16_MAX;
      const int16_t r = f.tables->reciprocal(x < 0 ? static_cast<int16_t>(x == INT16_MIN ? INT16_MAX : -x) : x);
      return x < 0 ? static_cast<int16_t>(-r) : r;
    }
    case isa::Activation::Abs: return x == INT16_MIN ? INT16_MAX : static_cast<int16_t>(x < 0 ? -x : x);
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
    case isa::Activation::Exp: return std::exp(x);
    case isa::Activation::Log: return std::log(x);
    case isa::Activation::Reciprocal: return 1.0f / x;
    case isa::Activation::Sqrt: return std::sqrt(x);
    case isa::Activation::Abs: return std::fabs(x);
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
