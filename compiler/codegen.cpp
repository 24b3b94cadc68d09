// Codegen. Each group becomes a sequence of *steps*; a step loads operands into one half of
// the buffers (ping-pong when double-buffered), runs one or more COMPUTEs, and ends an output
// tile with a STORE. The token protocol (docs/isa.md) is derived from the step structure by
// StepEmitter::finish, so every generator only says which step an instruction belongs to.
#include "codegen.h"
#include "linebuf.h"

#include <algorithm>
#include <deque>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include "fused.h"
#include "isa/errors.h"
#include "isa/numerics.h"

namespace fusesim::compiler {
namespace {

using isa::Instr;
uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }

// A contiguous transfer of n elements: one row when it fits the 16-bit size0, else rows of
// 32768 elements (size1 x size0) plus a remainder.
constexpr int64_t kMaxRow = 32768;
void flat_transfer(std::vector<Instr>& out, const Instr& proto, int64_t n, int64_t esize, int64_t belem) {
  int64_t done = 0;
  if (n > 65535) {
    const int64_t rows = std::min<int64_t>(n / kMaxRow, 65535);
    Instr in = proto;
    in.size0 = u32(kMaxRow), in.size1 = u32(rows), in.size2 = 1, in.stride1 = u32(kMaxRow);
    out.push_back(in);
    done = rows * kMaxRow;
  }
  while (done < n) {
    const int64_t m = std::min<int64_t>(n - done, 65535);
    Instr in = proto;
    in.dram_addr = u32(proto.dram_addr + done * esize);
    in.buf_addr = u32(proto.buf_addr + done * belem);
    in.size0 = u32(m), in.size1 = 1, in.size2 = 1;
    out.push_back(in);
    done += m;
  }
}
// ---------------------------------------------------------------------------------------------
// Steps and the dependency-token protocol, over the whole program

// The buffer use of the group a step belongs to.
struct StepView {
  PipeMode mode;
  uint32_t layer = 0;  // group index (Instr::layer)
  int64_t nbin_half = 0, sb_half = 0, nbout_half = 0;  // bytes of one half (whole buffer if depth 1)
  bool same_halves(const StepView& o) const {
    return mode.depth == o.mode.depth && nbin_half == o.nbin_half && sb_half == o.sb_half &&
           nbout_half == o.nbout_half;
  }
};

// Bounding DRAM byte range [lo, hi) of a LOAD or STORE pattern (padding included: conservative).
std::pair<int64_t, int64_t> dram_range(const Instr& in, int64_t esize) {
  const int64_t s2 = std::max<int64_t>(1, in.size2), s1 = std::max<int64_t>(1, in.size1);
  const int64_t last = (s2 - 1) * in.stride2 + (s1 - 1) * in.stride1 + std::max<int64_t>(1, in.size0);
  return {in.dram_addr, in.dram_addr + last * esize};
}

// The latest instruction (an index) that touched each page of a byte range. Pages are at least
// 64 B and at most `pages` per range: conservative (a neighbour on the same page counts) and
// bounded in cost per access.
class PageMap {
 public:
  PageMap(int64_t lo, int64_t bytes, int64_t pages)
      : lo_(lo), hi_(lo + bytes), page_(std::max<int64_t>(64, (bytes + pages - 1) / pages)),
        last_(static_cast<std::size_t>(std::max<int64_t>(1, (bytes + page_ - 1) / page_)), -1) {}
  int64_t lo() const { return lo_; }
  bool contains(int64_t a) const { return a >= lo_ && a < hi_; }
  void mark(int64_t lo, int64_t hi, int64_t idx) {  // indices only grow
    visit(lo, hi, [&](int64_t& p) { p = idx; });
  }
  int64_t latest(int64_t lo, int64_t hi) {
    int64_t best = -1;
    visit(lo, hi, [&](int64_t& p) { best = std::max(best, p); });
    return best;
  }

 private:
  int64_t lo_, hi_, page_;
  std::vector<int64_t> last_;
  template <class F>
  void visit(int64_t lo, int64_t hi, F&& f) {
    lo = std::max(lo, lo_), hi = std::min(hi, hi_);
    if (lo >= hi) return;
    const int64_t p1 = std::min<int64_t>((hi - 1 - lo_) / page_, static_cast<int64_t>(last_.size()) - 1);
    for (int64_t p = (lo - lo_) / page_; p <= p1; ++p) f(last_[static_cast<std::size_t>(p)]);
  }
};

// Per byte of a buffer, the latest index painted over it, exactly: disjoint intervals, so that
// a LOAD waits only for the COMPUTEs that read the very bytes it overwrites (a line buffer's
// planes are a few dozen bytes apart, so any page granularity makes false waits).
class IntervalMap {
 public:
  void mark(int64_t lo, int64_t hi, int64_t idx) {  // indices only grow
    if (lo >= hi) return;
    split(lo);
    split(hi);
    auto it = spans_.lower_bound(lo);
    if (it != spans_.end() && it->first == lo) {  // reuse the node (a range painted again: no allocation)
      it->second = Span{hi, idx};
      ++it;
      while (it != spans_.end() && it->first < hi) it = spans_.erase(it);
      return;
    }
    while (it != spans_.end() && it->first < hi) it = spans_.erase(it);
    spans_.emplace_hint(it, lo, Span{hi, idx});
  }
  int64_t latest(int64_t lo, int64_t hi) const {
    int64_t best = -1;
    auto it = spans_.upper_bound(lo);
    if (it != spans_.begin()) --it;
    for (; it != spans_.end() && it->first < hi; ++it)
      if (it->second.hi > lo) best = std::max(best, it->second.idx);
    return best;
  }

 private:
  struct Span {
    int64_t hi, idx;
  };
  std::map<int64_t, Span> spans_;  // lo -> [lo, hi) painted with idx
  // Makes x a boundary: the span strictly containing it is cut in two.
  void split(int64_t x) {
    auto it = spans_.upper_bound(x);
    if (it == spans_.begin()) return;
    --it;
    if (it->first < x && x < it->second.hi) {
      const Span right = it->second;
      it->second.hi = x;
      spans_.emplace(x, right);
    }
  }
};

// The latest STORE writing into each part of each tensor (a DRAM allocation).
class DramWriters {
 public:
  void add_tensor(int64_t addr, int64_t bytes) { tensors_.emplace_back(addr, bytes, 64); }
  void sort() {
    std::sort(tensors_.begin(), tensors_.end(), [](const PageMap& a, const PageMap& b) { return a.lo() < b.lo(); });
  }
  void paint(int64_t lo, int64_t hi, int64_t idx) {
    if (PageMap* t = find(lo)) t->mark(lo, hi, idx);
  }
  // The latest store index writing any byte of [lo, hi); -1 if none (weights, the program).
  int64_t latest(int64_t lo, int64_t hi) {
    PageMap* t = find(lo);
    return t ? t->latest(lo, hi) : -1;
  }

 private:
  std::vector<PageMap> tensors_;
  PageMap* find(int64_t a) {
    auto it = std::upper_bound(tensors_.begin(), tensors_.end(), a, [](int64_t x, const PageMap& t) { return x < t.lo(); });
    if (it == tensors_.begin()) return nullptr;
    --it;
    return it->contains(a) ? &*it : nullptr;
  }
};

// Bytes of NBin and SB a COMPUTE reads: [addr, addr + bytes) of its input map (NBin only) and
// of its weights and biases.
std::pair<int64_t, int64_t> input_bytes(const Instr& c, int64_t esize) {
  const int64_t cin = c.cin ? c.cin : c.cout, ih = c.in_h ? c.in_h : c.out_h, iw = c.in_w ? c.in_w : c.out_w;
  const bool window = (c.op == static_cast<uint32_t>(isa::ComputeOp::Add) || c.op == static_cast<uint32_t>(isa::ComputeOp::Act) ||
                      c.op == static_cast<uint32_t>(isa::ComputeOp::Mul)) &&
                      (ih != c.out_h || iw != c.out_w);
  const int64_t n = window ? (cin - 1) * ih * iw + (c.out_h - 1) * iw + c.out_w : cin * ih * iw;
  return {c.in_addr, c.in_addr + n * esize};
}
std::pair<int64_t, int64_t> weight_bytes(const Instr& c, int64_t esize) {
  const int64_t taps = std::max<int64_t>(1, c.kh) * std::max<int64_t>(1, c.kw);
  const bool dw = c.op == static_cast<uint32_t>(isa::ComputeOp::DwConv);
  const int64_t n = (dw ? c.cout : int64_t{c.cout} * c.cin) * taps + (c.has_bias ? c.cout : 0);
  return {c.w_addr, c.w_addr + n * esize};
}

class StepEmitter {
 public:
  // Readers are tracked per byte (IntervalMap): a false wait between neighbouring weight blocks
  // or line-buffer planes would serialize a group's loads behind its computes.
  // Steps from now on belong to this group and use its buffer view.
  void set_group(const StepView& v) { views_.push_back(v); }
  void begin_step() {
    // Steps are pooled: a flushed step's vectors keep their capacity for the next steps (no
    // allocation per step in the steady state). Every kFlushSteps complete steps are flushed
    // to the sink, so a group of a hundred thousand steps never holds all its instructions
    // decoded (a step's tokens depend only on the steps before it).
    if (sink_out_ && n_steps_ >= kFlushSteps) flush(sink_dt_, *sink_writers_, *sink_out_);
    if (n_steps_ == steps_.size()) {
      steps_.emplace_back();
    } else {
      Step& s = steps_[n_steps_];
      s.descs.clear(), s.loads.clear(), s.computes.clear(), s.stores.clear();
      s.load_range.clear(), s.compute_range.clear(), s.compute_tiles.clear(), s.store_tiles.clear();
    }
    ++n_steps_;
    cur().view = static_cast<int>(views_.size()) - 1;
  }
  // Output tiles: the NBout half at `nbout_addr` a group of steps accumulates into, stored once.
  // `bytes` < 0: the view's whole half.
  int begin_out_tile(int64_t nbout_addr, int64_t bytes = -1) {
    const int view = static_cast<int>(views_.size()) - 1;
    tiles_.push_back({view, nbout_addr, nbout_addr + (bytes < 0 ? views_.back().nbout_half : bytes), -1});
    return static_cast<int>(tiles_.size()) - 1;
  }
  void load(const Instr& in) { cur().loads.push_back(in); }
  using Ranges = std::vector<std::pair<int64_t, int64_t>>;
  // A LOAD through a map descriptor, with the buffer byte ranges it writes.
  void load(const Instr& in, Ranges ranges) {
    Step& s = cur();
    s.loads.push_back(in);
    s.load_range.resize(s.loads.size());
    s.load_range.back() = std::move(ranges);
  }
  // A DESC (map descriptor register), dispatched before the step's other instructions.
  void desc(const Instr& in) { cur().descs.push_back(in); }
  // A flat (contiguous) LOAD of n data elements, split when longer than one pattern row.
  void flat_load(isa::Buffer buf, uint64_t dram, uint64_t buf_addr, int64_t n, int64_t esize) {
    Instr proto;
    proto.opcode = static_cast<uint32_t>(isa::Opcode::Load);
    proto.buf = static_cast<uint32_t>(buf);
    proto.dram_addr = static_cast<uint32_t>(dram);
    proto.buf_addr = static_cast<uint32_t>(buf_addr);
    flat_transfer(cur().loads, proto, n, esize, buf == isa::Buffer::NBout ? 4 : esize);
  }
  void compute(const Instr& in, int tile) {
    cur().computes.push_back(in);
    cur().compute_tiles.push_back(tile);
  }
  // A COMPUTE using NBin through map descriptors, with the NBin byte ranges it reads or writes
  // (a later LOAD there waits for it).
  void compute(const Instr& in, int tile, Ranges ranges) {
    compute(in, tile);
    Step& s = cur();
    s.compute_range.resize(s.computes.size());
    s.compute_range.back() = std::move(ranges);
  }
  void store(const Instr& in, int tile) {
    cur().stores.push_back(in);
    cur().store_tiles.push_back(tile);
  }

