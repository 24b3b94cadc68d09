// Line-buffered fused groups: the firing order, the rings and the estimate. See linebuf.h.
#include "compiler/linebuf.h"

#include <algorithm>
#include <climits>
#include <functional>

#include "compiler/codegen.h"
#include "isa/nfu_timing.h"

namespace fusesim::compiler {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
bool dense(const WinLayer& l) { return l.kind == WinKind::Conv; }
bool has_weights(const WinLayer& l) { return l.kind == WinKind::Conv || l.kind == WinKind::DwConv; }


// Trailing padding a window layer's windows reach (0 when they stop inside the map).
int64_t trailing(int64_t out, int64_t s, int64_t k, int64_t d, int64_t lead, int64_t in) {
  return std::max<int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - lead - in);
}

// Column tiles of a layer's output: width of one, and how many.
int64_t col_width(const WinLayer& w, int64_t col_tiles) { return ceil_div(w.ow, std::min(col_tiles, w.ow)); }

// Cycles of one COMPUTE as the NFU times it (docs/isa.md): the pipeline formula, bounded below
// by the buffer ports. `in_elems`: input map; `nbin_out`: output elements written to NBin (data
// elements); `nbout_out`: accumulators written to NBout.
int64_t compute_cycles(const WinLayer& w, const ArchView& av, int64_t nco, int64_t rows, int64_t cols,
                       int64_t in_elems, int64_t nbin_out, int64_t nbout_out) {
  const int64_t blocks = ceil_div(nco, av.tn) * rows * cols;
  const int64_t inner = static_cast<int64_t>(isa::nfu_inner_cycles(compute_op_of(w.kind), static_cast<uint64_t>(w.cin),
                                                                   static_cast<uint64_t>(w.kh * w.kw),
                                                                   static_cast<uint64_t>(av.tn)));
  const int64_t pipe = av.mode.fine ? blocks * inner + av.stages : blocks * (inner + av.stages);
  const int64_t wbytes = has_weights(w) ? (nco * (dense(w) ? w.cin : 1) * w.kh * w.kw + (w.bias ? nco : 0)) * av.esize : 0;
  return std::max({pipe, ceil_div((in_elems + nbin_out) * av.esize, av.nbin_port), ceil_div(wbytes, av.sb_port),
                   ceil_div(nbout_out * 4, av.nbout_port)});
}

// Cycles of the COMPUTE add of a residual over nco x rows x cols (docs/isa.md): the pipeline,
// bounded below by NBin (the skip) and NBout (read and written) ports.
int64_t add_cycles(const ArchView& av, int64_t nco, int64_t rows, int64_t cols) {
  const int64_t blocks = ceil_div(nco, av.tn) * rows * cols;
  const int64_t inner = static_cast<int64_t>(isa::nfu_inner_cycles(isa::ComputeOp::Add, static_cast<uint64_t>(nco), 1,
                                                                   static_cast<uint64_t>(av.tn)));
  const int64_t pipe = av.mode.fine ? blocks * inner + av.stages : blocks * (inner + av.stages);
  const int64_t elems = nco * rows * cols;
  return std::max({pipe, ceil_div(elems * av.esize, av.nbin_port), ceil_div(elems * 8, av.nbout_port)});
}

}  // namespace

int line_src(const std::vector<FusedLayer>& L, std::size_t i) {
  return L[i].src == kChainSrc ? static_cast<int>(i) - 1 : L[i].src;
}

std::vector<char> line_exits(const std::vector<FusedLayer>& L) {
  std::vector<char> exit(L.size(), 1);
  for (std::size_t i = 0; i < L.size(); ++i) {
    if (line_src(L, i) >= 0) exit[static_cast<std::size_t>(line_src(L, i))] = 0;
    if (L[i].add_id >= 0 && L[i].add_src >= 0) exit[static_cast<std::size_t>(L[i].add_src)] = 0;
  }
  return exit;
}

