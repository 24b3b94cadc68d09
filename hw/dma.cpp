// LOAD/STORE execution per docs/isa.md. Timing: setup_cycles, then every contiguous run is timed
// as one DRAM request whose bursts the DRAM pipelines against this engine's outstanding window
// (all runs travel in one scatter-gather TLM transaction); the buffer port (bytes per cycle) is
// a lower bound. Data moves only in functional mode: in the TLM transaction, or, with a data
// thread (hw/data_thread.h), there, from the instruction and what its timing found (move_data).
#include "dma.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>

#include "dram_model.h"
#include "isa/numerics.h"

namespace fusesim::hw {

using isa::Instr;

Dma::Dma(sc_core::sc_module_name name, RunContext& ctx, std::array<Buffer*, 3> buffers, Unit unit)
    : sc_module(name),
      socket("socket"),
      ctx_(ctx),
      buffers_(buffers),
      unit_(unit),
      window_(ctx.arch().dma_outstanding),
      request_(new DramRequest) {
  payload_.set_extension(request_);
  request_->burst_bytes = ctx.arch().dma_burst_bytes;
  request_->window = &window_;
  request_->move_data = ctx.functional();
  request_->runs = &dram_runs_;
}

void Dma::fail(const Transfer& t, const char* kind, const std::string& msg) {
  ctx_.fault(kind, t.index, unit_name(unit_),
             std::string(kind) + " in " + isa::opcode_name(static_cast<isa::Opcode>(t.in->opcode)) +
                 " (instruction " + std::to_string(t.index) + ", " + unit_name(unit_) + " DMA): " + msg);
}

// Element sizes, padding and buffer view of a LOAD (`load`) or STORE, from its fields alone.
void Dma::shape(Transfer& t, bool load, const isa::MapDesc& map) {
  const Instr& in = *t.in;
  const auto buf = load ? static_cast<isa::Buffer>(in.buf) : isa::Buffer::NBout;
  const auto dtype = static_cast<isa::DType>(in.dtype);
  t.esize = isa::data_bytes(dtype);
  t.belem = isa::elem_bytes(buf, dtype);
  // STORE has no padding (docs/isa.md): its pad fields are ignored.
  t.pad_top = load ? in.pad_top : 0;
  t.pad_bottom = load ? in.pad_bottom : 0;
  t.pad_left = load ? in.pad_left : 0;
  t.pad_right = load ? in.pad_right : 0;
  t.view = isa::MapView(map, in.buf_addr, t.belem);
  t.dense = !map.on;
}

bool Dma::validate(Transfer& t, const isa::MapDesc& map) {
  const Instr& in = *t.in;
  const bool load = unit_ == kLoadUnit;
  if (!load && in.buf != static_cast<uint32_t>(isa::Buffer::NBout)) {
    fail(t, "decode", "STORE source must be NBout");
    return false;
  }
  shape(t, load, map);
  t.buffer = buffers_[static_cast<size_t>(load ? static_cast<isa::Buffer>(in.buf) : isa::Buffer::NBout)];
  if (uint64_t{t.pad_top} + t.pad_bottom > in.size1 || uint64_t{t.pad_left} + t.pad_right > in.size0) {
    fail(t, "decode", "padding larger than the pattern");
    return false;
  }
  const uint64_t elems = uint64_t{in.size0} * in.size1 * in.size2;
  if (!t.view.start_ok()) {
    fail(t, "buffer-overflow",
         t.buffer->name() + " start address " + std::to_string(in.buf_addr) + " is outside map descriptor " +
             std::to_string(in.buf_desc) + " " + map.describe() + ": " + t.view.start_error());
    return false;
  }
  std::tie(t.lo, t.hi) = t.view.byte_range(in.size2, in.size1, in.size0, in.size1, in.size0);
  if (!t.buffer->contains(t.lo, t.hi - t.lo)) {
    std::string what =
        t.buffer->name() + " bytes [" + std::to_string(t.lo) + ", " + std::to_string(t.hi) + ")";
    if (map.on)
      what += (map.ring ? " (the ring regions of its planes, map descriptor "
                        : " (its elements, map descriptor ") +
              std::to_string(in.buf_desc) + ")";
    fail(t, "buffer-overflow", what + " exceed its " + std::to_string(t.buffer->capacity()) + " bytes");
    return false;
  }
  const uint64_t rows = in.size1 - t.pad_top - t.pad_bottom, cols = in.size0 - t.pad_left - t.pad_right;
  if (elems == 0 || rows == 0 || cols == 0) return true;  // nothing touches DRAM
  const uint64_t last =
      (in.dram_addr / t.esize + (uint64_t{in.size2} - 1) * in.stride2 + (rows - 1) * in.stride1 + cols) *
      t.esize;
  t.dram_lo = in.dram_addr / t.esize * t.esize;
  t.dram_hi = last;
  if (last > ctx_.arch().dram_bytes) {
    fail(t, "dram-range",
         "DRAM bytes up to " + std::to_string(last) + " exceed the " +
             std::to_string(ctx_.arch().dram_bytes) + "-byte DRAM");
    return false;
  }
  return true;
}

// Visits the non-padding elements as maximal runs contiguous both in DRAM and in the buffer.
// Dense, a row is one piece; through a descriptor, a row splits where the ring wraps, and into
// single elements when rows interleave (group > 1).
template <class Fn>
void Dma::for_each_run(const Transfer& t, Fn fn) {
  const Instr& in = *t.in;
  const uint64_t base = in.dram_addr / t.esize, cols = in.size0 - t.pad_left - t.pad_right;
  if (cols == 0) return;
  Run cur{0, 0, 0};
  auto add = [&](uint64_t dram, uint64_t buf, uint64_t count) {
    if (cur.count && dram == cur.dram + cur.count && buf == cur.buf + cur.count * t.belem) {
      cur.count += count;
      return;
    }
    if (cur.count) fn(cur);
    cur = {dram, buf, count};
  };
  for (uint64_t k = 0; k < in.size2; ++k)
    for (uint64_t r = t.pad_top; r + t.pad_bottom < in.size1; ++r) {
      const uint64_t dram = base + k * in.stride2 + (r - t.pad_top) * in.stride1;
      t.view.for_each_piece(k, r, t.pad_left, cols, in.size1, in.size0,
                            [&](uint64_t buf, uint64_t off, uint64_t count) { add(dram + off, buf, count); });
    }
  if (cur.count) fn(cur);
}

// The runs of for_each_run as a DramPattern, when they are one; false when they are not (a map
// descriptor, or rows merging across planes only). Dense, a run is contiguous in the buffer past
// its row only when the pattern has no column padding (cols == size0); it then merges with the
// next row when that follows it in DRAM too.
bool Dma::regular_runs(const Transfer& t, DramPattern& pat) {
  const Instr& in = *t.in;
  if (!t.dense) return false;
  const uint64_t rows = in.size1 - t.pad_top - t.pad_bottom, cols = in.size0 - t.pad_left - t.pad_right;
  const uint64_t e = t.esize;
  pat = DramPattern{};
  pat.addr = in.dram_addr / e * e;
  if (in.size2 == 0 || rows == 0 || cols == 0) return true;  // no runs
  const bool whole_rows = cols == in.size0;
  if (whole_rows && (rows == 1 || in.stride1 == cols)) {  // each plane is one run
    const uint64_t plane = rows * cols;
    const bool one_run = rows == in.size1 && in.stride2 == plane;  // and the planes follow each other
    pat.rows = 1;
    pat.planes = one_run ? 1 : in.size2;
    pat.run_bytes = (one_run ? in.size2 * plane : plane) * e;
    pat.plane_stride = one_run ? 0 : in.stride2 * e;
    return true;
  }
  // A plane's last row running on into the next plane's first: runs of two lengths.
  if (whole_rows && rows == in.size1 && in.size2 > 1 && in.stride2 == (rows - 1) * in.stride1 + cols)
    return false;
  pat.rows = rows;
  pat.row_stride = uint64_t{in.stride1} * e;
  pat.planes = in.size2;
  pat.plane_stride = uint64_t{in.stride2} * e;
  pat.run_bytes = cols * e;
  return true;
}

std::vector<DramRun> Dma::dram_runs_of(const Instr& in, bool load, const isa::MapDesc& map) {
  Transfer t{};
  t.in = &in;
  shape(t, load, map);
  std::vector<DramRun> runs;
  for_each_run(t, [&](const Run& r) { runs.push_back({r.dram * t.esize, r.count * t.esize}); });
  return runs;
}

bool Dma::pattern_of(const Instr& in, bool load, const isa::MapDesc& map, DramPattern& pat) {
  Transfer t{};
  t.in = &in;
  shape(t, load, map);
  return regular_runs(t, pat);
}

// Writes the pad value into the padding elements, at their (mapped) buffer addresses.
void Dma::fill_padding(const Transfer& t) {
  const Instr& in = *t.in;
  if (!(t.pad_top | t.pad_bottom | t.pad_left | t.pad_right)) return;
  const bool lowest = in.pad_value == static_cast<uint32_t>(isa::PadValue::Min);
  const bool fp32 = in.dtype == static_cast<uint32_t>(isa::DType::Fp32);
  // The pad value in the buffer's element format (NBout widens int16 to int32).
  uint8_t pad[4] = {0, 0, 0, 0};
  if (lowest && fp32) {
    const float v = -std::numeric_limits<float>::infinity();
    std::memcpy(pad, &v, 4);
  } else if (lowest && t.belem == 4) {
    const int32_t v = numerics::kInt16Min;
    std::memcpy(pad, &v, 4);
  } else if (lowest) {
    const int16_t v = numerics::kInt16Min;
    std::memcpy(pad, &v, 2);
  }
  if (t.dense && !lowest) {  // zeros into a dense map: the pad rows of a plane at once, then row ends
    const uint64_t row = uint64_t{in.size0} * t.belem, plane = row * in.size1;
    const uint64_t left = uint64_t{t.pad_left} * t.belem, right = uint64_t{t.pad_right} * t.belem;
    for (uint64_t k = 0; k < in.size2; ++k) {
      uint8_t* p = t.buffer->at(in.buf_addr + k * plane);
      std::memset(p, 0, t.pad_top * row);
      std::memset(p + (in.size1 - t.pad_bottom) * row, 0, t.pad_bottom * row);
      if (left | right)  // a column or two each side: stores, not a memset call per row
        for (uint64_t r = t.pad_top; r + t.pad_bottom < in.size1; ++r) {
          uint8_t* q = p + r * row;
          for (uint64_t i = 0; i < left; ++i) q[i] = 0;
          for (uint64_t i = row - right; i < row; ++i) q[i] = 0;
        }
    }
    return;
  }
  auto fill = [&](uint64_t k, uint64_t r, uint64_t c0, uint64_t n) {
    t.view.for_each_piece(k, r, c0, n, in.size1, in.size0, [&](uint64_t addr, uint64_t, uint64_t count) {
      uint8_t* dst = t.buffer->at(addr);
      if (!lowest)  // zero padding (all dtypes)
        std::memset(dst, 0, count * t.belem);
      else if (t.belem == 2)  // element by element at a fixed size: no call per element
        for (uint64_t e = 0; e < count; ++e) std::memcpy(dst + e * 2, pad, 2);
      else
        for (uint64_t e = 0; e < count; ++e) std::memcpy(dst + e * 4, pad, 4);
    });
  };
  for (uint64_t k = 0; k < in.size2; ++k)
    for (uint64_t r = 0; r < in.size1; ++r) {
      if (r < t.pad_top || r + t.pad_bottom >= in.size1) {
        fill(k, r, 0, in.size0);
      } else {
        fill(k, r, 0, t.pad_left);
        fill(k, r, in.size0 - t.pad_right, t.pad_right);
      }
    }
}

// One run of a functional STORE: `count` NBout elements at `src` into `out` in DRAM format, int32
// accumulators saturated to int16 when the element sizes differ.
void Dma::pack_run(const Transfer& t, const uint8_t* src, uint64_t count, uint8_t* out) {
  if (t.esize == t.belem) {
    std::memcpy(out, src, count * t.esize);
    return;
  }
  for (uint64_t i = 0; i < count; ++i) {
    int32_t v;
    std::memcpy(&v, src + i * 4, 4);
    const int16_t n = numerics::sat16(v);
    std::memcpy(out + i * 2, &n, 2);
  }
}

// One run of a functional LOAD: `count` DRAM-format elements at `in` into the buffer at `dst`,
// int16 widened to int32 accumulators when the element sizes differ (NBout).
void Dma::unpack_run(const Transfer& t, const uint8_t* in, uint64_t count, uint8_t* dst) {
  if (t.esize == t.belem) {
    std::memcpy(dst, in, count * t.esize);
    return;
  }
  for (uint64_t i = 0; i < count; ++i) {
    int16_t v;
    std::memcpy(&v, in + i * 2, 2);
    const int32_t w = v;
    std::memcpy(dst + i * 4, &w, 4);
  }
}

// The runs_ of a functional STORE into staging_, back to back.
void Dma::pack(const Transfer& t) {
  uint8_t* out = staging_.data();
  for (const Run& r : runs_) {
    pack_run(t, t.buffer->at(r.buf), r.count, out);
    out += r.count * t.esize;
  }
}

// staging_ (a functional LOAD's runs_, back to back) into the buffer.
void Dma::unpack(const Transfer& t) {
  const uint8_t* in = staging_.data();
  for (const Run& r : runs_) {
    unpack_run(t, in, r.count, t.buffer->at(r.buf));
    in += r.count * t.esize;
  }
}

// All runs of the pattern as one scatter-gather TLM transaction (a DramPattern when `regular`,
// else the list dram_runs_): the DRAM times each run as its own request issued at
// `issue_cycle`, pipelined against this engine's window, and with `functional` moves the data.
// Adds the DRAM bytes accessed (up to and including a failing run) to `dram_bytes`, the bytes of
// the runs that completed to `moved` and the completion to `done`.
bool Dma::transfer(const Transfer& t, bool regular, bool functional, uint64_t issue_cycle, uint64_t& done,
                   uint64_t& dram_bytes, uint64_t& moved) {
  const bool load = unit_ == kLoadUnit;
  const auto run = [&](size_t i) -> DramRun {
    if (!regular) return dram_runs_[i];
    return {pattern_.run_addr(i / pattern_.rows, i % pattern_.rows), pattern_.run_bytes};
  };
  uint64_t bytes = regular ? pattern_.runs() * pattern_.run_bytes : 0;
  if (!regular)
    for (const DramRun& r : dram_runs_) bytes += r.bytes;
  const bool direct = functional && load && t.esize == t.belem;  // execute() listed pieces_
  if (functional && !direct) {
    staging_.resize(bytes);
    if (!load) pack(t);
  }
  request_->scatter = direct && !regular ? pieces_.data() : nullptr;
  request_->scatter_count = pieces_.size();
  request_->scatter_pattern = direct && regular ? &scatter_ : nullptr;
  payload_.set_command(load ? tlm::TLM_READ_COMMAND : tlm::TLM_WRITE_COMMAND);
  payload_.set_address(run(0).addr);
  payload_.set_data_ptr(functional && !direct ? staging_.data() : nullptr);
  payload_.set_data_length(static_cast<unsigned>(bytes));
  payload_.set_streaming_width(static_cast<unsigned>(bytes));
  payload_.set_byte_enable_ptr(nullptr);
  payload_.set_dmi_allowed(false);
  payload_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  request_->issue_cycle = issue_cycle;
  request_->failed_run = 0;
  request_->runs = regular ? nullptr : &dram_runs_;
  request_->pattern = regular ? &pattern_ : nullptr;
  sc_core::sc_time delay = ctx_.delay_until(issue_cycle);
  socket->b_transport(payload_, delay);
  if (payload_.is_response_error()) {
    const size_t runs = regular ? pattern_.runs() : dram_runs_.size();
    const size_t bad = std::min(request_->failed_run, runs - 1);
    for (size_t i = 0; i < bad; ++i) moved += run(i).bytes;
    dram_bytes += moved + run(bad).bytes;
    fail(t, "dram-range", "DRAM rejected address " + std::to_string(run(bad).addr));
    return false;
  }
  dram_bytes += bytes;
  moved += bytes;
  done = std::max(done, request_->done_cycle);
  if (functional && load && !direct) unpack(t);
  return true;
}

uint64_t Dma::execute(const Instr& in, uint32_t index, const isa::MapDesc& buf_map) {
  const uint64_t now = ctx_.now();
  Transfer t{};
  t.in = &in;
  t.index = index;
  if (!validate(t, buf_map)) return now;
  const bool load = unit_ == kLoadUnit;
  // With a data thread the transfer is timed here, as in timing mode, and its data moved there.
  DataThread* const data_thread = ctx_.functional() ? ctx_.data_thread() : nullptr;
  const bool functional = ctx_.functional() && !data_thread;
  request_->move_data = functional;
  if (load && functional) fill_padding(t);

  const uint64_t issue = now + ctx_.arch().dma_setup_cycles;
  uint64_t done = issue, dram_bytes = 0;
  runs_.clear();
  dram_runs_.clear();
  pieces_.clear();
  const bool regular = regular_runs(t, pattern_);
  // A functional LOAD whose elements keep their size in the buffer (all but int16 into NBout's
  // accumulators) has the DRAM place each run straight into the buffer (pieces_); other
  // functional transfers go through staging_, converted on the way (runs_).
  const bool direct = functional && load && t.esize == t.belem;
  // Direct and regular (dense): the pattern's run (k, r) lands at a fixed pitch in the buffer,
  // row r of plane k past the padding; with rows merged into one run per plane (no column
  // padding, contiguous rows), or all planes into one run, the same with one row or one plane.
  if (direct && regular) {
    const uint64_t row_pitch = uint64_t{in.size0} * t.belem, plane_pitch = row_pitch * in.size1;
    scatter_.base = t.buffer->at(in.buf_addr + t.pad_top * row_pitch + uint64_t{t.pad_left} * t.belem);
    scatter_.row_pitch = row_pitch;
    scatter_.plane_pitch = plane_pitch;
  }
  if ((functional && !(direct && regular)) || !regular)
    for_each_run(t, [&](const Run& r) {
      // (each field stored on its own: a pair built on the stack and copied as one 16-byte
      // value stalls on store forwarding, per run)
      if (direct) {
        DramPiece& piece = pieces_.emplace_back();
        piece.dst = t.buffer->at(r.buf);
        piece.bytes = r.count * t.esize;
      } else if (functional) {
        runs_.push_back(r);
      }
      if (!regular) {
        DramRun& run = dram_runs_.emplace_back();
        run.addr = r.dram * t.esize;
        run.bytes = r.count * t.esize;
      }
    });
  const bool any = regular ? pattern_.runs() != 0 : !dram_runs_.empty();
  // A fault raised elsewhere in this same instant stops the transfer before any DRAM access.
  uint64_t moved = 0;
  const bool whole = any && !ctx_.halted() && transfer(t, regular, functional, issue, done, dram_bytes, moved);
  if (data_thread) hand_over(*data_thread, t, buf_map, moved, whole);
  const uint64_t buf_bytes = uint64_t{in.size0} * in.size1 * in.size2 * t.belem;
  done = std::max(done, issue + t.buffer->port_cycles(buf_bytes));

  LayerStats& layer = ctx_.layer(in.layer);
  (load ? layer.dram_read_bytes : layer.dram_write_bytes) += dram_bytes;
  const size_t b = load ? in.buf : static_cast<size_t>(isa::Buffer::NBout);
  // The bytes counted are the pattern's; the region touched is where its elements lie.
  t.buffer->count(ctx_.stats().buffers[b], layer.buffers[b], load ? 0 : buf_bytes, load ? buf_bytes : 0,
                  t.hi);
  if (Tracer* tr = ctx_.tracer()) tr->touch(unit_, static_cast<int>(b), t.lo, t.hi - t.lo);
  return done;
}

// ---- data on the data thread (hw/data_thread.h) ---------------------------------------------

void Dma::hand_over(DataThread& data_thread, const Transfer& t, const isa::MapDesc& map, uint64_t moved,
                    bool whole) {
  const DataArgs args{map, moved, whole};
  if (ctx_.touches_program(t.dram_lo, t.dram_hi)) {  // pages the controller reads words from
    data_thread.drain();
    move_data(*t.in, args);
    return;
  }
  data_thread.post(&Dma::data_job, this, *t.in, args);
}

void Dma::data_job(void* dma, const DataThread::Job& job) {
  static_cast<Dma*>(dma)->move_data(job.in, job.arg<DataArgs>());
}

// What execute() does to the data when it moves it itself, from the instruction and what its
// timing found: the padding, then the runs whose `moved` DRAM bytes completed (all or none for a
// LOAD widened on its way, as unpack() follows a whole transfer), through the DRAM's untimed
// access, one run at a time.
void Dma::move_data(const Instr& in, const DataArgs& a) {
  const bool load = unit_ == kLoadUnit;
  Transfer t{};
  t.in = &in;
  shape(t, load, a.map);
  t.buffer = buffers_[static_cast<size_t>(load ? static_cast<isa::Buffer>(in.buf) : isa::Buffer::NBout)];
  if (load) fill_padding(t);
  const bool direct = t.esize == t.belem;
  // A dense LOAD that completed, of elements that keep their size: its runs as the pattern the
  // DRAM timed (rows merged where they follow each other), each at its fixed pitch in the buffer,
  // as execute() has the DRAM place them on one thread.
  DramPattern pat;
  if (load && direct && a.whole && regular_runs(t, pat)) {
    const uint64_t row_pitch = uint64_t{in.size0} * t.belem, plane_pitch = row_pitch * in.size1;
    uint8_t* const base = t.buffer->at(in.buf_addr + t.pad_top * row_pitch + uint64_t{t.pad_left} * t.belem);
    for (uint64_t k = 0; k < pat.planes; ++k)
      for (uint64_t r = 0; r < pat.rows; ++r)
        dram_->read(pat.run_addr(k, r), base + k * plane_pitch + r * row_pitch, pat.run_bytes);
    return;
  }
  if (load && !direct && !a.whole) return;
  uint64_t left = a.moved;
  for_each_run(t, [&](const Run& r) {
    const uint64_t n = r.count * t.esize;
    if (n > left) {  // this run failed: it and the ones after it moved nothing
      left = 0;
      return;
    }
    left -= n;
    uint8_t* buf = t.buffer->at(r.buf);
    if (load && direct) {
      dram_->read(r.dram * t.esize, buf, n);
    } else if (load) {
      data_staging_.resize(n);
      dram_->read(r.dram * t.esize, data_staging_.data(), n);
      unpack_run(t, data_staging_.data(), r.count, buf);
    } else if (direct) {
      dram_->write(r.dram * t.esize, buf, n);
    } else {
      data_staging_.resize(n);
      pack_run(t, buf, r.count, data_staging_.data());
      dram_->write(r.dram * t.esize, data_staging_.data(), n);
    }
  });
}

}  // namespace fusesim::hw
