// Fused-group planning and its cost model. See fused.h.
#include "fused.h"

#include <algorithm>
#include <map>

#include "codegen.h"
#include "linebuf.h"

namespace fusesim::compiler {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
bool dense(const WinLayer& l) { return l.kind == WinKind::Conv; }
bool has_weights(const WinLayer& l) { return l.kind == WinKind::Conv || l.kind == WinKind::DwConv; }

struct AxisGeo {
  int64_t k, s, d, p, in;
};
AxisGeo geo(const WinLayer& w, bool rows) {
  return rows ? AxisGeo{w.kh, w.sh, w.dh, w.pt, w.h} : AxisGeo{w.kw, w.sw, w.dw, w.pl, w.w};
}

}  // namespace

std::string FusedPlan::str() const {
  if (overlap != Overlap::Recompute) {
    std::string s = std::string("fused ") + overlap_name(overlap) + " col_tiles=" + std::to_string(col_tiles) +
                    (strips > 1 ? " strips=" + std::to_string(strips) : "") + " w-resident";
    for (const auto& l : layers) s += " [rows=" + std::to_string(l.rows) + " co=" + std::to_string(l.tco) + "]";
    return s;
  }
  std::string s = "fused rows=" + std::to_string(tr) + " cols=" + std::to_string(tc) + (resident ? " w-resident" : "") +
                  (chunked ? " chunked" : "") + (add_id >= 0 ? " +add" : "");
  for (const auto& l : layers) s += " [co=" + std::to_string(l.tco) + " ci=" + std::to_string(l.tci) + "]";
  return s;
}

bool fusable_kind(const Graph& g, int id, bool grouped) {
  WinLayer w;
  if (!win_layer_of(g, id, w)) return false;
  const LayerNode& l = g.layer(id);
  if (l.op == OpKind::GlobalAvgPool) return false;
  if (l.op == OpKind::AvgPool && l.attrs.pool_divisor != 0) return false;  // a sum pool (a reduction) stays alone
  if (w.kind == WinKind::Conv && w.groups != 1 && !grouped) return false;
  // ring and halo fields are 4 bits wide
  return w.pt <= 15 && w.pl <= 15 && l.attrs.pad_bottom <= 15 && l.attrs.pad_right <= 15;
}

bool residual_tail(const Graph& g, const std::vector<int>& chain, int add) {
  if (chain.empty()) return false;
  const LayerNode& a = g.layer(add);
  if (a.op != OpKind::Add || a.inputs.size() != 2) return false;
  const int x = g.layer(chain.front()).inputs[0], y = g.layer(chain.back()).output;
  if (!((a.inputs[0] == x && a.inputs[1] == y) || (a.inputs[0] == y && a.inputs[1] == x))) return false;
  const DataNode& d = g.tensor(y);
  if (d.consumers.size() != 1 || g.is_output(y) || d.alias_of >= 0) return false;
  for (const DataNode& v : g.data)
    if (v.alias_of == y) return false;
  return g.tensor(x).shape == g.tensor(a.output).shape && g.tensor(y).shape == g.tensor(a.output).shape;
}

bool vector_link(const Graph& g, int a, int b) {
  const LayerNode& lb = g.layer(b);
  if (lb.inputs.size() != 1) return false;
  // a's output, through views that only rename it (dropout, identity, flatten, reshape), each
  // read by the next alone and none a network output
  int d = g.layer(a).output;
  for (;;) {
    const DataNode& t = g.tensor(d);
    if (g.is_output(d) || t.consumers.size() != 1) return false;
    for (const DataNode& v : g.data)
      if (v.alias_of == d && (v.channel_offset != 0 || v.producer < 0 || g.layer(v.producer).inputs[0] != d))
        return false;
    if (t.consumers[0] == b) return lb.inputs[0] == d;
    const LayerNode& view = g.layer(t.consumers[0]);
    if (!view.removed || view.inputs.size() != 1 || g.tensor(view.output).alias_of != d ||
        g.tensor(view.output).channel_offset != 0)
      return false;
    d = view.output;
  }
}

