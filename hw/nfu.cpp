// COMPUTE validation, timing and functional execution.
#include "nfu.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <tuple>
#include <type_traits>

#include "isa/nfu_timing.h"
#include "isa/numerics.h"

namespace fusesim::hw {

using isa::ComputeOp;
using isa::Instr;

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
uint32_t or_one(uint32_t v) { return v ? v : 1; }
bool is_conv(ComputeOp op) { return op == ComputeOp::Conv || op == ComputeOp::DwConv; }
bool is_elementwise(ComputeOp op) { return op == ComputeOp::Add || op == ComputeOp::Act || op == ComputeOp::Mul; }
// the element-wise ops whose other operand is the NBout output itself
bool reads_output(ComputeOp op) { return op == ComputeOp::Add || op == ComputeOp::Mul; }

template <class T>
void copy_in(std::vector<T>& dst, const uint8_t* src, size_t n) {
  dst.resize(n);
  std::memcpy(dst.data(), src, n * sizeof(T));
}

// `n` buffer elements of `eb` bytes as data elements: NBin holds them as they are; NBout holds
// accumulators with finished values, which int16 mode saturates to the data format.
template <class Data>
void load_elems(const uint8_t* src, size_t eb, size_t n, Data* dst) {
  if (eb == sizeof(Data)) {
    std::memcpy(dst, src, n * eb);
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    int32_t v;
    std::memcpy(&v, src + i * 4, 4);
    dst[i] = static_cast<Data>(numerics::sat16(v));
  }
}

// `n` accumulators as buffer elements of `eb` bytes: NBout takes them as they are; NBin takes
// data elements, narrowed as STORE narrows (int16: saturated).
template <class Acc>
void store_elems(const Acc* src, size_t eb, size_t n, uint8_t* dst) {
  if (eb == sizeof(Acc)) {
    std::memcpy(dst, src, n * eb);
    return;
  }
  if constexpr (std::is_integral_v<Acc>) {
    for (size_t i = 0; i < n; ++i) {
      const int16_t v = numerics::sat16(src[i]);
      std::memcpy(dst + i * 2, &v, 2);
    }
  }
}

}  // namespace

// Biases follow the weights in SB (ISA v2).
uint64_t Nfu::bias_addr(const Instr& in, const Footprint& f) { return uint64_t{in.w_addr} + f.weights; }

Nfu::Nfu(RunContext& ctx, Buffer& nbin, Buffer& sb, Buffer& nbout)
    : ctx_(ctx), nbin_(nbin), sb_(sb), nbout_(nbout) {}

kernels::Geometry Nfu::geometry(const Instr& in) {
  const auto op = static_cast<ComputeOp>(in.op);
  kernels::Geometry g;
  g.cout = in.cout;
  g.cin = op == ComputeOp::Conv || in.cin ? in.cin : in.cout;
  g.out_h = in.out_h;
  g.out_w = in.out_w;
  const bool ew = is_elementwise(op);
  g.in_h = ew && !in.in_h ? in.out_h : in.in_h;
  g.in_w = ew && !in.in_w ? in.out_w : in.in_w;
  g.kh = ew ? 1 : or_one(in.kh);
  g.kw = ew ? 1 : or_one(in.kw);
  g.stride_h = ew ? 1 : or_one(in.stride_h);
  g.stride_w = ew ? 1 : or_one(in.stride_w);
  g.dil_h = ew ? 1 : or_one(in.dil_h);
  g.dil_w = ew ? 1 : or_one(in.dil_w);
  g.depthwise = op == ComputeOp::DwConv;
  return g;
}

uint64_t Nfu::macs(const Instr& in) {
  const auto op = static_cast<ComputeOp>(in.op);
  if (!is_conv(op)) return 0;
  const kernels::Geometry g = geometry(in);
  return uint64_t{g.out_elems()} * (g.depthwise ? 1 : g.cin) * g.kh * g.kw;
}

Buffer& Nfu::input_buffer(const Instr& in) const {
  return in.in_buf == static_cast<uint32_t>(isa::Buffer::NBout) ? nbout_ : nbin_;
}

// ISA v4: out_nbin sends the output map to NBin as data elements.
Buffer& Nfu::output_buffer(const Instr& in) const { return in.out_nbin ? nbin_ : nbout_; }

// An add/act operand may be the out_h x out_w window of a map with in_h x in_w planes (v3). A
// descriptor expresses windows itself: validate() then requires in_h x in_w == out_h x out_w.
Nfu::Box Nfu::input_box(const Instr& in, const kernels::Geometry& g) {
  const bool window =
      is_elementwise(static_cast<ComputeOp>(in.op)) && (g.in_h != g.out_h || g.in_w != g.out_w);
  return {g.cin, window ? g.out_h : g.in_h, window ? g.out_w : g.in_w, g.in_h, g.in_w};
}

