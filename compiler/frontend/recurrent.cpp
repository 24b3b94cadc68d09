// See recurrent.h.
#include "frontend/recurrent.h"

namespace fusesim::compiler {

namespace {

// Builds the layers of one unrolled recurrent cell: NAME.tK.PART, with fc weights shared across
// the steps (the first step's layer owns them).
struct Cell {
  Graph& g;
  const LstmSpec& s;
  int layer(const std::string& part, int64_t t, OpKind op, const std::vector<int>& in, LayerAttrs a = {}) {
    const std::string n = s.name + ".t" + std::to_string(t) + "." + part;
    const int id = g.add_layer(n, op, in, n, a);
    g.layer(id).origin = s.origin;
    return id;
  }
  int out(int id) const { return g.layer(id).output; }
  int slice(const std::string& part, int64_t t, int in, int64_t start, int64_t count) {
    LayerAttrs a;
    a.slice_start = start, a.slice_count = count;
    return out(layer(part, t, OpKind::ChannelSlice, {in}, a));
  }
  int act(const std::string& part, int64_t t, int in, isa::Activation f) {
    LayerAttrs a;
    a.act = f;
    return out(layer(part, t, OpKind::Activation, {in}, a));
  }
  int binary(const std::string& part, int64_t t, OpKind op, int a, int b) { return out(layer(part, t, op, {a, b})); }
  int neg(const std::string& part, int64_t t, int in, int64_t n) {
    const int id = layer(part, t, OpKind::Mul, {in});
    g.layer(id).weights.assign(static_cast<std::size_t>(n), -1.0f);
    return out(id);
  }
  // An fc of `n` outputs; `owner` (by reference) is the step that holds the weights.
  int fc(const std::string& part, int64_t t, int in, int64_t n, int& owner, std::vector<float> w,
         std::vector<float> bias) {
    LayerAttrs a;
    a.out_channels = n;
    a.has_bias = !bias.empty();
    const int id = layer(part, t, OpKind::FullyConnected, {in}, a);
    if (owner < 0) {
      owner = id;
      g.layer(id).weights = std::move(w);
      g.layer(id).bias = std::move(bias);
    } else {
      g.layer(id).weights_of = owner;
    }
    return out(id);
  }
  // Y: every h_t, concatenated, seen as the output sequence (or the h_t handed back).
  int sequence(const std::vector<int>& hs) {
    if (s.step_outputs) {
      *s.step_outputs = hs;
      return -1;
    }
    int y = hs[0];
    if (hs.size() > 1) {
      const int cat = g.add_layer(s.name + ".y", OpKind::Concat, hs, s.name + ".y");
      g.layer(cat).origin = s.origin;
      y = g.layer(cat).output;
    }
    LayerAttrs ra;
    ra.reshape_to = s.out_shape.elems() > 0 ? s.out_shape : Shape{s.steps, s.hidden, 1};
    const int id = g.add_layer(s.name, OpKind::Reshape, {y}, s.name, ra);
    g.layer(id).origin = s.origin;
    return g.layer(id).output;
  }
};

// Rows [r0, r0 + n) of a row-major matrix with `cols` columns (empty stays empty: generated).
std::vector<float> rows(const std::vector<float>& m, int64_t r0, int64_t n, int64_t cols) {
  if (m.empty()) return {};
  return {m.begin() + r0 * cols, m.begin() + (r0 + n) * cols};
}

}  // namespace

int lower_lstm(Graph& g, const LstmSpec& s, int x) {
  const int64_t H = s.hidden;
  RecurrentOwners own;
  RecurrentOwners& o = s.shared ? *s.shared : own;
  int& w_owner = o.w;
  int& r_owner = o.r;
  int h = s.h0, c = s.c0;  // h_{t-1}, c_{t-1} (-1 before step 0: zero)
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
    const int xt = slice("x", t, x, t * s.seq_stride + s.seq_offset, 1);
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
    const int cand = act("cand", t, slice("cand_pre", t, gates, 3 * H, H), isa::Activation::Tanh);
    int i = -1, o = -1, f = -1;
    // a peephole: P_k (gate k's H scales) times a cell state, added to the gate's pre-activation
    auto peep = [&](const std::string& gate, int64_t k, int pre, int cell) {
      const int m = layer(gate + "_peep", t, OpKind::Mul, {cell});
      g.layer(m).weights.assign(s.peep.begin() + k * H, s.peep.begin() + (k + 1) * H);
      return g.layer(layer(gate + "_pre_peep", t, OpKind::Add, {pre, g.layer(m).output})).output;
    };
    if (s.peep.empty()) {
      const int ifo = act("ifo", t, slice("ifo_pre", t, gates, 0, 3 * H), isa::Activation::Sigmoid);
      i = slice("i", t, ifo, 0, H), o = slice("o", t, ifo, H, H), f = slice("f", t, ifo, 2 * H, H);
    } else {  // i and f see c_{t-1} (none at step 0 from a zero state); o sees c_t, below
      int ip = slice("i_pre", t, gates, 0, H), fp = slice("f_pre", t, gates, 2 * H, H);
      if (c >= 0) ip = peep("i", 0, ip, c), fp = peep("f", 2, fp, c);
      i = act("i", t, ip, isa::Activation::Sigmoid);
      f = act("f", t, fp, isa::Activation::Sigmoid);
    }
    // c_t = f * c_{t-1} + i * cand; h_t = o * tanh(c_t)
    const int ic = g.layer(layer("i_cand", t, OpKind::Product, {i, cand})).output;
    if (c >= 0) {
      const int fc = g.layer(layer("f_c", t, OpKind::Product, {f, c})).output;
      c = g.layer(layer("c", t, OpKind::Add, {fc, ic})).output;
    } else {
      c = ic;
    }
    if (!s.peep.empty()) o = act("o", t, peep("o", 1, slice("o_pre", t, gates, H, H), c), isa::Activation::Sigmoid);
    h = g.layer(layer("h", t, OpKind::Product, {o, act("c_tanh", t, c, isa::Activation::Tanh)})).output;
    hs.push_back(h);
  }
  // Y: every h_t, [steps * H] concatenated, seen as the sequence [steps, H, 1]
  return Cell{g, s}.sequence(hs);
}