  // Sets the token flags and store fences of the steps so far and appends them to `out`
  // (called after each group, so that only one group's steps are held at a time).
  //
  // Loads wait for the NBin/SB region they overwrite to be free: the first LOAD of a step pops
  // a compute->load token that the last COMPUTE reading that region pushed. Tokens are counted
  // and both queues are in order, so a step pops only when it needs a later COMPUTE than the
  // previous popping step did, and exactly those COMPUTEs push. Likewise a tile's first COMPUTE
  // waits for the STORE of the latest earlier tile whose NBout region it overwrites. Where the
  // buffer view changes between groups, every half of the old view counts as overlapping (NBout;
  // NBin and SB readers are tracked by byte pages, whatever the view).
  // A LOAD that reads DRAM bytes an earlier STORE wrote carries a store fence on the latest such
  // STORE; there is no barrier between groups. Every wait names an earlier instruction, so the
  // in-order queues cannot deadlock (docs/compiler.md).
  // Where begin_step flushes the steps held so far when there are kFlushSteps of them.
  // With a stream, each flush publishes the words that are final (final_words()).
  void set_sink(isa::DType dt, DramWriters& writers, InstrWords& out, WordStream* stream = nullptr) {
    sink_dt_ = dt, sink_writers_ = &writers, sink_out_ = &out, stream_ = stream;
  }
  void flush(isa::DType dt, DramWriters& writers, InstrWords& out) {
    flush_steps(dt, writers, out);
    if (stream_) {
      published_ = final_words(out);
      stream_->publish(published_);
    }
  }

 private:
  void flush_steps(isa::DType dt, DramWriters& writers, InstrWords& out) {
    const int64_t esize = isa::data_bytes(dt);
    for (std::size_t si = 0; si < n_steps_; ++si) {
      Step& s = steps_[si];
      const StepView& v = views_[s.view];
      // Loads: wait for the last COMPUTE reading the bytes they overwrite; fence on the stores
      // they read.
      for (Instr& d : s.descs) emit(d, v, dt, out);
      if (!v.mode.sync) {
        int64_t need = -1;
        for (std::size_t k = 0; k < s.loads.size(); ++k) {
          const Instr& ld = s.loads[k];
          if (ld.buf == static_cast<uint32_t>(isa::Buffer::NBout)) continue;
          if (k < s.load_range.size() && !s.load_range[k].empty()) {
            for (const auto& [lo, hi] : s.load_range[k]) need = std::max(need, reader(ld.buf).latest(lo, hi));
            continue;
          }
          const int64_t n = int64_t{std::max<uint32_t>(1, ld.size0)} * std::max<uint32_t>(1, ld.size1) *
                            std::max<uint32_t>(1, ld.size2) * esize;
          need = std::max(need, reader(ld.buf).latest(ld.buf_addr, ld.buf_addr + n));
        }
        if (need > popped_load_) {
          s.loads.front().pop_next = 1;
          patch(out, need);
          popped_load_ = need;
        }
      }
      if (!s.loads.empty()) s.loads.back().push_next = 1;
      for (Instr& ld : s.loads) {
        const auto [lo, hi] = dram_range(ld, esize);
        const int64_t w = writers.latest(lo, hi);
        if (w >= fenced_) {
          ld.store_fence = 1;
          ld.fence_slack = static_cast<uint32_t>(std::min<int64_t>(stores_ - (w + 1), kMaxFenceSlack));
          fenced_ = stores_ - ld.fence_slack;
        }
        emit(ld, v, dt, out);
      }
      // Computes: the first waits for the step's loads; a tile's first waits for the STORE of the
      // latest earlier tile whose NBout region it overwrites; the last of a stored tile pushes.
      for (std::size_t k = 0; k < s.computes.size(); ++k) {
        Instr& c = s.computes[k];
        const int t = s.compute_tiles[k];
        if (k == 0 && !s.loads.empty()) c.pop_prev = 1;
        if (t < 0) continue;  // writes no NBout tile (a line-buffered group's intermediate)
        if (!tiles_[t].started) {
          tiles_[t].started = true;
          const int u = overlapping_tile(t);
          if (!v.mode.sync && u > popped_tile_) {
            if (tiles_[u].store_out < 0) throw std::logic_error("codegen: a tile's COMPUTE precedes the STORE of the tile it overwrites");
            c.pop_next = 1;
            patch(out, tiles_[u].store_out);
            popped_tile_ = u;
          }
        }
        for (int st : s.store_tiles)
          if (st == t && std::find(s.compute_tiles.begin() + static_cast<long>(k) + 1, s.compute_tiles.end(), t) ==
                             s.compute_tiles.end())
            c.push_next = 1;
      }
      int64_t last_compute = -1;
      for (Instr& c : s.computes) {
        last_compute = static_cast<int64_t>(out.size());
        emit(c, v, dt, out);
      }
      if (last_compute >= 0 && !v.mode.sync) {
        if (marked_.empty() || marked_.back() != last_compute) marked_.push_back(last_compute);
        for (std::size_t k = 0; k < s.computes.size(); ++k) {
          const Instr& c = s.computes[k];
          if (k < s.compute_range.size() && !s.compute_range[k].empty()) {
            for (const auto& [lo, hi] : s.compute_range[k]) readers_[0].mark(lo, hi, last_compute);
          } else if (c.in_buf == static_cast<uint32_t>(isa::Buffer::NBin)) {
            const auto [lo, hi] = input_bytes(c, esize);
            readers_[0].mark(lo, hi, last_compute);
          }
          if (c.op == static_cast<uint32_t>(isa::ComputeOp::Conv) || c.op == static_cast<uint32_t>(isa::ComputeOp::DwConv)) {
            const auto [lo, hi] = weight_bytes(c, esize);
            readers_[1].mark(lo, hi, last_compute);
          }
        }
      }
      // Stores: the first of a tile waits for its last COMPUTE; the tile's last STORE is the one
      // a later tile's COMPUTE waits for.
      for (std::size_t k = 0; k < s.stores.size(); ++k) {
        Instr& st = s.stores[k];
        const int t = s.store_tiles[k];
        st.pop_prev = k == 0 || s.store_tiles[k - 1] != t;
        const auto [lo, hi] = dram_range(st, esize);
        writers.paint(lo, hi, stores_++);
        if (!v.mode.sync && tiles_[t].store_out < 0) stored_.push_back({t, static_cast<int64_t>(out.size())});
        tiles_[t].store_out = static_cast<int64_t>(out.size());
        emit(st, v, dt, out);
      }
      if (v.mode.sync) {
        Instr sync;
        sync.opcode = static_cast<uint32_t>(isa::Opcode::Sync);
        sync.layer = v.layer;
        out.push_back(sync);
      }
    }
    n_steps_ = 0;
  }

  // Words a later flush may still patch (a push_prev for a LOAD or COMPUTE that waits on them):
  // the COMPUTEs that last read some NBin or SB bytes, after the latest one a LOAD already
  // waited for (marked_), and the STOREs of tiles after the latest one a COMPUTE waited for
  // (stored_, by each tile's first STORE). Everything before the first of them is final.
  std::size_t final_words(const InstrWords& out) {
    while (!marked_.empty() && marked_.front() <= popped_load_) marked_.pop_front();
    while (!stored_.empty() && stored_.front().tile <= popped_tile_) stored_.pop_front();
    int64_t n = static_cast<int64_t>(out.size());
    if (!marked_.empty()) n = std::min(n, marked_.front());
    if (!stored_.empty()) n = std::min(n, stored_.front().index);
    return static_cast<std::size_t>(n);
  }
  void patch(InstrWords& out, int64_t i) {
    if (i < static_cast<int64_t>(published_))
      throw std::logic_error("codegen: instruction " + std::to_string(i) + " was patched after it was published");
    out.set_push_prev(static_cast<std::size_t>(i));
  }
  static constexpr int64_t kMaxFenceSlack = (int64_t{1} << 20) - 1;  // the field's width
  struct Step {
    std::vector<Instr> descs, loads, computes, stores;
    // buffer ranges of descriptor operands (empty ranges: derived from the instruction)
    std::vector<Ranges> load_range, compute_range;
    std::vector<int> compute_tiles, store_tiles;
    int view = 0;
  };
  struct TileInfo {
    int view;
    int64_t lo, hi;         // NBout byte range
    int64_t store_out;      // index in the output of the tile's last STORE
    bool started = false;   // its first COMPUTE was emitted
  };
  std::vector<StepView> views_;
  std::vector<Step> steps_;    // the pool; the first n_steps_ are not flushed yet
  std::size_t n_steps_ = 0;
  static constexpr std::size_t kFlushSteps = 1024;
  isa::DType sink_dt_ = isa::DType::Int16;
  DramWriters* sink_writers_ = nullptr;
  InstrWords* sink_out_ = nullptr;
  Step& cur() { return steps_[n_steps_ - 1]; }
  std::vector<TileInfo> tiles_;
  IntervalMap readers_[2];  // NBin, SB: the output index of the last COMPUTE reading each byte
  IntervalMap& reader(uint32_t buf) { return readers_[buf == static_cast<uint32_t>(isa::Buffer::SB) ? 1 : 0]; }
  int64_t popped_load_ = -1;                             // latest COMPUTE a LOAD waited for
  int popped_tile_ = -1;                                 // latest tile whose STORE a COMPUTE waited for
  int64_t stores_ = 0, fenced_ = 0;  // stores emitted; stores every later LOAD already waits for
  WordStream* stream_ = nullptr;
  std::size_t published_ = 0;  // words published as final
  struct Stored {
    int tile;
    int64_t index;
  };
  std::deque<int64_t> marked_;  // see final_words()
  std::deque<Stored> stored_;

  static void emit(Instr& in, const StepView& v, isa::DType dt, InstrWords& out) {
    in.layer = v.layer;
    in.dtype = static_cast<uint32_t>(dt);
    if (in.opcode == static_cast<uint32_t>(isa::Opcode::Compute)) in.fine = v.mode.fine;
    out.push_back(in);
  }
  // The latest tile before t whose NBout region t overwrites (any, across a change of view).
  int overlapping_tile(int t) const {
    const TileInfo& a = tiles_[t];
    for (int u = t - 1; u >= 0; --u) {
      const TileInfo& b = tiles_[u];
      if (!views_[b.view].same_halves(views_[a.view]) || (b.lo < a.hi && a.lo < b.hi)) return u;
    }
    return -1;
  }
};

Instr make_load(isa::Buffer buf, uint64_t dram, uint64_t buf_addr) {
  Instr in;
  in.opcode = static_cast<uint32_t>(isa::Opcode::Load);
  in.buf = static_cast<uint32_t>(buf);
  in.dram_addr = u32(dram);
  in.buf_addr = u32(buf_addr);
  return in;
}
Instr make_store(uint64_t dram, uint64_t buf_addr) {
  Instr in;
  in.opcode = static_cast<uint32_t>(isa::Opcode::Store);
  in.buf = static_cast<uint32_t>(isa::Buffer::NBout);
  in.dram_addr = u32(dram);
  in.buf_addr = u32(buf_addr);
  return in;
}
Instr make_compute(isa::ComputeOp op) {
  Instr in;
  in.opcode = static_cast<uint32_t>(isa::Opcode::Compute);
  in.op = static_cast<uint32_t>(op);
  in.final = 1;
  return in;
}


// One COMPUTE of a window layer over a [nci][ih][iw] input map and a [nco][rows][cols] output:
// the geometry, and the partial-sum fields of input-channel chunk (first_ci, last_ci).
Instr window_compute(const WinLayer& w, isa::Activation act, isa::DType dt, int64_t nci, int64_t nco, int64_t ih,
                     int64_t iw, int64_t rows, int64_t cols, bool first_ci, bool last_ci) {
  const bool weights = w.kind == WinKind::Conv || w.kind == WinKind::DwConv;
  Instr cp = make_compute(compute_op_of(w.kind));
  cp.cin = u32(nci), cp.cout = u32(nco);
  cp.in_h = u32(ih), cp.in_w = u32(iw), cp.out_h = u32(rows), cp.out_w = u32(cols);
  cp.kh = u32(w.kh), cp.kw = u32(w.kw), cp.stride_h = u32(w.sh), cp.stride_w = u32(w.sw);
  cp.dil_h = u32(w.dh), cp.dil_w = u32(w.dw);
  cp.accumulate = weights && !first_ci;
  cp.has_bias = weights && w.bias && first_ci;
  cp.final = last_ci;
  cp.act = last_ci ? static_cast<uint32_t>(act) : 0;
  cp.shift = weights && dt == isa::DType::Int16 ? numerics::kWeightFrac : 0;
  if (w.kind == WinKind::AvgPool) cp.divisor = u32(w.divisor);
  return cp;
}

// ---------------------------------------------------------------------------------------------
struct Ctx {
  Graph& g;
  const ArchParams& arch;
  const CompileOptions& opt;
  ArchView av;
  isa::DType dt;
  int64_t esize;
  std::vector<int64_t> data_addr;                  // roots only; -1 otherwise
  std::vector<int64_t> w_addr, b_addr;             // per layer
  int64_t nbin_half, nbout_half, sb_half;          // bytes
  // The sample that generators lowering one sample at a time address (addr(d)).
  int64_t sample = 0;