std::string line_unfit(const std::vector<FusedLayer>& L) {
  if (L.empty() || L.size() > kMaxGroupLayers) return "a line-buffered group has 1 to " + std::to_string(kMaxGroupLayers) + " layers";
  if (std::all_of(L.begin(), L.end(), [](const FusedLayer& f) { return f.wl.is_vector(); }))
    return "a chain of matrix-vector layers (fc) has no rows to line-buffer: fc chains fuse with overlap recompute";
  int maps = 0;
  std::vector<char> read(L.size() + 1, 0);
  for (std::size_t i = 0; i < L.size(); ++i) {
    const int s = line_src(L, i);
    if (s >= static_cast<int>(i) || s < -1) return "a layer reads a later layer";
    read[static_cast<std::size_t>(s + 1)] = 1;
    if (L[i].add_id >= 0) {
      const int a = L[i].add_src;
      if (a == static_cast<int>(i) || a < -1 || a >= static_cast<int>(L.size())) return "a residual Add reads no other tensor of the group";
      read[static_cast<std::size_t>(a + 1)] = 1;
    }
  }
  for (char r : read) maps += r;
  if (maps > kMaxLineMaps)
    return "a line-buffered group has at most " + std::to_string(kMaxLineMaps) + " maps (one descriptor register each), not " +
           std::to_string(maps);
  // the consumers of a map that pad it must agree on the pad value (zero, or -inf for max pooling)
  for (std::size_t m = 0; m <= L.size(); ++m) {
    int value = -1;
    for (std::size_t i = 0; i < L.size(); ++i) {
      const WinLayer& w = L[i].wl;
      const bool pads = w.pt || w.pl || trailing(w.oh, w.sh, w.kh, w.dh, w.pt, w.h) || trailing(w.ow, w.sw, w.kw, w.dw, w.pl, w.w);
      if (line_src(L, i) + 1 != static_cast<int>(m) || !pads) continue;
      const int v = w.kind == WinKind::MaxPool ? 1 : 0;
      if (value >= 0 && v != value) return "a map read with zero padding by one layer and -inf padding by another";
      value = v;
    }
  }
  return "";
}