// The output map with its halo (v2): computed values inside, pad values in the ring.
Nfu::Box Nfu::output_box(const Instr& in, const kernels::Geometry& g) {
  const uint64_t ph = uint64_t{in.out_pad_top} + g.out_h + in.out_pad_bottom;
  const uint64_t pw = uint64_t{in.out_pad_left} + g.out_w + in.out_pad_right;
  return {g.cout, ph, pw, ph, pw};
}

Nfu::Footprint Nfu::footprint(const Instr& in) const {
  const kernels::Geometry g = geometry(in);
  return footprint(in, g, input_box(in, g), output_box(in, g));
}

Nfu::Footprint Nfu::footprint(const Instr& in, const kernels::Geometry& g, const Box& ib, const Box& ob) const {
  const auto op = static_cast<ComputeOp>(in.op);
  const auto dtype = static_cast<isa::DType>(in.dtype);
  const uint64_t esize = isa::data_bytes(dtype);
  Footprint f;
  // A window (v3) counts only its own bytes.
  f.in = ib.planes * ib.rows * ib.cols * isa::elem_bytes(static_cast<isa::Buffer>(in.in_buf), dtype);
  if (is_conv(op)) f.weights = g.weight_elems() * esize;
  if (is_conv(op) && in.has_bias) f.bias = uint64_t{g.cout} * esize;
  // With an output halo the whole padded map is written; partial sums are read from inside it.
  f.out_write = ob.planes * ob.rows * ob.cols * (in.out_nbin ? esize : 4);
  if ((is_conv(op) && in.accumulate) || reads_output(op)) f.out_read = g.out_elems() * 4;
  return f;
}

Nfu::Maps Nfu::resolve(const Instr& in, const isa::MapDesc& in_map, const isa::MapDesc& out_map) const {
  const auto dtype = static_cast<isa::DType>(in.dtype);
  const kernels::Geometry g = geometry(in);
  const Box ib = input_box(in, g), ob = output_box(in, g);
  Maps m;
  m.in = isa::MapView(in_map, in.in_addr, isa::elem_bytes(static_cast<isa::Buffer>(in.in_buf), dtype));
  m.out = isa::MapView(out_map, in.out_addr, in.out_nbin ? isa::data_bytes(dtype) : 4);
  std::tie(m.in_lo, m.in_hi) = m.in.byte_range(ib.planes, ib.rows, ib.cols, ib.rows_dense, ib.cols_dense);
  std::tie(m.out_lo, m.out_hi) = m.out.byte_range(ob.planes, ob.rows, ob.cols, ob.rows_dense, ob.cols_dense);
  m.f = footprint(in, g, ib, ob);
  return m;
}

uint64_t Nfu::cycles(const Instr& in) const {
  const kernels::Geometry g = geometry(in);
  return cycles(in, g, footprint(in, g, input_box(in, g), output_box(in, g)));
}

uint64_t Nfu::cycles(const Instr& in, const kernels::Geometry& g, const Footprint& f) const {
  const auto op = static_cast<ComputeOp>(in.op);
  const uint64_t tn = std::max<uint32_t>(1, ctx_.arch().tn), stages = ctx_.arch().nfu_stages;
  const uint64_t blocks = ceil_div(g.cout, tn) * g.out_h * g.out_w;
  const uint64_t inner = isa::nfu_inner_cycles(op, g.cin, uint64_t{g.kh} * g.kw, tn);
  const uint64_t pipeline = in.fine ? blocks * inner + stages : blocks * (inner + stages);
  // Buffer ports can only slow the NFU down.
  // Each buffer's port carries every operand in it: input and output share NBin's with out_nbin.
  const bool in_nbout = &input_buffer(in) == &nbout_;
  const uint64_t nbin = (in_nbout ? 0 : f.in) + (in.out_nbin ? f.out_write : 0);
  const uint64_t nbout = f.out_read + (in.out_nbin ? 0 : f.out_write) + (in_nbout ? f.in : 0);
  return std::max(
      {pipeline, nbin_.port_cycles(nbin), sb_.port_cycles(f.weights + f.bias), nbout_.port_cycles(nbout)});
}

void Nfu::fail(const Instr& in, uint32_t index, const char* kind, const std::string& msg) {
  ctx_.fault(kind, index, unit_name(kComputeUnit),
             std::string(kind) + " in COMPUTE." + isa::compute_op_name(static_cast<ComputeOp>(in.op)) +
                 " (instruction " + std::to_string(index) + ", NFU): " + msg);
}