  // DRAM byte address of sample `s` of a data node (aliases resolved: views and concat slices).
  // A root holds its samples one after another.
  int64_t addr(int d, int64_t s) const {
    const DataNode& n = g.tensor(d);
    if (n.alias_of < 0) return data_addr.at(d) + s * n.shape.elems() * esize;
    const Shape& sh = n.shape;
    return addr(n.alias_of, s) + n.channel_offset * sh.h * sh.w * esize;
  }
  int64_t addr(int d) const { return addr(d, sample); }
};

// ---------------------------------------------------------------------------------------------
// Window layers: conv, fc, depthwise conv, pooling

// A batch runs sample after sample (the outermost loop), with two exceptions that reuse a weight
// tile across samples: the weight-stationary order streams every sample past each weight tile,
// and an fc layer with Tile::tb > 1 runs each weight tile over tb samples' input vectors, their
// tb output tiles side by side in NBout (one step per sample, the weights loaded in the first).
void gen_window(Ctx& c, const LayerNode& l, const WinLayer& wl, const TilePlan& tp, StepEmitter& e) {
  const Tile& t = tp.tile;
  const int D = c.av.mode.depth;
  const bool dense = wl.kind == WinKind::Conv, weights = dense || wl.kind == WinKind::DwConv;
  const int64_t es = c.esize;
  const isa::PadValue padv = wl.kind == WinKind::MaxPool ? isa::PadValue::Min : isa::PadValue::Zero;
  const int64_t taps = wl.kh * wl.kw;
  const int64_t w_row = dense ? wl.cin * taps : taps;  // weight elements per output channel
  int64_t in_cnt = 0, w_cnt = 0, out_cnt = 0, cur_in = 0, cur_w = 0;
  bool resident_loaded = false;
  const bool ws = tp.weight_stationary;
  // One output tile of samples [s0, s0 + ns) (all its input-channel steps, then its stores).
  // `first_sp`/`first_co` say whether the input (sp-outer order) or the weights
  // (weight-stationary order) are already on chip from the previous tile.
  auto out_tile = [&](int64_t s0, int64_t ns, int64_t grp, int64_t r0, int64_t c0, int64_t co0, bool first_sp,
                      bool first_co) {
    const int64_t rows = std::min(t.tr, wl.oh - r0), cols = std::min(t.tc, wl.ow - c0);
    const int64_t ir = (rows - 1) * wl.sh + (wl.kh - 1) * wl.dh + 1;
    const int64_t ic = (cols - 1) * wl.sw + (wl.kw - 1) * wl.dw + 1;
    const int64_t rlo = r0 * wl.sh - wl.pt, clo = c0 * wl.sw - wl.pl;
    const int64_t vr0 = std::max<int64_t>(0, rlo), vr1 = std::min(wl.h, rlo + ir);
    const int64_t vc0 = std::max<int64_t>(0, clo), vc1 = std::min(wl.w, clo + ic);
    auto input_load = [&](int64_t sample, int64_t ch0, int64_t nch, int64_t buf_addr) {
      const int64_t in_base = c.addr(l.inputs[0], sample);
      Instr in = make_load(isa::Buffer::NBin, in_base + ((ch0 * wl.h + vr0) * wl.w + vc0) * es, buf_addr);
      if (wl.h == 1 && wl.w == 1 && ir == 1 && ic == 1) {  // fc: one flat run
        in.size0 = u32(nch), in.size1 = 1, in.size2 = 1;
      } else {
        in.size0 = u32(ic), in.size1 = u32(ir), in.size2 = u32(nch);
        in.stride1 = u32(wl.w), in.stride2 = u32(wl.h * wl.w);
        in.pad_top = u32(vr0 - rlo), in.pad_bottom = u32(rlo + ir - vr1);
        in.pad_left = u32(vc0 - clo), in.pad_right = u32(clo + ic - vc1);
        in.pad_value = static_cast<uint32_t>(padv);
      }
      e.load(in);
    };
    const int64_t nco = std::min(t.tco, wl.cout - co0);
    const int64_t out_addr = (out_cnt++ % D) * c.nbout_half;
    // one NBout tile per sample; a single sample's tile owns the whole half, as at batch 1
    const int64_t tile_bytes = nco * rows * cols * 4;
    std::vector<int> tiles(static_cast<std::size_t>(ns));
    for (int64_t k = 0; k < ns; ++k)
      tiles[k] = e.begin_out_tile(out_addr + k * tile_bytes, ns > 1 ? tile_bytes : -1);
    const int64_t ci_step = dense ? t.tci : wl.cout;
    for (int64_t ci0 = 0; ci0 < (dense ? wl.cin : 1); ci0 += ci_step) {
      const int64_t nci = dense ? std::min(t.tci, wl.cin - ci0) : nco;
      const bool first_ci = ci0 == 0, last_ci = !dense || ci0 + t.tci >= wl.cin;
      for (int64_t k = 0; k < ns; ++k) {
        e.begin_step();
        // input map: reused across output-channel tiles when one tile holds every input channel
        const bool reuse_input = !ws && dense && t.tci >= wl.cin && !first_co && ns == 1;
        if (!reuse_input) {
          cur_in = (in_cnt++ % D) * c.nbin_half;
          input_load(s0 + k, dense ? grp * wl.cin + ci0 : co0, nci, cur_in);
        }
        // weights (laid out tile by tile in DRAM: one run each) and bias; the samples after the
        // first of a tile reuse them
        int64_t w_sb = 0;  // the bias follows the weights in SB (ISA v2)
        if (weights) {
          const int64_t wco0 = (dense ? grp * wl.cout : 0) + co0;
          const int64_t per = dense ? nci * taps : taps;
          if (tp.resident_weights) {
            w_sb = tp.sb_addr + co0 * w_row * es;
            if (!resident_loaded) {
              resident_loaded = true;
              if (!tp.weights_kept) {  // else an earlier group left them at sb_addr
                e.flat_load(isa::Buffer::SB, c.w_addr[l.id], tp.sb_addr, wl.cout * w_row, es);
                if (wl.bias) e.flat_load(isa::Buffer::SB, c.b_addr[l.id], tp.sb_addr + wl.cout * w_row * es, wl.cout, es);
              }
            }
          } else {
            const bool reuse_w = (ws && !first_sp) || k > 0;
            if (!reuse_w) {
              cur_w = (w_cnt++ % D) * c.sb_half;
              const int64_t block = dense ? (grp * wl.cout * wl.cin + co0 * wl.cin + ci0 * nco) * taps : co0 * taps;
              e.flat_load(isa::Buffer::SB, c.w_addr[l.id] + block * es, cur_w, nco * per, es);
              if (wl.bias && first_ci) e.flat_load(isa::Buffer::SB, c.b_addr[l.id] + wco0 * es, cur_w + nco * per * es, nco, es);
            }
            w_sb = cur_w;
          }
        }
        Instr cp = window_compute(wl, l.attrs.act, c.dt, nci, nco, ir, ic, rows, cols, first_ci, last_ci);
        cp.in_buf = static_cast<uint32_t>(isa::Buffer::NBin);
        cp.in_addr = u32(cur_in);
        cp.w_addr = u32(w_sb);
        cp.out_addr = u32(out_addr + k * tile_bytes);
        e.compute(cp, tiles[k]);
        if (!last_ci) continue;
        const int64_t out_base = c.addr(l.output, s0 + k);
        const int64_t out_off = (((dense ? grp * wl.cout : 0) + co0) * wl.oh + r0) * wl.ow + c0;
        Instr st = make_store(out_base + out_off * es, out_addr + k * tile_bytes);
        if (rows == wl.oh && cols == wl.ow && nco * rows * cols <= 65535) {
          st.size0 = u32(nco * rows * cols), st.size1 = 1, st.size2 = 1;
        } else {
          st.size0 = u32(cols), st.size1 = u32(rows), st.size2 = u32(nco);
          st.stride1 = u32(wl.ow), st.stride2 = u32(wl.oh * wl.ow);
        }
        e.store(st, tiles[k]);
      }
    }
  };
  const int64_t N = wl.batch;
  if (ws) {
    for (int64_t grp = 0; grp < (dense ? wl.groups : 1); ++grp)
      for (int64_t co0 = 0; co0 < wl.cout; co0 += t.tco)
        for (int64_t s = 0; s < N; ++s)
          for (int64_t r0 = 0; r0 < wl.oh; r0 += t.tr)
            for (int64_t c0 = 0; c0 < wl.ow; c0 += t.tc)
              out_tile(s, 1, grp, r0, c0, co0, s == 0 && r0 == 0 && c0 == 0, true);
    return;
  }
  for (int64_t s0 = 0; s0 < N; s0 += t.tb)
    for (int64_t grp = 0; grp < (dense ? wl.groups : 1); ++grp)
      for (int64_t r0 = 0; r0 < wl.oh; r0 += t.tr)
        for (int64_t c0 = 0; c0 < wl.ow; c0 += t.tc)
          for (int64_t co0 = 0; co0 < wl.cout; co0 += t.tco)
            out_tile(s0, std::min(t.tb, N - s0), grp, r0, c0, co0, true, co0 == 0);
}


// ---------------------------------------------------------------------------------------------
// Fused groups (fused.h): per output tile of the last layer, every layer computes its region
// into NBout (alternating two slots), the first layer reading NBin, the others NBout.

void gen_fused(Ctx& c, const FusedPlan& P, StepEmitter& e) {
  const int D = c.av.mode.depth;
  const std::size_t n = P.layers.size();
  const int64_t es = c.esize;
  const FusedLayer& first = P.layers.front();
  const WinLayer& last = P.layers.back().wl;
  const int in_data = c.g.layer(first.id).inputs[0];
  const int out_data = c.g.layer(P.add_id >= 0 ? P.add_id : P.layers.back().id).output;
  int64_t in_base = 0, out_base = 0;  // of the current sample
  // Slot sizes from the largest (unclipped) regions, as the planner sized them.
  const FusedSlots fs = fused_slots(P);
  const int64_t slot_elems[3] = {fs.slot[0], fs.slot[1], fs.slot[2]};
  // Resident weights: every (layer, co chunk, ci chunk) block with its bias, loaded once.
  std::vector<std::map<std::pair<int64_t, int64_t>, int64_t>> sb_at(n);
  std::vector<std::set<std::pair<int64_t, int64_t>>> resident_loaded(n);  // blocks already in SB
  auto chunk_ci = [](const FusedLayer& f) { return f.wl.kind == WinKind::Conv ? f.tci : f.wl.cout; };
  if (P.resident) {
    int64_t pos = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const FusedLayer& f = P.layers[i];
      if (f.wl.kind != WinKind::Conv && f.wl.kind != WinKind::DwConv) continue;
      const bool dn = f.wl.kind == WinKind::Conv;
      for (int64_t co0 = 0; co0 < f.wl.cout; co0 += f.tco)
        for (int64_t ci0 = 0; ci0 < (dn ? f.wl.cin : 1); ci0 += chunk_ci(f)) {
          const int64_t nco = std::min(f.tco, f.wl.cout - co0), nci = dn ? std::min(f.tci, f.wl.cin - ci0) : 1;
          sb_at[i][{co0, ci0}] = pos;
          pos += nco * nci * f.wl.kh * f.wl.kw * es + (f.wl.bias && ci0 == 0 ? nco * es : 0);
        }
    }
  }
  int64_t in_cnt = 0, w_cnt = 0, tile_cnt = 0;
  std::vector<AxisRegion> R, C;
  // The batch: the whole group runs sample after sample; resident weights stay in SB.
  for (int64_t sample = 0; sample < c.g.batch; ++sample)
  for (int64_t r0 = 0; r0 < last.oh; r0 += P.tr)
    for (int64_t c0 = 0; c0 < last.ow; c0 += P.tc) {
      in_base = c.addr(in_data, sample), out_base = c.addr(out_data, sample);
      int64_t rlo = 0, rhi = 0, clo = 0, chi = 0;
      fused_axis(P.layers, true, r0, std::min(last.oh, r0 + P.tr), R, rlo, rhi);
      fused_axis(P.layers, false, c0, std::min(last.ow, c0 + P.tc), C, clo, chi);
      const int64_t base = (tile_cnt++ % D) * c.nbout_half;
      const int tile = e.begin_out_tile(base);
      const int64_t slot[3] = {base, base + slot_elems[0] * 4, base + (slot_elems[0] + slot_elems[1]) * 4};
      int64_t cur_in = 0, chunk0 = 0;  // chunk0: first intermediate channel of the current chunk
      // One step of layer i: output channels from co0, input channels from ci0.
      auto layer_step = [&](std::size_t i, int64_t co0, int64_t ci0, bool load_input) {
        const FusedLayer& f = P.layers[i];
        const WinLayer& w = f.wl;
        const LayerNode& l = c.g.layer(f.id);
        const bool dn = w.kind == WinKind::Conv, weights = dn || w.kind == WinKind::DwConv;
        const int64_t taps = w.kh * w.kw;
        const int64_t rr = R[i].hi - R[i].lo, cc = C[i].hi - C[i].lo;
        const bool ring = i + 1 < n;
        const int64_t ph = (ring ? R[i].pad_lo + R[i].pad_hi : 0) + rr, pw = (ring ? C[i].pad_lo + C[i].pad_hi : 0) + cc;
        // this layer's padded input map
        const int64_t ih = i == 0 ? rhi - rlo : R[i - 1].pad_lo + (R[i - 1].hi - R[i - 1].lo) + R[i - 1].pad_hi;
        const int64_t iw = i == 0 ? chi - clo : C[i - 1].pad_lo + (C[i - 1].hi - C[i - 1].lo) + C[i - 1].pad_hi;
        auto input_load = [&](int64_t ch0, int64_t nch) {
          cur_in = (in_cnt++ % D) * c.nbin_half;
          const int64_t vr0 = std::max<int64_t>(0, rlo), vr1 = std::min(w.h, rhi);
          const int64_t vc0 = std::max<int64_t>(0, clo), vc1 = std::min(w.w, chi);
          Instr in = make_load(isa::Buffer::NBin, in_base + ((ch0 * w.h + vr0) * w.w + vc0) * es, cur_in);
          if (w.is_vector() && nch <= 65535) {  // an fc chain's input vector: one flat run
            in.size0 = u32(nch), in.size1 = 1, in.size2 = 1;
            e.load(in);
            return;
          }
          in.size0 = u32(chi - clo), in.size1 = u32(rhi - rlo), in.size2 = u32(nch);
          in.stride1 = u32(w.w), in.stride2 = u32(w.h * w.w);
          in.pad_top = u32(vr0 - rlo), in.pad_bottom = u32(rhi - vr1);
          in.pad_left = u32(vc0 - clo), in.pad_right = u32(chi - vc1);
          in.pad_value = static_cast<uint32_t>(w.kind == WinKind::MaxPool ? isa::PadValue::Min : isa::PadValue::Zero);
          e.load(in);
        };
        {
          const int64_t nco = std::min(f.tco, w.cout - co0);
          const int64_t nci = dn ? std::min(f.tci, w.cin - ci0) : nco;
          const bool first_ci = ci0 == 0, last_ci = !dn || ci0 + f.tci >= w.cin;
          e.begin_step();
          if (weights && P.resident && !resident_loaded[i].count({co0, dn ? ci0 : 0})) {
            // a resident block is loaded at its first use (in the first tile), so the NFU starts
            // on the first layer while the later layers' weights are still arriving
            const int64_t key_ci = dn ? ci0 : 0;
            resident_loaded[i].insert({co0, key_ci});
            const int64_t at = sb_at[i].at({co0, key_ci});
            const int64_t kci = dn ? nci : 1;
            const int64_t block = dn ? (co0 * w.cin + ci0 * nco) * taps : co0 * taps;
            e.flat_load(isa::Buffer::SB, c.w_addr[f.id] + block * es, at, nco * kci * taps, es);
            if (w.bias && key_ci == 0) e.flat_load(isa::Buffer::SB, c.b_addr[f.id] + co0 * es, at + nco * kci * taps * es, nco, es);
          }
          if (load_input) input_load(dn ? ci0 : co0, nci);
          int64_t w_sb = 0;
          if (weights) {
            if (P.resident) {
              w_sb = sb_at[i].at({co0, dn ? ci0 : 0});
            } else {
              w_sb = (w_cnt++ % D) * c.sb_half;
              const int64_t block = dn ? (co0 * w.cin + ci0 * nco) * taps : co0 * taps;
              e.flat_load(isa::Buffer::SB, c.w_addr[f.id] + block * es, w_sb, nco * (dn ? nci : 1) * taps, es);
              if (w.bias && first_ci)
                e.flat_load(isa::Buffer::SB, c.b_addr[f.id] + co0 * es, w_sb + nco * (dn ? nci : 1) * taps * es, nco, es);
            }
          }
          Instr cp = window_compute(w, l.attrs.act, c.dt, nci, nco, ih, iw, rr, cc, first_ci, last_ci);
          if (i == 0) {
            cp.in_buf = static_cast<uint32_t>(isa::Buffer::NBin);
            cp.in_addr = u32(cur_in);
          } else {
            cp.in_buf = static_cast<uint32_t>(isa::Buffer::NBout);
            cp.in_addr = u32(slot[(i - 1) % 2] + ((dn ? ci0 : co0) - chunk0) * ih * iw * 4);
          }
          cp.w_addr = u32(w_sb);
          const bool acc_slot = P.chunked && i + 1 == n;  // a chunked plan's accumulators
          cp.out_addr = u32(acc_slot ? slot[2] : slot[i % 2] + (co0 - chunk0) * ph * pw * 4);
          if (ring) {
            cp.out_pad_top = u32(R[i].pad_lo), cp.out_pad_bottom = u32(R[i].pad_hi);
            cp.out_pad_left = u32(C[i].pad_lo), cp.out_pad_right = u32(C[i].pad_hi);
            cp.out_pad_value = static_cast<uint32_t>(f.consumer_pad);
          }
          e.compute(cp, tile);
        }
      };
      if (P.chunked) {
        // chunk by chunk over the intermediate channels; the last layer accumulates over them
        const FusedLayer& f0 = P.layers.front();
        for (chunk0 = 0; chunk0 < f0.wl.cout; chunk0 += f0.tco) {
          for (std::size_t i = 0; i + 1 < n; ++i) layer_step(i, chunk0, 0, i == 0 && (chunk0 == 0 || f0.wl.kind != WinKind::Conv));
          layer_step(n - 1, 0, chunk0, false);
        }
        chunk0 = 0;
      } else {
        for (std::size_t i = 0; i < n; ++i) {
          const FusedLayer& f = P.layers[i];
          const WinLayer& w = f.wl;
          if (w.kind == WinKind::Conv && i == 0) {
            for (int64_t ci0 = 0; ci0 < w.cin; ci0 += f.tci)
              for (int64_t co0 = 0; co0 < w.cout; co0 += f.tco) layer_step(i, co0, ci0, co0 == 0);
          } else if (w.kind == WinKind::Conv) {
            for (int64_t co0 = 0; co0 < w.cout; co0 += f.tco)
              for (int64_t ci0 = 0; ci0 < w.cin; ci0 += f.tci) layer_step(i, co0, ci0, false);
          } else {
            for (int64_t co0 = 0; co0 < w.cout; co0 += f.tco) layer_step(i, co0, 0, i == 0);
          }
        }
      }
      const int64_t rr = R[n - 1].hi - R[n - 1].lo, cc = C[n - 1].hi - C[n - 1].lo;
      const int64_t out_slot = P.chunked ? slot[2] : slot[(n - 1) % 2];
      if (P.add_id >= 0) {
        // The residual: the output tile plus the same window of the group's input, still in NBin
        // (a stride-1 chain: output row y is input row y).
        const int64_t ih0 = rhi - rlo, iw0 = chi - clo;
        e.begin_step();
        Instr cp = make_compute(isa::ComputeOp::Add);
        cp.cin = cp.cout = u32(last.cout);
        cp.out_h = u32(rr), cp.out_w = u32(cc), cp.in_h = u32(ih0), cp.in_w = u32(iw0);
        cp.in_buf = static_cast<uint32_t>(isa::Buffer::NBin);
        cp.in_addr = u32(cur_in + ((R[n - 1].lo - rlo) * iw0 + (C[n - 1].lo - clo)) * es);
        cp.out_addr = u32(out_slot);
        cp.act = static_cast<uint32_t>(c.g.layer(P.add_id).attrs.act);
        e.compute(cp, tile);
      }
      Instr st = make_store(out_base + (r0 * last.ow + c0) * es, out_slot);
      if (last.is_vector() && last.cout <= 65535) {  // an fc chain's output vector: one flat run
        st.size0 = u32(last.cout), st.size1 = 1, st.size2 = 1;
      } else {
        st.size0 = u32(cc), st.size1 = u32(rr), st.size2 = u32(last.cout);
        st.stride1 = u32(last.ow), st.stride2 = u32(last.oh * last.ow);
      }
      e.store(st, tile);
    }
}