bool fusable_dag(const Graph& g, const std::vector<int>& ids, std::vector<int>& src, std::string* why) {
  src.assign(ids.size(), -1);
  auto fail = [&](const std::string& w) {
    if (why) *why = w;
    src.clear();
    return false;
  };
  if (ids.empty()) return fail("an empty group");
  // Matrix-vector layers (fc) fuse only with each other, in a chain: the intermediate vectors stay
  // in NBout (recompute plans; a vector has no rows to line-buffer).
  const auto is_fc = [&](int id) { return g.layer(id).op == OpKind::FullyConnected; };
  if (std::any_of(ids.begin(), ids.end(), is_fc)) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      WinLayer w;
      if (!win_layer_of(g, ids[i], w) || !w.is_vector())
        return fail("'" + g.layer(ids[i]).name + "' is not a matrix-vector layer: fc layers fuse only with fc layers "
                    "(or 1x1 convs on 1x1 maps), in a chain");
      if (i > 0 && !vector_link(g, ids[i - 1], ids[i]))
        return fail("'" + g.layer(ids[i - 1]).name + "' -> '" + g.layer(ids[i]).name +
                    "': fc layers fuse in chains whose intermediate vectors have no other reader");
      src[i] = static_cast<int>(i) - 1;
    }
    return true;
  }
  const int entry = g.layer(ids[0]).inputs.empty() ? -1 : g.layer(ids[0]).inputs[0];
  std::map<int, int> produced;  // tensor -> index in the group
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const LayerNode& l = g.layer(ids[i]);
    if (!fusable_kind(g, ids[i], true))
      return fail("'" + l.name + "' cannot be fused (conv, depthwise conv and pooling layers fuse, and fc layers with fc layers)");
    const int t = l.inputs[0];
    auto it = produced.find(t);
    if (it != produced.end()) {
      src[i] = it->second;
    } else if (t != entry) {
      return fail("'" + l.name + "' reads a tensor that is neither the group's input nor made in the group "
                  "(a group has one entry)");
    }
    produced[l.output] = static_cast<int>(i);
  }
  // An output read inside the group stays on chip: nothing else may read it.
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const LayerNode& l = g.layer(ids[i]);
    if (std::find(src.begin(), src.end(), static_cast<int>(i)) == src.end()) continue;
    const DataNode& d = g.tensor(l.output);
    bool outside = g.is_output(l.output) || d.alias_of >= 0;
    for (int c : d.consumers) outside = outside || std::find(ids.begin(), ids.end(), c) == ids.end();
    for (const DataNode& v : g.data) outside = outside || v.alias_of == l.output;
    if (outside)
      return fail("'" + l.name + "' feeds a layer of the group and is also read outside it (its output would have to "
                  "leave the chip)");
  }
  return true;
}

bool attach_add(const Graph& g, const std::vector<int>& ids, int add, std::vector<FusedLayer>& L) {
  const LayerNode& a = g.layer(add);
  if (a.op != OpKind::Add || a.inputs.size() != 2 || ids.empty() || L.size() != ids.size()) return false;
  if (!(g.tensor(a.inputs[0]).shape == g.tensor(a.inputs[1]).shape)) return false;  // a broadcast add stays alone
  const int entry = g.layer(ids[0]).inputs[0];
  // The member making tensor t, -1 for the group's input, -2 for neither.
  auto member = [&](int t) {
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (g.layer(ids[i]).output == t) return static_cast<int>(i);
    return t == entry ? -1 : -2;
  };
  // Read by the Add alone: not a graph output, no view of it, no other consumer.
  auto add_only = [&](int t) {
    const DataNode& d = g.tensor(t);
    if (g.is_output(t) || d.alias_of >= 0 || d.consumers.size() != 1 || d.consumers[0] != add) return false;
    for (const DataNode& v : g.data)
      if (v.alias_of == t) return false;
    return true;
  };
  auto read_in_group = [&](int m) {
    for (std::size_t i = 0; i < L.size(); ++i)
      if (line_src(L, i) == m) return true;
    return false;
  };
  auto macs = [&](int m) {
    const WinLayer& w = L[static_cast<std::size_t>(m)].wl;
    return w.oh * w.ow * w.cout * (dense(w) ? w.cin : 1) * w.kh * w.kw * w.groups;
  };
  int x = member(a.inputs[0]), y = member(a.inputs[1]);
  if (x == -2 || y == -2 || (x < 0 && y < 0) || x == y) return false;
  if (x < 0 || (y >= 0 && macs(y) > macs(x)))
    std::swap(x, y);  // x: the member computing into NBout; y: the skip
  const Shape& out = g.tensor(a.output).shape;
  for (int m : {x, y}) {
    if (m < 0) continue;
    const int t = g.layer(ids[static_cast<std::size_t>(m)]).output;
    if (!add_only(t) || read_in_group(m) || !(g.tensor(t).shape == out) || L[static_cast<std::size_t>(m)].add_id >= 0)
      return false;
  }
  if (y < 0 && !(g.tensor(entry).shape == out)) return false;
  L[static_cast<std::size_t>(x)].add_id = add;
  L[static_cast<std::size_t>(x)].add_src = y;
  return true;
}