int lower_gru(Graph& g, const LstmSpec& s, const std::vector<float>& b, int x) {
  const int64_t H = s.hidden, I = s.input;
  Cell c{g, s};
  // The input projection's bias: Wb, plus Rb where it is added whatever the reset gate (z, r; and
  // h when the reset comes before the product).
  std::vector<float> bx, rbh;
  if (!b.empty()) {
    bx.assign(b.begin(), b.begin() + 3 * H);
    for (int64_t k = 0; k < (s.linear_before_reset ? 2 * H : 3 * H); ++k) bx[k] += b[3 * H + k];
    rbh.assign(b.begin() + 5 * H, b.end());
  } else {
    bx.assign(static_cast<std::size_t>(3 * H), 0.0f);
  }
  RecurrentOwners own;
  RecurrentOwners& o = s.shared ? *s.shared : own;
  int &w_owner = o.w, &rzr_owner = o.rzr, &rh_owner = o.rh, &r_owner = o.r;
  int h = s.h0;
  std::vector<int> hs;
  for (int64_t t = 0; t < s.steps; ++t) {
    const int xt = c.slice("x", t, x, t * s.seq_stride + s.seq_offset, 1);
    const int gx = c.fc("gates_x", t, xt, 3 * H, w_owner, s.w, bx);
    int zr_pre = c.slice("zr_x", t, gx, 0, 2 * H), h_pre = c.slice("h_x", t, gx, 2 * H, H);
    int gh = -1;
    if (h >= 0) {
      if (s.linear_before_reset) {
        std::vector<float> rb(static_cast<std::size_t>(3 * H), 0.0f);
        if (!rbh.empty()) std::copy(rbh.begin(), rbh.end(), rb.begin() + 2 * H);
        gh = c.fc("gates_h", t, h, 3 * H, r_owner, s.r, rb);
        zr_pre = c.binary("zr_pre", t, OpKind::Add, zr_pre, c.slice("zr_h", t, gh, 0, 2 * H));
      } else {
        zr_pre = c.binary("zr_pre", t, OpKind::Add, zr_pre, c.fc("zr_h", t, h, 2 * H, rzr_owner, rows(s.r, 0, 2 * H, H), {}));
      }
    }
    const int zr = c.act("zr", t, zr_pre, isa::Activation::Sigmoid);
    const int z = c.slice("z", t, zr, 0, H), r = c.slice("r", t, zr, H, H);
    if (h >= 0) {
      const int reset = s.linear_before_reset
                            ? c.binary("r_hh", t, OpKind::Product, r, c.slice("hh", t, gh, 2 * H, H))
                            : c.fc("hh", t, c.binary("r_h", t, OpKind::Product, r, h), H, rh_owner, rows(s.r, 2 * H, H, H), {});
      h_pre = c.binary("h_pre", t, OpKind::Add, h_pre, reset);
    } else if (s.linear_before_reset && !rbh.empty()) {  // r * (R_h 0 + Rb_h) = r * Rb_h
      const int id = c.layer("r_rb", t, OpKind::Mul, {r});
      g.layer(id).weights = rbh;
      h_pre = c.binary("h_pre", t, OpKind::Add, h_pre, c.out(id));
    }
    const int cand = c.act("cand", t, h_pre, isa::Activation::Tanh);
    // h_t = cand + z * (h_{t-1} - cand); at step 0, cand - z * cand
    const int ncand = c.neg("neg_cand", t, cand, H);
    const int diff = h >= 0 ? c.binary("diff", t, OpKind::Add, h, ncand) : ncand;
    h = c.binary("h", t, OpKind::Add, cand, c.binary("z_diff", t, OpKind::Product, z, diff));
    hs.push_back(h);
  }
  (void)I;
  return c.sequence(hs);
}

int lower_rnn(Graph& g, const LstmSpec& s, int x) {
  Cell c{g, s};
  RecurrentOwners own;
  RecurrentOwners& o = s.shared ? *s.shared : own;
  int &w_owner = o.w, &r_owner = o.r, h = s.h0;
  std::vector<int> hs;
  std::vector<float> bias = s.bias.empty() ? std::vector<float>(static_cast<std::size_t>(s.hidden), 0.0f) : s.bias;
  for (int64_t t = 0; t < s.steps; ++t) {
    int pre = c.fc("gates_x", t, c.slice("x", t, x, t * s.seq_stride + s.seq_offset, 1), s.hidden, w_owner, s.w, bias);
    if (h >= 0) pre = c.binary("pre", t, OpKind::Add, pre, c.fc("gates_h", t, h, s.hidden, r_owner, s.r, {}));
    h = c.act("h", t, pre, isa::Activation::Tanh);
    hs.push_back(h);
  }
  return c.sequence(hs);
}

}  // namespace fusesim::compiler
