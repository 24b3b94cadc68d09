// The analytic cost model and the tile search. See cost_model.h.
#include "cost_model.h"

#include "isa/nfu_timing.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace fusesim::compiler {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Sums over the tiles of one spatial axis: the number of tiles, the padded input extent
// (what the buffer holds) and the valid input extent (what DRAM supplies).
struct AxisSums {
  int64_t tiles = 0, padded = 0, valid = 0;
};
AxisSums axis_sums(int64_t out, int64_t t, int64_t s, int64_t k, int64_t d, int64_t pad, int64_t in) {
  AxisSums a;
  const int64_t span = (k - 1) * d + 1;
  for (int64_t o0 = 0; o0 < out; o0 += t) {
    const int64_t n = std::min(t, out - o0);
    const int64_t lo = o0 * s - pad, len = (n - 1) * s + span;
    const int64_t vlo = std::max<int64_t>(0, lo), vhi = std::min(in, lo + len);
    ++a.tiles;
    a.padded += len;
    a.valid += std::max<int64_t>(0, vhi - vlo);
  }
  return a;
}


// Candidate tile sizes for an extent n: every distinct ceil(n / k), plus multiples of `align`.
std::vector<int64_t> candidates(int64_t n, int64_t align) {
  std::vector<int64_t> s;
  for (int64_t k = 1; k <= n; ++k) {
    const int64_t t = ceil_div(n, k);
    s.push_back(t);
    if (align > 1 && t > align) s.push_back(std::min(n, ceil_div(t, align) * align));
    if (k > 4096) break;
  }
  if (align > 1)
    for (int64_t t = align; t < n; t *= 2) s.push_back(t);
  std::sort(s.begin(), s.end());  // ascending and distinct
  s.erase(std::unique(s.begin(), s.end()), s.end());
  return s;
}

bool dense(const WinLayer& l) { return l.kind == WinKind::Conv; }
bool has_weights(const WinLayer& l) { return l.kind == WinKind::Conv || l.kind == WinKind::DwConv; }

}  // namespace

int64_t WinLayer::weight_elems() const {
  if (kind == WinKind::Conv) return groups * cout * cin * kh * kw + (bias ? groups * cout : 0);
  if (kind == WinKind::DwConv) return cout * kh * kw + (bias ? cout : 0);
  return 0;
}

bool WinLayer::is_vector() const {
  return kind == WinKind::Conv && groups == 1 && h == 1 && w == 1 && oh == 1 && ow == 1 && kh == 1 && kw == 1;
}

std::string Tile::str() const {
  return "co=" + std::to_string(tco) + " ci=" + std::to_string(tci) + " rows=" + std::to_string(tr) +
         " cols=" + std::to_string(tc) + (tb > 1 ? " samples=" + std::to_string(tb) : "");
}

PipeMode pipe_mode(Pipeline p) {
  PipeMode m;
  m.depth = (p == Pipeline::Coarse || p == Pipeline::Full) ? 2 : 1;
  m.fine = p == Pipeline::Fine || p == Pipeline::Full;
  m.sync = p == Pipeline::None;
  return m;
}

ArchView arch_view(const ArchParams& a, isa::DType dtype, Pipeline p, int depth) {
  ArchView v;
  v.mode = pipe_mode(p);
  if (depth) v.mode.depth = depth;
  v.esize = isa::data_bytes(dtype);
  v.nbin_elems = static_cast<int64_t>(a.nbin.bytes) / v.mode.depth / v.esize;
  v.sb_elems = static_cast<int64_t>(a.sb.bytes) / v.mode.depth / v.esize;
  v.sb_total_elems = static_cast<int64_t>(a.sb.bytes) / v.esize;
  v.nbout_elems = static_cast<int64_t>(a.nbout.bytes) / v.mode.depth / 4;
  v.tn = a.tn;
  v.stages = a.nfu_stages;
  v.dram_bytes_per_cycle = a.dram_bytes_per_cycle();
  v.dma_fixed = a.dma_setup_cycles + static_cast<int64_t>(a.dram_latency_cycles());
  v.dram_latency = static_cast<int64_t>(a.dram_latency_cycles());
  v.outstanding = std::max<uint32_t>(1, a.dma_outstanding);
  v.burst_bytes = std::max<uint32_t>(1, a.dma_burst_bytes);
  v.row_miss = static_cast<int64_t>(a.dram_row_miss_cycles());
  v.nbin_port = std::max<uint32_t>(1, a.nbin.port_bytes);
  v.sb_port = std::max<uint32_t>(1, a.sb.port_bytes);
  v.nbout_port = std::max<uint32_t>(1, a.nbout.port_bytes);
  return v;
}

