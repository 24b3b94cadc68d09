// The golden executor: runs the canonicalized graph layer by layer, straight from the
// definitions (no tiling). int16 follows hw/isa/numerics.h: Q8.8 data, Q4.12 weights, a
// wrapping 32-bit accumulator, one requantization per output; fp32 is plain float.
#include <cstring>
#include <map>
#include <limits>
#include <stdexcept>

#include "compiler.h"
#include "isa/numerics.h"

namespace fusesim::compiler {
namespace {

namespace num = numerics;

template <class T>
struct Math;
template <>
struct Math<int16_t> {
  using Acc = int32_t;
  static int16_t weight(float w) { return num::quantize(w, num::kWeightFrac); }
  static int16_t data(float x) { return num::quantize(x, num::kActFrac); }
  static Acc bias(float b) { return num::bias_to_acc(num::quantize(b, num::kActFrac), num::kWeightFrac); }
  static Acc mac(Acc a, int16_t x, int16_t w) { return num::acc_mac(a, x, w); }
  static int16_t finish(Acc a, const num::Nfu3& act) {
    return num::activate_int16(act, num::requantize(a, num::kWeightFrac));
  }
  static int16_t act(int32_t v, const num::Nfu3& a) { return num::activate_int16(a, num::sat16(v)); }
  static int16_t lowest() { return num::kInt16Min; }
  static int32_t avg(int32_t sum, int32_t div) { return num::avg_int16(sum, div); }
  static int32_t add(int16_t a, int16_t b) { return num::add_int16(a, b); }
  static int32_t mul(int16_t a, int16_t b) { return num::mul_q8(a, b); }
};
template <>
struct Math<float> {
  using Acc = float;
  static float weight(float w) { return w; }
  static float data(float x) { return x; }
  static Acc bias(float b) { return b; }
  static Acc mac(Acc a, float x, float w) { return a + x * w; }
  static float finish(Acc a, const num::Nfu3& act) { return num::activate_fp32(act, a); }
  static float act(float v, const num::Nfu3& a) { return num::activate_fp32(a, v); }
  static float lowest() { return -std::numeric_limits<float>::infinity(); }
  static float avg(float sum, int32_t div) { return sum / static_cast<float>(div); }
  static float add(float a, float b) { return a + b; }
  static float mul(float a, float b) { return a * b; }
};

template <class T>
class Executor {
 public:
  explicit Executor(const Graph& g) : g_(g), tables_(num::pwl_tables(g.nfu_pwl_segments)) {}

  std::vector<std::vector<uint8_t>> run(const std::vector<uint8_t>& input) {
    values_[g_.input].resize(input.size() / sizeof(T));
    std::memcpy(values_[g_.input].data(), input.data(), input.size());
    for (const DataNode& d : g_.data)  // constants: every sample starts from the same values
      if (d.constant) {
        if (static_cast<int64_t>(d.values.size()) != d.shape.elems())
          throw std::logic_error("reference: constant '" + d.name + "' not materialized");
        std::vector<T>& v = values_[d.id];
        v.reserve(d.values.size() * static_cast<std::size_t>(g_.batch));
        for (int64_t b = 0; b < g_.batch; ++b)
          for (float x : d.values) v.push_back(M::data(x));
      }
    for (int id : g_.topo_order()) exec(g_.layer(id));
    std::vector<std::vector<uint8_t>> out;
    for (int o : g_.outputs) {
      const std::vector<T>& v = value(o);
      std::vector<uint8_t> bytes(v.size() * sizeof(T));
      std::memcpy(bytes.data(), v.data(), bytes.size());
      out.push_back(std::move(bytes));
    }
    return out;
  }

 private:
  using M = Math<T>;
  using Acc = typename M::Acc;
  const Graph& g_;
  const num::PwlTables& tables_;  // NFU-3's interpolation, as the hw model's
  std::map<int, std::vector<T>> values_;

  num::Nfu3 nfu3(isa::Activation a) const { return num::Nfu3(a, tables_); }