LineSchedule line_schedule(const FusedPlan& P, int64_t esize) {
  const std::vector<FusedLayer>& L = P.layers;
  const std::size_t n = L.size();
  const std::vector<char> exit = line_exits(L);
  LineSchedule S;
  // maps[0]: the group's input; maps[k]: the output of layer k - 1 (used when a layer reads it),
  // padded for the most any consumer pads it.
  S.maps.resize(n + 1);  // the last: only a residual's skip made by the last layer uses it
  std::vector<char> used(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const WinLayer& w = L[i].wl;
    const std::size_t k = static_cast<std::size_t>(line_src(L, i) + 1);
    LineMap& m = S.maps[k];
    if (!used[k]) {
      used[k] = 1;
      m.channels = w.cin * w.groups, m.h = w.h, m.w = w.w;
      m.group = k == 0 ? 1 : std::max<int64_t>(1, L[k - 1].rows);  // the producer's rows per firing
    }
    m.pt = std::max(m.pt, w.pt), m.pl = std::max(m.pl, w.pl);
    m.pb = std::max(m.pb, trailing(w.oh, w.sh, w.kh, w.dh, w.pt, w.h));
    m.pr = std::max(m.pr, trailing(w.ow, w.sw, w.kw, w.dw, w.pl, w.w));
    if (w.kind == WinKind::MaxPool && (w.pt || w.pl || trailing(w.oh, w.sh, w.kh, w.dh, w.pt, w.h) ||
                                       trailing(w.ow, w.sw, w.kw, w.dw, w.pl, w.w)))
      m.pad = isa::PadValue::Min;
  }
  // A residual's skip operand, when no window layer reads its map: unpadded, the exit's shape.
  for (std::size_t i = 0; i < n; ++i) {
    if (L[i].add_id < 0) continue;
    const std::size_t k = static_cast<std::size_t>(L[i].add_src + 1);
    if (used[k]) continue;
    used[k] = 1;
    S.maps[k].channels = L[i].wl.cout * L[i].wl.groups, S.maps[k].h = L[i].wl.oh, S.maps[k].w = L[i].wl.ow;
    S.maps[k].group = k == 0 ? 1 : std::max<int64_t>(1, L[k - 1].rows);
  }
  for (LineMap& m : S.maps) m.rows = m.pt + m.h + m.pb, m.cols = m.pl + m.w + m.pr;
  // Per layer: firings done (raster order over its tiles), column tiles per row and their width,
  // and the rows of the first row tile: a producer's row tiles start on the row groups of the map
  // it writes (its padded row r0 + pt is a multiple of its rows), so a firing fills whole groups.
  std::vector<int64_t> fired(n, 0), nct(n), tw(n), first(n), maxpos(n + 1, -1), filled(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    tw[i] = col_width(L[i].wl, P.col_tiles);
    nct[i] = ceil_div(L[i].wl.ow, tw[i]);
    const int64_t g = L[i].rows, off = !exit[i] ? S.maps[i + 1].pt % g : 0;
    first[i] = std::min(L[i].wl.oh, off ? g - off : g);
  }
  auto row_tile = [&](std::size_t i, int64_t r) { return r < first[i] ? 0 : 1 + (r - first[i]) / L[i].rows; };
  auto tiles = [&](std::size_t i) {
    return (1 + ceil_div(std::max<int64_t>(0, L[i].wl.oh - first[i]), L[i].rows)) * nct[i];
  };
  // Per map: (positions written when a consumer firing reads, the window's first position).
  std::vector<std::vector<std::pair<int64_t, int64_t>>> reads(n + 1);
  int64_t loaded = 0, load_step = 1;  // rows of the group's input loaded, and per load
  for (std::size_t i = 0; i < n; ++i)
    if (line_src(L, i) < 0) load_step = std::max(load_step, L[i].rows * L[i].wl.sh);

  // Loads rows of the group's input up to `need_r` (real) before firing f: one LOAD, extended
  // when both the window and a residual's skip need rows.
  auto load_upto = [&](LineFiring& f, int64_t need_r) {
    const LineMap& in = S.maps[0];
    if (loaded >= need_r + 1) return;
    const int64_t start = f.load_r1 > f.load_r0 ? f.load_r0 : loaded;
    f.load_r0 = start;
    f.load_r1 = std::min(in.h, std::max(need_r + 1, start + load_step));
    loaded = f.load_r1;
    maxpos[0] = std::max(maxpos[0], in.pos(f.load_r1 - 1 + in.pt, in.cols - 1));
  };
  std::function<void(std::size_t)> fire;
  auto ensure = [&](std::size_t i, int64_t r, int64_t c) {
    const WinLayer& w = L[i].wl;
    r = std::clamp<int64_t>(r, 0, w.oh - 1), c = std::clamp<int64_t>(c, 0, w.ow - 1);
    const int64_t target = row_tile(i, r) * nct[i] + c / tw[i];
    while (fired[i] <= target) fire(i);
  };
  fire = [&](std::size_t i) {
    const WinLayer& w = L[i].wl;
    const int src = line_src(L, i);
    const std::size_t k = static_cast<std::size_t>(src + 1);
    LineMap& in = S.maps[k];
    const int64_t dt = in.pt - w.pt, dl = in.pl - w.pl;  // this consumer's window inside the map
    const int64_t t = fired[i], rt = t / nct[i];
    LineFiring f;
    f.layer = static_cast<int>(i);
    f.r0 = rt == 0 ? 0 : first[i] + (rt - 1) * L[i].rows;
    f.rows = std::min(rt == 0 ? first[i] : L[i].rows, w.oh - f.r0);
    f.c0 = (t % nct[i]) * tw[i], f.cols = std::min(tw[i], w.ow - f.c0);
    const int64_t pr0 = f.r0 * w.sh + dt, pr1 = (f.r0 + f.rows - 1) * w.sh + (w.kh - 1) * w.dh + 1 + dt;
    const int64_t pc0 = f.c0 * w.sw + dl, pc1 = (f.c0 + f.cols - 1) * w.sw + (w.kw - 1) * w.dw + 1 + dl;
    const int64_t need_r = std::min(pr1 - in.pt, in.h) - 1, need_c = std::min(pc1 - in.pl, in.w) - 1;
    if (src < 0) {
      load_upto(f, need_r);
    } else {
      ensure(static_cast<std::size_t>(src), need_r, need_c);
    }
    // A residual's skip operand: the firing's own rows and columns of its map.
    std::size_t skip_k = 0;
    const bool skip = L[i].add_id >= 0;
    if (skip) {
      skip_k = static_cast<std::size_t>(L[i].add_src + 1);
      if (L[i].add_src < 0)
        load_upto(f, f.r0 + f.rows - 1);
      else
        ensure(static_cast<std::size_t>(L[i].add_src), f.r0 + f.rows - 1, f.c0 + f.cols - 1);
    }
    // The bottom padding of the input map is filled column by column as windows reach it, not
    // with the producer's last row: written early, it would overwrite rows still being read.
    if (pr1 > in.pt + in.h && pc1 > filled[k]) {
      f.fill_c0 = filled[k], f.fill_c1 = pc1;
      filled[k] = pc1;
      maxpos[k] = std::max(maxpos[k], in.pos(in.rows - 1, pc1 - 1));
    }
    reads[k].push_back({maxpos[k], in.pos(pr0, pc0)});
    if (skip) {
      const LineMap& sm = S.maps[skip_k];
      reads[skip_k].push_back({maxpos[skip_k], sm.pos(f.r0 + sm.pt, f.c0 + sm.pl)});
    }
    S.firings.push_back(f);
    ++fired[i];
    if (!exit[i]) {  // the positions this firing writes (its halo, but not the bottom padding)
      const LineMap& out = S.maps[i + 1];
      const int64_t last_c = f.c0 + f.cols - 1 + out.pl + (f.c0 + f.cols == w.ow ? out.pr : 0);
      maxpos[i + 1] = std::max(maxpos[i + 1], out.pos(f.r0 + f.rows - 1 + out.pt, last_c));
    }
  };
  // The exits fire tile by tile in lockstep (a fire module's two expands, an inception module's
  // four branches), each pulling what it reads.
  for (bool more = true; more;) {
    more = false;
    for (std::size_t i = 0; i < n; ++i)
      if (exit[i] && fired[i] < tiles(i)) {
        fire(i);
        more = more || fired[i] < tiles(i);
      }
  }

  // A ring holds every position from the oldest one a present or future window reads to the
  // newest one written.
  int64_t addr = 0;
  for (std::size_t k = 0; k < S.maps.size(); ++k) {
    LineMap& m = S.maps[k];
    if (!used[k]) {
      m = LineMap{};
      continue;
    }
    int64_t need = 1, oldest = INT64_MAX;
    for (std::size_t r = reads[k].size(); r-- > 0;) {
      oldest = std::min(oldest, reads[k][r].second);
      need = std::max(need, reads[k][r].first - oldest + 1);
    }
    // The input ring has room for one more load, so that a load runs ahead of the windows
    // still reading the rows before it.
    if (k == 0) need += load_step * m.cols;
    const int64_t whole = m.pos(m.rows - 1, m.cols - 1) + 1;
    m.ring = ceil_div(std::min(need, whole), m.group) * m.group;
    m.addr = addr;
    addr += ceil_div(m.bytes(esize), 64) * 64;
  }
  S.nbin_bytes = addr;
  for (std::size_t i = 0; i < n; ++i)
    if (exit[i]) S.out_slot_elems = std::max(S.out_slot_elems, L[i].tco * L[i].rows * tw[i]);
  return S;
}