// Sum over the tiles of n in steps of t of ceil(tile / tn): n / t full tiles and the rest.
int64_t blocks_sum(int64_t n, int64_t t, int64_t tn) {
  const int64_t rest = n % t;
  return n / t * ceil_div(t, tn) + (rest ? ceil_div(rest, tn) : 0);
}

int64_t inner_sum(const WinLayer& l, int64_t tci, int64_t tn) {
  const uint64_t taps = static_cast<uint64_t>(l.kh * l.kw);
  if (!dense(l)) return static_cast<int64_t>(isa::nfu_inner_cycles(isa::ComputeOp::DwConv, 1, taps, tn));
  // l.cin / tci full input-channel tiles and the rest
  auto cycles = [&](int64_t c) {
    return static_cast<int64_t>(isa::nfu_inner_cycles(isa::ComputeOp::Conv, static_cast<uint64_t>(c), taps, tn));
  };
  const int64_t rest = l.cin % tci;
  return l.cin / tci * cycles(tci) + (rest ? cycles(rest) : 0);
}

int64_t dma_time(double bytes, int64_t runs, int64_t instrs, const ArchView& av) {
  // The bus, or the outstanding window (Little's law): each burst waits the latency, and the
  // first burst of a run usually opens a new DRAM row. A run adds about one partial burst.
  const double bus = bytes / av.dram_bytes_per_cycle;
  const double bursts = bytes / static_cast<double>(av.burst_bytes) + static_cast<double>(runs);
  const double lat = (bursts * static_cast<double>(av.dram_latency) + static_cast<double>(runs * av.row_miss)) /
                     static_cast<double>(av.outstanding);
  return static_cast<int64_t>(std::max(bus, lat)) + instrs * av.dma_fixed;
}

int64_t combine(int64_t compute, int64_t load, int64_t store, int64_t steps, const PipeMode& m) {
  steps = std::max<int64_t>(1, steps);
  if (m.sync) return compute + load + store;
  // Whole buffers: a step's loads wait for the previous COMPUTEs to free NBin and SB, the next
  // COMPUTEs for the previous STORE to free NBout, and loads and stores share the DRAM bus, so
  // nothing overlaps the NFU but a store and the next step's loads.
  if (m.depth == 1) return compute + load + store;
  // Double-buffered: the slower of the NFU and the shared DRAM bus, plus filling and
  // draining one step.
  return std::max(compute, load + store) + (compute + load + store) / steps;
}

bool tile_fits(const WinLayer& l, const ArchView& av, const Tile& t) {
  const int64_t ir = (t.tr - 1) * l.sh + (l.kh - 1) * l.dh + 1, ic = (t.tc - 1) * l.sw + (l.kw - 1) * l.dw + 1;
  const int64_t ch_in = dense(l) ? t.tci : t.tco;
  if (ch_in * ir * ic > av.nbin_elems) return false;
  if (t.tco * t.tr * t.tc * t.tb > av.nbout_elems) return false;
  if (has_weights(l)) {
    const int64_t w = dense(l) ? t.tco * t.tci * l.kh * l.kw : t.tco * l.kh * l.kw;
    if (w + (l.bias ? t.tco : 0) > av.sb_elems) return false;
  }
  return true;
}

namespace {
// The estimate from per-axis sums (shared by every tile candidate with the same rows/cols)
// and the channel block sums (per tco / tci).
Estimate estimate_from(const WinLayer& l, const ArchView& av, const Tile& t, bool resident, bool ws, const AxisSums& R,
                       const AxisSums& C, int64_t co_blocks, int64_t inner_total, bool kept = false);
}  // namespace

