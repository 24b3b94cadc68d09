// Fused groups (layer fusion): a chain of window layers (conv, depthwise conv, pooling) run
// tile by tile over the last layer's output. Each layer computes the region of its output the
// next layer needs (halos are recomputed, not cached) into NBout, with the zero or -inf ring
// the consumer's padding needs (the COMPUTE output halo, ISA v2); only the first layer's input
// is loaded and only the last layer's output is stored. Intermediates never touch DRAM: this
// is layer elimination's removal of the store->load pairs inside a group.
#pragma once

#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "compiler/cost_model.h"

namespace fusesim::compiler {

constexpr int kChainSrc = -2;  // FusedLayer::src of a chain: the previous layer (the first: the input)

struct FusedLayer {
  int id = -1;
  // Line-buffered DAG groups (linebuf.h): the index in the group of the layer whose output this
  // one reads, -1 for the group's input.
  int src = kChainSrc;
  WinLayer wl;
  int64_t tco = 1, tci = 1;  // output / input channel chunk per COMPUTE
  isa::PadValue consumer_pad = isa::PadValue::Zero;  // the ring value the next layer needs
  int64_t rows = 1;  // line-buffered plans: output rows per firing (linebuf.h)
  // Line-buffered plans: a residual Add applied to this layer's output (an exit), whose other
  // operand (the skip) is the output of group member add_src, or the group's input (-1), kept in
  // an NBin ring. The exit then stores the Add's output. -1: none.
  int add_id = -1;
  int add_src = -1;
};

struct FusedPlan {
  std::vector<FusedLayer> layers;
  int64_t tr = 1, tc = 1;  // output tile of the last layer
  bool resident = false;   // every weight of the group stays in SB for the whole group
  // Channel-chunked intermediates (an inverted bottleneck: dense or channel-local first layer,
  // channel-local middle layers, a dense last layer): per tile, the chain runs chunk by chunk
  // over the intermediate channels (layers[0].tco at a time) and the last layer accumulates
  // its partial sums over the chunks, so no intermediate ever holds all its channels on chip.
  bool chunked = false;
  // A residual Add fused at the end (-1: none): it adds the group's input, still in NBin, to the
  // last layer's output in NBout, so the skip tensor never makes a second trip from DRAM.
  int add_id = -1;
  // Recompute: the pyramid tiling above (tr x tc tiles, halos recomputed). CacheRows/CacheAll:
  // line-buffered (linebuf.h): intermediates in NBin rings, firings of FusedLayer::rows rows by
  // one of col_tiles column tiles (1 for cache-rows); tr/tc are then unused.
  Overlap overlap = Overlap::Recompute;
  int64_t col_tiles = 1;
  // Line-buffered chains: the exit's output columns split into `strips` vertical strips, run one
  // after the other (linebuf.h, line_strips): rows stay cached within a strip, the columns where
  // two strips' windows overlap are recomputed, and the rings are only a strip wide.
  int64_t strips = 1;
  Estimate est;
  std::string str() const;
};

// One spatial axis of one tile, for every layer: valid output range and the padding ring the
// consumer needs around it; index 0 also carries the first layer's input range.
struct AxisRegion {
  int64_t lo = 0, hi = 0;        // valid output range of the layer
  int64_t pad_lo = 0, pad_hi = 0;  // ring the consumer needs (0 for the last layer)
};
// Backward pass along one axis. `rows`: true for the row axis. Returns the first layer's
// input range [in_lo, in_hi) (may extend past the map: padding).
void fused_axis(const std::vector<FusedLayer>& L, bool rows, int64_t o0, int64_t o1, std::vector<AxisRegion>& out,
                int64_t& in_lo, int64_t& in_hi);

// Whether the residual Add `add` can close the line-buffered group `ids` (without the Add, in
// order, as fused_layers lists them in `L`): it adds the outputs of two members, or of a member
// and the group's input, of one shape, and nothing else reads them. On success the Add is
// attached to the member that computes into NBout (the one with more MACs when both operands are
// members; FusedLayer::add_id / add_src). A ResNet block, identity or downsampling shortcut.
bool attach_add(const Graph& g, const std::vector<int>& ids, int add, std::vector<FusedLayer>& L);
// Whether the layer can be a member of a fused group. A grouped (not depthwise) conv only in a
// line-buffered group (`grouped`: accept it).
bool fusable_kind(const Graph& g, int id, bool grouped = false);
// Whether matrix-vector layer b reads a's output, directly or through views that only rename it
// (a dropout, identity, flatten or reshape removed by elimination), and nothing else reads it:
// a link of an fc chain, whose intermediate vector then stays on chip.
bool vector_link(const Graph& g, int a, int b);
// Whether `add` is a residual Add closing the chain `chain`: it adds the chain's input to the
// chain's output (its only reader), with the same shape (a chain of stride 1).
bool residual_tail(const Graph& g, const std::vector<int>& chain, int add);
// Whether `ids` (in topological order) form a group with one entry: every layer a window layer
// reading the group's input (the first layer's) or an earlier member's output, and every output
// read inside the group read nowhere else. `src`: per layer, the member it reads (-1: the entry).
// A chain has src[i] == i - 1; any other shape (a fire or inception module) is a DAG group,
// which only line-buffered plans lower (linebuf.h).
bool fusable_dag(const Graph& g, const std::vector<int>& ids, std::vector<int>& src, std::string* why = nullptr);
// Whether a chain of window layers can run channel-chunked (FusedPlan::chunked).
bool chunkable(const std::vector<FusedLayer>& L);

// Plans a chain (ids in order, optionally closed by a residual Add). False when no tile fits.
// `overlap`: the mode to plan (Auto: the cheapest by the cost model).
bool plan_fused(const Graph& g, const ArchView& av, const std::vector<int>& ids, FusedPlan& out,
                Overlap overlap = Overlap::Auto);

// Why plan_fused finds no plan for the group (a fusable one), per overlap mode it could take,
// for the error message: e.g. "line-buffered: its weights (1,110,656 B) must all stay in SB,
// which has 786,432 B". `av`: the whole-buffer view line-buffered plans use.
std::string why_no_fused_plan(const Graph& g, const ArchView& av, const std::vector<int>& group, Overlap overlap);

// The NBout slots (elements) a plan's intermediates alternate between, and the first layer's
// input region per channel: the largest (unclipped) regions of its tile.
struct FusedSlots {
  int64_t slot[3] = {0, 0, 0};  // [2]: the last layer's accumulators of a chunked plan
  int64_t in_plane = 0;
};
FusedSlots fused_slots(const FusedPlan& plan);

// Checks a fused plan whose layers (ids, tco, tci), tile and residency are set, as a hand-edited
// schedule gives them; fills in the rest and the estimate. Returns "" or why it does not fit.
std::string check_fused(const Graph& g, const ArchView& av, FusedPlan& plan);

}  // namespace fusesim::compiler