bool chunkable(const std::vector<FusedLayer>& L) {
  const std::size_t n = L.size();
  if (n < 2 || !dense(L[n - 1].wl) || L[n - 1].wl.groups != 1) return false;
  for (std::size_t i = 1; i + 1 < n; ++i)
    if (dense(L[i].wl)) return false;  // the middle layers must be channel-local
  return true;
}

// Sets the channel chunks of a chunked plan: `tk` intermediate channels at a time.
void set_chunks(std::vector<FusedLayer>& C, int64_t tk) {
  const std::size_t n = C.size();
  for (std::size_t i = 0; i + 1 < n; ++i) {
    C[i].tco = std::min(tk, C[i].wl.cout);
    C[i].tci = dense(C[i].wl) ? C[i].wl.cin : 1;
  }
  C[n - 1].tco = C[n - 1].wl.cout;
  C[n - 1].tci = std::min(tk, C[n - 1].wl.cin);
}

void fused_axis(const std::vector<FusedLayer>& L, bool rows, int64_t o0, int64_t o1, std::vector<AxisRegion>& out,
                int64_t& in_lo, int64_t& in_hi) {
  const std::size_t n = L.size();
  out.assign(n, AxisRegion{});
  out[n - 1] = {o0, o1, 0, 0};
  for (std::size_t i = n; i-- > 0;) {
    const AxisGeo a = geo(L[i].wl, rows);
    const int64_t lo = out[i].lo * a.s - a.p, hi = (out[i].hi - 1) * a.s - a.p + (a.k - 1) * a.d + 1;
    if (i == 0) {
      in_lo = lo, in_hi = hi;
    } else {
      const int64_t vlo = std::max<int64_t>(0, lo), vhi = std::min(a.in, hi);
      out[i - 1] = {vlo, vhi, vlo - lo, hi - vhi};
    }
  }
}