Estimate estimate(const WinLayer& l, const ArchView& av, const Tile& t, bool resident, bool ws, bool kept) {
  const AxisSums R = axis_sums(l.oh, t.tr, l.sh, l.kh, l.dh, l.pt, l.h);
  const AxisSums C = axis_sums(l.ow, t.tc, l.sw, l.kw, l.dw, l.pl, l.w);
  return estimate_from(l, av, t, resident, ws, R, C, blocks_sum(l.cout, t.tco, av.tn),
                       inner_sum(l, t.tci, av.tn), resident && kept);
}

namespace {
Estimate estimate_from(const WinLayer& l, const ArchView& av, const Tile& t, bool resident, bool ws, const AxisSums& R,
                       const AxisSums& C, int64_t co_blocks, int64_t inner_total, bool kept) {
  const int64_t nsp = R.tiles * C.tiles, nco = ceil_div(l.cout, t.tco);
  const int64_t nci = dense(l) ? ceil_div(l.cin, t.tci) : 1;
  const int64_t G = dense(l) ? l.groups : 1;
  // The batch: every sample runs every step; a weight tile is loaded once per pass over the
  // batch (tb samples share it), once in all when resident or weight-stationary.
  const int64_t N = l.batch, passes = ceil_div(N, t.tb);
  Estimate e;
  e.steps = G * nsp * nco * nci * N;
  // Input: reloaded per output-channel tile unless one tile holds every input channel and
  // the spatial loop is outermost (and one sample at a time owns NBin).
  const bool keep_input = dense(l) && nci == 1 && !ws && t.tb == 1;
  const int64_t in_reload = dense(l) && !keep_input ? nco : 1;
  const int64_t in_valid = G * R.valid * C.valid * l.cin * in_reload * N;
  const int64_t in_padded = G * R.padded * C.padded * l.cin * in_reload * N;
  const int64_t w_elems = l.weight_elems();
  const int64_t w_loads = kept ? 0 : resident || ws ? 1 : nsp * passes;
  e.dram_read = (in_valid + w_elems * w_loads) * av.esize;
  const int64_t out_elems = G * l.cout * l.oh * l.ow * N;
  e.dram_write = out_elems * av.esize;
  // NFU: blocks of Tn outputs, `inner` cycles each (docs/isa.md).
  const int64_t blocks = G * co_blocks * l.oh * l.ow * N;
  const int64_t drains = nci;  // every input-channel chunk drains (1 unless dense)
  int64_t compute = blocks * inner_total + (av.mode.fine ? e.steps * av.stages : blocks * drains * av.stages);
  const int64_t nbin_b = in_padded * av.esize, sb_b = w_elems * nsp * N * av.esize;
  const int64_t nbout_b = out_elems * 4 * (2 * nci - 1);
  compute = std::max({compute, nbin_b / av.nbin_port, sb_b / av.sb_port, nbout_b / av.nbout_port});
  // DMA: one run per (channel, row) of an input tile narrower than the map or padded at its
  // sides (its rows in the buffer are then wider than in DRAM); weights are laid out tile by
  // tile in DRAM, so a weight tile is one run.
  const int64_t in_loads = keep_input ? G * nsp * N : e.steps;
  const int64_t ch_per_load = dense(l) ? std::min(t.tci, l.cin) : std::min(t.tco, l.cout);
  const int64_t loads_per_sp = in_loads / std::max<int64_t>(1, nsp);
  int64_t in_runs;
  if (C.tiles == 1 && C.valid == l.w && C.padded == C.valid)
    in_runs = (R.tiles == 1 && R.valid == l.h) ? loads_per_sp : loads_per_sp * R.tiles * ch_per_load;
  else
    in_runs = loads_per_sp * ch_per_load * R.valid * C.tiles;
  const int64_t w_instrs =
      has_weights(l) && !kept ? (resident ? 1 : (ws ? G * nco : G * nsp * nco * nci * passes)) * (l.bias ? 2 : 1) : 0;
  const int64_t load = dma_time(static_cast<double>(e.dram_read), in_runs + w_instrs, in_loads + w_instrs, av);
  const int64_t out_tiles = G * nsp * nco * N;
  const int64_t out_runs = (t.tc >= l.ow) ? (t.tr >= l.oh ? out_tiles : out_tiles * std::min(t.tco, l.cout))
                                          : G * l.cout * l.oh * C.tiles * N;
  const int64_t store = dma_time(static_cast<double>(e.dram_write), out_runs, out_tiles, av);
  e.cycles = combine(compute, load, store, e.steps, av.mode);
  e.instrs = in_loads + w_instrs + e.steps + out_tiles + (av.mode.sync ? e.steps : 0);
  {
    const int64_t D = av.mode.depth;
    const int64_t ir = (t.tr - 1) * l.sh + (l.kh - 1) * l.dh + 1, ic = (t.tc - 1) * l.sw + (l.kw - 1) * l.dw + 1;
    const int64_t tco = std::min(t.tco, l.cout), tci = dense(l) ? std::min(t.tci, l.cin) : tco;
    const int64_t wt = has_weights(l) ? (dense(l) ? tco * tci * l.kh * l.kw : tco * l.kh * l.kw) + (l.bias ? tco : 0) : 0;
    e.onchip = D * tci * ir * ic * av.esize + D * tco * t.tr * t.tc * t.tb * 4 +
               (resident ? l.weight_elems() : D * wt) * av.esize;
  }
  return e;
}

}  // namespace