std::string strips_unfit(const FusedPlan& P) {
  const std::vector<FusedLayer>& L = P.layers;
  if (P.strips == 1) return "";
  if (L.empty()) return "a group has layers";
  const int64_t ow = L.back().wl.ow;
  if (P.strips < 1 || P.strips > ow)
    return "strips " + std::to_string(P.strips) + " is outside 1.." + std::to_string(ow) + " (the output's columns)";
  for (std::size_t i = 0; i < L.size(); ++i) {
    if (line_src(L, i) != static_cast<int>(i) - 1) return "column strips need a chain (each layer reads the one before)";
    if (L[i].add_id >= 0) return "column strips need a chain without a residual Add";
  }
  for (const LineStrip& st : line_strips(P))
    for (const FusedLayer& f : st.plan.layers)
      if (f.wl.w < 1 || f.wl.ow < 1) return "a strip of " + std::to_string(P.strips) + " reads no column of some map";
  return "";
}

std::vector<LineStrip> line_strips(const FusedPlan& P) {
  const std::size_t n = P.layers.size();
  if (P.strips <= 1 || n == 0) return {LineStrip{P, 0, std::vector<int64_t>(n, 0)}};
  std::vector<LineStrip> out;
  const int64_t OW = P.layers.back().wl.ow;
  for (int64_t s = 0; s < P.strips; ++s) {
    LineStrip st{P, 0, std::vector<int64_t>(n, 0)};
    st.plan.strips = 1;
    // output columns [lo, hi) of layer i; going back, the real input columns its windows read
    int64_t lo = s * OW / P.strips, hi = (s + 1) * OW / P.strips;
    for (std::size_t i = n; i-- > 0;) {
      WinLayer& w = st.plan.layers[i].wl;
      const int64_t a = std::max<int64_t>(0, lo * w.sw - w.pl);
      const int64_t b = std::min(w.w, (hi - 1) * w.sw - w.pl + (w.kw - 1) * w.dw + 1);
      st.out_c0[i] = lo;
      w.pl += a - lo * w.sw;  // padding only where the strip touches the map's left edge
      w.w = b - a, w.ow = hi - lo;
      lo = a, hi = b;
    }
    st.in_c0 = lo;
    out.push_back(std::move(st));
  }
  return out;
}