bool Nfu::validate(const Instr& in, uint32_t index, const Maps& m) {
  const auto op = static_cast<ComputeOp>(in.op);
  const kernels::Geometry g = geometry(in);
  if (in.in_buf == static_cast<uint32_t>(isa::Buffer::SB)) {
    fail(in, index, "decode", "the input map must be in NBin or NBout");
    return false;
  }
  if (!g.cin || !g.cout || !g.out_h || !g.out_w || !g.in_h || !g.in_w) {
    fail(in, index, "decode", "a zero extent (cin, cout, in_h, in_w, out_h or out_w)");
    return false;
  }
  if (op != ComputeOp::Conv && g.cin != g.cout) {
    fail(in, index, "decode", "cin must equal cout for " + std::string(isa::compute_op_name(op)));
    return false;
  }
  // NBin holds data elements: finished values only, and no NBout operand to add to.
  if (in.out_nbin && reads_output(op)) {
    fail(in, index, "decode", "out_nbin with " + std::string(isa::compute_op_name(op)) +
                                  ", which reads its operand from the NBout output");
    return false;
  }
  if (in.out_nbin && is_conv(op) && (!in.final || in.accumulate)) {
    fail(in, index, "decode", "out_nbin needs final=1 and accumulate=0 (NBin holds no partial sums)");
    return false;
  }
  if (m.in.desc().on && is_elementwise(op) && (g.in_h != g.out_h || g.in_w != g.out_w)) {
    fail(in, index, "decode",
         "with an input map descriptor, in_h x in_w (" + std::to_string(g.in_h) + "x" +
             std::to_string(g.in_w) + ") must equal out_h x out_w (" + std::to_string(g.out_h) + "x" +
             std::to_string(g.out_w) + ")");
    return false;
  }
  if (uint64_t{g.out_h - 1} * g.stride_h + uint64_t{g.kh - 1} * g.dil_h >= g.in_h ||
      uint64_t{g.out_w - 1} * g.stride_w + uint64_t{g.kw - 1} * g.dil_w >= g.in_w) {
    fail(in, index, "buffer-overflow",
         "the window leaves the " + std::to_string(g.in_h) + "x" + std::to_string(g.in_w) + " input map");
    return false;
  }
  return validate_maps(in, index, m);
}

// Every operand region inside its buffer; a descriptor operand starting inside its descriptor.
bool Nfu::validate_maps(const Instr& in, uint32_t index, const Maps& m) {
  struct Operand {
    const isa::MapView& view;
    uint32_t reg, addr;
    const char* what;
  };
  for (const Operand& o : {Operand{m.in, in.in_desc, in.in_addr, "input map"},
                           Operand{m.out, in.out_desc, in.out_addr, "output map"}}) {
    if (o.view.start_ok()) continue;
    fail(in, index, "buffer-overflow",
         std::string(o.what) + " start address " + std::to_string(o.addr) + " is outside map descriptor " +
             std::to_string(o.reg) + " " + o.view.desc().describe() + ": " + o.view.start_error());
    return false;
  }
  const Footprint& f = m.f;
  struct Region {
    const Buffer* buf;
    uint64_t lo, hi;
    const char* what;
  };
  const Region regions[] = {{&input_buffer(in), m.in_lo, m.in_hi, "input map"},
                            {&sb_, in.w_addr, in.w_addr + f.weights, "weights"},
                            {&sb_, bias_addr(in, f), bias_addr(in, f) + f.bias, "biases"},
                            {&output_buffer(in), m.out_lo, m.out_hi, "output map"}};
  for (const Region& r : regions) {
    if (r.hi == r.lo || r.buf->contains(r.lo, r.hi - r.lo)) continue;
    fail(in, index, "buffer-overflow",
         std::string(r.what) + " at " + r.buf->name() + " bytes [" + std::to_string(r.lo) + ", " +
             std::to_string(r.hi) + ") exceeds its " + std::to_string(r.buf->capacity()) + " bytes");
    return false;
  }
  return true;
}