namespace {

// The group's layers with their window views and the ring values their consumers need.
bool fused_layers(const Graph& g, const std::vector<int>& ids, std::vector<FusedLayer>& L, int64_t& w_total) {
  const std::size_t n = ids.size();
  L.assign(n, FusedLayer{});
  w_total = 0;
  std::vector<int> src;
  if (!fusable_dag(g, ids, src)) return false;
  bool chain = true;
  for (std::size_t i = 0; i < src.size(); ++i) chain = chain && src[i] == static_cast<int>(i) - 1;
  for (std::size_t i = 0; i < n; ++i) {
    L[i].id = ids[i];
    if (!fusable_kind(g, ids[i], true)) return false;
    win_layer_of(g, ids[i], L[i].wl);
    w_total += L[i].wl.weight_elems();
    if (!chain && src.size() == n) L[i].src = src[i];
    if (i + 1 < n) {
      const OpKind next = g.layer(ids[i + 1]).op;
      L[i].consumer_pad = next == OpKind::MaxPool ? isa::PadValue::Min : isa::PadValue::Zero;
    }
  }
  return true;
}

// Largest (unclipped) region sizes, backward from a tr x tc tile of the last layer, and the
// NBout slots they need: the regions alternate between two slots (padded sizes).
struct FusedGeom {
  std::vector<int64_t> rows, cols;  // [i+1]: layer i's output region; [0]: the first input
  int64_t slot[3] = {0, 0, 0};      // elements; [2]: a chunked plan's accumulators
  int64_t in_plane = 0;             // the first layer's input region, per channel
};
FusedGeom fused_geom(const std::vector<FusedLayer>& L, int64_t tr, int64_t tc, bool chunked) {
  const std::size_t n = L.size();
  FusedGeom f;
  f.rows.assign(n + 1, 0), f.cols.assign(n + 1, 0);
  f.rows[n] = tr, f.cols[n] = tc;
  for (std::size_t i = n; i-- > 0;) {
    const WinLayer& w = L[i].wl;
    f.rows[i] = (f.rows[i + 1] - 1) * w.sh + (w.kh - 1) * w.dh + 1;
    f.cols[i] = (f.cols[i + 1] - 1) * w.sw + (w.kw - 1) * w.dw + 1;
  }
  // a layer's output region with its ring is the next layer's (padded) input; chunked plans hold
  // one chunk of each intermediate and the last layer's accumulators apart
  for (std::size_t i = 0; i < n; ++i) {
    if (chunked && i + 1 == n) {
      f.slot[2] = L[i].wl.cout * tr * tc;
      break;
    }
    const int64_t ch = chunked ? L[0].tco : L[i].wl.cout;
    f.slot[i % 2] = std::max(f.slot[i % 2], ch * f.rows[i + 1] * f.cols[i + 1]);
  }
  f.in_plane = f.rows[0] * f.cols[0];
  return f;
}

// The estimate of a fused tiling whose chunks are set (exact sums over the tiles).
Estimate fused_estimate(const std::vector<FusedLayer>& C, const ArchView& av, int64_t tr, int64_t tc, bool resident,
                        int64_t w_total, const FusedGeom& geo, bool add) {
  const std::size_t n = C.size();
  const WinLayer& last = C[n - 1].wl;
  std::vector<int64_t> SR(n, 0), SC(n, 0);
  int64_t SRin = 0, SCin = 0, SCpad = 0, nrt = 0, nct = 0, unused = 0;
  std::vector<AxisRegion> reg;
  // Per axis: each layer's valid output extent and the first layer's valid input extent,
  // summed over the tiles along that axis.
  auto axis = [&](bool rows, int64_t out, int64_t t, int64_t in, std::vector<int64_t>& S, int64_t& Sin, int64_t& Spad,
                  int64_t& tiles) {
    for (int64_t o0 = 0; o0 < out; o0 += t, ++tiles) {
      int64_t lo = 0, hi = 0;
      fused_axis(C, rows, o0, std::min(out, o0 + t), reg, lo, hi);
      for (std::size_t i = 0; i < n; ++i) S[i] += reg[i].hi - reg[i].lo;
      Sin += std::min(in, hi) - std::max<int64_t>(0, lo);
      Spad += hi - lo;
    }
  };
  axis(true, last.oh, tr, C[0].wl.h, SR, SRin, unused, nrt);
  axis(false, last.ow, tc, C[0].wl.w, SC, SCin, SCpad, nct);
  const int64_t T = nrt * nct;
  Estimate e;
  int64_t compute = 0, chunks = 0, w_loads = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const WinLayer& w = C[i].wl;
    const int64_t nco = ceil_div(w.cout, C[i].tco), nci = dense(w) ? ceil_div(w.cin, C[i].tci) : 1;
    const int64_t blocks = blocks_sum(w.cout, C[i].tco, av.tn) * SR[i] * SC[i];
    const int64_t inner = inner_sum(w, C[i].tci, av.tn);
    const int64_t nfu = blocks * inner + (av.mode.fine ? T * nco * nci * av.stages : blocks * nci * av.stages);
    // Buffer ports (docs/isa.md): NBout is written once per input-channel chunk and read back
    // when accumulating; an intermediate input is read from NBout (4-byte accumulators) once per
    // output-channel chunk of a dense layer; the first layer reads NBin.
    const int64_t out_elems = w.cout * SR[i] * SC[i];
    const int64_t in_elems = w.cin * (i == 0 ? SRin * SCin : SR[i - 1] * SC[i - 1]) * (dense(w) ? nco : 1);
    const int64_t nbout_bytes = out_elems * 4 * (2 * nci - 1) + (i > 0 ? in_elems * 4 : 0);
    const int64_t nbin_bytes = i == 0 ? in_elems * av.esize : 0;
    compute += std::max({nfu, nbout_bytes / av.nbout_port, nbin_bytes / av.nbin_port});
    chunks += nco * nci;
    if (has_weights(w)) w_loads += nco * nci * (w.bias ? 2 : 1);
  }
  if (add) {  // one Add per tile: a block a cycle, NBout read and written, the NBin window read
    const int64_t blocks = blocks_sum(last.cout, last.cout, av.tn) * SR[n - 1] * SC[n - 1];
    const int64_t port = last.cout * SR[n - 1] * SC[n - 1] * 8 / av.nbout_port;
    compute += std::max(blocks, port) + (av.mode.fine ? T : blocks) * av.stages;
    chunks += 1;
  }
  e.steps = T * chunks;
  const int64_t nci0 = dense(C[0].wl) ? ceil_div(C[0].wl.cin, C[0].tci) : ceil_div(C[0].wl.cout, C[0].tco);
  const int64_t in_elems = C[0].wl.cin * SRin * SCin;
  e.dram_read = (in_elems + w_total * (resident ? 1 : T)) * av.esize;
  e.dram_write = last.cout * last.oh * last.ow * av.esize;
  // one run per channel when a tile's rows are whole, unpadded map rows; else one per row
  // (an fc chain's input vector: one flat run per input-channel chunk)
  const int64_t in_runs = C[0].wl.is_vector()                              ? T * nci0
                          : nct == 1 && SCin == C[0].wl.w && SCpad == SCin ? C[0].wl.cin * nrt
                                                                           : C[0].wl.cin * SRin * nct;
  const int64_t loads = T * nci0 + (resident ? w_loads : T * w_loads);
  const int64_t load = dma_time(static_cast<double>(e.dram_read), in_runs + (resident ? w_loads : T * w_loads), loads, av);
  const int64_t out_runs = nct == 1 ? T * (nrt == 1 ? 1 : last.cout) : last.cout * last.oh * nct;
  const int64_t store = dma_time(static_cast<double>(e.dram_write), out_runs, T, av);
  e.cycles = combine(compute, load, store, e.steps, av.mode);
  e.instrs = loads + e.steps + T + (av.mode.sync ? e.steps : 0);
  int64_t wmax = 0;
  for (const FusedLayer& f : C)
    if (has_weights(f.wl))
      wmax = std::max(wmax, (dense(f.wl) ? f.tco * f.tci : f.tco) * f.wl.kh * f.wl.kw + (f.wl.bias ? f.tco : 0));
  const int64_t ch0 = dense(C[0].wl) ? C[0].tci : C[0].tco;
  e.onchip = av.mode.depth * (ch0 * geo.in_plane * av.esize + (geo.slot[0] + geo.slot[1] + geo.slot[2]) * 4) +
             (resident ? w_total : av.mode.depth * wmax) * av.esize;
  return e;
}