// Line-buffered groups (overlap cache-rows / cache-all, linebuf.h): each map in an NBin ring named
// by a descriptor register (map i: register i + 1), layers firing in the schedule's order, the
// intermediates written to NBin as data elements, the last layer's output through two NBout slots.
void gen_linebuf(Ctx& c, const FusedPlan& P0, StepEmitter& e) {
  const std::size_t n = P0.layers.size();
  const int64_t es = c.esize;
  const std::vector<char> exit = line_exits(P0.layers);
  const int64_t in_base = c.addr(c.g.layer(P0.layers[0].id).inputs[0]);
  // A layer's output-channel chunks (first global channel, count): tco at a time inside each
  // group of a grouped conv (one COMPUTE per chunk; a layer feeding others: one per group).
  auto chunks = [&](std::size_t i) {
    const FusedLayer& f = P0.layers[i];
    std::vector<std::pair<int64_t, int64_t>> v;
    for (int64_t g = 0; g < f.wl.groups; ++g)
      for (int64_t co0 = 0; co0 < f.wl.cout; co0 += f.tco) v.emplace_back(g * f.wl.cout + co0, std::min(f.tco, f.wl.cout - co0));
    return v;
  };
  // Resident weights: per layer and output-channel chunk, the weights and then the biases.
  std::vector<std::map<int64_t, int64_t>> sb_at(n);
  int64_t pos = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const WinLayer& w = P0.layers[i].wl;
    if (w.kind != WinKind::Conv && w.kind != WinKind::DwConv) continue;
    const int64_t per_co = (w.kind == WinKind::Conv ? w.cin : 1) * w.kh * w.kw;
    for (const auto& [gco, nco] : chunks(i)) {
      sb_at[i][gco] = pos;
      pos += (nco * (per_co + (w.bias ? 1 : 0))) * es;
    }
  }
  // Resident: loaded for the batch's first sample, read by every sample's firings.
  std::vector<char> weights_loaded(n, c.sample > 0 ? 1 : 0);
  auto load_weights = [&](std::size_t i, int64_t gco, int64_t nco) {
    const FusedLayer& f = P0.layers[i];
    const WinLayer& w = f.wl;
    if (w.kind != WinKind::Conv && w.kind != WinKind::DwConv) return;
    const int64_t per_co = (w.kind == WinKind::Conv ? w.cin : 1) * w.kh * w.kw, at = sb_at[i].at(gco);
    e.flat_load(isa::Buffer::SB, c.w_addr[f.id] + gco * per_co * es, at, nco * per_co, es);
    if (w.bias) e.flat_load(isa::Buffer::SB, c.b_addr[f.id] + gco * es, at + nco * per_co * es, nco, es);
  };
  auto ring_addr = [&](const LineMap& m, int64_t prow, int64_t pcol) {
    return m.addr + (m.pos(prow, pcol) % m.ring) * es;
  };
  // The bytes of ring positions [p0, p1) in planes [c0, c0 + nch): per plane, one range or two
  // where the positions wrap.
  auto ring_bytes = [&](const LineMap& m, int64_t p0, int64_t p1, int64_t c0, int64_t nch, StepEmitter::Ranges& out) {
    for (int64_t ch = c0; ch < c0 + nch; ++ch) {
      const int64_t base = m.addr + ch * m.ring * es;
      if (p1 - p0 >= m.ring) {
        out.push_back({base, base + m.ring * es});
        continue;
      }
      const int64_t lo = p0 % m.ring, hi = lo + (p1 - p0);
      out.push_back({base + lo * es, base + std::min(hi, m.ring) * es});
      if (hi > m.ring) out.push_back({base, base + (hi - m.ring) * es});
    }
  };
  auto whole_ring = [&](const LineMap& m) { return StepEmitter::Ranges{{m.addr, m.addr + m.bytes(es)}}; };
  // Column strips (linebuf.h): the group once per strip, each with its own rings and
  // descriptors; the weights stay in SB from strip to strip, the output slots alternate across.
  const std::vector<LineStrip> strips = line_strips(P0);
  std::vector<LineSchedule> schedules;
  int64_t slot_elems = 0;
  for (const LineStrip& st : strips) {
    schedules.push_back(line_schedule(st.plan, es));
    slot_elems = std::max(slot_elems, schedules.back().out_slot_elems);
  }
  const WinLayer& in_full = P0.layers[0].wl;  // DRAM keeps the full maps
  int64_t slot_cnt = 0;
  const int64_t slot_bytes = slot_elems * 4;
  for (std::size_t si = 0; si < strips.size(); ++si) {
  const FusedPlan& P = strips[si].plan;
  const LineSchedule& S = schedules[si];
  // One descriptor register per map (map k: the group's input for k = 0, else layer k-1's output).
  std::vector<uint32_t> reg(S.maps.size(), 0);
  e.begin_step();
  uint32_t next_reg = 1;
  for (std::size_t k = 0; k < S.maps.size(); ++k) {
    const LineMap& m = S.maps[k];
    if (m.ring == 0) continue;
    reg[k] = next_reg++;
    Instr d;
    d.opcode = static_cast<uint32_t>(isa::Opcode::Desc);
    d.desc_id = reg[k];
    d.desc_base = u32(m.addr), d.desc_cpitch = u32(m.ring), d.desc_gpitch = u32(m.cols);
    d.desc_group = u32(m.group), d.desc_ring = u32(m.ring);
    e.desc(d);
  }
  bool first_step = true;
  for (const LineFiring& f : S.firings) {
    const std::size_t i = static_cast<std::size_t>(f.layer);
    const FusedLayer& fl = P.layers[i];
    const WinLayer& w = fl.wl;
    const LayerNode& l = c.g.layer(fl.id);
    const std::size_t k = static_cast<std::size_t>(line_src(P.layers, i) + 1);
    const LineMap& in = S.maps[k];
    const int64_t dt = in.pt - w.pt, dl = in.pl - w.pl;  // this consumer's window inside the map
    const int64_t pr0 = f.r0 * w.sh + dt, pr1 = (f.r0 + f.rows - 1) * w.sh + (w.kh - 1) * w.dh + 1 + dt;
    const int64_t pc0 = f.c0 * w.sw + dl, pc1 = (f.c0 + f.cols - 1) * w.sw + (w.kw - 1) * w.dw + 1 + dl;
    auto step = [&]() {
      if (!first_step) e.begin_step();
      first_step = false;
    };
    auto input_loads = [&]() {  // rows of the group's input (map 0), for the window or a skip
      if (f.load_r1 <= f.load_r0) return;
      const LineMap& m0 = S.maps[0];
      const int64_t top = f.load_r0 == 0 ? m0.pt : 0;  // the bottom padding is filled later
      Instr ld = make_load(isa::Buffer::NBin, in_base + (f.load_r0 * in_full.w + strips[si].in_c0) * es,
                           ring_addr(m0, f.load_r0 + m0.pt - top, 0));
      ld.size0 = u32(m0.cols), ld.size1 = u32(f.load_r1 - f.load_r0 + top), ld.size2 = u32(m0.channels);
      ld.stride1 = u32(in_full.w), ld.stride2 = u32(in_full.h * in_full.w);
      ld.pad_top = u32(top), ld.pad_left = u32(m0.pl), ld.pad_right = u32(m0.pr);
      ld.pad_value = static_cast<uint32_t>(m0.pad);
      ld.buf_desc = reg[0];
      StepEmitter::Ranges r;
      ring_bytes(m0, m0.pos(f.load_r0 + m0.pt - top, 0), m0.pos(f.load_r1 + m0.pt - 1, m0.cols - 1) + 1, 0, m0.channels, r);
      e.load(ld, std::move(r));
    };
    auto pad_fill = [&]() {  // a LOAD of padding only: no DRAM access
      if (f.fill_c1 <= f.fill_c0) return;
      const int64_t rows = in.rows - in.pt - in.h;
      Instr ld = make_load(isa::Buffer::NBin, in_base, ring_addr(in, in.pt + in.h, f.fill_c0));
      ld.size0 = u32(f.fill_c1 - f.fill_c0), ld.size1 = u32(rows), ld.size2 = u32(in.channels);
      ld.pad_top = u32(rows);
      ld.pad_value = static_cast<uint32_t>(in.pad);
      ld.buf_desc = reg[k];
      StepEmitter::Ranges r;
      ring_bytes(in, in.pos(in.pt + in.h, f.fill_c0), in.pos(in.rows - 1, f.fill_c1 - 1) + 1, 0, in.channels, r);
      e.load(ld, std::move(r));
    };
    // The input planes output channels [gco, gco + nco) read: a dense conv's group's, else their own.
    auto first_plane = [&](int64_t gco) { return w.kind == WinKind::Conv ? gco / w.cout * w.cin : gco; };
    auto compute = [&](int64_t gco, int64_t nco) {
      Instr cp = window_compute(w, l.attrs.act, c.dt, w.kind == WinKind::Conv ? w.cin : nco, nco, pr1 - pr0,
                                pc1 - pc0, f.rows, f.cols, true, true);
      cp.in_buf = static_cast<uint32_t>(isa::Buffer::NBin);
      cp.in_desc = reg[k];
      cp.in_addr = u32(ring_addr(in, pr0, pc0) + first_plane(gco) * in.ring * es);
      if (w.kind == WinKind::Conv || w.kind == WinKind::DwConv) cp.w_addr = u32(sb_at[i].at(gco));
      return cp;
    };
    // the window this firing reads, plane by plane
    auto reads = [&](int64_t gco, int64_t nco) {
      StepEmitter::Ranges r;
      ring_bytes(in, in.pos(pr0, pc0), in.pos(pr1 - 1, pc1 - 1) + 1, first_plane(gco), w.kind == WinKind::Conv ? w.cin : nco, r);
      return r;
    };
    if (!exit[i]) {
      step();
      input_loads();
      pad_fill();
      if (!weights_loaded[i]) {
        weights_loaded[i] = 1;
        for (const auto& [gco, nco] : chunks(i)) load_weights(i, gco, nco);
      }
      const LineMap& out = S.maps[i + 1];
      const int64_t top = f.r0 == 0 ? out.pt : 0;  // the consumers fill the bottom padding
      const int64_t left = f.c0 == 0 ? out.pl : 0, right = f.c0 + f.cols == w.ow ? out.pr : 0;
      for (const auto& [gco, nco] : chunks(i)) {  // all its channels (a grouped conv: group by group)
        Instr cp = compute(gco, nco);
        cp.out_nbin = 1;
        cp.out_desc = reg[i + 1];
        cp.out_addr = u32(ring_addr(out, f.r0 + out.pt - top, f.c0 + out.pl - left) + gco * out.ring * es);
        cp.out_pad_top = u32(top), cp.out_pad_left = u32(left), cp.out_pad_right = u32(right);
        cp.out_pad_value = static_cast<uint32_t>(out.pad);
        StepEmitter::Ranges r = reads(gco, nco);
        for (const auto& x : whole_ring(out)) r.push_back(x);  // a later group's LOAD there waits for the write
        e.compute(cp, -1, std::move(r));
      }
      continue;
    }
    // an exit: its output through the two NBout slots, stored to its tensor (a concat slice for a
    // fire or inception module, through elimination's views), or, closed by a residual Add, the
    // skip added in the slot and the Add's output stored
    const bool residual = fl.add_id >= 0;
    const int64_t out_base = c.addr(residual ? c.g.layer(fl.add_id).output : l.output);
    for (const auto& [co0, nco] : chunks(i)) {  // co0: the chunk's first output channel
      step();
      if (co0 == 0) {
        input_loads();
        pad_fill();
      }
      if (!weights_loaded[i]) load_weights(i, co0, nco);
      const int64_t slot = (slot_cnt++ % 2) * slot_bytes;
      const int tile = e.begin_out_tile(slot, slot_bytes);
      Instr cp = compute(co0, nco);
      cp.out_addr = u32(slot);
      e.compute(cp, tile, reads(co0, nco));
      if (residual) {
        const LineMap& sm = S.maps[static_cast<std::size_t>(fl.add_src + 1)];
        const int64_t sr = f.r0 + sm.pt, sc = f.c0 + sm.pl;
        Instr ad = make_compute(isa::ComputeOp::Add);
        ad.cin = ad.cout = u32(nco);
        ad.in_h = ad.out_h = u32(f.rows), ad.in_w = ad.out_w = u32(f.cols);
        ad.in_buf = static_cast<uint32_t>(isa::Buffer::NBin);
        ad.in_desc = reg[static_cast<std::size_t>(fl.add_src + 1)];
        ad.in_addr = u32(ring_addr(sm, sr, sc) + co0 * sm.ring * es);
        ad.out_addr = u32(slot);
        ad.act = static_cast<uint32_t>(c.g.layer(fl.add_id).attrs.act);
        StepEmitter::Ranges r;
        ring_bytes(sm, sm.pos(sr, sc), sm.pos(sr + f.rows - 1, sc + f.cols - 1) + 1, co0, nco, r);
        e.compute(ad, tile, std::move(r));
      }
      const int64_t ow = P0.layers[i].wl.ow;  // the full map's row
      Instr st = make_store(out_base + ((co0 * w.oh + f.r0) * ow + strips[si].out_c0[i] + f.c0) * es, slot);
      st.size0 = u32(f.cols), st.size1 = u32(f.rows), st.size2 = u32(nco);
      st.stride1 = u32(ow), st.stride2 = u32(w.oh * ow);
      e.store(st, tile);
    }
    weights_loaded[i] = 1;
  }
  }
}