  // The value of a data node. Eliminated layers leave aliases: a view of the same elements,
  // a channel slice of a concat output, or a channel slice of its input (a split).
  const std::vector<T>& value(int d) {
    auto it = values_.find(d);
    if (it != values_.end()) return it->second;
    const DataNode& n = g_.tensor(d);
    // The output of an eliminated concat owns its slices even when it is itself a slice of an
    // outer concat: gather it from its own slices first.
    const bool concat_out = n.producer >= 0 && g_.layer(n.producer).removed && g_.layer(n.producer).op == OpKind::Concat;
    if (n.alias_of >= 0 && !concat_out) {
      const std::vector<T>& root = value(n.alias_of);
      const int64_t off = n.channel_offset * n.shape.h * n.shape.w;
      return values_[d] = std::vector<T>(root.begin() + off, root.begin() + off + n.shape.elems());
    }
    // A concat output whose inputs write into it as slices.
    std::vector<T> v(static_cast<std::size_t>(n.shape.elems()));
    bool any = false;
    for (const DataNode& s : g_.data)
      // slices written into `d`: outputs of live layers or of inner (eliminated) concats; not
      // views of `d` (the output of an eliminated identity/dropout/flatten/reshape after it)
      if (s.alias_of == d && s.producer >= 0 &&
          (!g_.layer(s.producer).removed || g_.layer(s.producer).op == OpKind::Concat)) {
        const std::vector<T>& sv = value(s.id);
        std::copy(sv.begin(), sv.end(), v.begin() + s.channel_offset * n.shape.h * n.shape.w);
        any = true;
      }
    if (!any) throw std::logic_error("reference: tensor '" + n.name + "' has no value");
    return values_[d] = std::move(v);
  }

