// Canonicalization: the graph the NFU executes. BatchNorm folds into the conv (or fc) that
// produces its input; a BatchNorm or Mul with no such producer becomes a depthwise 1x1 conv
// (scale and shift in NFU-1/2); an activation merges into its producer's NFU-3 stage.
#include <algorithm>
#include <cmath>

#include "passes.h"

namespace fusesim::compiler {
namespace {

// The producer of `data` when `data` has exactly one reader and is not a network output.
int sole_producer(const Graph& g, int data) {
  const DataNode& d = g.tensor(data);
  if (d.producer < 0 || d.consumers.size() != 1 || g.is_output(data)) return -1;
  return d.producer;
}

// Folds scale/shift per output channel into a conv/fc's weights and bias.
void fold_affine(LayerNode& conv, const std::vector<float>& scale, const std::vector<float>& shift) {
  const std::size_t co = static_cast<std::size_t>(conv.attrs.out_channels);
  if (conv.gen.on) {  // generated weights: the scale applies as they are generated
    conv.gen.scales.push_back(scale);
    std::vector<float> b(co, 0.0f);
    for (std::size_t c = 0; c < co; ++c) b[c] = (conv.bias.empty() ? 0.0f : conv.bias[c]) * scale[c] + shift[c];
    conv.bias = std::move(b);
  } else if (!conv.weights.empty()) {
    const std::size_t per = conv.weights.size() / co;
    for (std::size_t c = 0; c < co; ++c)
      for (std::size_t k = 0; k < per; ++k) conv.weights[c * per + k] *= scale[c];
    std::vector<float> b(co, 0.0f);
    for (std::size_t c = 0; c < co; ++c) b[c] = (conv.bias.empty() ? 0.0f : conv.bias[c]) * scale[c] + shift[c];
    conv.bias = std::move(b);
  }
  conv.attrs.has_bias = true;
}

void bn_affine(const LayerNode& bn, std::vector<float>& scale, std::vector<float>& shift) {
  scale.resize(bn.bn_gamma.size());
  shift.resize(bn.bn_gamma.size());
  for (std::size_t c = 0; c < bn.bn_gamma.size(); ++c) {
    scale[c] = bn.bn_gamma[c] / std::sqrt(bn.bn_var[c] + bn.attrs.bn_eps);
    shift[c] = bn.bn_beta[c] - bn.bn_mean[c] * scale[c];
  }
}

bool can_take_act(const LayerNode& p) {
  switch (p.op) {
    case OpKind::Conv:
    case OpKind::FullyConnected:
    case OpKind::MaxPool:
    case OpKind::AvgPool:
    case OpKind::GlobalAvgPool:
    case OpKind::Add:
    case OpKind::Product:
      return p.attrs.act == isa::Activation::None;
    default:
      return false;
  }
}

// A zero pad (a 1x1 average pool of stride 1 with a padding ring, as an ONNX Pad imports) that
// alone feeds a conv or an average pool counting padding: its ring joins the consumer's padding
// (at most 15 per side, the ISA's field).
bool fold_zero_pad(Graph& g, LayerNode& l) {
  const LayerAttrs& a = l.attrs;
  if (a.kernel_h != 1 || a.kernel_w != 1 || a.stride_h != 1 || a.stride_w != 1 || a.act != isa::Activation::None ||
      !(a.pad_top || a.pad_left || a.pad_bottom || a.pad_right))
    return false;
  const DataNode& d = g.tensor(l.output);
  if (d.consumers.size() != 1 || g.is_output(l.output)) return false;
  LayerNode& c = g.layer(d.consumers[0]);
  LayerAttrs& ca = c.attrs;
  const bool conv = c.op == OpKind::Conv;
  const bool pool = c.op == OpKind::AvgPool && !ca.ceil_mode &&
                    (ca.count_include_pad || !(ca.pad_top || ca.pad_left || ca.pad_bottom || ca.pad_right));
  if ((!conv && !pool) || c.inputs.size() != 1) return false;
  if (ca.pad_top + a.pad_top > 15 || ca.pad_left + a.pad_left > 15 || ca.pad_bottom + a.pad_bottom > 15 ||
      ca.pad_right + a.pad_right > 15)
    return false;
  ca.pad_top += a.pad_top, ca.pad_left += a.pad_left, ca.pad_bottom += a.pad_bottom, ca.pad_right += a.pad_right;
  if (pool) ca.count_include_pad = true;
  g.bypass(l.id, l.inputs[0]);
  return true;
}

}  // namespace

void canonicalize(Graph& g) {
  for (int id : g.topo_order()) {
    LayerNode& l = g.layer(id);
    if (l.op == OpKind::BatchNorm) {
      const int p = sole_producer(g, l.inputs[0]);
      const bool materialized = !l.bn_gamma.empty();  // (and the conv's weights, stored or generated)
      std::vector<float> scale, shift;
      if (materialized) bn_affine(l, scale, shift);
      const bool shared = p >= 0 && (g.layer(p).weights_of >= 0 ||
                                     std::any_of(g.layers.begin(), g.layers.end(),
                                                 [&](const LayerNode& o) { return o.weights_of == p; }));
      if (p >= 0 && !shared && (g.layer(p).op == OpKind::Conv || g.layer(p).op == OpKind::FullyConnected) &&
          g.layer(p).attrs.act == isa::Activation::None) {
        if (materialized) fold_affine(g.layer(p), scale, shift);
        else g.layer(p).attrs.has_bias = true;
        g.bypass(id, l.inputs[0]);
        continue;
      }
      // Standalone: a depthwise 1x1 conv computing x * scale + shift.
      const int64_t c = g.tensor(l.inputs[0]).shape.c;
      l.op = OpKind::Conv;
      l.attrs.out_channels = c;
      l.attrs.groups = c;
      l.attrs.kernel_h = l.attrs.kernel_w = 1;
      l.attrs.has_bias = true;
      if (materialized) {
        l.weights = scale;
        l.bias = shift;
      }
      l.bn_gamma.clear(), l.bn_beta.clear(), l.bn_mean.clear(), l.bn_var.clear();
    } else if (l.op == OpKind::Mul) {
      const int64_t c = g.tensor(l.inputs[0]).shape.c;
      l.op = OpKind::Conv;
      l.attrs.out_channels = c;
      l.attrs.groups = c;
      l.attrs.kernel_h = l.attrs.kernel_w = 1;
      l.attrs.has_bias = false;
    } else if (l.op == OpKind::AvgPool && fold_zero_pad(g, l)) {
      continue;
    } else if ((l.op == OpKind::MaxPool || l.op == OpKind::AvgPool) && l.attrs.kernel_h == 1 &&
               l.attrs.kernel_w == 1 && l.attrs.stride_h == 1 && l.attrs.stride_w == 1 && !l.attrs.pad_top &&
               !l.attrs.pad_left && !l.attrs.pad_bottom && !l.attrs.pad_right &&
               l.attrs.act == isa::Activation::None) {
      // A 1x1 window with stride 1 (torchvision's AdaptiveAvgPool2d on a map already at the target
      // size, exported to ONNX) is the identity: elimination then removes it.
      l.op = OpKind::Identity;
    } else if (l.op == OpKind::Activation) {
      const int p = sole_producer(g, l.inputs[0]);
      if (p >= 0 && can_take_act(g.layer(p))) {
        g.layer(p).attrs.act = l.attrs.act;
        g.bypass(id, l.inputs[0]);
      }
    }
  }
}

}  // namespace fusesim::compiler
