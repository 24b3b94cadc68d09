// Line-buffered fused groups: the firing order, the rings and the estimate. See linebuf.h.
#include "compiler/linebuf.h"

#include <algorithm>
#include <climits>
#include <functional>

#include "isa/nfu_timing.h"

namespace fusesim::compiler {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
bool dense(const WinLayer& l) { return l.kind == WinKind::Conv; }
bool has_weights(const WinLayer& l) { return l.kind == WinKind::Conv || l.kind == WinKind::DwConv; }

isa::ComputeOp op_of(WinKind k) {
  switch (k) {
    case WinKind::Conv: return isa::ComputeOp::Conv;
    case WinKind::DwConv: return isa::ComputeOp::DwConv;
    case WinKind::MaxPool: return isa::ComputeOp::MaxPool;
    case WinKind::AvgPool: return isa::ComputeOp::AvgPool;
  }
  return isa::ComputeOp::Conv;
}

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
  const int64_t inner = static_cast<int64_t>(isa::nfu_inner_cycles(op_of(w.kind), static_cast<uint64_t>(w.cin),
                                                                   static_cast<uint64_t>(w.kh * w.kw),
                                                                   static_cast<uint64_t>(av.tn)));
  const int64_t pipe = av.mode.fine ? blocks * inner + av.stages : blocks * (inner + av.stages);
  const int64_t wbytes = has_weights(w) ? (nco * (dense(w) ? w.cin : 1) * w.kh * w.kw + (w.bias ? nco : 0)) * av.esize : 0;
  return std::max({pipe, ceil_div((in_elems + nbin_out) * av.esize, av.nbin_port), ceil_div(wbytes, av.sb_port),
                   ceil_div(nbout_out * 4, av.nbout_port)});
}

}  // namespace

bool line_bufferable(const std::vector<FusedLayer>& L) {
  if (L.empty() || static_cast<int>(L.size()) > kMaxLineLayers) return false;
  for (const FusedLayer& f : L)
    if (f.wl.groups != 1) return false;
  return true;
}