namespace {

// Estimate of a line-buffered plan from its schedule.
// Estimate of a line-buffered plan from the schedules of its strips (line_strips, in order).
Estimate line_estimate(const FusedPlan& P, const std::vector<LineStrip>& strips, const std::vector<LineSchedule>& SS,
                       const ArchView& av, int64_t w_total) {
  const std::size_t n = P.layers.size();
  const std::vector<char> exit = line_exits(P.layers);
  Estimate e;
  int64_t compute = 0, computes = 0, loads = 0, in_runs = 0, stores = 0, out_runs = 0, in_bytes = 0;
  int64_t nbin = 0, slot = 0;
  for (std::size_t s = 0; s < strips.size(); ++s) {
  const std::vector<FusedLayer>& L = strips[s].plan.layers;
  const LineSchedule& S = SS[s];
  nbin = std::max(nbin, S.nbin_bytes), slot = std::max(slot, S.out_slot_elems);
  const LineMap& input = S.maps[0];
  in_bytes += input.channels * input.h * input.w * av.esize;
  for (const LineFiring& f : S.firings) {
    const FusedLayer& fl = L[f.layer];
    const WinLayer& w = fl.wl;
    const std::size_t i = static_cast<std::size_t>(f.layer);
    const int64_t ih = (f.rows - 1) * w.sh + (w.kh - 1) * w.dh + 1, iw = (f.cols - 1) * w.sw + (w.kw - 1) * w.dw + 1;
    if (f.load_r1 > f.load_r0) {
      loads += 1;
      in_runs += S.maps[0].channels * (f.load_r1 - f.load_r0);
    }
    if (f.fill_c1 > f.fill_c0) loads += 1;
    if (!exit[i]) {
      const LineMap& out = S.maps[i + 1];
      const int64_t ph = f.rows + (f.r0 == 0 ? out.pt : 0);
      const int64_t pw = f.cols + (f.c0 == 0 ? out.pl : 0) + (f.c0 + f.cols == w.ow ? out.pr : 0);
      // a grouped conv: one COMPUTE per group
      compute += w.groups * compute_cycles(w, av, w.cout, f.rows, f.cols, w.cin * ih * iw, w.cout * ph * pw, 0);
      computes += w.groups;
    } else {
      for (int64_t gco = 0; gco < w.cout * w.groups; gco += std::min(fl.tco, w.cout - gco % w.cout)) {
        // chunks of tco output channels inside each group of a grouped conv
        const int64_t nco = std::min(fl.tco, w.cout - gco % w.cout);
        const int64_t c = compute_cycles(w, av, nco, f.rows, f.cols, (dense(w) ? w.cin : nco) * ih * iw, 0, nco * f.rows * f.cols);
        const int64_t runs = nco * (f.cols == P.layers[i].wl.ow ? 1 : f.rows);  // whole rows of the full map: one run
        // a residual Add reads the skip from NBin into the chunk's accumulators
        const int64_t add = fl.add_id >= 0 ? add_cycles(av, nco, f.rows, f.cols) : 0;
        // two output slots: a chunk's COMPUTE waits for the STORE of the chunk before the last
        compute += std::max(c + add, dma_time(static_cast<double>(nco * f.rows * f.cols * av.esize), runs, 1, av));
        computes += fl.add_id >= 0 ? 2 : 1;
        stores += 1;
        out_runs += runs;
      }
    }
  }
  }
  const std::vector<FusedLayer>& L = P.layers;
  int64_t w_loads = 0;
  for (const FusedLayer& f : L)
    if (has_weights(f.wl)) w_loads += f.wl.groups * ceil_div(f.wl.cout, f.tco) * (f.wl.bias ? 2 : 1);
  e.dram_read = in_bytes + w_total * av.esize;  // strips re-read the input columns their halos share
  for (std::size_t i = 0; i < n; ++i)
    if (exit[i]) e.dram_write += L[i].wl.groups * L[i].wl.cout * L[i].wl.oh * L[i].wl.ow * av.esize;
  // Every layer fires within the first output row, so all the weights must arrive before the
  // NFU is past that row: their load is not hidden (it overlaps little work, and the first
  // firings are short). The input rows (the input ring has room to load one step ahead) and the
  // stores (two output slots) overlap the NFU.
  const int64_t load_w = dma_time(static_cast<double>(w_total * av.esize), w_loads, w_loads, av);
  const int64_t load = dma_time(static_cast<double>(in_bytes), in_runs, loads, av);
  const int64_t store = dma_time(static_cast<double>(e.dram_write), out_runs, stores, av);
  e.steps = computes;
  PipeMode overlap = av.mode;
  overlap.depth = 2;
  e.cycles = load_w + combine(compute, load, store, e.steps, overlap);
  e.instrs = static_cast<int64_t>(n) + loads + w_loads + computes + stores + (av.mode.sync ? computes : 0);
  e.onchip = nbin + 2 * slot * 4 + w_total * av.esize;
  return e;
}

// The schedules of a plan's strips, the widest's rings and the largest slots in `widest`.
std::vector<LineSchedule> strip_schedules(const std::vector<LineStrip>& strips, int64_t esize, LineSchedule& widest) {
  std::vector<LineSchedule> SS;
  widest = LineSchedule{};
  for (const LineStrip& st : strips) {
    SS.push_back(line_schedule(st.plan, esize));
    if (SS.size() == 1 || SS.back().nbin_bytes > widest.nbin_bytes) widest = SS.back();
  }
  for (const LineSchedule& S : SS) widest.out_slot_elems = std::max(widest.out_slot_elems, S.out_slot_elems);
  return SS;
}

// Why a line schedule does not fit ("" when it does).
std::string line_misfit(const FusedPlan& P, const LineSchedule& S, const ArchView& av, int64_t w_total) {
  if (S.nbin_bytes > av.nbin_elems * av.esize)
    return "its line buffers need " + std::to_string(S.nbin_bytes) + " B of NBin, which has " +
           std::to_string(av.nbin_elems * av.esize) + " B";
  if (2 * S.out_slot_elems > av.nbout_elems)
    return "its two output slots need " + std::to_string(2 * S.out_slot_elems * 4) + " B of NBout, which has " +
           std::to_string(av.nbout_elems * 4) + " B";
  int64_t sb = 0;
  for (const FusedLayer& f : P.layers)
    if (has_weights(f.wl)) sb += f.wl.weight_elems();
  if (sb > av.sb_total_elems)
    return "its weights (" + std::to_string(sb * av.esize) + " B with biases) must stay in SB, which has " +
           std::to_string(av.sb_total_elems * av.esize) + " B";
  (void)w_total;
  for (const LineMap& m : S.maps)
    if (m.ring >= (int64_t{1} << 22) || m.cols >= (int64_t{1} << 22) || m.group > 255 ||
        m.channels * m.ring >= (int64_t{1} << 22))
      return "a line buffer exceeds the descriptor fields";
  return "";
}

// Approximate ring rows of the map layer i reads (docs/compiler.md): a window of W rows over
// groups of G rows spans (ceil(W / G) - 1) * G rows of the map when windows start on a group.
int64_t approx_rows(const std::vector<FusedLayer>& L, std::size_t i, int64_t group) {
  const WinLayer& w = L[i].wl;
  const int64_t W = (L[i].rows - 1) * w.sh + (w.kh - 1) * w.dh + 1;
  return (ceil_div(W, group) - 1) * group;
}

}  // namespace

