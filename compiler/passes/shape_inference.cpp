// Shape inference and validation: every data node gets its C x H x W shape; impossible
// attributes are InputErrors naming the layer's origin (file:line:col or ONNX node).
#include <algorithm>
#include <utility>

#include "isa/errors.h"
#include "passes.h"

namespace fusesim::compiler {
namespace {

[[noreturn]] void bad(const LayerNode& l, const std::string& msg) {
  throw InputError((l.origin.empty() ? std::string() : l.origin + ": ") + "layer '" + l.name + "' (" +
                   op_kind_name(l.op) + "): " + msg);
}

// Output extent of a window op along one axis (PyTorch/ONNX rules, including ceil_mode's
// "the last window must start inside the input or left padding").
int64_t window_out(const LayerNode& l, int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1,
                   bool ceil_mode) {
  const int64_t span = d * (k - 1) + 1;
  const int64_t room = in + p0 + p1 - span;
  if (room < 0) bad(l, "the window (" + std::to_string(span) + ") is larger than the padded input (" +
                           std::to_string(in + p0 + p1) + ")");
  int64_t out = (ceil_mode ? (room + s - 1) / s : room / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p0) --out;
  return out;
}

// The product of `factors`, failing with `what` when it would exceed `limit` (or int64).
int64_t product(const LayerNode& l, std::initializer_list<int64_t> factors, int64_t limit,
                const std::string& what, const std::string& limit_name) {
  int64_t p = 1;
  std::string text;
  bool ok = true;
  for (int64_t f : factors) {
    text += (text.empty() ? "" : " x ") + std::to_string(f);
    ok = ok && checked_mul(p, f, p);
  }
  if (!ok || p > limit) bad(l, what + " " + text + " exceed " + limit_name);
  return p;
}

// Window attributes within kMaxWindowAttr, so that no window arithmetic can overflow.
void check_window_attrs(const LayerNode& l) {
  const LayerAttrs& a = l.attrs;
  const std::pair<const char*, int64_t> attrs[] = {
      {"kernel", std::max(a.kernel_h, a.kernel_w)},
      {"stride", std::max(a.stride_h, a.stride_w)},
      {"dilation", std::max(a.dil_h, a.dil_w)},
      {"pad", std::max(std::max(a.pad_top, a.pad_bottom), std::max(a.pad_left, a.pad_right))}};
  for (const auto& [name, v] : attrs)
    if (v > kMaxWindowAttr)
      bad(l, std::string(name) + " " + std::to_string(v) +
                 " is larger than 2^24 (the limit of a window attribute)");
}

}  // namespace

void infer_shapes(Graph& g) {
  const DataNode& input = g.tensor(g.input);
  if (const std::string p = input.shape.problem(); !p.empty())
    throw InputError("network input '" + input.name + "': " + p);
  for (int id : g.topo_order()) {
    LayerNode& l = g.layer(id);
    const LayerAttrs& a = l.attrs;
    const Shape in = g.tensor(l.inputs.at(0)).shape;
    Shape out = in;
    switch (l.op) {
      case OpKind::Conv: {
        if (a.groups < 1 || in.c % a.groups || a.out_channels % a.groups)
          bad(l, "groups (" + std::to_string(a.groups) + ") must divide the input channels (" +
                     std::to_string(in.c) + ") and out_channels (" + std::to_string(a.out_channels) + ")");
        check_window_attrs(l);
        out.c = a.out_channels;
        out.h = window_out(l, in.h, a.kernel_h, a.stride_h, a.dil_h, a.pad_top, a.pad_bottom, false);
        out.w = window_out(l, in.w, a.kernel_w, a.stride_w, a.dil_w, a.pad_left, a.pad_right, false);
        const int64_t weights =
            product(l, {a.out_channels, in.c / a.groups, a.kernel_h, a.kernel_w}, kMaxTensorElems,
                    "the weights", "2^31 elements (the limit of a tensor)");
        if (const std::string p = out.problem(); !p.empty()) bad(l, "output " + p);
        product(l, {weights, out.h, out.w}, kMaxLayerMacs, "the MACs", "2^48 (the limit of a layer)");
        if (!l.weights.empty() && static_cast<int64_t>(l.weights.size()) != weights)
          bad(l, "weights have " + std::to_string(l.weights.size()) + " values, expected " +
                     std::to_string(weights));
        break;
      }
      case OpKind::MaxPool:
      case OpKind::AvgPool:
        // (a 1x1 average pool of stride 1 counting padding is a zero pad: ONNX Pad imports so)
        if (!(l.op == OpKind::AvgPool && a.kernel_h == 1 && a.kernel_w == 1 && a.stride_h == 1 && a.stride_w == 1 &&
              a.count_include_pad) &&
            (a.pad_top >= a.kernel_h || a.pad_left >= a.kernel_w || a.pad_bottom >= a.kernel_h || a.pad_right >= a.kernel_w))
          bad(l, "padding must be smaller than the kernel");
        check_window_attrs(l);
        out.h = window_out(l, in.h, a.kernel_h, a.stride_h, a.dil_h, a.pad_top, a.pad_bottom, a.ceil_mode);
        out.w = window_out(l, in.w, a.kernel_w, a.stride_w, a.dil_w, a.pad_left, a.pad_right, a.ceil_mode);
        break;
      case OpKind::FullyConnected: {
        out = {a.out_channels, 1, 1};
        const int64_t weights = product(l, {a.out_channels, in.elems()}, kMaxTensorElems, "the weights",
                                        "2^31 elements (the limit of a tensor)");
        if (!l.weights.empty() && static_cast<int64_t>(l.weights.size()) != weights)
          bad(l, "weights have " + std::to_string(l.weights.size()) + " values, expected " +
                     std::to_string(weights));
        break;
      }
      case OpKind::GlobalAvgPool:
        out = {in.c, 1, 1};
        break;
      case OpKind::Add:
      case OpKind::Product: {
        // The second operand may broadcast along the channels and/or the rows (the DMA reads it
        // with a zero stride there); its rows are always whole.
        const Shape b = g.tensor(l.inputs.at(1)).shape;
        if (!broadcasts_to(b, in))
          bad(l, "operand shapes differ: " + in.str() + " and " + b.str() +
                     " (the second may have 1 channel and/or 1 row, with the first's width)");
        break;
      }
      case OpKind::Concat: {
        if (a.concat_rows) {
          for (std::size_t k = 1; k < l.inputs.size(); ++k) {
            const Shape b = g.tensor(l.inputs[k]).shape;
            if (b.c != in.c || b.w != in.w) bad(l, "inputs differ in channels/width: " + in.str() + " and " + b.str());
            out.h += b.h;
          }
          break;
        }
        for (std::size_t k = 1; k < l.inputs.size(); ++k) {
          const Shape b = g.tensor(l.inputs[k]).shape;
          if (b.h != in.h || b.w != in.w) bad(l, "inputs differ in height/width: " + in.str() + " and " + b.str());
          out.c += b.c;
        }
        break;
      }
      case OpKind::Flatten:
        out = {in.elems(), 1, 1};
        break;
      case OpKind::Reshape:
        out = a.reshape_to;
        if (const std::string p = out.problem(); !p.empty()) bad(l, "target " + p);
        if (out.elems() != in.elems())
          bad(l, "cannot reshape " + in.str() + " (" + std::to_string(in.elems()) + " elements) to " + out.str());
        break;
      case OpKind::Transpose: {
        out = a.reshape_to;
        int64_t n = 1;
        bool ok = !a.perm_in.empty() && a.perm_in.size() <= 4 && a.perm.size() == a.perm_in.size();
        std::vector<int64_t> seen(a.perm.size(), 0);
        for (std::size_t k = 0; ok && k < a.perm.size(); ++k) {
          ok = a.perm[k] >= 0 && a.perm[k] < static_cast<int64_t>(a.perm.size()) && !seen[a.perm[k]]++ &&
               a.perm_in[k] >= 1;
          n *= ok ? a.perm_in[k] : 1;
        }
        if (!ok) bad(l, "a permutation of 1 to 4 dims is expected");
        if (n != in.elems() || out.elems() != in.elems())
          bad(l, "permutes " + std::to_string(n) + " elements of a " + in.str() + " input into " + out.str());
        break;
      }
      case OpKind::ChannelShuffle:
        if (a.groups < 1 || in.c % a.groups) bad(l, "groups must divide the channels (" + std::to_string(in.c) + ")");
        break;
      case OpKind::ChannelSlice:
        if (a.slice_rows) {
          if (a.slice_start < 0 || a.slice_count < 1 || a.slice_start + a.slice_count > in.h)
            bad(l, "rows [" + std::to_string(a.slice_start) + ", " + std::to_string(a.slice_start + a.slice_count) +
                       ") are not inside the input's " + std::to_string(in.h) + " rows");
          out.h = a.slice_count;
          break;
        }
        if (a.slice_start < 0 || a.slice_count < 1 || a.slice_start + a.slice_count > in.c)
          bad(l, "channels [" + std::to_string(a.slice_start) + ", " +
                     std::to_string(a.slice_start + a.slice_count) + ") are not inside the input's " +
                     std::to_string(in.c) + " channels");
        out.c = a.slice_count;
        break;
      case OpKind::Mul:
        if (!l.weights.empty() && static_cast<int64_t>(l.weights.size()) != in.c)
          bad(l, "expects one factor per channel (" + std::to_string(in.c) + ")");
        break;
      case OpKind::BatchNorm:
        if (!l.bn_gamma.empty() && static_cast<int64_t>(l.bn_gamma.size()) != in.c)
          bad(l, "expects one value per channel (" + std::to_string(in.c) + ")");
        break;
      default:
        break;
    }
    if (out.c < 1 || out.h < 1 || out.w < 1) bad(l, "empty output shape " + out.str());
    if (const std::string p = out.problem(); !p.empty()) bad(l, "output " + p);
    g.tensor(l.output).shape = out;
  }
}

}  // namespace fusesim::compiler