// One input load per tile: the whole input stays in NBin for the tile (a residual Add reads it).
bool single_input_load(const std::vector<FusedLayer>& C) {
  const FusedLayer& f = C.front();
  return dense(f.wl) ? f.tci >= f.wl.cin : f.tco >= f.wl.cout;
}

// Why a tiling with set chunks does not fit the buffers ("" when it fits).
std::string fused_misfit(const std::vector<FusedLayer>& C, const ArchView& av, bool resident, int64_t w_total,
                         const FusedGeom& geo) {
  const int64_t nbout = geo.slot[0] + geo.slot[1] + geo.slot[2];
  if (nbout > av.nbout_elems)
    return "its intermediates need " + std::to_string(nbout * 4) + " B of NBout, which has " +
           std::to_string(av.nbout_elems * 4) + " B per buffer half";
  const int64_t ch0 = dense(C[0].wl) ? C[0].tci : C[0].tco;
  if (ch0 * geo.in_plane > av.nbin_elems)
    return "its input tile needs " + std::to_string(ch0 * geo.in_plane * av.esize) + " B of NBin, which has " +
           std::to_string(av.nbin_elems * av.esize) + " B per buffer half";
  if (resident && w_total > av.sb_total_elems) return "its weights do not all fit SB (w-resident)";
  for (const FusedLayer& f : C) {
    if (f.tco < 1 || f.tci < 1 || f.tco > f.wl.cout || (dense(f.wl) && f.tci > f.wl.cin))
      return "a channel chunk is out of range";
    if (!has_weights(f.wl) || resident) continue;
    const int64_t w = (dense(f.wl) ? f.tco * f.tci : f.tco) * f.wl.kh * f.wl.kw + (f.wl.bias ? f.tco : 0);
    if (w > av.sb_elems)
      return "a weight chunk needs " + std::to_string(w * av.esize) + " B of SB, which has " +
             std::to_string(av.sb_elems * av.esize) + " B per buffer half";
  }
  return "";
}

}  // namespace