LineSchedule line_schedule_widest(const FusedPlan& P, int64_t esize) {
  LineSchedule widest;
  strip_schedules(line_strips(P), esize, widest);
  return widest;
}

std::string check_line(const ArchView& av, int64_t w_total, FusedPlan& plan) {
  std::vector<FusedLayer>& L = plan.layers;
  const std::string unfit = line_unfit(L);
  if (!unfit.empty()) return unfit;
  if (plan.chunked) return "a line-buffered group has no channel chunks";
  const std::vector<char> exit = line_exits(L);
  const std::string bad_strips = strips_unfit(plan);
  if (!bad_strips.empty()) return bad_strips;
  for (std::size_t i = 0; i < L.size(); ++i) {
    const int64_t ow = L[i].wl.ow / plan.strips;  // the narrowest strip's columns
    if (exit[i] && (plan.col_tiles < 1 || plan.col_tiles > ow))
      return "col_tiles " + std::to_string(plan.col_tiles) + " is outside 1.." + std::to_string(ow) +
             (plan.strips > 1 ? " (column tiles per strip)" : "");
  }
  if (plan.overlap == Overlap::CacheRows && plan.col_tiles != 1) return "cache-rows has col_tiles 1 (whole rows)";
  for (std::size_t i = 0; i < L.size(); ++i) {
    FusedLayer& f = L[i];
    if (f.rows < 1 || f.rows > f.wl.oh || f.rows > 255)
      return "rows " + std::to_string(f.rows) + " of layer " + std::to_string(i) + " is outside 1.." +
             std::to_string(std::min<int64_t>(255, f.wl.oh));
    if (!exit[i]) f.tco = f.wl.cout;  // layers that feed others write all their channels
    f.tci = dense(f.wl) ? f.wl.cin : 1;
    if (f.tco < 1 || f.tco > f.wl.cout) return "a co chunk is outside 1.." + std::to_string(f.wl.cout);
  }
  plan.resident = true;
  const std::vector<LineStrip> strips = line_strips(plan);
  LineSchedule S;
  const std::vector<LineSchedule> SS = strip_schedules(strips, av.esize, S);
  const std::string why = line_misfit(plan, S, av, w_total);
  if (!why.empty()) return why;
  plan.est = line_estimate(plan, strips, SS, av, w_total);
  return "";
}

