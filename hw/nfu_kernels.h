// The NFU's arithmetic as tight plain-C++ loops (no SystemC), so it is unit-testable and fast.
// int16 mode: data int16 (Q8.8 / Q4.12), accumulators int32 (wrapping). fp32: float throughout.
// Semantics are those of docs/isa.md; element-level arithmetic comes from hw/isa/numerics.h.
#pragma once

#include <cstddef>
#include <cstdint>

#include "isa/isa.h"
#include "isa/numerics.h"

namespace fusesim::hw::kernels {

// Shape of one COMPUTE. Strides and dilations are >= 1. Input [cin][in_h][in_w], output
// [cout][out_h][out_w], conv weights [cout][cin][kh][kw], depthwise weights [cout][kh][kw].
struct Geometry {
  uint32_t cin = 1, cout = 1, in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  uint32_t kh = 1, kw = 1, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  bool depthwise = false;
  size_t in_elems() const { return size_t{cin} * in_h * in_w; }
  size_t out_elems() const { return size_t{cout} * out_h * out_w; }
  size_t weight_elems() const { return size_t{cout} * (depthwise ? 1 : cin) * kh * kw; }
};

// acc[co][y][x] += sum of products (NFU-1 multiplies, NFU-2 reduces). Callers set acc to the
// starting value (bias, zero or the partial sums) first.
void conv(const Geometry& g, const int16_t* in, const int16_t* w, int32_t* acc);
void conv(const Geometry& g, const float* in, const float* w, float* acc);

// Starting value of each output neuron from the biases (int16: Q8.8 shifted to product scale).
void bias_init(const Geometry& g, const int16_t* bias, unsigned shift, int32_t* acc);
void bias_init(const Geometry& g, const float* bias, float* acc);

// NFU-3 on `n` accumulators: int16 requantizes (round half up, saturate) then activates.
void finalize(int32_t* acc, size_t n, unsigned shift, const numerics::Nfu3& act);
void finalize(float* acc, size_t n, const numerics::Nfu3& act);

// Pooling over the kh x kw window of each channel; results are final values (activated).
void max_pool(const Geometry& g, const int16_t* in, const numerics::Nfu3& act, int32_t* out);
void max_pool(const Geometry& g, const float* in, const numerics::Nfu3& act, float* out);
void avg_pool(const Geometry& g, const int16_t* in, uint32_t divisor, const numerics::Nfu3& act, int32_t* out);
void avg_pool(const Geometry& g, const float* in, uint32_t divisor, const numerics::Nfu3& act, float* out);

// out[i] = act(out[i] + in[i]) (int16: saturating), and out[i] = act(in[i]).
void add(const int16_t* in, size_t n, const numerics::Nfu3& act, int32_t* out);
void add(const float* in, size_t n, const numerics::Nfu3& act, float* out);
// out[i] = act(out[i] * in[i]); int16: the Q8.8 product rounded half up and saturated.
void mul(const int16_t* in, size_t n, const numerics::Nfu3& act, int32_t* out);
void mul(const float* in, size_t n, const numerics::Nfu3& act, float* out);
void activate(const int16_t* in, size_t n, const numerics::Nfu3& act, int32_t* out);
void activate(const float* in, size_t n, const numerics::Nfu3& act, float* out);

}  // namespace fusesim::hw::kernels