// Reads the input map as data elements, densely [cin][rows][cols]: one copy for a dense map,
// else row by row through the view, in pieces contiguous in the buffer.
template <class Data>
void Nfu::gather_input(const Instr& in, const kernels::Geometry& g, const isa::MapView& view,
                       std::vector<Data>& dst) const {
  const Buffer& buf = input_buffer(in);
  const size_t eb = &buf == &nbout_ ? 4 : sizeof(Data);
  const Box b = input_box(in, g);
  dst.resize(b.planes * b.rows * b.cols);
  if (!view.desc().on && b.rows == b.rows_dense && b.cols == b.cols_dense) {
    load_elems(buf.at(in.in_addr), eb, dst.size(), dst.data());
    return;
  }
  for (uint64_t c = 0; c < b.planes; ++c)
    for (uint64_t y = 0; y < b.rows; ++y) {
      Data* d = &dst[(c * b.rows + y) * b.cols];
      view.for_each_piece(
          c, y, 0, b.cols, b.rows_dense, b.cols_dense,
          [&](uint64_t addr, uint64_t off, uint64_t n) { load_elems(buf.at(addr), eb, n, d + off); });
    }
}

// The accumulators an op starts from (partial sums, or add's operand): NBout's output map
// inside the halo, densely [cout][out_h][out_w].
template <class Acc>
void Nfu::read_output(const Instr& in, const kernels::Geometry& g, const isa::MapView& view,
                      std::vector<Acc>& dst) const {
  const Box b = output_box(in, g);
  if (!view.desc().on && b.rows == g.out_h && b.cols == g.out_w) {
    copy_in(dst, nbout_.at(in.out_addr), g.out_elems());
    return;
  }
  dst.resize(g.out_elems());
  for (uint64_t c = 0; c < g.cout; ++c)
    for (uint64_t y = 0; y < g.out_h; ++y) {
      Acc* d = &dst[(c * g.out_h + y) * g.out_w];
      view.for_each_piece(c, in.out_pad_top + y, in.out_pad_left, g.out_w, b.rows_dense, b.cols_dense,
                          [&](uint64_t addr, uint64_t off, uint64_t n) {
                            std::memcpy(d + off, nbout_.at(addr), n * sizeof(Acc));
                          });
    }
}

// Writes s.acc (dense [cout][out_h][out_w]) as the output map: one copy to a dense NBout map
// without a halo; else row by row (pad values in the halo ring) through the view, as NBout
// accumulators or, with out_nbin, as NBin data elements.
template <class Data, class Acc>
void Nfu::write_output(const Instr& in, const kernels::Geometry& g, const isa::MapView& view,
                       Scratch<Data, Acc>& s) {
  const Box b = output_box(in, g);
  if (!view.desc().on && !in.out_nbin && b.rows == g.out_h && b.cols == g.out_w) {
    std::memcpy(nbout_.at(in.out_addr), s.acc.data(), s.acc.size() * sizeof(Acc));
    return;
  }
  // The halo holds zero, or the lowest value for a max-pool consumer.
  Acc padv{0};
  if (in.out_pad_value == static_cast<uint32_t>(isa::PadValue::Min)) {
    if constexpr (sizeof(Data) == 2)
      padv = numerics::kInt16Min;
    else
      padv = -std::numeric_limits<float>::infinity();
  }
  Buffer& buf = output_buffer(in);
  const size_t eb = in.out_nbin ? sizeof(Data) : 4;
  for (uint64_t c = 0; c < b.planes; ++c)
    for (uint64_t y = 0; y < b.rows; ++y) {
      s.row.assign(b.cols, padv);
      if (y >= in.out_pad_top && y < in.out_pad_top + g.out_h)
        std::copy_n(&s.acc[(c * g.out_h + y - in.out_pad_top) * g.out_w], g.out_w, &s.row[in.out_pad_left]);
      view.for_each_piece(
          c, y, 0, b.cols, b.rows_dense, b.cols_dense,
          [&](uint64_t addr, uint64_t off, uint64_t n) { store_elems(&s.row[off], eb, n, buf.at(addr)); });
    }
}