// ---------------------------------------------------------------------------------------------
// Elementwise passes: add, standalone activation, copies (identity, concat, reshape without
// elimination) and channel shuffle. The tensor is viewed as [C][HW] and chunked.

// A flat NFU pass over n elements presented as Tn lanes (plus a remainder instruction).
void flat_computes(StepEmitter& e, const Ctx& c, isa::ComputeOp op, int64_t in_addr, int64_t out_addr, int64_t n,
                   isa::Activation act, int tile) {
  const int64_t tn = c.av.tn;
  const int64_t main = (n / tn) * tn;
  auto emit = [&](int64_t lanes, int64_t w, int64_t off) {
    // out_w is 12 bits wide: split long rows
    for (int64_t x0 = 0; x0 < w; x0 += 4095) {
      const int64_t ww = std::min<int64_t>(4095, w - x0);
      Instr cp = make_compute(op);
      cp.in_buf = static_cast<uint32_t>(isa::Buffer::NBin);
      cp.in_addr = u32(in_addr + (off + x0 * lanes) * c.esize);
      cp.out_addr = u32(out_addr + (off + x0 * lanes) * 4);
      cp.cin = cp.cout = u32(lanes);
      cp.in_h = cp.out_h = 1;
      cp.in_w = cp.out_w = u32(ww);
      cp.act = static_cast<uint32_t>(act);
      e.compute(cp, tile);
    }
  };
  if (main) emit(tn, main / tn, 0);
  if (n > main) emit(1, n - main, main);
}

