// Tiling (intra-layer loop unrolling) and the analytic cost model. A window layer (conv, fc,
// depthwise conv, pooling) is tiled over output channels (tco), input channels (tci; dense
// conv only), output rows (tr) and output columns (tc). The model gives cycles and DRAM bytes
// for a tiling, and the tiler picks the tiling with the fewest estimated cycles that fits
// NBin, SB and NBout (halved when coarse pipelining double-buffers them).
#pragma once

#include <cstdint>
#include <string>

#include "compiler/compiler.h"

namespace fusesim::compiler {

enum class WinKind { Conv, DwConv, MaxPool, AvgPool };

// One window layer as the NFU sees it (per group of a grouped conv).
struct WinLayer {
  WinKind kind = WinKind::Conv;
  int64_t groups = 1;         // dense grouped conv: independent groups
  int64_t cin = 1, cout = 1;  // per group (DwConv/pools: cin == cout == channels)
  int64_t h = 1, w = 1, oh = 1, ow = 1;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pt = 0, pl = 0;     // leading padding (trailing padding follows from the shapes)
  bool bias = false;
  int64_t divisor = 0;           // AvgPool: COMPUTE's divisor (0: kh*kw)
  int64_t batch = 1;             // samples (the graph's batch)
  int64_t weight_elems() const;  // all groups
  // A matrix-vector layer (fc, or a 1x1 conv on a 1x1 map): the one whose weight tiles a batch
  // shares (Tile::tb).
  bool is_vector() const;
};

struct Tile {
  int64_t tco = 0, tci = 0, tr = 0, tc = 0;
  // Samples that share each weight tile (matrix-vector layers at batch > 1): the weight tile is
  // loaded once and run over tb samples' input vectors, whose tb output tiles sit in NBout side
  // by side. 1: samples are an outer loop (weights reloaded per sample unless resident or
  // weight-stationary).
  int64_t tb = 1;
  std::string str() const;
};

// How a pipeline mode uses the buffers and the NFU.
struct PipeMode {
  int depth = 1;      // 2: ping-pong halves (coarse, full)
  bool fine = false;  // NFU-1/2/3 overlap across blocks (fine, full)
  bool sync = false;  // none: a barrier after every step
};
PipeMode pipe_mode(Pipeline p);

struct Estimate {
  int64_t cycles = 0;
  int64_t dram_read = 0, dram_write = 0;
  int64_t steps = 0;
  int64_t instrs = 0;  // instruction words, which the controller also fetches from DRAM
  int64_t onchip = 0;  // NBin + NBout + SB bytes the tiling occupies (every half)
  int64_t dram_bytes() const { return dram_read + dram_write; }
  int64_t dram_bytes_with_fetch() const { return dram_read + dram_write + instrs * int64_t{isa::kInstrBytes}; }
};

struct TilePlan {
  Tile tile;
  bool resident_weights = false;  // all weights loaded once, kept in SB
  // Resident weights shared with other layers (an unrolled recurrent layer's time steps,
  // LayerNode::weights_of): their SB byte address, and whether an earlier group left them there,
  // so that this layer loads none (keep_shared_weights, schedule.h).
  int64_t sb_addr = 0;
  bool weights_kept = false;
  // Loop order. false: spatial tiles outermost (input loaded once per tile when it holds all
  // input channels; weights reloaded per spatial tile). true ("weight-stationary"): output
  // channel tiles outermost, each weight tile loaded once and the input streamed past it
  // (needs the tile to hold all input channels).
  bool weight_stationary = false;
  Estimate est;
};

struct ArchView {  // what the tiler needs from ArchParams, per dtype and mode
  int64_t esize = 2;
  int64_t nbin_elems = 0, sb_elems = 0, nbout_elems = 0;  // per half (data or accumulators)
  int64_t sb_total_elems = 0;
  int64_t tn = 16, stages = 3;
  double dram_bytes_per_cycle = 13;
  int64_t dma_fixed = 50;  // setup + latency cycles per DMA instruction
  int64_t dram_latency = 49, outstanding = 16;  // a burst waits the latency; bursts overlap up to this
  int64_t burst_bytes = 64, row_miss = 15;
  int64_t nbin_port = 32, sb_port = 512, nbout_port = 64;
  PipeMode mode;
};
// `depth` 0: the mode's own (2 for coarse/full); 1: whole buffers with the mode's NFU overlap
// (what coarse/full fall back to for a group where halving the buffers costs more than it gains).
ArchView arch_view(const ArchParams& a, isa::DType dtype, Pipeline p, int depth = 0);

// Fits `t` (0 fields free; tb 0 free too, where tb > 1 applies) for `l`; returns false when
// nothing fits. Never throws.
bool choose_tile(const WinLayer& l, const ArchView& av, const Tile& fixed, TilePlan& out);
// `kept`: resident weights that an earlier group left in SB (no weight loads).
Estimate estimate(const WinLayer& l, const ArchView& av, const Tile& t, bool resident, bool ws, bool kept = false);
// Sum over tiles of size t covering n of ceil(tile / tn): Tn-blocks of a tiled channel axis.
int64_t blocks_sum(int64_t n, int64_t t, int64_t tn);
// NFU inner cycles of one output block over all input-channel chunks of size tci
// (isa::nfu_inner_cycles summed over the chunks; tci is ignored unless dense).
int64_t inner_sum(const WinLayer& l, int64_t tci, int64_t tn);
// DMA time of `instrs` transfers moving `bytes` in `runs` contiguous runs.
int64_t dma_time(double bytes, int64_t runs, int64_t instrs, const ArchView& av);
bool tile_fits(const WinLayer& l, const ArchView& av, const Tile& t);

// Cycles and bytes of an elementwise pass over `elems` elements with `reads` operands.
Estimate estimate_elementwise(int64_t elems, int reads, int computes, int64_t chunk, const ArchView& av);

// The combined time of compute and DMA work for a mode.
int64_t combine(int64_t compute, int64_t load, int64_t store, int64_t steps, const PipeMode& m);

}  // namespace fusesim::compiler