FusedSlots fused_slots(const FusedPlan& plan) {
  const FusedGeom geo = fused_geom(plan.layers, plan.tr, plan.tc, plan.chunked);
  FusedSlots s;
  for (int k = 0; k < 3; ++k) s.slot[k] = geo.slot[k];
  s.in_plane = geo.in_plane;
  return s;
}

std::string check_fused(const Graph& g, const ArchView& av, FusedPlan& plan) {
  std::vector<FusedLayer> L;
  int64_t w_total = 0;
  std::vector<int> ids;
  for (const FusedLayer& f : plan.layers) ids.push_back(f.id);
  if (ids.size() + (plan.add_id >= 0 ? 1 : 0) < 2 || !fused_layers(g, ids, L, w_total)) return "not a fusable chain";
  const bool line = plan.overlap != Overlap::Recompute;
  if (plan.add_id >= 0 && line && !attach_add(g, ids, plan.add_id, L))
    return "the Add does not add two of the group's tensors (members read by it alone, or the group's input)";
  if (plan.add_id >= 0 && !line && !residual_tail(g, ids, plan.add_id)) return "the Add does not close the chain as a residual";
  for (std::size_t i = 0; i < L.size(); ++i) {
    L[i].tco = plan.layers[i].tco;
    L[i].tci = dense(L[i].wl) ? plan.layers[i].tci : 1;
    L[i].rows = plan.layers[i].rows;
  }
  const bool dag = std::any_of(L.begin(), L.end(), [](const FusedLayer& f) { return f.src != kChainSrc; });
  if (dag && plan.overlap == Overlap::Recompute)
    return "a group that is not a chain (a fire or inception module) is line-buffered: overlap cache-rows or cache-all";
  if (plan.overlap == Overlap::Recompute &&
      std::any_of(L.begin(), L.end(), [](const FusedLayer& f) { return f.wl.groups != 1; }))
    return "a group with a grouped conv is line-buffered: overlap cache-rows or cache-all";
  if (plan.overlap != Overlap::Recompute) {
    if (av.mode.depth != 1) return "a line-buffered group (" + std::string(overlap_name(plan.overlap)) + ") uses whole buffers";
    plan.layers = L;
    return check_line(av, w_total, plan);
  }
  if (plan.chunked) {
    if (!chunkable(L)) return "a chunked group is a dense or channel-local first layer, channel-local middle layers and a dense last layer";
    set_chunks(L, plan.layers[0].tco);
    for (std::size_t i = 0; i < L.size(); ++i)
      if (L[i].tco != plan.layers[i].tco || (dense(L[i].wl) && L[i].tci != plan.layers[i].tci))
        return "in a chunked group every layer but the last has co = the chunk and ci = all its input channels, "
               "and the last has co = all its output channels and ci = the chunk (chunk " +
               std::to_string(plan.layers[0].tco) + ")";
  }
  const WinLayer& last = L.back().wl;
  if (plan.tr < 1 || plan.tc < 1 || plan.tr > last.oh || plan.tc > last.ow)
    return "the tile " + std::to_string(plan.tr) + "x" + std::to_string(plan.tc) + " is outside the last layer's " +
           std::to_string(last.oh) + "x" + std::to_string(last.ow) + " output";
  const FusedGeom geo = fused_geom(L, plan.tr, plan.tc, plan.chunked);
  const std::string why = fused_misfit(L, av, plan.resident, w_total, geo);
  if (!why.empty()) return why;
  if (plan.add_id >= 0 && !single_input_load(L))
    return "with a residual Add the first layer must load all its input channels at once (the Add reads them)";
  plan.layers = L;
  plan.est = fused_estimate(L, av, plan.tr, plan.tc, plan.resident, w_total, geo, plan.add_id >= 0);
  return "";
}

