// NFU kernels. One template per operation serves both number formats through a small traits
// struct; the conv loop is ordered so that its innermost loop runs along an output row with a
// scalar weight, which the compiler vectorizes when the stride is 1. A dense int16 conv (and FC)
// runs instead as im2col plus a GEMM of int16 dot products (pmaddwd), which wrapping int32
// accumulation allows in any order: the bits are the same.
#include "nfu_kernels.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "isa/numerics.h"

namespace fusesim::hw::kernels {
namespace {

namespace num = fusesim::numerics;

struct Int16Math {
  using Data = int16_t;
  using Acc = int32_t;
  // Wrapping multiply-accumulate (modular, so any split of the reduction gives the same bits).
  static Acc mac(Acc a, Data x, Data w) {
    return static_cast<Acc>(static_cast<uint32_t>(a) + static_cast<uint32_t>(int32_t{x} * int32_t{w}));
  }
  static Data lowest() { return num::kInt16Min; }
  static Acc act(const numerics::Nfu3& a, int32_t v) { return num::activate_int16(a, num::sat16(v)); }
  static Acc average(int32_t sum, uint32_t div) { return num::avg_int16(sum, static_cast<int32_t>(div)); }
  static Acc add(Acc a, Data b) { return num::add_int16(a, b); }
  static Acc mul(Acc a, Data b) { return num::mul_q8(num::sat16(a), b); }
};

struct Fp32Math {
  using Data = float;
  using Acc = float;
  static Acc mac(Acc a, Data x, Data w) { return a + x * w; }
  static Data lowest() { return -std::numeric_limits<float>::infinity(); }
  static Acc act(const numerics::Nfu3& a, float v) { return num::activate_fp32(a, v); }
  static Acc average(float sum, uint32_t div) { return sum / static_cast<float>(div); }
  static Acc add(Acc a, Data b) { return a + b; }
  static Acc mul(Acc a, Data b) { return a * b; }
};

// One (input channel, kernel tap) of one output channel over the whole output plane.
template <class M, bool kUnitStride>
void conv_tap(const Geometry& g, const typename M::Data* in_ch, typename M::Data w, uint32_t i, uint32_t j,
              typename M::Acc* plane) {
  for (uint32_t y = 0; y < g.out_h; ++y) {
    const typename M::Data* row = in_ch + size_t{y * g.stride_h + i * g.dil_h} * g.in_w + j * g.dil_w;
    typename M::Acc* out = plane + size_t{y} * g.out_w;
    if constexpr (kUnitStride) {
      for (uint32_t x = 0; x < g.out_w; ++x) out[x] = M::mac(out[x], row[x], w);
    } else {
      for (uint32_t x = 0; x < g.out_w; ++x) out[x] = M::mac(out[x], row[size_t{x} * g.stride_w], w);
    }
  }
}

template <class M>
void conv_t(const Geometry& g, const typename M::Data* in, const typename M::Data* w, typename M::Acc* acc) {
  const size_t in_plane = size_t{g.in_h} * g.in_w, taps = size_t{g.kh} * g.kw;
  for (uint32_t co = 0; co < g.cout; ++co) {
    typename M::Acc* plane = acc + size_t{co} * g.out_h * g.out_w;
    const uint32_t ci_begin = g.depthwise ? co : 0, ci_end = g.depthwise ? co + 1 : g.cin;
    for (uint32_t ci = ci_begin; ci < ci_end; ++ci) {
      const typename M::Data* wk = w + (g.depthwise ? size_t{co} : size_t{co} * g.cin + ci) * taps;
      for (uint32_t i = 0; i < g.kh; ++i)
        for (uint32_t j = 0; j < g.kw; ++j) {
          const auto wv = wk[size_t{i} * g.kw + j];
          if (g.stride_w == 1)
            conv_tap<M, true>(g, in + ci * in_plane, wv, i, j, plane);
          else
            conv_tap<M, false>(g, in + ci * in_plane, wv, i, j, plane);
        }
    }
  }
}

// Dot products of one im2col row `c` with `kRows` weight rows of `k` elements, accumulated with
// int32 wrap-around into out[r * out_stride]. The products are summed in uint32 (modular, like the
// NFU's int32 accumulators), which also lets the compiler reorder them into pmaddwd reductions.
template <int kRows>
inline void dot_rows(const int16_t* c, const int16_t* w, size_t k, int32_t* out, size_t out_stride) {
  uint32_t sum[kRows] = {};
  for (size_t i = 0; i < k; ++i)
    for (int r = 0; r < kRows; ++r)
      sum[r] += static_cast<uint32_t>(int32_t{c[i]} * int32_t{w[r * k + i]});
  for (int r = 0; r < kRows; ++r)
    out[r * out_stride] = static_cast<int32_t>(static_cast<uint32_t>(out[r * out_stride]) + sum[r]);
}

// Two im2col rows (c, c + k) against four weight rows: 8 dot products, out[r * out_stride + q].
inline void dot_2x4(const int16_t* c, const int16_t* w, size_t k, int32_t* out, size_t out_stride) {
  uint32_t s0[4] = {}, s1[4] = {};
  const int16_t* c1 = c + k;
  for (size_t i = 0; i < k; ++i)
    for (int r = 0; r < 4; ++r) {
      const int32_t wv = w[r * k + i];
      s0[r] += static_cast<uint32_t>(int32_t{c[i]} * wv);
      s1[r] += static_cast<uint32_t>(int32_t{c1[i]} * wv);
    }
  for (int r = 0; r < 4; ++r) {
    out[r * out_stride] = static_cast<int32_t>(static_cast<uint32_t>(out[r * out_stride]) + s0[r]);
    out[r * out_stride + 1] = static_cast<int32_t>(static_cast<uint32_t>(out[r * out_stride + 1]) + s1[r]);
  }
}

// The receptive field of every output position as one row of col ([out_h * out_w][cin * kh * kw],
// in the weights' (ci, i, j) order). The geometry is read into locals first (stores into col
// could alias a field of g, so the compiler would reload each one per copy), and each kernel
// row's offset in the window is worked out once. KW > 0: undilated rows of KW elements, copies
// of a constant size that compile to moves (std::copy_n of a run-time count is a memmove call
// per row); KW = 0: any width and dilation.
template <int KW>
void im2col_rows(const Geometry& g, const int16_t* in, int16_t* col) {
  const size_t kw = g.kw, dw = g.dil_w, sh = g.stride_h, sw = g.stride_w, in_w = g.in_w;
  const size_t out_h = g.out_h, out_w = g.out_w, nrows = size_t{g.cin} * g.kh;
  thread_local std::vector<size_t> offs;
  offs.resize(nrows);
  for (size_t ci = 0; ci < g.cin; ++ci)
    for (size_t i = 0; i < g.kh; ++i) offs[ci * g.kh + i] = (ci * g.in_h + i * g.dil_h) * in_w;
  const size_t* off = offs.data();
  for (size_t y = 0; y < out_h; ++y)
    for (size_t x = 0; x < out_w; ++x) {
      const int16_t* base = in + y * sh * in_w + x * sw;
      // 3-wide rows as one 8-byte move where the 4th element is still in the input row and the
      // position is not the last (its extra element lands in a slot written after it)
      if (KW == 3 && x + 1 < out_w && x * sw + 4 <= in_w) {
        for (size_t r = 0; r < nrows; ++r, col += 3) std::memcpy(col, base + off[r], 4 * sizeof(int16_t));
        continue;
      }
      for (size_t r = 0; r < nrows; ++r) {
        const int16_t* row = base + off[r];
        if constexpr (KW > 0) {
          std::memcpy(col, row, KW * sizeof(int16_t));
          col += KW;
        } else {
          for (size_t j = 0; j < kw; ++j) *col++ = row[j * dw];
        }
      }
    }
}

void im2col(const Geometry& g, const int16_t* in, int16_t* col) {
  if (g.dil_w == 1) switch (g.kw) {
      case 1: return im2col_rows<1>(g, in, col);
      case 2: return im2col_rows<2>(g, in, col);
      case 3: return im2col_rows<3>(g, in, col);
      case 5: return im2col_rows<5>(g, in, col);
      case 7: return im2col_rows<7>(g, in, col);
      case 11: return im2col_rows<11>(g, in, col);
      default: break;
    }
  im2col_rows<0>(g, in, col);
}

// acc[co][p] += W[co][:] . col[p][:] with four output channels per pass over a col row.
// Built twice, for the baseline x86-64 vector width and for AVX2 (twice as wide: 16 int16
// products per vpmaddwd), chosen once at load by the CPU's features (GCC's target_clones; the
// products' sum is modular, so both give the same bits). AVX-512 (and its VNNI vpdpwssd) was
// measured no faster on vgg16: a tile's rows are short (16 channels x 9 taps = 144 products).
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void conv_gemm_int16(const Geometry& g, const int16_t* in, const int16_t* w, int32_t* acc) {
  const size_t k = size_t{g.cin} * g.kh * g.kw, planes = size_t{g.out_h} * g.out_w;
  // A 1x1 map with a 1x1 kernel (an FC tile) is its own im2col row.
  const bool direct = planes == 1 && g.kh == 1 && g.kw == 1 && g.in_h == 1 && g.in_w == 1;
  thread_local std::vector<int16_t> col;
  if (!direct) {
    col.resize(planes * k);
    im2col(g, in, col.data());
  }
  const int16_t* cols = direct ? in : col.data();
  size_t p = 0;
  for (; p + 2 <= planes; p += 2) {  // two positions per pass over four weight rows
    const int16_t* c = cols + p * k;
    uint32_t co = 0;
    for (; co + 4 <= g.cout; co += 4) dot_2x4(c, w + co * k, k, acc + co * planes + p, planes);
    for (; co < g.cout; ++co) {
      dot_rows<1>(c, w + co * k, k, acc + co * planes + p, planes);
      dot_rows<1>(c + k, w + co * k, k, acc + co * planes + p + 1, planes);
    }
  }
  for (; p < planes; ++p) {
    const int16_t* c = cols + p * k;
    uint32_t co = 0;
    for (; co + 4 <= g.cout; co += 4) dot_rows<4>(c, w + co * k, k, acc + co * planes + p, planes);
    for (; co < g.cout; ++co) dot_rows<1>(c, w + co * k, k, acc + co * planes + p, planes);
  }
}

// Visits every output position with its window; `reduce(init, x)` folds the window, `emit`
// turns the folded value into the output.
template <class M, class Reduce, class Emit>
void pool_t(const Geometry& g, const typename M::Data* in, typename M::Acc* out, typename M::Acc init,
            Reduce reduce, Emit emit) {
  for (uint32_t c = 0; c < g.cout; ++c) {
    const typename M::Data* ch = in + size_t{c} * g.in_h * g.in_w;
    for (uint32_t y = 0; y < g.out_h; ++y)
      for (uint32_t x = 0; x < g.out_w; ++x) {
        typename M::Acc v = init;
        for (uint32_t i = 0; i < g.kh; ++i) {
          const typename M::Data* row = ch + size_t{y * g.stride_h + i * g.dil_h} * g.in_w + x * g.stride_w;
          for (uint32_t j = 0; j < g.kw; ++j) v = reduce(v, row[size_t{j} * g.dil_w]);
        }
        *out++ = emit(v);
      }
  }
}

template <class M>
void max_pool_t(const Geometry& g, const typename M::Data* in, const numerics::Nfu3& act, typename M::Acc* out) {
  using Acc = typename M::Acc;
  pool_t<M>(
      g, in, out, static_cast<Acc>(M::lowest()),
      [](Acc v, typename M::Data x) { return std::max<Acc>(v, x); }, [act](Acc v) { return M::act(act, v); });
}

template <class M>
void avg_pool_t(const Geometry& g, const typename M::Data* in, uint32_t divisor, const numerics::Nfu3& act,
                typename M::Acc* out) {
  using Acc = typename M::Acc;
  const uint32_t div = divisor ? divisor : g.kh * g.kw;
  pool_t<M>(
      g, in, out, Acc{0}, [](Acc v, typename M::Data x) { return v + x; },
      [act, div](Acc v) { return M::act(act, M::average(v, div)); });
}

// Fills each output channel's plane with its starting value.
template <class Acc, class ValueOf>
void fill_planes(const Geometry& g, Acc* acc, ValueOf value_of) {
  const size_t plane = size_t{g.out_h} * g.out_w;
  for (uint32_t co = 0; co < g.cout; ++co) std::fill_n(acc + co * plane, plane, value_of(co));
}

template <class M>
void add_t(const typename M::Data* in, size_t n, const numerics::Nfu3& act, typename M::Acc* out) {
  for (size_t i = 0; i < n; ++i) out[i] = M::act(act, M::add(out[i], in[i]));
}

template <class M>
void mul_t(const typename M::Data* in, size_t n, const numerics::Nfu3& act, typename M::Acc* out) {
  for (size_t i = 0; i < n; ++i) out[i] = M::act(act, M::mul(out[i], in[i]));
}

template <class M>
void activate_t(const typename M::Data* in, size_t n, const numerics::Nfu3& act, typename M::Acc* out) {
  for (size_t i = 0; i < n; ++i) out[i] = M::act(act, in[i]);
}

}  // namespace

void conv(const Geometry& g, const int16_t* in, const int16_t* w, int32_t* acc) {
  // Depthwise and very short reductions keep the row-wise loop: a dot product needs a few
  // vectors' worth of elements to pay for its horizontal sum.
  if (g.depthwise || size_t{g.cin} * g.kh * g.kw < 8)
    conv_t<Int16Math>(g, in, w, acc);
  else
    conv_gemm_int16(g, in, w, acc);
}
void conv(const Geometry& g, const float* in, const float* w, float* acc) { conv_t<Fp32Math>(g, in, w, acc); }

void bias_init(const Geometry& g, const int16_t* bias, unsigned shift, int32_t* acc) {
  fill_planes(g, acc, [&](uint32_t co) { return num::bias_to_acc(bias[co], shift); });
}
void bias_init(const Geometry& g, const float* bias, float* acc) {
  fill_planes(g, acc, [&](uint32_t co) { return bias[co]; });
}

void finalize(int32_t* acc, size_t n, unsigned shift, const numerics::Nfu3& act) {
  // None and ReLU (most layers) as loops the compiler vectorizes. The rounding shift in int32:
  // floor((a + 2^(s-1)) / 2^s) = (a >> s) + bit s-1 of a, with no int64 and no overflow; the
  // same values as requantize (NfuKernels.FinalizeMatchesRequantizeAndActivate).
  if (act.act == isa::Activation::None || act.act == isa::Activation::Relu) {
    const int32_t lo = act.act == isa::Activation::Relu ? 0 : INT16_MIN;
    if (shift == 0) {
      for (size_t i = 0; i < n; ++i) acc[i] = std::clamp<int32_t>(acc[i], lo, INT16_MAX);
    } else if (shift < 32) {
      for (size_t i = 0; i < n; ++i) {
        const int32_t a = acc[i];
        acc[i] = std::clamp<int32_t>((a >> shift) + ((a >> (shift - 1)) & 1), lo, INT16_MAX);
      }
    } else {
      for (size_t i = 0; i < n; ++i) acc[i] = num::activate_int16(act, num::requantize(acc[i], shift));
    }
    return;
  }
  for (size_t i = 0; i < n; ++i) acc[i] = num::activate_int16(act, num::requantize(acc[i], shift));
}
void finalize(float* acc, size_t n, const numerics::Nfu3& act) {
  for (size_t i = 0; i < n; ++i) acc[i] = num::activate_fp32(act, acc[i]);
}

void max_pool(const Geometry& g, const int16_t* in, const numerics::Nfu3& act, int32_t* out) {
  max_pool_t<Int16Math>(g, in, act, out);
}
void max_pool(const Geometry& g, const float* in, const numerics::Nfu3& act, float* out) {
  max_pool_t<Fp32Math>(g, in, act, out);
}
void avg_pool(const Geometry& g, const int16_t* in, uint32_t divisor, const numerics::Nfu3& act, int32_t* out) {
  avg_pool_t<Int16Math>(g, in, divisor, act, out);
}
void avg_pool(const Geometry& g, const float* in, uint32_t divisor, const numerics::Nfu3& act, float* out) {
  avg_pool_t<Fp32Math>(g, in, divisor, act, out);
}

void add(const int16_t* in, size_t n, const numerics::Nfu3& act, int32_t* out) {
  add_t<Int16Math>(in, n, act, out);
}
void add(const float* in, size_t n, const numerics::Nfu3& act, float* out) { add_t<Fp32Math>(in, n, act, out); }
void mul(const int16_t* in, size_t n, const numerics::Nfu3& act, int32_t* out) {
  mul_t<Int16Math>(in, n, act, out);
}
void mul(const float* in, size_t n, const numerics::Nfu3& act, float* out) { mul_t<Fp32Math>(in, n, act, out); }
void activate(const int16_t* in, size_t n, const numerics::Nfu3& act, int32_t* out) {
  activate_t<Int16Math>(in, n, act, out);
}
void activate(const float* in, size_t n, const numerics::Nfu3& act, float* out) {
  activate_t<Fp32Math>(in, n, act, out);
}

}  // namespace fusesim::hw::kernels