  void exec(const LayerNode& l) {
    const Shape in = g_.tensor(l.inputs[0]).shape, out = g_.tensor(l.output).shape;
    const std::vector<T>& x = value(l.inputs[0]);
    std::vector<T> y(static_cast<std::size_t>(out.elems()));
    const LayerAttrs& a = l.attrs;
    const LayerNode& wsrc = l.weights_of >= 0 ? g_.layer(l.weights_of) : l;  // shared weights
    switch (l.op) {
      case OpKind::Conv: {
        const int64_t G = a.groups, cin_g = in.c / G, cout_g = a.out_channels / G;
        const std::size_t per_co = static_cast<std::size_t>(cin_g * a.kernel_h * a.kernel_w);
        std::vector<T> w(static_cast<std::size_t>(a.out_channels) * per_co);
        {
          std::vector<float> f(w.size());
          weights_run(wsrc, 0, f.size(), per_co, f.data());
          for (std::size_t i = 0; i < w.size(); ++i) w[i] = M::weight(f[i]);
        }
        for (int64_t co = 0; co < out.c; ++co) {
          const int64_t grp = co / cout_g;
          for (int64_t oy = 0; oy < out.h; ++oy)
            for (int64_t ox = 0; ox < out.w; ++ox) {
              Acc acc = a.has_bias ? M::bias(wsrc.bias[co]) : Acc{0};
              for (int64_t ci = 0; ci < cin_g; ++ci)
                for (int64_t i = 0; i < a.kernel_h; ++i) {
                  const int64_t iy = oy * a.stride_h + i * a.dil_h - a.pad_top;
                  if (iy < 0 || iy >= in.h) continue;
                  for (int64_t j = 0; j < a.kernel_w; ++j) {
                    const int64_t ix = ox * a.stride_w + j * a.dil_w - a.pad_left;
                    if (ix < 0 || ix >= in.w) continue;
                    acc = M::mac(acc, x[((grp * cin_g + ci) * in.h + iy) * in.w + ix],
                                 w[((co * cin_g + ci) * a.kernel_h + i) * a.kernel_w + j]);
                  }
                }
              y[(co * out.h + oy) * out.w + ox] = M::finish(acc, nfu3(a.act));
            }
        }
        break;
      }
      case OpKind::FullyConnected: {
        const int64_t n = in.elems();
        std::vector<float> row(static_cast<std::size_t>(n));  // one output's weights (stored or generated)
        for (int64_t o = 0; o < out.c; ++o) {
          Acc acc = a.has_bias ? M::bias(wsrc.bias[o]) : Acc{0};
          weights_run(wsrc, static_cast<std::size_t>(o * n), row.size(), row.size(), row.data());
          for (int64_t i = 0; i < n; ++i) acc = M::mac(acc, x[i], M::weight(row[static_cast<std::size_t>(i)]));
          y[o] = M::finish(acc, nfu3(a.act));
        }
        break;
      }
      case OpKind::MaxPool:
      case OpKind::AvgPool:
      case OpKind::GlobalAvgPool: {
        const bool global = l.op == OpKind::GlobalAvgPool, is_max = l.op == OpKind::MaxPool;
        const int64_t kh = global ? in.h : a.kernel_h, kw = global ? in.w : a.kernel_w;
        const int64_t sh = global ? 1 : a.stride_h, sw = global ? 1 : a.stride_w;
        const int64_t dh = global ? 1 : a.dil_h, dw = global ? 1 : a.dil_w;
        const int64_t pt = global ? 0 : a.pad_top, pl = global ? 0 : a.pad_left;
        for (int64_t c = 0; c < out.c; ++c)
          for (int64_t oy = 0; oy < out.h; ++oy)
            for (int64_t ox = 0; ox < out.w; ++ox) {
              Acc v = is_max ? Acc(M::lowest()) : Acc{0};
              for (int64_t i = 0; i < kh; ++i)
                for (int64_t j = 0; j < kw; ++j) {
                  const int64_t iy = oy * sh + i * dh - pt, ix = ox * sw + j * dw - pl;
                  // padding: the lowest value for max, zero for average
                  T e = (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) ? (is_max ? M::lowest() : T{0})
                                                                         : x[(c * in.h + iy) * in.w + ix];
                  v = is_max ? std::max<Acc>(v, e) : v + e;
                }
              y[(c * out.h + oy) * out.w + ox] =
                  is_max ? M::act(v, nfu3(a.act))
                         : M::act(M::avg(v, static_cast<int32_t>(l.op == OpKind::AvgPool && a.pool_divisor
                                                                     ? a.pool_divisor
                                                                     : kh * kw)),
                                  nfu3(a.act));
            }
        break;
      }
      case OpKind::Add:
      case OpKind::Product: {
        const std::vector<T>& b = value(l.inputs[1]);
        const Shape bs = g_.tensor(l.inputs[1]).shape;  // broadcast along c and/or h when 1
        const bool add = l.op == OpKind::Add;
        std::size_t i = 0;
        for (int64_t c = 0; c < out.c; ++c)
          for (int64_t h = 0; h < out.h; ++h)
            for (int64_t w = 0; w < out.w; ++w, ++i) {
              const T v = b[static_cast<std::size_t>(((bs.c == 1 ? 0 : c) * bs.h + (bs.h == 1 ? 0 : h)) * bs.w + w)];
              y[i] = M::act(add ? M::add(x[i], v) : M::mul(x[i], v), nfu3(a.act));
            }
        break;
      }
      case OpKind::Activation:
        for (std::size_t i = 0; i < y.size(); ++i) y[i] = M::act(x[i], nfu3(a.act));
        break;
      case OpKind::Concat: {
        if (a.concat_rows) {  // per channel, the inputs' rows one after another
          const int64_t W = out.w;
          int64_t row = 0;
          for (int d : l.inputs) {
            const std::vector<T>& v = value(d);
            const int64_t h = g_.tensor(d).shape.h;
            for (int64_t c = 0; c < out.c; ++c)
              std::copy(v.begin() + c * h * W, v.begin() + (c + 1) * h * W, y.begin() + (c * out.h + row) * W);
            row += h;
          }
          break;
        }
        std::size_t off = 0;
        for (int d : l.inputs) {
          const std::vector<T>& v = value(d);
          std::copy(v.begin(), v.end(), y.begin() + off);
          off += v.size();
        }
        break;
      }
      case OpKind::ChannelShuffle: {
        const int64_t G = a.groups, cpg = in.c / G, hw = in.h * in.w;
        for (int64_t j = 0; j < out.c; ++j) {
          const int64_t src = (j % G) * cpg + j / G;
          std::copy(x.begin() + src * hw, x.begin() + (src + 1) * hw, y.begin() + j * hw);
        }
        break;
      }
      case OpKind::Transpose: {
        const std::size_t r = a.perm_in.size();
        std::vector<int64_t> in_stride(r, 1), idx(r, 0);
        for (std::size_t k = r - 1; k > 0; --k) in_stride[k - 1] = in_stride[k] * a.perm_in[k];
        for (std::size_t o = 0; o < y.size(); ++o) {  // output in row-major order
          int64_t src = 0;
          for (std::size_t j = 0; j < r; ++j) src += idx[j] * in_stride[static_cast<std::size_t>(a.perm[j])];
          y[o] = x[static_cast<std::size_t>(src)];
          for (std::size_t j = r; j-- > 0;) {
            if (++idx[j] < a.perm_in[static_cast<std::size_t>(a.perm[j])]) break;
            idx[j] = 0;
          }
        }
        break;
      }
      case OpKind::ChannelSlice: {
        if (a.slice_rows) {
          for (int64_t c = 0; c < in.c; ++c)
            std::copy(x.begin() + (c * in.h + a.slice_start) * in.w,
                      x.begin() + (c * in.h + a.slice_start + a.slice_count) * in.w, y.begin() + c * out.h * in.w);
          break;
        }
        const int64_t hw = in.h * in.w;
        std::copy(x.begin() + a.slice_start * hw, x.begin() + (a.slice_start + a.slice_count) * hw,
                  y.begin());
        break;
      }
      case OpKind::Identity:
      case OpKind::Dropout:
      case OpKind::Flatten:
      case OpKind::Reshape:
        y = x;
        break;
      default:
        throw std::logic_error("reference: layer '" + l.name + "' (" + op_kind_name(l.op) +
                               ") should have been canonicalized away");
    }
    values_[l.output] = std::move(y);
  }
};

}  // namespace

namespace {
std::vector<std::vector<uint8_t>> run_sample(const Graph& g, isa::DType dtype,
                                             const std::vector<uint8_t>& input) {
  if (dtype == isa::DType::Int16) return Executor<int16_t>(g).run(input);
  return Executor<float>(g).run(input);
}
}  // namespace

std::vector<std::vector<uint8_t>> run_reference(const Graph& g, isa::DType dtype,
                                                const std::vector<uint8_t>& input) {
  if (g.batch <= 1) return run_sample(g, dtype, input);
  // The samples are independent: each runs through the whole graph on its own, as the
  // definition of a batch says, whatever order the program interleaves them in.
  const std::size_t per = input.size() / static_cast<std::size_t>(g.batch);
  if (per * static_cast<std::size_t>(g.batch) != input.size())
    throw std::logic_error("reference: the input does not hold " + std::to_string(g.batch) +
                           " equal samples");
  std::vector<std::vector<uint8_t>> out;
  for (int64_t s = 0; s < g.batch; ++s) {
    const auto first = input.begin() + static_cast<std::ptrdiff_t>(per * static_cast<std::size_t>(s));
    const std::vector<uint8_t> sample(first, first + static_cast<std::ptrdiff_t>(per));
    std::vector<std::vector<uint8_t>> o = run_sample(g, dtype, sample);
    if (out.empty()) out.resize(o.size());
    for (std::size_t k = 0; k < o.size(); ++k) out[k].insert(out[k].end(), o[k].begin(), o[k].end());
  }
  return out;
}

}  // namespace fusesim::compiler