namespace {
bool choose_tile_search(const WinLayer& l, const ArchView& av, const Tile& fixed, TilePlan& out);
}  // namespace

// The search depends only on the layer's geometry, the buffer view and the fixed fields: layers
// of one shape (the time steps of an unrolled LSTM, a ResNet stage's blocks) search once per
// process. The key is every field of the three.
bool choose_tile(const WinLayer& l, const ArchView& av, const Tile& fixed, TilePlan& out) {
  const double key_fields[] = {static_cast<double>(l.kind), double(l.groups), double(l.cin), double(l.cout), double(l.h),
                               double(l.w), double(l.oh), double(l.ow), double(l.kh), double(l.kw), double(l.sh),
                               double(l.sw), double(l.dh), double(l.dw), double(l.pt), double(l.pl), double(l.bias),
                               double(l.batch), double(av.esize), double(av.nbin_elems), double(av.sb_elems),
                               double(av.nbout_elems), double(av.sb_total_elems), double(av.tn), double(av.stages),
                               av.dram_bytes_per_cycle, double(av.dma_fixed), double(av.dram_latency),
                               double(av.outstanding), double(av.burst_bytes), double(av.row_miss),
                               double(av.nbin_port), double(av.sb_port), double(av.nbout_port), double(av.mode.depth),
                               double(av.mode.fine), double(av.mode.sync), double(fixed.tco), double(fixed.tci),
                               double(fixed.tr), double(fixed.tc), double(fixed.tb)};
  const std::string key(reinterpret_cast<const char*>(key_fields), sizeof(key_fields));
  static std::mutex mu;
  static std::unordered_map<std::string, std::pair<bool, TilePlan>> cache;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) {
      if (it->second.first) out = it->second.second;
      return it->second.first;
    }
  }
  TilePlan plan;
  const bool ok = choose_tile_search(l, av, fixed, plan);
  if (ok) out = plan;
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() > 65536) cache.clear();
  cache.emplace(key, std::make_pair(ok, plan));
  return ok;
}

