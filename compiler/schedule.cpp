// Scheduling: tiles, loop orders, buffer views and on-chip slots of each group, chosen by the
// cost model (schedule_groups) or checked when a person wrote them (check_group). See schedule.h.
#include "compiler/schedule.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "compiler/codegen.h"
#include "compiler/linebuf.h"
#include "isa/errors.h"

namespace fusesim::compiler {
namespace {

// Tile plans by (layer, buffer depth) during one scheduling run: fusion planning, the
// group-view choice and scheduling would otherwise search the same tiles several times.
struct PlanCache {
  std::map<std::pair<int, int>, std::pair<bool, TilePlan>> plans;
};
thread_local PlanCache* t_plan_cache = nullptr;

bool plan_window(const Graph& g, const ArchView& av, const CompileOptions& opt, int id, const WinLayer& wl,
                 TilePlan& tp) {
  const std::pair<int, int> key{id, av.mode.depth};
  if (t_plan_cache) {
    auto hit = t_plan_cache->plans.find(key);
    if (hit != t_plan_cache->plans.end()) {
      tp = hit->second.second;
      return hit->second.first;
    }
  }
  Tile fixed;
  fixed.tb = 0;
  auto it = opt.tiles.find(g.layer(id).name);
  if (it != opt.tiles.end())
    fixed = {it->second.cout, it->second.cin, it->second.rows, it->second.cols, it->second.samples};
  const bool ok = choose_tile(wl, av, fixed, tp);
  if (t_plan_cache) t_plan_cache->plans[key] = {ok, tp};
  return ok;
}

void check_avgpool(const Graph& g, const LayerNode& l) {
  if (l.op != OpKind::AvgPool) return;
  const Shape in = g.tensor(l.inputs[0]).shape, out = g.tensor(l.output).shape;
  const LayerAttrs& a = l.attrs;
  const bool padded = a.pad_top || a.pad_left || a.pad_bottom || a.pad_right;
  const bool overhang = (out.h - 1) * a.stride_h + (a.kernel_h - 1) * a.dil_h + 1 > in.h + a.pad_top + a.pad_bottom ||
                        (out.w - 1) * a.stride_w + (a.kernel_w - 1) * a.dil_w + 1 > in.w + a.pad_left + a.pad_right;
  if ((padded && !a.count_include_pad) || overhang)
    throw InputError((l.origin.empty() ? std::string() : l.origin + ": ") + "layer '" + l.name +
                     "' (avgpool): a divisor that varies per window (count_include_pad=false with padding, or "
                     "ceil_mode windows past the padding) is not supported by the NFU's AvgPool");
}

[[noreturn]] void no_tile(const ArchParams& arch, const CompileOptions& opt, const ArchView& av, const LayerNode& l,
                          const WinLayer& wl) {
  // The smallest tile: one output channel, one input channel, one output pixel.
  const int64_t ir = (wl.kh - 1) * wl.dh + 1, ic = (wl.kw - 1) * wl.dw + 1;
  const bool weights = wl.kind == WinKind::Conv || wl.kind == WinKind::DwConv;
  throw InputError((l.origin.empty() ? std::string() : l.origin + ": ") + "layer '" + l.name +
                   "': no tile fits the buffers of arch '" + arch.name + "' (pipeline " + pipeline_name(opt.pipeline) +
                   "): the smallest tile needs " + std::to_string(ir * ic * av.esize) + " B of NBin, " +
                   std::to_string(weights ? (wl.kh * wl.kw + (wl.bias ? 1 : 0)) * av.esize : 0) +
                   " B of SB and 4 B of NBout per buffer half, which has " + std::to_string(av.nbin_elems * av.esize) +
                   ", " + std::to_string(av.sb_elems * av.esize) + " and " + std::to_string(av.nbout_elems * 4) + " B");
}

std::string describe(const TilePlan& tp) {
  return tp.tile.str() + (tp.resident_weights ? " w-resident" : tp.weight_stationary ? " w-stationary" : "");
}

// `e` repeated for `n` samples (the on-chip footprint is the same).
Estimate per_samples(Estimate e, int64_t n) {
  e.cycles *= n, e.dram_read *= n, e.dram_write *= n, e.steps *= n, e.instrs *= n;
  return e;
}

// A fused group runs sample after sample. Pyramid groups with resident weights load them once
// for the whole batch; line-buffered groups load theirs per sample (codegen).
Estimate fused_batch_estimate(const Graph& g, const FusedPlan& P, int64_t esize) {
  Estimate e = per_samples(P.est, g.batch);
  if (g.batch > 1 && P.resident && P.overlap == Overlap::Recompute) {
    int64_t w = 0;
    for (const FusedLayer& f : P.layers) w += f.wl.weight_elems() * esize;
    e.dram_read -= (g.batch - 1) * std::min(w, P.est.dram_read);
  }
  return e;
}

// The group's estimate and summary from its plans (unfused groups: the sum over the layers).
void summarize(const Graph& g, const ArchView& av, const CompileOptions& opt, GroupSchedule& gs) {
  Estimate& est = gs.est;
  est = Estimate{};
  gs.tiles.clear();
  if (gs.fused()) {
    est = fused_batch_estimate(g, gs.fused_plan, av.esize);
    gs.tiles = gs.fused_plan.str();
  } else {
    for (int id : gs.layers) {
      const LayerNode& l = g.layer(id);
      auto it = gs.plans.find(id);
      if (it != gs.plans.end()) {
        const TilePlan& tp = it->second;
        est.cycles += tp.est.cycles, est.dram_read += tp.est.dram_read, est.dram_write += tp.est.dram_write;
        est.steps += tp.est.steps, est.instrs += tp.est.instrs, est.onchip = std::max(est.onchip, tp.est.onchip);
        gs.tiles += (gs.tiles.empty() ? "" : "; ") + describe(tp);
      } else {
        const int64_t n = g.tensor(l.output).shape.elems();
        const int64_t cap = std::min(av.nbin_elems, av.nbout_elems);
        const Estimate e =
            per_samples(l.op == OpKind::Add || l.op == OpKind::Product
                            ? estimate_elementwise(n, 2, 2, std::min(av.nbin_elems / 2, av.nbout_elems), av)
                            : estimate_elementwise(n, 1, 1, cap, av),
                        g.batch);
        est.cycles += e.cycles, est.dram_read += e.dram_read, est.dram_write += e.dram_write, est.steps += e.steps;
        est.instrs += e.instrs;
        est.onchip = std::max(est.onchip, cap * (av.esize + 4) * av.mode.depth);
        gs.tiles += (gs.tiles.empty() ? "" : "; ") + std::string("flat chunk=") + std::to_string(cap);
      }
    }
  }
  if (gs.depth == 1 && pipe_mode(opt.pipeline).depth > 1) gs.tiles += " (whole buffers)";
}

// Tiles every layer of the group for one buffer view; false when something does not fit.
bool plan_group(const Graph& g, const ArchView& av, const CompileOptions& opt, GroupSchedule& gs) {
  gs.plans.clear();
  gs.depth = av.mode.depth;
  if (gs.fused()) {
    if (!plan_fused(g, av, gs.layers, gs.fused_plan, opt.overlap)) return false;
  } else {
    for (int id : gs.layers) {
      WinLayer wl;
      TilePlan tp;
      if (!win_layer_of(g, id, wl)) continue;
      if (!plan_window(g, av, opt, id, wl, tp)) return false;
      gs.plans[id] = tp;
    }
  }
  return true;
}

// The buffer view of a group. Coarse and full pipelining double-buffer (ping-pong halves);
// where halving the buffers costs more than the overlap gains (smaller tiles, more reloads:
// DianNao's 2 KiB NBin), the group keeps whole buffers and only the NFU overlap. Chosen by
// the cost model; false when nothing fits.
bool choose_view(const Graph& g, const ArchParams& arch, const CompileOptions& opt, GroupSchedule& gs) {
  const ArchView v2 = arch_view(arch, opt.dtype, opt.pipeline);
  const bool ok2 = plan_group(g, v2, opt, gs);
  if (ok2) summarize(g, v2, opt, gs);
  if (v2.mode.depth == 1) return ok2;
  const ArchView v1 = arch_view(arch, opt.dtype, opt.pipeline, 1);
  GroupSchedule whole = gs;
  if (!plan_group(g, v1, opt, whole)) return ok2;
  summarize(g, v1, opt, whole);
  if (!ok2 || whole.est.cycles < gs.est.cycles) gs = std::move(whole);
  return true;
}

}  // namespace

ArchView group_arch_view(const ArchParams& arch, const CompileOptions& opt, const GroupSchedule& gs) {
  return arch_view(arch, opt.dtype, opt.pipeline, gs.depth);
}

bool estimate_group(const Graph& g, const ArchParams& arch, const CompileOptions& opt, const Group& grp, Estimate& est,
                    std::string* tiles) {
  GroupSchedule gs;
  gs.layers = grp.layers;
  if (!choose_view(g, arch, opt, gs)) return false;
  est = gs.est;
  if (tiles) *tiles = gs.tiles;
  return true;
}

Schedule schedule_groups(const Graph& g, const ArchParams& arch, const CompileOptions& opt,
                         const std::vector<Group>& groups) {
  PlanCache cache;
  struct Scope {
    explicit Scope(PlanCache* c) { t_plan_cache = c; }
    ~Scope() { t_plan_cache = nullptr; }
  } scope(&cache);
  // The tile search dominates scheduling (resnet50: 6 % of a timing run), and its results are
  // memoized process-wide (choose_tile). A second thread searches the unfused groups' layers
  // from the last group backwards, for both buffer views, while this one schedules from the
  // first: each finds the other's results in the cache. It only fills the cache, so the schedule
  // is the same; it stops when this thread is done (or throws).
  struct Warmer {
    std::atomic<bool> stop{false};
    std::thread thread;
    ~Warmer() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } warmer;
  if (groups.size() > 4 && std::thread::hardware_concurrency() > 1)
    warmer.thread = std::thread([&g, &arch, &opt, &groups, &stop = warmer.stop] {
      try {
        const ArchView views[2] = {arch_view(arch, opt.dtype, opt.pipeline),
                                   arch_view(arch, opt.dtype, opt.pipeline, 1)};
        for (auto grp = groups.rbegin(); grp != groups.rend() && !stop; ++grp) {
          if (grp->layers.size() > 1) continue;  // (fused)
          for (int id : grp->layers) {
            WinLayer wl;
            TilePlan tp;
            if (!win_layer_of(g, id, wl)) continue;
            for (const ArchView& v : views) {
              if (stop) return;
              plan_window(g, v, opt, id, wl, tp);  // (no plan cache in this thread: straight to choose_tile)
            }
          }
        }
      } catch (...) {
        // Whatever went wrong here goes wrong in the scheduling thread too, which reports it.
      }
    });
  Schedule s;
  for (const Group& grp : groups) {
    GroupSchedule gs;
    gs.layers = grp.layers;
    for (int id : grp.layers) check_avgpool(g, g.layer(id));
    if (!choose_view(g, arch, opt, gs)) {
      const ArchView av = arch_view(arch, opt.dtype, opt.pipeline);
      if (gs.fused())
        throw InputError("fused group " + g.layer(grp.layers.front()).name + ".." + g.layer(grp.layers.back()).name +
                         ": no tile fits the buffers of arch '" + arch.name + "' (pipeline " +
                         pipeline_name(opt.pipeline) + "): " +
                         why_no_fused_plan(g, arch_view(arch, opt.dtype, opt.pipeline, 1), grp.layers, opt.overlap));
      for (int id : grp.layers) {
        WinLayer wl;
        TilePlan tp;
        if (win_layer_of(g, id, wl) && !choose_tile(wl, av, Tile{}, tp) &&
            !choose_tile(wl, arch_view(arch, opt.dtype, opt.pipeline, 1), Tile{}, tp))
          no_tile(arch, opt, av, g.layer(id), wl);
      }
      throw InputError("group " + g.layer(grp.layers.front()).name + ": the manual tiles (--tile) do not fit arch '" +
                       arch.name + "'");
    }
    s.groups.push_back(std::move(gs));
  }
  return s;
}

std::string check_group(const Graph& g, const ArchParams& arch, const CompileOptions& opt, GroupSchedule& gs) {
  for (int id : gs.layers) check_avgpool(g, g.layer(id));  // a model error (throws), not a schedule one
  if (gs.depth != 1 && gs.depth != 2) return "buffers must be 'whole' or 'halves'";
  if (gs.depth == 2 && (opt.pipeline == Pipeline::None || opt.pipeline == Pipeline::Fine))
    return "ping-pong halves need pipeline coarse or full";
  const ArchView av = group_arch_view(arch, opt, gs);
  if (gs.fused()) {
    const std::string why = fusable_group(g, gs.layers);
    if (!why.empty()) return why;
  }
  if (gs.fused()) {
    const std::string why = check_fused(g, av, gs.fused_plan);
    if (!why.empty()) return "the fused tile does not fit: " + why;
  } else {
    for (int id : gs.layers) {
      WinLayer wl;
      if (!win_layer_of(g, id, wl)) continue;
      auto it = gs.plans.find(id);
      if (it == gs.plans.end()) return "layer '" + g.layer(id).name + "' has no tile";
      TilePlan& tp = it->second;
      Tile& t = tp.tile;
      const bool dense = wl.kind == WinKind::Conv;
      if (!dense) t.tci = t.tco;
      if (t.tco < 1 || t.tr < 1 || t.tc < 1 || t.tci < 1 || t.tco > wl.cout || t.tr > wl.oh || t.tc > wl.ow ||
          (dense && t.tci > wl.cin))
        return "layer '" + g.layer(id).name + "': tile " + t.str() + " is outside the layer (cout " +
               std::to_string(wl.cout) + ", cin " + std::to_string(wl.cin) + ", " + std::to_string(wl.oh) + "x" +
               std::to_string(wl.ow) + " output)";
      if (!tile_fits(wl, av, t))
        return "layer '" + g.layer(id).name + "': tile " + t.str() + " does not fit the buffers (" +
               std::to_string(av.nbin_elems * av.esize) + " B NBin, " + std::to_string(av.sb_elems * av.esize) +
               " B SB, " + std::to_string(av.nbout_elems * 4) + " B NBout per buffer half)";
      const bool weights = dense || wl.kind == WinKind::DwConv;
      if (tp.resident_weights && !(weights && t.tco >= wl.cout && (!dense || (wl.groups == 1 && t.tci >= wl.cin))))
        return "layer '" + g.layer(id).name + "': weights can be resident only when one tile holds them all";
      if (tp.weight_stationary && (tp.resident_weights || !weights || (dense && t.tci < wl.cin)))
        return "layer '" + g.layer(id).name + "': the weight-stationary order needs weights and one input-channel tile";
      if (t.tb < 1 || t.tb > wl.batch)
        return "layer '" + g.layer(id).name + "': samples " + std::to_string(t.tb) + " is outside 1.." +
               std::to_string(wl.batch) + " (the batch)";
      if (t.tb > 1 && (!wl.is_vector() || tp.resident_weights || tp.weight_stationary))
        return "layer '" + g.layer(id).name +
               "': samples > 1 (a weight tile shared by several samples) needs an fc " +
               "layer with streamed weights in the spatial order";
      tp.est = estimate(wl, av, t, tp.resident_weights, tp.weight_stationary);
    }
  }
  summarize(g, av, opt, gs);
  return "";
}

void keep_shared_weights(const Graph& g, const ArchParams& arch, const CompileOptions& opt, Schedule& s) {
  std::vector<char> shared(g.layers.size(), 0);
  for (const LayerNode& l : g.layers)
    if (!l.removed && l.weights_of >= 0) shared[static_cast<std::size_t>(l.id)] = shared[static_cast<std::size_t>(l.weights_of)] = 1;
  struct Live {
    int owner;
    int64_t tco, tci, addr, bytes;
  };
  std::vector<Live> live;  // in SB address order
  for (GroupSchedule& gs : s.groups) {
    const ArchView av = group_arch_view(arch, opt, gs);
    bool touches_sb = gs.fused();
    for (int id : gs.layers) {
      WinLayer wl;
      if (!win_layer_of(g, id, wl) || (wl.kind != WinKind::Conv && wl.kind != WinKind::DwConv)) continue;
      auto it = gs.plans.find(id);
      if (gs.fused() || it == gs.plans.end()) continue;
      TilePlan& tp = it->second;
      const LayerNode& l = g.layer(id);
      if (!tp.resident_weights || !shared[static_cast<std::size_t>(id)] || gs.layers.size() != 1) {
        touches_sb = true;
        continue;
      }
      const int owner = l.weights_of >= 0 ? l.weights_of : id;
      const int64_t bytes = (wl.weight_elems() * av.esize + 63) / 64 * 64;
      auto hit = std::find_if(live.begin(), live.end(), [&](const Live& v) {
        return v.owner == owner && v.tco == tp.tile.tco && v.tci == tp.tile.tci;
      });
      if (hit != live.end()) {
        tp.sb_addr = hit->addr;
        tp.weights_kept = true;
      } else {
        int64_t addr = live.empty() ? 0 : live.back().addr + live.back().bytes;
        if (addr + bytes > av.sb_total_elems * av.esize) live.clear(), addr = 0;
        tp.sb_addr = addr;
        tp.weights_kept = false;
        live.push_back({owner, tp.tile.tco, tp.tile.tci, addr, bytes});
      }
      tp.est = estimate(wl, av, tp.tile, true, false, tp.weights_kept);
    }
    if (touches_sb) live.clear();
    if (!gs.fused()) summarize(g, av, opt, gs);
  }
}

std::vector<BufferSlot> group_slots(const Graph& g, const ArchParams& arch, const CompileOptions& opt,
                                    const GroupSchedule& gs) {
  const ArchView av = group_arch_view(arch, opt, gs);
  const int64_t D = av.mode.depth;
  std::vector<BufferSlot> out;
  auto add = [&](const std::string& what, isa::Buffer b, int64_t addr, int64_t bytes, int64_t count) {
    if (bytes > 0) out.push_back({what, b, addr, bytes, count});
  };
  const int64_t es = av.esize;
  if (gs.fused()) {
    const FusedPlan& P = gs.fused_plan;
    if (P.overlap != Overlap::Recompute) {
      const LineSchedule S = line_schedule_widest(P, es);
      for (std::size_t k = 0; k < S.maps.size(); ++k) {
        // named by the first layer whose window reads it, else by the residual Add it feeds
        std::string reader;
        for (std::size_t i = 0; i < P.layers.size() && reader.empty(); ++i)
          if (static_cast<std::size_t>(line_src(P.layers, i) + 1) == k) reader = "input of " + g.layer(P.layers[i].id).name;
        for (std::size_t i = 0; i < P.layers.size() && reader.empty(); ++i)
          if (P.layers[i].add_id >= 0 && static_cast<std::size_t>(P.layers[i].add_src + 1) == k)
            reader = "skip of " + g.layer(P.layers[i].add_id).name;
        add("line buffer: " + reader, isa::Buffer::NBin, S.maps[k].addr, S.maps[k].bytes(es), 1);
      }
      std::string exits;  // the layers stored through the slots (a residual: its Add)
      const std::vector<char> exit = line_exits(P.layers);
      for (std::size_t i = 0; i < P.layers.size(); ++i)
        if (exit[i])
          exits += (exits.empty() ? "" : ", ") + g.layer(P.layers[i].add_id >= 0 ? P.layers[i].add_id : P.layers[i].id).name;
      add("output slots of " + exits, isa::Buffer::NBout, 0, S.out_slot_elems * 4, 2);
      int64_t wbytes = 0;
      for (const FusedLayer& f : P.layers)
        if (f.wl.kind == WinKind::Conv || f.wl.kind == WinKind::DwConv)
          wbytes += (f.wl.weight_elems()) * es;
      add("weights (resident)", isa::Buffer::SB, 0, wbytes, 1);
      return out;
    }
    const FusedSlots fs = fused_slots(P);
    const FusedLayer& f0 = P.layers.front();
    add("input tile", isa::Buffer::NBin, 0, (f0.wl.kind == WinKind::Conv ? f0.tci : f0.tco) * fs.in_plane * es, D);
    add("intermediates A", isa::Buffer::NBout, 0, fs.slot[0] * 4, D);
    add("intermediates B", isa::Buffer::NBout, fs.slot[0] * 4, fs.slot[1] * 4, D);
    add("accumulators of the last layer (chunked)", isa::Buffer::NBout, (fs.slot[0] + fs.slot[1]) * 4, fs.slot[2] * 4, D);
    int64_t wbytes = 0;
    for (const FusedLayer& f : P.layers) {
      const bool dn = f.wl.kind == WinKind::Conv;
      if (!dn && f.wl.kind != WinKind::DwConv) continue;
      const int64_t chunk = (dn ? f.tco * f.tci : f.tco) * f.wl.kh * f.wl.kw + (f.wl.bias ? f.tco : 0);
      wbytes = P.resident ? wbytes + f.wl.weight_elems() * es : std::max(wbytes, chunk * es);
    }
    add(P.resident ? "weights (resident)" : "weights", isa::Buffer::SB, 0, wbytes, P.resident ? 1 : D);
    return out;
  }
  for (int id : gs.layers) {
    auto it = gs.plans.find(id);
    const std::string name = g.layer(id).name;
    if (it == gs.plans.end()) {  // elementwise: flat chunks
      const int64_t cap = std::min(av.nbin_elems, av.nbout_elems);
      add(name + " operands", isa::Buffer::NBin, 0, cap * es, D);
      add(name + " results", isa::Buffer::NBout, 0, cap * 4, D);
      continue;
    }
    WinLayer wl;
    win_layer_of(g, id, wl);
    const TilePlan& tp = it->second;
    const Tile& t = tp.tile;
    const bool dn = wl.kind == WinKind::Conv;
    const int64_t ir = (t.tr - 1) * wl.sh + (wl.kh - 1) * wl.dh + 1, ic = (t.tc - 1) * wl.sw + (wl.kw - 1) * wl.dw + 1;
    add(name + " input tile", isa::Buffer::NBin, 0, (dn ? t.tci : t.tco) * ir * ic * es, D);
    add(name + (t.tb > 1 ? " output tiles of " + std::to_string(t.tb) + " samples" : " output tile"),
        isa::Buffer::NBout, 0, t.tco * t.tr * t.tc * t.tb * 4, D);
    if (dn || wl.kind == WinKind::DwConv) {
      const int64_t chunk = (dn ? t.tco * t.tci : t.tco) * wl.kh * wl.kw + (wl.bias ? t.tco : 0);
      if (tp.resident_weights)
        add(name + (tp.weights_kept ? " weights (resident, kept from an earlier group)" : " weights (resident)"),
            isa::Buffer::SB, tp.sb_addr, wl.weight_elems() * es, 1);
      else
        add(name + " weights", isa::Buffer::SB, 0, chunk * es, D);
    }
  }
  (void)arch;
  return out;
}

}  // namespace fusesim::compiler