bool plan_line(const std::vector<FusedLayer>& L0, const ArchView& av, int64_t w_total, Overlap mode, FusedPlan& best) {
  if (!line_unfit(L0).empty() || av.mode.depth != 1) return false;
  const std::size_t n = L0.size();
  const std::vector<char> exit = line_exits(L0);
  int64_t sb = 0;  // every weight stays in SB: reject before any search
  for (const FusedLayer& f : L0)
    if (has_weights(f.wl)) sb += f.wl.weight_elems();
  if (sb > av.sb_total_elems) return false;
  // Rows per firing: the exits fire one row; each producer fires either one row (the map it
  // writes then has groups of 1) or the most its consumers advance, their rows times stride
  // (groups that match). The choice with the fewest approximate ring bytes wins.
  std::vector<FusedLayer> L = L0;
  std::vector<std::size_t> producers;
  for (std::size_t i = 0; i < n; ++i)
    if (!exit[i]) producers.push_back(i);
  int64_t best_bytes = -1;
  std::vector<int64_t> best_rows;
  for (uint32_t mask = 0; mask < (1u << producers.size()); ++mask) {
    for (std::size_t i = n; i-- > 0;) {
      L[i].rows = 1;
      if (exit[i]) continue;
      const std::size_t bit = static_cast<std::size_t>(std::find(producers.begin(), producers.end(), i) - producers.begin());
      if (!((mask >> bit) & 1)) continue;
      for (std::size_t c = i + 1; c < n; ++c)
        if (line_src(L, c) == static_cast<int>(i)) L[i].rows = std::max(L[i].rows, L[c].rows * L[c].wl.sh);
      L[i].rows = std::min(L[i].rows, L[i].wl.oh);
    }
    int64_t bytes = 0;
    bool ok = true;
    std::vector<int64_t> map_rows(n + 1, 0);
    for (std::size_t i = 0; i < n; ++i) {
      ok = ok && L[i].rows <= 255;
      const int src = line_src(L, i);
      const int64_t g = src < 0 ? 1 : L[static_cast<std::size_t>(src)].rows;
      const std::size_t k = static_cast<std::size_t>(src + 1);
      const int64_t r = approx_rows(L, i, g) * (L[i].wl.w + 2 * L[i].wl.pl) * L[i].wl.cin * L[i].wl.groups;
      if (r > map_rows[k]) bytes += r - map_rows[k], map_rows[k] = r;
    }
    if (ok && (best_bytes < 0 || bytes < best_bytes)) {
      best_bytes = bytes;
      best_rows.clear();
      for (const FusedLayer& f : L) best_rows.push_back(f.rows);
    }
  }
  // Column strips divide the rings by about their count (chains only; tried only when no plan of
  // fewer strips fits, since each strip boundary recomputes its halo columns).
  FusedPlan probe;
  probe.layers = L0;
  probe.strips = 2;
  const int64_t max_strips = strips_unfit(probe).empty() ? 4 : 1;
  // The approximate rows are a lower bound on the rings (columns in flight come on top).
  if (best_bytes < 0 || best_bytes > av.nbin_elems * max_strips) return false;
  for (std::size_t i = 0; i < n; ++i) {
    L[i].rows = best_rows[i];
    L[i].tco = L[i].wl.cout;
    L[i].tci = dense(L[i].wl) ? L[i].wl.cin : 1;
  }
  int64_t min_ow = INT64_MAX;
  for (std::size_t i = 0; i < n; ++i)
    if (exit[i]) min_ow = std::min(min_ow, L[i].wl.ow);
  std::vector<int64_t> col_cands;
  if (mode == Overlap::CacheRows) {
    col_cands = {1};
  } else {
    for (int64_t k : {2, 3, 4, 6, 8, 12, 16, 24, 32})
      if (k <= min_ow && (col_cands.empty() || ceil_div(min_ow, k) != ceil_div(min_ow, col_cands.back())))
        col_cands.push_back(k);
  }
  bool found = false;
  for (int64_t strips = 1; strips <= max_strips && !found; ++strips)
  for (int64_t ct : col_cands) {
    FusedPlan P;
    P.layers = L;
    P.strips = strips;
    if (strips > 1 && (ct > min_ow / strips || !strips_unfit(P).empty())) continue;
    bool fits = true;
    for (std::size_t i = 0; i < n && fits; ++i) {
      if (!exit[i]) continue;
      // the largest channel chunk (a multiple of Tn) whose two output slots fit NBout
      WinLayer w = L[i].wl;
      w.ow = ceil_div(w.ow, strips);  // the widest strip
      const int64_t per_ch = L[i].rows * col_width(w, ct);
      int64_t tco = std::min(w.cout, av.nbout_elems / std::max<int64_t>(1, 2 * per_ch));
      if (tco > av.tn && tco < w.cout) tco = tco / av.tn * av.tn;
      P.layers[i].tco = tco;
      fits = tco >= 1;
    }
    if (!fits) continue;
    P.overlap = mode;
    P.col_tiles = ct;
    P.resident = true;
    const std::vector<LineStrip> strip_list = line_strips(P);
    LineSchedule S;
    const std::vector<LineSchedule> SS = strip_schedules(strip_list, av.esize, S);
    if (!line_misfit(P, S, av, w_total).empty()) continue;
    P.est = line_estimate(P, strip_list, SS, av, w_total);
    if (!found || P.est.cycles < best.est.cycles ||
        (P.est.cycles == best.est.cycles && P.est.onchip < best.est.onchip)) {
      best = P;
      found = true;
    }
  }
  return found;
}

}  // namespace fusesim::compiler