struct CopyChunk {
  int64_t src, dst;  // byte addresses of the first element
  int64_t nch, len;  // channels x contiguous elements per channel
  int64_t src_stride, dst_stride;  // elements between channels
};

// Copies (optionally through an activation) a list of chunks: LOAD -> act -> STORE.
void gen_copies(Ctx& c, const std::vector<CopyChunk>& chunks, isa::Activation act, StepEmitter& e) {
  const int D = c.av.mode.depth;
  int64_t cnt = 0;
  for (const CopyChunk& k : chunks) {
    const int64_t in_addr = (cnt % D) * c.nbin_half, out_addr = (cnt % D) * c.nbout_half;
    const int tile = e.begin_out_tile(out_addr);
    ++cnt;
    e.begin_step();
    Instr ld = make_load(isa::Buffer::NBin, k.src, in_addr);
    ld.size0 = u32(k.len), ld.size1 = 1, ld.size2 = u32(k.nch), ld.stride2 = u32(k.src_stride);
    e.load(ld);
    flat_computes(e, c, isa::ComputeOp::Act, in_addr, out_addr, k.nch * k.len, act, tile);
    Instr st = make_store(k.dst, out_addr);
    st.size0 = u32(k.len), st.size1 = 1, st.size2 = u32(k.nch), st.stride2 = u32(k.dst_stride);
    e.store(st, tile);
  }
}

// Chunks a [C][HW] range for a buffer of `cap` elements: whole channels when they fit.
template <class F>
void chunk_channels(int64_t C, int64_t HW, int64_t cap, F&& f) {
  if (HW <= cap) {
    const int64_t per = std::max<int64_t>(1, std::min<int64_t>(cap / HW, 65535));
    for (int64_t c0 = 0; c0 < C; c0 += per) f(c0, std::min(per, C - c0), int64_t{0}, HW);
  } else {
    const int64_t len = std::min<int64_t>(cap, 65535);
    for (int64_t c0 = 0; c0 < C; ++c0)
      for (int64_t p0 = 0; p0 < HW; p0 += len) f(c0, int64_t{1}, p0, std::min(len, HW - p0));
  }
}

int64_t copy_cap(const Ctx& c) { return std::min(c.av.nbin_elems, c.av.nbout_elems); }

// Add or Product whose second operand broadcasts along the channels and/or the rows (softmax,
// reductions, a division by a norm): the DMA replicates it, reading with a zero channel or row
// stride, so that NBin holds both operands densely in the output's order. Chunks are whole planes
// of several channels, else rows of one channel, else pieces of one row.
void gen_add_broadcast(Ctx& c, const LayerNode& l, StepEmitter& e) {
  const int D = c.av.mode.depth;
  const Shape o = c.g.tensor(l.output).shape, bs = c.g.tensor(l.inputs[1]).shape;
  const int64_t a = c.addr(l.inputs[0]), b = c.addr(l.inputs[1]), out = c.addr(l.output), es = c.esize;
  const int64_t chunk = std::min(c.av.nbin_elems / 2, c.av.nbout_elems);
  const int64_t bc_stride = bs.c == 1 ? 0 : bs.h * bs.w, bh_stride = bs.h == 1 ? 0 : bs.w;
  int64_t cnt = 0;
  // One chunk: channels [c0, c0 + nc) x rows [y0, y0 + nr) x columns [x0, x0 + nx) of the output.
  auto piece = [&](int64_t c0, int64_t nc, int64_t y0, int64_t nr, int64_t x0, int64_t nx) {
    const int64_t m = nc * nr * nx;
    const int64_t in_addr = (cnt % D) * c.nbin_half, out_addr = (cnt % D) * c.nbout_half;
    const int tile = e.begin_out_tile(out_addr);
    ++cnt;
    e.begin_step();
    const int64_t first = (c0 * o.h + y0) * o.w + x0;
    e.flat_load(isa::Buffer::NBin, a + first * es, in_addr, m, es);
    Instr ld = make_load(isa::Buffer::NBin, b + (c0 * bc_stride + y0 * bh_stride + x0) * es, in_addr + m * es);
    ld.size0 = u32(nx), ld.size1 = u32(nr), ld.size2 = u32(nc);
    ld.stride1 = u32(bh_stride), ld.stride2 = u32(bc_stride);
    e.load(ld);
    flat_computes(e, c, isa::ComputeOp::Act, in_addr, out_addr, m, isa::Activation::None, tile);
    flat_computes(e, c, l.op == OpKind::Product ? isa::ComputeOp::Mul : isa::ComputeOp::Add, in_addr + m * es,
                  out_addr, m, l.attrs.act, tile);
    std::vector<Instr> sts;
    flat_transfer(sts, make_store(out + first * es, out_addr), m, es, 4);
    for (const Instr& st : sts) e.store(st, tile);
  };
  const int64_t plane = o.h * o.w;
  if (plane <= chunk) {
    const int64_t per = std::min<int64_t>(chunk / plane, 65535);
    for (int64_t c0 = 0; c0 < o.c; c0 += per) piece(c0, std::min(per, o.c - c0), 0, o.h, 0, o.w);
  } else if (o.w <= chunk) {
    const int64_t per = std::min<int64_t>(chunk / o.w, 65535);
    for (int64_t c0 = 0; c0 < o.c; ++c0)
      for (int64_t y0 = 0; y0 < o.h; y0 += per) piece(c0, 1, y0, std::min(per, o.h - y0), 0, o.w);
  } else {
    for (int64_t c0 = 0; c0 < o.c; ++c0)
      for (int64_t y0 = 0; y0 < o.h; ++y0)
        for (int64_t x0 = 0; x0 < o.w; x0 += chunk) piece(c0, 1, y0, 1, x0, std::min(chunk, o.w - x0));
  }
}

// Transpose: the DMA gathers the output's rows in order into NBin (a LOAD pattern whose strides
// are the input strides of the output's last dims: single-element runs unless the innermost dim
// stays innermost), NFU-3 copies them to NBout, and a contiguous STORE writes them. There is no
// transpose unit: the cost is the DRAM runs.
void gen_transpose(Ctx& c, const LayerNode& l, StepEmitter& e) {
  const int D = c.av.mode.depth;
  const LayerAttrs& a = l.attrs;
  const std::size_t r = a.perm_in.size();
  // Output dims E and the input stride T of each, padded in front to 4.
  std::vector<int64_t> S(r, 1);
  for (std::size_t k = r - 1; k > 0; --k) S[k - 1] = S[k] * a.perm_in[k];
  int64_t E[4] = {1, 1, 1, 1}, T[4] = {0, 0, 0, 0};
  for (std::size_t j = 0; j < r; ++j) {
    const auto p = static_cast<std::size_t>(a.perm[j]);
    E[4 - r + j] = a.perm_in[p], T[4 - r + j] = S[p];
  }
  const int64_t src = c.addr(l.inputs[0]), dst = c.addr(l.output), es = c.esize;
  const int64_t cap = std::min<int64_t>(copy_cap(c), 65535);
  const bool inner = T[3] == 1;  // the innermost output dim is contiguous in the input
  int64_t cnt = 0;
  for (int64_t i0 = 0; i0 < E[0]; ++i0)
    for (int64_t i1 = 0; i1 < E[1]; ++i1) {
      const int64_t base = i0 * T[0] + i1 * T[1];
      // Rows of E3 elements along E2, as many as fit; a row longer than the buffer in pieces.
      const int64_t row = std::min(E[3], cap), per = std::max<int64_t>(1, std::min<int64_t>(cap / row, 65535));
      for (int64_t i2 = 0; i2 < E[2]; i2 += per)
        for (int64_t x0 = 0; x0 < E[3]; x0 += row) {
          const int64_t nr = std::min(per, E[2] - i2), nx = std::min(row, E[3] - x0), m = nr * nx;
          const int64_t in_addr = (cnt % D) * c.nbin_half, out_addr = (cnt % D) * c.nbout_half;
          const int tile = e.begin_out_tile(out_addr);
          ++cnt;
          e.begin_step();
          Instr ld = make_load(isa::Buffer::NBin, src + (base + i2 * T[2] + x0 * T[3]) * es, in_addr);
          if (inner) {
            ld.size0 = u32(nx), ld.size1 = u32(nr), ld.stride1 = u32(T[2]), ld.size2 = 1;
          } else {
            ld.size0 = 1, ld.size1 = u32(nx), ld.stride1 = u32(T[3]), ld.size2 = u32(nr), ld.stride2 = u32(T[2]);
          }
          e.load(ld);
          flat_computes(e, c, isa::ComputeOp::Act, in_addr, out_addr, m, isa::Activation::None, tile);
          // whole rows i2.. of (i0, i1) are contiguous in the output, and so is a piece of one row
          const int64_t first = ((i0 * E[1] + i1) * E[2] + i2) * E[3] + x0;
          std::vector<Instr> sts;
          flat_transfer(sts, make_store(dst + first * es, out_addr), m, es, 4);
          for (const Instr& st : sts) e.store(st, tile);
        }
    }
}