LineSchedule line_schedule(const FusedPlan& P, int64_t esize) {
  const std::vector<FusedLayer>& L = P.layers;
  const std::size_t n = L.size();
  LineSchedule S;
  S.maps.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const WinLayer& w = L[i].wl;
    LineMap& m = S.maps[i];
    m.channels = w.cin;
    m.h = w.h, m.w = w.w, m.pt = w.pt, m.pl = w.pl;
    m.pb = trailing(w.oh, w.sh, w.kh, w.dh, w.pt, w.h);
    m.pr = trailing(w.ow, w.sw, w.kw, w.dw, w.pl, w.w);
    m.rows = m.pt + m.h + m.pb, m.cols = m.pl + m.w + m.pr;
    m.group = i == 0 ? 1 : std::max<int64_t>(1, L[i - 1].rows);  // the producer's rows per firing
    m.pad = w.kind == WinKind::MaxPool ? isa::PadValue::Min : isa::PadValue::Zero;
  }
  // Per layer: firings done (raster order over its tiles), column tiles per row and their width,
  // and the rows of the first row tile: a producer's row tiles start on the row groups of the map
  // it writes (its padded row r0 + pt is a multiple of its rows), so a firing fills whole groups.
  std::vector<int64_t> fired(n, 0), nct(n), tw(n), first(n), maxpos(n, -1), filled(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    tw[i] = col_width(L[i].wl, P.col_tiles);
    nct[i] = ceil_div(L[i].wl.ow, tw[i]);
    const int64_t g = L[i].rows, off = i + 1 < n ? S.maps[i + 1].pt % g : 0;
    first[i] = std::min(L[i].wl.oh, off ? g - off : g);
  }
  auto row_tile = [&](std::size_t i, int64_t r) { return r < first[i] ? 0 : 1 + (r - first[i]) / L[i].rows; };
  // Per map: (positions written when a consumer firing reads, the window's first position).
  std::vector<std::vector<std::pair<int64_t, int64_t>>> reads(n);
  int64_t loaded = 0;  // rows of the group's input loaded
  const int64_t load_step = std::max<int64_t>(1, L[0].rows * L[0].wl.sh);

  std::function<void(std::size_t)> fire;
  auto ensure = [&](std::size_t i, int64_t r, int64_t c) {
    const WinLayer& w = L[i].wl;
    r = std::clamp<int64_t>(r, 0, w.oh - 1), c = std::clamp<int64_t>(c, 0, w.ow - 1);
    const int64_t target = row_tile(i, r) * nct[i] + c / tw[i];
    while (fired[i] <= target) fire(i);
  };
  fire = [&](std::size_t i) {
    const WinLayer& w = L[i].wl;
    LineMap& in = S.maps[i];
    const int64_t t = fired[i], rt = t / nct[i];
    LineFiring f;
    f.layer = static_cast<int>(i);
    f.r0 = rt == 0 ? 0 : first[i] + (rt - 1) * L[i].rows;
    f.rows = std::min(rt == 0 ? first[i] : L[i].rows, w.oh - f.r0);
    f.c0 = (t % nct[i]) * tw[i], f.cols = std::min(tw[i], w.ow - f.c0);
    const int64_t pr0 = f.r0 * w.sh, pr1 = (f.r0 + f.rows - 1) * w.sh + (w.kh - 1) * w.dh + 1;
    const int64_t pc0 = f.c0 * w.sw, pc1 = (f.c0 + f.cols - 1) * w.sw + (w.kw - 1) * w.dw + 1;
    const int64_t need_r = std::min(pr1 - in.pt, in.h) - 1, need_c = std::min(pc1 - in.pl, in.w) - 1;
    if (i == 0) {
      if (loaded < need_r + 1) {
        f.load_r0 = loaded;
        f.load_r1 = std::min(in.h, std::max(need_r + 1, loaded + load_step));
        loaded = f.load_r1;
        maxpos[0] = std::max(maxpos[0], in.pos(f.load_r1 - 1 + in.pt, in.cols - 1));
      }
    } else {
      ensure(i - 1, need_r, need_c);
    }
    // The bottom padding of the input map is filled column by column as windows reach it, not
    // with the producer's last row: written early, it would overwrite rows still being read.
    if (pr1 > in.pt + in.h && pc1 > filled[i]) {
      f.fill_c0 = filled[i], f.fill_c1 = pc1;
      filled[i] = pc1;
      maxpos[i] = std::max(maxpos[i], in.pos(in.rows - 1, pc1 - 1));
    }
    reads[i].push_back({maxpos[i], in.pos(pr0, pc0)});
    S.firings.push_back(f);
    ++fired[i];
    if (i + 1 < n) {  // the positions this firing writes (its halo, but not the bottom padding)
      const LineMap& out = S.maps[i + 1];
      const int64_t last_c = f.c0 + f.cols - 1 + out.pl + (f.c0 + f.cols == w.ow ? out.pr : 0);
      maxpos[i + 1] = std::max(maxpos[i + 1], out.pos(f.r0 + f.rows - 1 + out.pt, last_c));
    }
  };
  const WinLayer& last = L[n - 1].wl;
  const int64_t last_tiles = (1 + ceil_div(std::max<int64_t>(0, last.oh - first[n - 1]), L[n - 1].rows)) * nct[n - 1];
  while (fired[n - 1] < last_tiles) fire(n - 1);

  // A ring holds every position from the oldest one a present or future window reads to the
  // newest one written.
  int64_t addr = 0;
  for (std::size_t i = 0; i < n; ++i) {
    LineMap& m = S.maps[i];
    int64_t need = 1, oldest = INT64_MAX;
    for (std::size_t k = reads[i].size(); k-- > 0;) {
      oldest = std::min(oldest, reads[i][k].second);
      need = std::max(need, reads[i][k].first - oldest + 1);
    }
    const int64_t whole = m.pos(m.rows - 1, m.cols - 1) + 1;
    m.ring = ceil_div(std::min(need, whole), m.group) * m.group;
    m.addr = addr;
    addr += ceil_div(m.bytes(esize), 64) * 64;
  }
  S.nbin_bytes = addr;
  S.out_slot_elems = L[n - 1].tco * L[n - 1].rows * tw[n - 1];
  return S;
}