std::string why_no_fused_plan(const Graph& g, const ArchView& av, const std::vector<int>& group, Overlap overlap) {
  std::vector<int> ids = group;
  int add_id = -1;
  bool residual = false;
  if (!ids.empty() && g.layer(ids.back()).op == OpKind::Add) {
    add_id = ids.back();
    ids.pop_back();
    residual = residual_tail(g, ids, add_id);
  }
  std::vector<FusedLayer> L;
  int64_t w_total = 0;
  if (ids.empty() || !fused_layers(g, ids, L, w_total)) return "its layers do not form a fusable group";
  const bool chain =
      std::all_of(L.begin(), L.end(), [](const FusedLayer& f) { return f.src == kChainSrc && f.wl.groups == 1; });
  std::vector<std::string> why;
  if (overlap == Overlap::Recompute || overlap == Overlap::Auto) {
    if (!chain || (add_id >= 0 && !residual))
      why.push_back("recompute: only chains without grouped convs (optionally closed by a residual add of their input) recompute");
    else if (const FusedGeom geo = fused_geom(L, 1, 1, false); geo.slot[0] + geo.slot[1] > av.nbout_elems)
      why.push_back("recompute: its intermediates need " + std::to_string((geo.slot[0] + geo.slot[1]) * 4) +
                    " B of NBout even for a 1x1 output tile, which has " + std::to_string(av.nbout_elems * 4) + " B");
    else
      why.push_back("recompute: the smallest fused tile needs more NBin or NBout");
  }
  if (overlap != Overlap::Recompute) {
    std::vector<FusedLayer> LA = L;
    int64_t sb = 0;
    for (const FusedLayer& f : L) sb += f.wl.weight_elems();
    std::string line;
    if (add_id >= 0 && !attach_add(g, ids, add_id, LA))
      line = "the Add does not sum two of the group's tensors";
    else if (const std::string u = line_unfit(LA); !u.empty())
      line = u;
    else if (sb > av.sb_total_elems)
      line = "its weights (" + std::to_string(sb * av.esize) + " B) must all stay in SB, which has " +
             std::to_string(av.sb_total_elems * av.esize) + " B";
    else {
      FusedPlan chain;
      chain.layers = LA;
      chain.strips = 2;
      line = "its line buffers and output slots need more NBin or NBout (" + std::to_string(av.nbin_elems * av.esize) +
             " B and " + std::to_string(av.nbout_elems * 4) + " B)" +
             (strips_unfit(chain).empty() ? ", even in 4 column strips" : "");
    }
    why.push_back("line-buffered: " + line);
  }
  std::string out;
  for (const std::string& w : why) out += (out.empty() ? "" : "; ") + w;
  return out;
}