template <class Data, class Acc>
void Nfu::run(const Instr& in, const Maps& m, Scratch<Data, Acc>& s) {
  const auto op = static_cast<ComputeOp>(in.op);
  // NFU-3 interpolates with the arch's segment table (nfu.pwl_segments).
  const numerics::Nfu3 act(static_cast<isa::Activation>(in.act), numerics::pwl_tables(ctx_.arch().nfu_pwl_segments));
  const kernels::Geometry g = geometry(in);
  const size_t n = g.out_elems();
  gather_input(in, g, m.in, s.in);
  if ((is_conv(op) && in.accumulate) || reads_output(op))
    read_output(in, g, m.out, s.acc);
  else
    s.acc.resize(n);
  switch (op) {
    case ComputeOp::Conv:
    case ComputeOp::DwConv:
      copy_in(s.weights, sb_.at(in.w_addr), g.weight_elems());
      if (in.accumulate) {
        // the partial sums read above
      } else if (in.has_bias) {
        copy_in(s.bias, sb_.at(bias_addr(in, m.f)), g.cout);
        if constexpr (sizeof(Data) == 2)
          kernels::bias_init(g, s.bias.data(), in.shift, s.acc.data());
        else
          kernels::bias_init(g, s.bias.data(), s.acc.data());
      } else {
        std::fill(s.acc.begin(), s.acc.end(), Acc{0});
      }
      kernels::conv(g, s.in.data(), s.weights.data(), s.acc.data());
      if (in.final) {
        if constexpr (sizeof(Data) == 2)
          kernels::finalize(s.acc.data(), n, in.shift, act);
        else
          kernels::finalize(s.acc.data(), n, act);
      }
      break;
    case ComputeOp::MaxPool:
      kernels::max_pool(g, s.in.data(), act, s.acc.data());
      break;
    case ComputeOp::AvgPool:
      kernels::avg_pool(g, s.in.data(), in.divisor, act, s.acc.data());
      break;
    case ComputeOp::Add:
      kernels::add(s.in.data(), n, act, s.acc.data());
      break;
    case ComputeOp::Act:
      kernels::activate(s.in.data(), n, act, s.acc.data());
      break;
    case ComputeOp::Mul:
      kernels::mul(s.in.data(), n, act, s.acc.data());
      break;
  }
  write_output(in, g, m.out, s);
}

void Nfu::count(const Instr& in, const Maps& m) {
  const Footprint& f = m.f;
  Stats& s = ctx_.stats();
  LayerStats& layer = ctx_.layer(in.layer);
  const uint64_t mac = macs(in);
  s.macs += mac;
  layer.macs += mac;
  auto count_buf = [&](Buffer& b, isa::Buffer id, uint64_t read, uint64_t written, uint64_t end) {
    const size_t i = static_cast<size_t>(id);
    if (read || written) b.count(s.buffers[i], layer.buffers[i], read, written, end);
  };
  auto id_of = [&](const Buffer& b) { return &b == &nbout_ ? isa::Buffer::NBout : isa::Buffer::NBin; };
  // A dense input counts up to the bytes it reads (a window: from its start); a descriptor
  // operand up to the highest byte it may touch.
  const uint64_t in_end = m.in.desc().on ? m.in_hi : in.in_addr + f.in;
  count_buf(input_buffer(in), id_of(input_buffer(in)), f.in, 0, in_end);
  count_buf(sb_, isa::Buffer::SB, f.weights, 0, in.w_addr + f.weights);
  count_buf(sb_, isa::Buffer::SB, f.bias, 0, bias_addr(in, f) + f.bias);
  count_buf(output_buffer(in), id_of(output_buffer(in)), f.out_read, f.out_write, m.out_hi);
}

// The buffer regions this COMPUTE holds while it runs, for the occupancy signals of the VCD.
void Nfu::trace_regions(Tracer& t, const Instr& in, const Maps& m) const {
  const Footprint& f = m.f;
  if (m.in.desc().on)
    t.touch(kComputeUnit, static_cast<int>(in.in_buf), m.in_lo, m.in_hi - m.in_lo);
  else
    t.touch(kComputeUnit, static_cast<int>(in.in_buf), in.in_addr, f.in);
  t.touch(kComputeUnit, static_cast<int>(isa::Buffer::SB), in.w_addr, f.weights);
  t.touch(kComputeUnit, static_cast<int>(isa::Buffer::SB), bias_addr(in, f), f.bias);
  const auto out = in.out_nbin ? isa::Buffer::NBin : isa::Buffer::NBout;
  t.touch(kComputeUnit, static_cast<int>(out), m.out_lo, m.out_hi - m.out_lo);
}

void Nfu::run(const Instr& in, const Maps& m) {
  if (in.dtype == static_cast<uint32_t>(isa::DType::Fp32))
    run(in, m, fp32_);
  else
    run(in, m, int16_);
}

void Nfu::data_job(void* nfu, const DataThread::Job& job) { static_cast<Nfu*>(nfu)->run(job.in, job.arg<Maps>()); }

uint64_t Nfu::execute(const Instr& in, uint32_t index, const isa::MapDesc& in_map,
                      const isa::MapDesc& out_map) {
  const uint64_t now = ctx_.now();
  const Maps m = resolve(in, in_map, out_map);
  if (!validate(in, index, m)) return now;
  if (DataThread* d = ctx_.functional() ? ctx_.data_thread() : nullptr)
    d->post(&Nfu::data_job, this, in, m);
  else if (ctx_.functional())
    run(in, m);
  count(in, m);
  if (Tracer* t = ctx_.tracer()) trace_regions(*t, in, m);
  return now + cycles(in, geometry(in), m.f);
}

}  // namespace fusesim::hw
