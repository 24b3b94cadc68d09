// Line-buffered fused groups: the overlap modes cache-rows and cache-all (docs/compiler.md,
// "Overlap modes"). Every map inside the group, and the group's input, lives in NBin as a ring
// (a line buffer, ISA v4 map descriptors) of 16-bit data: each layer computes only rows and
// columns no earlier firing computed, and the rows and columns that overlap between firings stay
// in the ring instead of being recomputed (recompute is fused.h's pyramid tiling).
//
// Firings are demand-driven: the last layer fires tile by tile in raster order, and before a
// layer fires, its producer fires until everything the window reads has been written (the
// group's input is loaded row by row the same way). A layer fires `rows` output rows by a
// column tile (cache-rows: the whole width; cache-all: one of `col_tiles` column tiles). A map
// is laid out in row groups of its producer's `rows` (isa::MapDesc group), so that a multi-row
// firing fills whole groups and its consumer's window spans as few positions as possible. The
// ring of each map is the most positions ever live at once, found by running the firing order.
#pragma once

#include <string>
#include <vector>

#include "compiler/fused.h"

namespace fusesim::compiler {

// The input map of one layer of a line-buffered group, as a ring in NBin.
struct LineMap {
  int64_t channels = 0;
  int64_t h = 0, w = 0;              // real extent
  int64_t pt = 0, pb = 0, pl = 0, pr = 0;  // padding: real row r is padded row r + pt
  int64_t rows = 0, cols = 0;        // padded extent
  int64_t group = 1, ring = 0;       // layout: rows per group, positions per channel plane
  int64_t addr = 0;                  // NBin byte address of channel 0's ring
  isa::PadValue pad = isa::PadValue::Zero;
  // Position of padded element (prow, pcol) in a plane before the wrap (isa::MapDesc).
  int64_t pos(int64_t prow, int64_t pcol) const { return ((prow / group) * cols + pcol) * group + prow % group; }
  int64_t bytes(int64_t esize) const { return channels * ring * esize; }
};

// One firing of a layer: output rows [r0, r0 + rows) by columns [c0, c0 + cols). Before a firing
// of layer 0, rows [load_r0, load_r1) of the group's input are loaded (none when equal).
struct LineFiring {
  int layer = 0;
  int64_t r0 = 0, rows = 0, c0 = 0, cols = 0;
  int64_t load_r0 = 0, load_r1 = 0;
  // Before the firing, columns [fill_c0, fill_c1) of the bottom padding rows of its input map
  // are filled with the pad value (a LOAD of padding only; none when equal).
  int64_t fill_c0 = 0, fill_c1 = 0;
};

struct LineSchedule {
  // maps[0]: the group's input; maps[k]: the output of layer k - 1 when a layer of the group
  // reads it (a window, or a residual Add's skip); unused maps have ring 0
  std::vector<LineMap> maps;
  std::vector<LineFiring> firings;  // program order
  int64_t nbin_bytes = 0;           // every ring
  int64_t out_slot_elems = 0;       // one NBout slot of the last layer's output (two alternate)
};

// A line-buffered group is a DAG of window layers in topological order: layer i reads the
// group's input or the output of one earlier layer (FusedLayer::src; a chain by default), and the
// layers nobody in the group reads are its exits, each stored to DRAM (a fire module's expands
// writing their slices of the concat). One descriptor register per map: at most 7 maps.
constexpr int kMaxLineMaps = 7;
constexpr std::size_t kMaxGroupLayers = 10;
// The layer layer i reads: -1 for the group's input.
int line_src(const std::vector<FusedLayer>& L, std::size_t i);
// Per layer: 1 when no layer of the group reads its output.
std::vector<char> line_exits(const std::vector<FusedLayer>& L);
// Why the layers cannot be line-buffered at all ("" when they can).
std::string line_unfit(const std::vector<FusedLayer>& L);

// Runs the firing order of a line-buffered plan (FusedLayer::rows, FusedPlan::col_tiles, the
// last layer's tco) and sizes its rings. Deterministic: codegen and the planner share it.
LineSchedule line_schedule(const FusedPlan& P, int64_t esize);

// Column strips (FusedPlan::strips > 1, chains without a residual Add). Strip s is the chain run
// on a narrower image: the last layer's output columns [out_c0.back(), + ow), and going back
// through the chain, the columns each layer's windows read (their halo, recomputed by both
// strips that need it; padding only at the image's own edges). `plan` is the group with every
// WinLayer narrowed to its strip (w, ow, pl), so line_schedule runs on it unchanged; the DRAM
// side keeps the full width: the input is read from column in_c0, each layer's strip output
// lies at column out_c0[i] of its full map. strips == 1: one strip, the plan itself.
struct LineStrip {
  FusedPlan plan;
  int64_t in_c0 = 0;
  std::vector<int64_t> out_c0;
};
std::vector<LineStrip> line_strips(const FusedPlan& P);
// Why the plan cannot have P.strips strips ("" when it can).
std::string strips_unfit(const FusedPlan& P);
// The schedule of the strip with the largest rings (its rings and slots bound every strip's):
// what the plan occupies on chip.
LineSchedule line_schedule_widest(const FusedPlan& P, int64_t esize);

// Plans the best line-buffered tiling of a chain for `mode` (CacheRows or CacheAll), weights
// resident in SB. False when nothing fits.
bool plan_line(const std::vector<FusedLayer>& L, const ArchView& av, int64_t w_total, Overlap mode, FusedPlan& out);

// Checks a line-buffered plan as a hand-edited schedule gives it (layers with rows and tco, the
// column tiles) and fills in the estimate. Returns "" or why it does not fit.
std::string check_line(const ArchView& av, int64_t w_total, FusedPlan& plan);

}  // namespace fusesim::compiler