namespace {

// Estimate of a line-buffered plan from its schedule.
Estimate line_estimate(const FusedPlan& P, const LineSchedule& S, const ArchView& av, int64_t w_total) {
  const std::vector<FusedLayer>& L = P.layers;
  const std::size_t n = L.size();
  Estimate e;
  int64_t compute = 0, computes = 0, loads = 0, in_runs = 0, stores = 0, out_runs = 0;
  for (const LineFiring& f : S.firings) {
    const FusedLayer& fl = L[f.layer];
    const WinLayer& w = fl.wl;
    const std::size_t i = static_cast<std::size_t>(f.layer);
    const int64_t ih = (f.rows - 1) * w.sh + (w.kh - 1) * w.dh + 1, iw = (f.cols - 1) * w.sw + (w.kw - 1) * w.dw + 1;
    if (f.load_r1 > f.load_r0) {
      loads += 1;
      in_runs += w.cin * (f.load_r1 - f.load_r0);
    }
    if (f.fill_c1 > f.fill_c0) loads += 1;
    if (i + 1 < n) {
      const LineMap& out = S.maps[i + 1];
      const int64_t ph = f.rows + (f.r0 == 0 ? out.pt : 0);
      const int64_t pw = f.cols + (f.c0 == 0 ? out.pl : 0) + (f.c0 + f.cols == w.ow ? out.pr : 0);
      compute += compute_cycles(w, av, w.cout, f.rows, f.cols, w.cin * ih * iw, w.cout * ph * pw, 0);
      computes += 1;
    } else {
      for (int64_t co = 0; co < w.cout; co += fl.tco) {
        const int64_t nco = std::min(fl.tco, w.cout - co);
        compute += compute_cycles(w, av, nco, f.rows, f.cols, (dense(w) ? w.cin : nco) * ih * iw, 0, nco * f.rows * f.cols);
        computes += 1;
        stores += 1;
        out_runs += nco * (f.cols == w.ow ? 1 : f.rows);
      }
    }
  }
  const WinLayer& first = L[0].wl;
  const WinLayer& last = L[n - 1].wl;
  int64_t w_loads = 0;
  for (const FusedLayer& f : L)
    if (has_weights(f.wl)) w_loads += ceil_div(f.wl.cout, f.tco) * (f.wl.bias ? 2 : 1);
  e.dram_read = (first.cin * first.h * first.w + w_total) * av.esize;
  e.dram_write = last.cout * last.oh * last.ow * av.esize;
  // Every layer fires within the last layer's first row, so all the weights must arrive before
  // the NFU is past that row: their load is not hidden (it overlaps little work, and the first
  // firings are short). The input rows and the stores then overlap the NFU (rings and two
  // output slots).
  const int64_t in_bytes = first.cin * first.h * first.w * av.esize;
  const int64_t load_w = dma_time(static_cast<double>(w_total * av.esize), w_loads, w_loads, av);
  const int64_t load = dma_time(static_cast<double>(in_bytes), in_runs, loads, av);
  const int64_t store = dma_time(static_cast<double>(e.dram_write), out_runs, stores, av);
  e.steps = computes;
  PipeMode overlap = av.mode;
  overlap.depth = 2;
  e.cycles = load_w + combine(compute, load, store, e.steps, overlap);
  e.instrs = static_cast<int64_t>(n) + loads + w_loads + computes + stores + (av.mode.sync ? computes : 0);
  e.onchip = S.nbin_bytes + 2 * S.out_slot_elems * 4 + w_total * av.esize;
  return e;
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

// Approximate ring rows of map i (docs/compiler.md): a window of W rows over groups of G rows
// spans (ceil(W / G) - 1) * G rows of the map when windows start on a group.
int64_t approx_rows(const std::vector<FusedLayer>& L, std::size_t i, int64_t group) {
  const WinLayer& w = L[i].wl;
  const int64_t W = (L[i].rows - 1) * w.sh + (w.kh - 1) * w.dh + 1;
  return (ceil_div(W, group) - 1) * group;
}

}  // namespace

std::string check_line(const ArchView& av, int64_t w_total, FusedPlan& plan) {
  std::vector<FusedLayer>& L = plan.layers;
  if (!line_bufferable(L))
    return "a line-buffered group is a chain of at most " + std::to_string(kMaxLineLayers) +
           " conv, depthwise conv and pooling layers without groups, channel chunks or a residual add";
  if (plan.chunked || plan.add_id >= 0) return "a line-buffered group has no channel chunks and no residual add";
  const WinLayer& last = L.back().wl;
  if (plan.col_tiles < 1 || plan.col_tiles > last.ow)
    return "col_tiles " + std::to_string(plan.col_tiles) + " is outside 1.." + std::to_string(last.ow);
  if (plan.overlap == Overlap::CacheRows && plan.col_tiles != 1) return "cache-rows has col_tiles 1 (whole rows)";
  for (std::size_t i = 0; i < L.size(); ++i) {
    FusedLayer& f = L[i];
    if (f.rows < 1 || f.rows > f.wl.oh || f.rows > 255)
      return "rows " + std::to_string(f.rows) + " of layer " + std::to_string(i) + " is outside 1.." +
             std::to_string(std::min<int64_t>(255, f.wl.oh));
    if (i + 1 < L.size()) f.tco = f.wl.cout;  // intermediate layers write all their channels
    f.tci = dense(f.wl) ? f.wl.cin : 1;
    if (f.tco < 1 || f.tco > f.wl.cout) return "the last layer's co chunk is outside 1.." + std::to_string(f.wl.cout);
  }
  plan.resident = true;
  const LineSchedule S = line_schedule(plan, av.esize);
  const std::string why = line_misfit(plan, S, av, w_total);
  if (!why.empty()) return why;
  plan.est = line_estimate(plan, S, av, w_total);
  return "";
}

bool plan_line(const std::vector<FusedLayer>& L0, const ArchView& av, int64_t w_total, Overlap mode, FusedPlan& best) {
  if (!line_bufferable(L0) || av.mode.depth != 1) return false;
  const std::size_t n = L0.size();
  int64_t sb = 0;  // every weight stays in SB: reject before any search
  for (const FusedLayer& f : L0)
    if (has_weights(f.wl)) sb += f.wl.weight_elems();
  if (sb > av.sb_total_elems) return false;
  // Rows per firing: the last layer fires one row; each producer fires either one row (its
  // consumer's map then has groups of 1) or its consumer's rows times stride (groups that match
  // the consumer's advance). The choice with the fewest approximate ring bytes wins.
  std::vector<FusedLayer> L = L0;
  int64_t best_bytes = -1;
  std::vector<int64_t> best_rows;
  for (uint32_t mask = 0; mask < (1u << (n - 1)); ++mask) {
    L.back().rows = 1;
    for (std::size_t i = n - 1; i-- > 0;)
      L[i].rows = (mask >> i) & 1 ? std::min(L[i + 1].rows * L[i + 1].wl.sh, L[i].wl.oh) : 1;
    int64_t bytes = 0;
    bool ok = true;
    for (std::size_t i = 0; i < n; ++i) {
      ok = ok && L[i].rows <= 255;
      const int64_t g = i == 0 ? 1 : L[i - 1].rows;
      bytes += approx_rows(L, i, g) * (L[i].wl.w + 2 * L[i].wl.pl) * L[i].wl.cin;
    }
    if (ok && (best_bytes < 0 || bytes < best_bytes)) {
      best_bytes = bytes;
      best_rows.clear();
      for (const FusedLayer& f : L) best_rows.push_back(f.rows);
    }
  }
  // The approximate rows are a lower bound on the rings (columns in flight come on top).
  if (best_bytes < 0 || best_bytes * av.esize > av.nbin_elems * av.esize) return false;
  for (std::size_t i = 0; i < n; ++i) {
    L[i].rows = best_rows[i];
    L[i].tco = L[i].wl.cout;
    L[i].tci = dense(L[i].wl) ? L[i].wl.cin : 1;
  }
  const WinLayer& last = L.back().wl;
  std::vector<int64_t> col_cands;
  if (mode == Overlap::CacheRows) {
    col_cands = {1};
  } else {
    for (int64_t k : {2, 3, 4, 6, 8, 12, 16, 24, 32})
      if (k <= last.ow && (col_cands.empty() || ceil_div(last.ow, k) != ceil_div(last.ow, col_cands.back())))
        col_cands.push_back(k);
  }
  bool found = false;
  for (int64_t ct : col_cands) {
    // the largest last-layer channel chunk (a multiple of Tn) whose two output slots fit NBout
    const int64_t per_ch = L.back().rows * col_width(last, ct);
    int64_t tco = std::min(last.cout, av.nbout_elems / std::max<int64_t>(1, 2 * per_ch));
    if (tco < 1) continue;
    if (tco > av.tn && tco < last.cout) tco = tco / av.tn * av.tn;
    FusedPlan P;
    P.layers = L;
    P.layers.back().tco = tco;
    P.overlap = mode;
    P.col_tiles = ct;
    P.resident = true;
    const LineSchedule S = line_schedule(P, av.esize);
    if (!line_misfit(P, S, av, w_total).empty()) continue;
    P.est = line_estimate(P, S, av, w_total);
    if (!found || P.est.cycles < best.est.cycles ||
        (P.est.cycles == best.est.cycles && P.est.onchip < best.est.onchip)) {
      best = P;
      found = true;
    }
  }
  return found;
}

}  // namespace fusesim::compiler