// Add or Product: the first operand copied into NBout, the second added to or multiplied into it.
void gen_add(Ctx& c, const LayerNode& l, StepEmitter& e) {
  if (!(c.g.tensor(l.inputs[1]).shape == c.g.tensor(l.output).shape)) return gen_add_broadcast(c, l, e);
  const int D = c.av.mode.depth;
  const int64_t n = c.g.tensor(l.output).shape.elems();
  const int64_t a = c.addr(l.inputs[0]), b = c.addr(l.inputs[1]), o = c.addr(l.output);
  const int64_t chunk = std::min(c.av.nbin_elems / 2, c.av.nbout_elems);
  int64_t cnt = 0;
  for (int64_t p = 0; p < n; p += chunk) {
    const int64_t m = std::min(chunk, n - p);
    const int64_t in_addr = (cnt % D) * c.nbin_half, out_addr = (cnt % D) * c.nbout_half;
    const int tile = e.begin_out_tile(out_addr);
    ++cnt;
    e.begin_step();
    e.flat_load(isa::Buffer::NBin, a + p * c.esize, in_addr, m, c.esize);
    e.flat_load(isa::Buffer::NBin, b + p * c.esize, in_addr + m * c.esize, m, c.esize);
    flat_computes(e, c, isa::ComputeOp::Act, in_addr, out_addr, m, isa::Activation::None, tile);
    flat_computes(e, c, l.op == OpKind::Product ? isa::ComputeOp::Mul : isa::ComputeOp::Add, in_addr + m * c.esize,
                  out_addr, m, l.attrs.act, tile);
    std::vector<Instr> sts;
    flat_transfer(sts, make_store(o + p * c.esize, out_addr), m, c.esize, 4);
    for (const Instr& st : sts) e.store(st, tile);
  }
}