namespace {
bool choose_tile_search(const WinLayer& l, const ArchView& av, const Tile& fixed, TilePlan& out) {
  const auto cos = fixed.tco ? std::vector<int64_t>{std::min(fixed.tco, l.cout)} : candidates(l.cout, av.tn);
  const auto cis = !dense(l) ? std::vector<int64_t>{0}
                   : fixed.tci ? std::vector<int64_t>{std::min(fixed.tci, l.cin)}
                               : candidates(l.cin, av.tn);
  const auto trs = fixed.tr ? std::vector<int64_t>{std::min(fixed.tr, l.oh)} : candidates(l.oh, 1);
  const auto tcs = fixed.tc ? std::vector<int64_t>{std::min(fixed.tc, l.ow)} : candidates(l.ow, 1);
  const auto tbs = !l.is_vector() || l.batch == 1 ? std::vector<int64_t>{1}
                   : fixed.tb > 0                 ? std::vector<int64_t>{std::min(fixed.tb, l.batch)}
                                                  : candidates(l.batch, 1);
  bool found = false;
  std::vector<AxisSums> rsum(trs.size()), csum(tcs.size());
  for (std::size_t i = 0; i < trs.size(); ++i) rsum[i] = axis_sums(l.oh, trs[i], l.sh, l.kh, l.dh, l.pt, l.h);
  for (std::size_t i = 0; i < tcs.size(); ++i) csum[i] = axis_sums(l.ow, tcs[i], l.sw, l.kw, l.dw, l.pl, l.w);
  // tile_fits grows with every field (each bound is a product of them), and every candidate list
  // ascends: once the smallest tile of a (tco, tci) does not fit, no larger tci does, nor (from
  // the first tci) any larger tco; once no row count fits a (tc, tb), none fits a larger tb, nor
  // (from the first tb) a larger tc. Those tiles are skipped without a search; the ones searched
  // are the same as before.
  for (int64_t tco : cos) {
    const int64_t co_blocks = blocks_sum(l.cout, tco, av.tn);
    bool any_tci = false;
    for (int64_t tci : cis) {
      if (!tile_fits(l, av, Tile{tco, dense(l) ? tci : tco, trs.front(), tcs.front(), tbs.front()})) break;
      any_tci = true;
      const int64_t inner_total = inner_sum(l, tci, av.tn);
      bool tc_fits = true;
      for (std::size_t ic = 0; ic < tcs.size() && tc_fits; ++ic)
        for (int64_t tb : tbs) {
          const int64_t tc = tcs[ic];
          // The largest row count that fits: fits is monotone in rows (candidates ascend), so a
          // binary search over them.
          Tile t{tco, dense(l) ? tci : tco, 0, tc, tb};
          std::size_t fit = 0, miss = trs.size();  // trs[.. fit) fit as far as known; trs[miss ..) do not
          while (fit < miss) {
            const std::size_t k = fit + (miss - fit) / 2;
            t.tr = trs[k];
            if (tile_fits(l, av, t))
              fit = k + 1;
            else
              miss = k;
          }
          if (fit == 0) {
            tc_fits = tb != tbs.front();  // the smallest tb: no larger tc fits either
            break;                        // and no larger tb
          }
          const std::size_t ir = fit - 1;
          t.tr = trs[ir];
          const bool resident = dense(l) ? (l.groups == 1 && tco >= l.cout && t.tci >= l.cin)
                                         : (has_weights(l) && tco >= l.cout);
          // Resident weights are loaded once whatever the order: samples share them without tb.
          if (tb > 1 && resident) continue;
          for (int ws = 0; ws < 2; ++ws) {
            // weight-stationary needs one input-channel tile (dense) and weights to reuse; its
            // samples already share each weight tile
            if (ws && (resident || tb > 1 || !has_weights(l) || (dense(l) && t.tci < l.cin))) continue;
            const Estimate e =
                estimate_from(l, av, t, resident, ws, rsum[ir], csum[ic], co_blocks, inner_total);
            if (!found || e.cycles < out.est.cycles ||
                (e.cycles == out.est.cycles && e.dram_bytes() < out.est.dram_bytes())) {
              out.tile = t;
              out.resident_weights = resident;
              out.weight_stationary = ws;
              out.est = e;
              found = true;
            }
          }
        }
    }
    if (!any_tci) break;
  }
  return found;
}
}  // namespace

Estimate estimate_elementwise(int64_t elems, int reads, int computes, int64_t chunk, const ArchView& av) {
  Estimate e;
  e.steps = std::max<int64_t>(1, (elems + chunk - 1) / std::max<int64_t>(1, chunk));
  e.dram_read = elems * reads * av.esize;
  e.dram_write = elems * av.esize;
  const int64_t compute = computes * ((elems + av.tn - 1) / av.tn) + e.steps * computes * av.stages;
  const int64_t load = dma_time(static_cast<double>(e.dram_read), e.steps * reads, e.steps * reads, av);
  const int64_t store = dma_time(static_cast<double>(e.dram_write), e.steps, e.steps, av);
  e.cycles = combine(compute, load, store, e.steps, av.mode);
  e.instrs = e.steps * (reads + computes + 1 + (av.mode.sync ? 1 : 0));
  return e;
}

}  // namespace fusesim::compiler