bool plan_fused(const Graph& g, const ArchView& av, const std::vector<int>& group, FusedPlan& best, Overlap overlap) {
  std::vector<int> ids = group;
  int add_id = -1;
  bool residual = false;  // the Add closes a chain as the recompute tiling lowers it
  if (!ids.empty() && g.layer(ids.back()).op == OpKind::Add) {
    add_id = ids.back();
    ids.pop_back();
    residual = residual_tail(g, ids, add_id);
  }
  const std::size_t n = ids.size();
  std::vector<FusedLayer> L;
  int64_t w_total = 0;
  if (n == 0 || !fused_layers(g, ids, L, w_total)) return false;
  // Line-buffered plans take the Add attached to the exit it adds to (a ResNet block, with an
  // identity or a downsampling shortcut).
  std::vector<FusedLayer> LA = L;
  const bool line_ok = add_id < 0 || attach_add(g, ids, add_id, LA);
  if (add_id >= 0 && !residual && !line_ok) return false;
  if (std::any_of(L.begin(), L.end(), [](const FusedLayer& f) { return f.src != kChainSrc || f.wl.groups != 1; })) {
    // a DAG group (a fire or inception module, a downsampling block) or one with a grouped conv:
    // only line-buffered plans lower it
    if (!line_ok || overlap == Overlap::Recompute) return false;
    bool found = false;
    FusedPlan lp;
    for (Overlap m : {Overlap::CacheRows, Overlap::CacheAll}) {
      if (overlap != Overlap::Auto && overlap != m) continue;
      if (plan_line(LA, av, w_total, m, lp) && (!found || lp.est.cycles < best.est.cycles)) {
        best = lp;
        best.add_id = add_id;
        found = true;
      }
    }
    return found;
  }
  const WinLayer& last = L[n - 1].wl;
  const bool resident = w_total <= av.sb_total_elems;
  const int64_t sb_chunk = resident ? av.sb_total_elems : av.sb_elems;
  // Candidate output tiles of the last layer.
  auto cands = [](int64_t e) {
    std::vector<int64_t> v;
    for (int64_t k = 1; k <= e; ++k) {
      const int64_t t = ceil_div(e, k);
      if (v.empty() || v.back() != t) v.push_back(t);
    }
    return v;
  };
  bool found = false;
  auto consider = [&](const std::vector<FusedLayer>& C, int64_t tr, int64_t tc, bool chunked, const FusedGeom& geo) {
    if (add_id >= 0 && !single_input_load(C)) return;
    const Estimate e = fused_estimate(C, av, tr, tc, resident, w_total, geo, add_id >= 0);
    if (!found || e.cycles < best.est.cycles) {
      best.layers = C;
      best.tr = tr, best.tc = tc;
      best.resident = resident;
      best.chunked = chunked;
      best.add_id = add_id;
      best.est = e;
      found = true;
    }
  };
  // Chunk sizes of a chunked plan, largest first: the whole intermediate, then multiples of Tn.
  std::vector<int64_t> chunk_sizes;
  if (chunkable(L) && (add_id < 0 || dense(L[0].wl))) {
    const int64_t cmid = L[0].wl.cout;
    for (int64_t k = cmid; k >= 1; k = k > av.tn ? (k - 1) / av.tn * av.tn : 0) chunk_sizes.push_back(k);
  }
  for (int64_t tr : cands(last.oh))
    for (int64_t tc : cands(last.ow)) {
      if (add_id >= 0 && !residual) break;  // the recompute tiling only closes chains with a residual
      for (int64_t tk : chunk_sizes) {  // the largest chunk that fits this tile
        std::vector<FusedLayer> C = L;
        set_chunks(C, tk);
        const FusedGeom geo = fused_geom(C, tr, tc, true);
        if (!fused_misfit(C, av, resident, w_total, geo).empty()) continue;
        consider(C, tr, tc, true, geo);
        break;
      }
      const FusedGeom geo = fused_geom(L, tr, tc, false);
      if (geo.slot[0] + geo.slot[1] > av.nbout_elems || geo.in_plane > av.nbin_elems) continue;
      const int64_t in_plane = geo.in_plane;
      std::vector<FusedLayer> C = L;
      bool ok = true;
      for (std::size_t i = 0; i < n && ok; ++i) {
        const WinLayer& w = C[i].wl;
        const int64_t taps = w.kh * w.kw;
        if (!dense(w)) {
          C[i].tci = 1;
          C[i].tco = has_weights(w) ? std::min(w.cout, sb_chunk / (taps + 1)) : w.cout;
          if (i == 0) C[i].tco = std::min(C[i].tco, av.nbin_elems / in_plane);
          ok = C[i].tco >= 1;
          continue;
        }
        int64_t tci = w.cin;
        if (i == 0) tci = std::min(tci, av.nbin_elems / in_plane);
        if (resident) {
          C[i].tco = w.cout, C[i].tci = tci;
        } else {
          int64_t tco = std::min(w.cout, sb_chunk / (tci * taps + 1));
          if (tco < 1) {
            tco = 1;
            tci = std::min(tci, (sb_chunk - 1) / taps);
          }
          if (tco >= av.tn) tco = tco / av.tn * av.tn;
          C[i].tco = tco, C[i].tci = tci;
        }
        ok = C[i].tci >= 1 && C[i].tco >= 1;
      }
      if (!ok) continue;
      consider(C, tr, tc, false, geo);
    }
  // Line-buffered modes (linebuf.h): chains without a residual add, whole buffers.
  if (line_ok && overlap != Overlap::Recompute) {
    FusedPlan lp;
    for (Overlap m : {Overlap::CacheRows, Overlap::CacheAll}) {
      if (overlap != Overlap::Auto && overlap != m) continue;
      if (!plan_line(LA, av, w_total, m, lp)) continue;
      // a forced mode wins wherever it fits; auto takes the fewest estimated cycles
      if (!found || overlap == m || lp.est.cycles < best.est.cycles) {
        best = lp;
        best.add_id = add_id;
        found = true;
      }
    }
  }
  return found;
}

}  // namespace fusesim::compiler