void gen_elementwise(Ctx& c, const LayerNode& l, StepEmitter& e) {
  const Shape out = c.g.tensor(l.output).shape;
  const int64_t es = c.esize;
  std::vector<CopyChunk> chunks;
  isa::Activation act = isa::Activation::None;
  if (l.op == OpKind::ChannelShuffle) {
    const Shape in = c.g.tensor(l.inputs[0]).shape;
    const int64_t G = l.attrs.groups, cpg = in.c / G, HW = in.h * in.w;
    const int64_t src = c.addr(l.inputs[0]), dst = c.addr(l.output);
    // input channel g*cpg + k goes to output channel k*G + g
    for (int64_t grp = 0; grp < G; ++grp)
      chunk_channels(cpg, HW, copy_cap(c), [&](int64_t k0, int64_t nk, int64_t p0, int64_t len) {
        chunks.push_back({src + ((grp * cpg + k0) * HW + p0) * es, dst + ((k0 * G + grp) * HW + p0) * es, nk, len,
                          HW, G * HW});
      });
  } else if (l.op == OpKind::ChannelSlice && l.attrs.slice_rows) {
    // rows [start, start + count) of every channel (strided copies)
    const Shape in = c.g.tensor(l.inputs[0]).shape;
    const int64_t src = c.addr(l.inputs[0]) + l.attrs.slice_start * in.w * es, dst = c.addr(l.output);
    const int64_t len = out.h * out.w, in_plane = in.h * in.w;
    chunk_channels(out.c, len, copy_cap(c), [&](int64_t c0, int64_t nc, int64_t p0, int64_t n) {
      chunks.push_back({src + (c0 * in_plane + p0) * es, dst + (c0 * len + p0) * es, nc, n, in_plane, len});
    });
  } else if (l.op == OpKind::Concat && l.attrs.concat_rows) {
    // per channel, each input's rows after the previous inputs' (strided copies)
    int64_t row = 0;
    for (int in : l.inputs) {
      const Shape s = c.g.tensor(in).shape;
      const int64_t src = c.addr(in), dst = c.addr(l.output) + row * s.w * es, plane = s.h * s.w,
                    out_plane = out.h * out.w;
      chunk_channels(s.c, plane, copy_cap(c), [&](int64_t c0, int64_t nc, int64_t p0, int64_t len) {
        chunks.push_back({src + (c0 * plane + p0) * es, dst + (c0 * out_plane + p0) * es, nc, len, plane, out_plane});
      });
      row += s.h;
    }
  } else if (l.op == OpKind::Concat) {
    int64_t off = 0;
    for (int in : l.inputs) {
      const Shape s = c.g.tensor(in).shape;
      const int64_t src = c.addr(in), dst = c.addr(l.output) + off * s.h * s.w * es;
      chunk_channels(1, s.elems(), copy_cap(c), [&](int64_t, int64_t, int64_t p0, int64_t len) {
        chunks.push_back({src + p0 * es, dst + p0 * es, 1, len, 0, 0});
      });
      off += s.c;
    }
  } else {  // activation, identity, dropout, flatten, reshape, channel slice: one flat copy
    act = l.op == OpKind::Activation ? l.attrs.act : isa::Activation::None;
    const int64_t skip = l.op == OpKind::ChannelSlice ? l.attrs.slice_start * out.h * out.w : 0;
    const int64_t src = c.addr(l.inputs[0]) + skip * es, dst = c.addr(l.output);
    chunk_channels(1, out.elems(), copy_cap(c), [&](int64_t, int64_t, int64_t p0, int64_t len) {
      chunks.push_back({src + p0 * es, dst + p0 * es, 1, len, 0, 0});
    });
  }
  gen_copies(c, chunks, act, e);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

isa::ComputeOp compute_op_of(WinKind k) {
  switch (k) {
    case WinKind::Conv: return isa::ComputeOp::Conv;
    case WinKind::DwConv: return isa::ComputeOp::DwConv;
    case WinKind::MaxPool: return isa::ComputeOp::MaxPool;
    case WinKind::AvgPool: return isa::ComputeOp::AvgPool;
  }
  return isa::ComputeOp::Conv;
}

bool win_layer_of(const Graph& g, int id, WinLayer& w) {
  const LayerNode& l = g.layer(id);
  const Shape in = g.tensor(l.inputs[0]).shape, out = g.tensor(l.output).shape;
  const LayerAttrs& a = l.attrs;
  w = WinLayer{};
  w.h = in.h, w.w = in.w, w.oh = out.h, w.ow = out.w;
  w.kh = a.kernel_h, w.kw = a.kernel_w, w.sh = a.stride_h, w.sw = a.stride_w, w.dh = a.dil_h, w.dw = a.dil_w;
  w.pt = a.pad_top, w.pl = a.pad_left;
  w.batch = g.batch;
  switch (l.op) {
    case OpKind::Conv:
      w.bias = a.has_bias;
      if (a.groups == in.c && a.out_channels == in.c) {
        w.kind = WinKind::DwConv;
        w.cin = w.cout = in.c;
      } else {
        w.kind = WinKind::Conv;
        w.groups = a.groups;
        w.cin = in.c / a.groups;
        w.cout = a.out_channels / a.groups;
      }
      return true;
    case OpKind::FullyConnected:
      w.kind = WinKind::Conv;
      w.bias = a.has_bias;
      w.cin = in.elems(), w.cout = a.out_channels;
      w.h = w.w = w.oh = w.ow = 1;
      w.kh = w.kw = w.sh = w.sw = w.dh = w.dw = 1;
      w.pt = w.pl = 0;
      return true;
    case OpKind::MaxPool:
    case OpKind::AvgPool:
      w.kind = l.op == OpKind::MaxPool ? WinKind::MaxPool : WinKind::AvgPool;
      w.cin = w.cout = in.c;
      w.divisor = l.op == OpKind::AvgPool ? a.pool_divisor : 0;
      return true;
    case OpKind::GlobalAvgPool:
      w.kind = WinKind::AvgPool;
      w.cin = w.cout = in.c;
      w.kh = in.h, w.kw = in.w, w.sh = w.sw = 1, w.dh = w.dw = 1, w.pt = w.pl = 0;
      return true;
    default:
      return false;
  }
}

namespace {
// Writes the weights of `src` into `out` (n elements in the dtype's format, int16 at the
// weights' fraction bits) in the order for_runs gives: for_runs(run) calls run(k0, k1) for
// each run of weight indices [k0, k1), in order. Large segments are written by two threads, each
// its half of the elements (weights_run is a pure function of the index): generating and
// quantizing VGG-16's 138 M weights is the longest part of a functional compile.
template <class ForRuns>
void write_weights(const LayerNode& src, std::size_t n, std::size_t per_co, isa::DType dt, uint8_t* out, ForRuns for_runs) {
  const std::size_t es = dt == isa::DType::Int16 ? 2 : 4;
  auto part = [&](std::size_t e0, std::size_t e1) {  // output elements [e0, e1)
    std::vector<float> buf(4096);
    std::size_t off = 0;  // output elements before the current run
    for_runs([&](std::size_t k0, std::size_t k1) {
      const std::size_t len = k1 - k0, b = std::min(off + len, e1);
      for (std::size_t e = std::max(off, e0); e < b;) {
        const std::size_t m = std::min(buf.size(), b - e);
        weights_run(src, k0 + (e - off), m, per_co, buf.data());
        if (dt == isa::DType::Int16)
          numerics::quantize_span(buf.data(), m, numerics::kWeightFrac, out + e * es);
        else
          std::memcpy(out + e * es, buf.data(), 4 * m);
        e += m;
      }
      off += len;
    });
  };
  if (n < (std::size_t{1} << 20) || std::thread::hardware_concurrency() < 2) {
    part(0, n);
    return;
  }
  std::thread other([&] { part(0, n / 2); });
  part(n / 2, n);
  other.join();
}
}  // namespace

void generate(Graph& g, const ArchParams& arch, const CompileOptions& opt, const Schedule& sched, Program& p,
              WordStream* stream) {
  p.dtype = opt.dtype;
  p.batch = g.batch;
  Ctx c{g, arch, opt, arch_view(arch, opt.dtype, opt.pipeline), opt.dtype, isa::data_bytes(opt.dtype), {}, {}, {}, 0, 0, 0};
  c.nbin_half = c.av.nbin_elems * c.esize;
  c.sb_half = c.av.sb_elems * c.esize;
  c.nbout_half = c.av.nbout_elems * 4;
  const auto order = g.topo_order();

  // Memory plan: tensors, then weights, then the program; 64-byte aligned.
  uint64_t top = 0;
  auto alloc = [&](uint64_t bytes) {
    const uint64_t a = top;
    top = (top + bytes + 63) / 64 * 64;
    return static_cast<int64_t>(a);
  };
  c.data_addr.assign(g.data.size(), -1);
  std::vector<char> needed(g.data.size(), 0);
  needed[g.input] = 1;
  for (int id : order) {
    needed[g.layer(id).output] = 1;
    for (int in : g.layer(id).inputs) needed[in] = 1;
  }
  for (int o : g.outputs) needed[o] = 1;
  // A needed alias needs its root
  for (std::size_t d = 0; d < g.data.size(); ++d)
    if (needed[d]) {
      int r = static_cast<int>(d);
      while (g.tensor(r).alias_of >= 0) r = g.tensor(r).alias_of;
      needed[r] = 1;
    }
  for (std::size_t d = 0; d < g.data.size(); ++d)
    if (needed[d] && g.data[d].alias_of < 0)
      c.data_addr[d] = alloc(static_cast<uint64_t>(g.data[d].shape.elems() * c.esize * g.batch));

  // The weight layout in DRAM follows the tiles (fused groups: their channel chunks).
  std::map<int, TilePlan> plans;
  for (const GroupSchedule& gs : sched.groups) {
    for (const auto& [id, tp] : gs.plans) plans[id] = tp;
    if (gs.fused())
      for (const FusedLayer& f : gs.fused_plan.layers) {
        TilePlan tp;
        tp.tile = {f.tco, f.tci, 0, 0};
        plans[f.id] = tp;
      }
  }
  auto use_view = [&](const ArchView& v) {
    c.av = v;
    c.nbin_half = v.nbin_elems * c.esize;
    c.sb_half = v.sb_elems * c.esize;
    c.nbout_half = v.nbout_elems * 4;
  };
  c.w_addr.assign(g.layers.size(), -1);
  c.b_addr.assign(g.layers.size(), -1);
  auto same_layout = [&](int a, int b) {  // the weights laid out alike in DRAM (the same tiles)
    const auto pa = plans.find(a), pb = plans.find(b);
    if (pa == plans.end() || pb == plans.end()) return pa == pb;
    return pa->second.tile.tco == pb->second.tile.tco && pa->second.tile.tci == pb->second.tile.tci;
  };
  for (int id : order) {
    const LayerNode& l = g.layer(id);
    WinLayer wl;
    if (!win_layer_of(g, id, wl) || (wl.kind != WinKind::Conv && wl.kind != WinKind::DwConv)) continue;
    const int64_t nb = l.attrs.has_bias ? l.attrs.out_channels : 0;
    const int64_t nw = wl.weight_elems() - nb;
    // Shared weights (an unrolled recurrent layer's time steps) are stored once, with their
    // owner, when both are tiled alike; otherwise this layer gets its own copy in its layout.
    const LayerNode& src = l.weights_of >= 0 ? g.layer(l.weights_of) : l;
    if (l.weights_of >= 0 && c.w_addr[src.id] >= 0 && same_layout(src.id, id)) {
      c.w_addr[id] = c.w_addr[src.id];
      c.b_addr[id] = c.b_addr[src.id];
      continue;
    }
    c.w_addr[id] = alloc(static_cast<uint64_t>(nw * c.esize));
    if (nb) c.b_addr[id] = alloc(static_cast<uint64_t>(nb * c.esize));
    p.weight_bytes += static_cast<uint64_t>((nw + nb) * c.esize);
    if (opt.materialize) {
      if (!weights_ready(src, static_cast<std::size_t>(nw)) || static_cast<int64_t>(src.bias.size()) != nb)
        throw std::logic_error("layer '" + src.name + "': weights not materialized");
      const std::size_t per_co = static_cast<std::size_t>(nw / std::max<int64_t>(1, l.attrs.out_channels));
      // One constant segment of n values in the dtype's format; fill(put) calls put(values, m)
      // for each run of values, in order.
      auto segment = [&](int64_t addr, std::size_t n, int frac, auto fill) {
        Segment s;
        s.addr = static_cast<uint32_t>(addr);
        s.bytes.resize(n * c.esize);
        advise_huge_pages(s.bytes.data(), s.bytes.size());
        uint8_t* out = s.bytes.data();
        if (c.dt == isa::DType::Int16) {
          auto put = [&](const float* v, std::size_t m) {
            numerics::quantize_span(v, m, frac, out);
            out += 2 * m;
          };
          fill(put);
        } else {
          auto put = [&](const float* v, std::size_t m) {
            std::memcpy(out, v, 4 * m);
            out += 4 * m;
          };
          fill(put);
        }
        if (out != s.bytes.data() + s.bytes.size()) throw std::logic_error("codegen: a constant segment was not filled");
        p.constants.push_back(std::move(s));
      };
      auto in_order = [](const std::vector<float>& v) {
        return [&v](auto& put) { put(v.data(), v.size()); };
      };
      // Dense conv/fc weights are stored tile by tile ([co tile][ci tile][co][ci][kh][kw]) so
      // that every weight tile the program loads is one contiguous run: the segment is written
      // in that order straight from the layer's weights.
      Segment ws;
      ws.addr = static_cast<uint32_t>(c.w_addr[id]);
      ws.bytes.resize(static_cast<std::size_t>(nw * c.esize));
      advise_huge_pages(ws.bytes.data(), ws.bytes.size());
      if (wl.kind == WinKind::Conv && plans.count(id)) {
        const Tile t = plans[id].tile;
        const int64_t taps = wl.kh * wl.kw;
        write_weights(src, static_cast<std::size_t>(nw), per_co, c.dt, ws.bytes.data(), [&wl, t, taps](auto&& run) {
          for (int64_t grp = 0; grp < wl.groups; ++grp)
            for (int64_t co0 = 0; co0 < wl.cout; co0 += t.tco)
              for (int64_t ci0 = 0; ci0 < wl.cin; ci0 += t.tci)
                for (int64_t co = co0; co < std::min(wl.cout, co0 + t.tco); ++co) {
                  // the run of this output channel's weights over the input-channel tile
                  const auto k0 = static_cast<std::size_t>(((grp * wl.cout + co) * wl.cin + ci0) * taps);
                  run(k0, k0 + static_cast<std::size_t>((std::min(wl.cin, ci0 + t.tci) - ci0) * taps));
                }
        });
      } else {
        write_weights(src, static_cast<std::size_t>(nw), per_co, c.dt, ws.bytes.data(),
                      [nw](auto&& run) { run(std::size_t{0}, static_cast<std::size_t>(nw)); });
      }
      p.constants.push_back(std::move(ws));
      if (nb) segment(c.b_addr[id], src.bias.size(), numerics::kActFrac, in_order(src.bias));
    }
  }
  // Constant tensors (a recurrent layer's initial state): one segment, every sample alike.
  if (opt.materialize)
    for (const DataNode& d : g.data) {
      if (!d.constant || c.data_addr[static_cast<std::size_t>(d.id)] < 0) continue;
      if (static_cast<int64_t>(d.values.size()) != d.shape.elems())
        throw std::logic_error("constant '" + d.name + "': values not materialized");
      Segment s;
      s.addr = static_cast<uint32_t>(c.data_addr[static_cast<std::size_t>(d.id)]);
      s.bytes.resize(d.values.size() * c.esize * static_cast<std::size_t>(g.batch));
      for (int64_t b = 0; b < g.batch; ++b) {
        uint8_t* out = s.bytes.data() + static_cast<std::size_t>(b) * d.values.size() * c.esize;
        if (c.dt == isa::DType::Int16)
          numerics::quantize_span(d.values.data(), d.values.size(), numerics::kActFrac, out);
        else
          std::memcpy(out, d.values.data(), 4 * d.values.size());
      }
      p.constants.push_back(std::move(s));
    }

  // Instructions (reserved from the cost model's count: the vector of large words is the
  // biggest allocation of a compile)
  {
    int64_t n = 1;
    for (const GroupSchedule& gs : sched.groups) n += gs.est.instrs + 1;
    // Every sample of every tensor, the weights and the program words (the estimate of their
    // count) must fit DRAM before a program, whose size grows with the batch, is generated.
    const uint64_t need = top + static_cast<uint64_t>(n) * isa::kInstrBytes;
    if (need > arch.dram_bytes)
      throw InputError("the tensors, weights and about " + std::to_string(n) + " instructions need " +
                       std::to_string(need) + " B of DRAM" +
                       (g.batch > 1 ? " at batch " + std::to_string(g.batch) : std::string()) + "; arch '" +
                       arch.name + "' has dram.bytes = " + std::to_string(arch.dram_bytes));
    p.instrs.reserve(static_cast<std::size_t>(n + n / 8));
  }
  // Everything a simulation needs before the first word: the program's place, the input and
  // the outputs (the constants are laid out above).
  p.prog_addr = static_cast<uint32_t>((top + 4095) / 4096 * 4096);
  // A stream's words cannot move once the simulation reads them: they get room for as many as
  // the DRAM holds after prog_addr (address space only: pages never written take no memory), so
  // that running out of it means the program does not fit. Where the kernel refuses that much,
  // the words are handed over only once the program is complete.
  const uint64_t room = arch.dram_bytes > p.prog_addr ? (arch.dram_bytes - p.prog_addr) / isa::kInstrBytes : 0;
  WordStream* live = nullptr;
  if (stream) try {
      if (room > p.instrs.capacity()) p.instrs.reserve(static_cast<std::size_t>(room));
      live = stream;
    } catch (const std::bad_alloc&) {
    }
  auto placement = [&](int d) {
    return TensorPlacement{g.tensor(d).name, g.tensor(d).shape, static_cast<uint32_t>(c.addr(d, 0)),
                           static_cast<uint64_t>(c.addr(d, 1) - c.addr(d, 0))};
  };
  p.input = placement(g.input);
  for (int o : g.outputs) p.outputs.push_back(placement(o));
  if (live) {
    p.instrs.pin();
    live->begin();
  }
  // Groups hand tensors to each other through DRAM; store fences, not barriers, order a
  // consumer's loads after the stores it reads (coarse-grained pipelining across groups).
  StepEmitter e;
  DramWriters writers;
  for (std::size_t d = 0; d < g.data.size(); ++d)
    if (c.data_addr[d] >= 0) writers.add_tensor(c.data_addr[d], g.data[d].shape.elems() * c.esize * g.batch);
  writers.sort();
  e.set_sink(c.dt, writers, p.instrs, live);
  for (std::size_t gi = 0; gi < sched.groups.size(); ++gi) {
    const GroupSchedule& grp = sched.groups[gi];
    use_view(group_arch_view(arch, opt, grp));
    e.set_group({c.av.mode, static_cast<uint32_t>(gi), c.nbin_half, c.sb_half, c.nbout_half});
    ScheduleEntry se;
    se.name = g.layer(grp.layers.front()).name;
    for (int id : grp.layers) {
      se.members.push_back(g.layer(id).name);
      se.macs += g.layer_macs(id) * g.batch;
    }
    // Window layers and pyramid-fused groups order their own samples (weight reuse across the
    // batch); the others run once per sample, addressing it through c.sample (a line-buffered
    // group loads its resident weights with the first sample only).
    auto per_sample = [&](const std::function<void()>& gen) {
      for (c.sample = 0; c.sample < g.batch; ++c.sample) gen();
      c.sample = 0;
    };
    if (grp.fused() && grp.fused_plan.overlap != Overlap::Recompute) {
      per_sample([&] { gen_linebuf(c, grp.fused_plan, e); });
    } else if (grp.fused()) {
      gen_fused(c, grp.fused_plan, e);
    } else {
      for (int id : grp.layers) {
        const LayerNode& l = g.layer(id);
        WinLayer wl;
        if (win_layer_of(g, id, wl)) {
          gen_window(c, l, wl, grp.plans.at(id), e);
        } else if (l.op == OpKind::Add || l.op == OpKind::Product) {
          per_sample([&] { gen_add(c, l, e); });
        } else if (l.op == OpKind::Transpose) {
          per_sample([&] { gen_transpose(c, l, e); });
        } else {
          per_sample([&] { gen_elementwise(c, l, e); });
        }
      }
    }
    const Estimate& est = grp.est;
    se.tiles = grp.tiles;
    se.est_cycles = est.cycles;
    se.est_dram_bytes = est.dram_bytes();
    se.onchip_bytes = est.onchip;
    p.schedule.push_back(std::move(se));
    e.flush(c.dt, writers, p.instrs);
  }

  Instr end;
  end.opcode = static_cast<uint32_t>(isa::Opcode::End);
  end.layer = sched.groups.empty() ? 0 : static_cast<uint32_t>(sched.groups.size() - 1);
  p.instrs.push_back(end);

  // (every word was encoded as it was emitted: a word that does not encode is a codegen bug)
  p.dram_footprint = p.prog_addr + p.instrs.size() * isa::kInstrBytes;
  if (p.dram_footprint > arch.dram_bytes)
    throw InputError("the program and its tensors need " + std::to_string(p.dram_footprint) +
                     " B of DRAM; arch '" + arch.name + "' has dram.bytes = " + std::to_string(arch.dram_bytes));
  if (stream) {
    if (!live) stream->begin();
    stream->complete(p.instrs.size());
  }
  for (int id : order) p.macs += g.layer_macs(id) * g.batch;
  p.compulsory_bytes =
      p.weight_bytes + static_cast<uint64_t>(g.tensor(g.input).shape.elems() * c.esize * g.batch);
  for (int o : g.outputs)
    p.compulsory_bytes += static_cast<uint64_t>(g.tensor(o).shape.elems() * c.esize * g.batch);
  for (const DataNode& d : g.data)  // constant tensors are compulsory reads, like the input
    if (d.constant && c.data_addr[static_cast<std::size_t>(d.id)] >= 0)
      p.compulsory_bytes += static_cast<uint64_t>(d.shape.elems() * c.esize * g.batch);
}

}  // namespace fusesim::compiler
