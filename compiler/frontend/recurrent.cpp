// See recurrent.h.
#include "frontend/recurrent.h"

namespace fusesim::compiler {

int lower_lstm(Graph& g, const LstmSpec& s, int x) {
  const int64_t H = s.hidden;
  int w_owner = -1, r_owner = -1;
  int h = -1, c = -1;  // h_{t-1}, c_{t-1} (none before step 0: zero)
  std::vector<int> hs;
  auto layer = [&](const std::string& part, int64_t t, OpKind op, const std::vector<int>& in, LayerAttrs a = {}) {
    const std::string n = s.name + ".t" + std::to_string(t) + "." + part;
    const int id = g.add_layer(n, op, in, n, a);
    g.layer(id).origin = s.origin;
    return id;
  };
  auto slice = [&](const std::string& part, int64_t t, int in, int64_t start, int64_t count) {
    LayerAttrs a;
    a.slice_start = start, a.slice_count = count;
    return g.layer(layer(part, t, OpKind::ChannelSlice, {in}, a)).output;
  };
  auto act = [&](const std::string& part, int64_t t, int in, isa::Activation f) {
    LayerAttrs a;
    a.act = f;
    return g.layer(layer(part, t, OpKind::Activation, {in}, a)).output;
  };
  for (int64_t t = 0; t < s.steps; ++t) {
    const int xt = slice("x", t, x, t, 1);
    // gates = W x_t + b (+ R h_{t-1}): i, o, f, c
    LayerAttrs fa;
    fa.out_channels = 4 * H;
    fa.has_bias = true;
    const int gx = layer("gates_x", t, OpKind::FullyConnected, {xt}, fa);
    if (w_owner < 0) {
      w_owner = gx;
      g.layer(gx).weights = s.w;
      g.layer(gx).bias = s.bias;
    } else {
      g.layer(gx).weights_of = w_owner;
    }
    int gates = g.layer(gx).output;
    if (h >= 0) {
      fa.has_bias = false;
      const int gh = layer("gates_h", t, OpKind::FullyConnected, {h}, fa);
      if (r_owner < 0) {
        r_owner = gh;
        g.layer(gh).weights = s.r;
      } else {
        g.layer(gh).weights_of = r_owner;
      }
      gates = g.layer(layer("gates", t, OpKind::Add, {gates, g.layer(gh).output})).output;
    }
    const int ifo = act("ifo", t, slice("ifo_pre", t, gates, 0, 3 * H), isa::Activation::Sigmoid);
    const int cand = act("cand", t, slice("cand_pre", t, gates, 3 * H, H), isa::Activation::Tanh);
    const int i = slice("i", t, ifo, 0, H), o = slice("o", t, ifo, H, H), f = slice("f", t, ifo, 2 * H, H);
    // c_t = f * c_{t-1} + i * cand; h_t = o * tanh(c_t)
    const int ic = g.layer(layer("i_cand", t, OpKind::Product, {i, cand})).output;
    if (c >= 0) {
      const int fc = g.layer(layer("f_c", t, OpKind::Product, {f, c})).output;
      c = g.layer(layer("c", t, OpKind::Add, {fc, ic})).output;
    } else {
      c = ic;
    }
    h = g.layer(layer("h", t, OpKind::Product, {o, act("c_tanh", t, c, isa::Activation::Tanh)})).output;
    hs.push_back(h);
  }
  // Y: every h_t, [steps * H] concatenated, seen as the sequence [steps, H, 1]
  int y = hs[0];
  if (hs.size() > 1) {
    const int cat = g.add_layer(s.name + ".y", OpKind::Concat, hs, s.name + ".y");
    g.layer(cat).origin = s.origin;
    y = g.layer(cat).output;
  }
  LayerAttrs ra;
  ra.reshape_to = s.out_shape.elems() > 0 ? s.out_shape : Shape{s.steps, H, 1};
  const int id = g.add_layer(s.name, OpKind::Reshape, {y}, s.name, ra);
  g.layer(id).origin = s.origin;
  return g.layer(id).output;
}

}  // namespace fusesim::compiler
