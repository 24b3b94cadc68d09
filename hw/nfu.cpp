// COMPUTE validation, timing and functional execution.
#include "nfu.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "isa/nfu_timing.h"
#include "isa/numerics.h"

namespace fusesim::hw {

using isa::ComputeOp;
using isa::Instr;

namespace {

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
uint32_t or_one(uint32_t v) { return v ? v : 1; }
bool is_conv(ComputeOp op) { return op == ComputeOp::Conv || op == ComputeOp::DwConv; }
bool is_elementwise(ComputeOp op) { return op == ComputeOp::Add || op == ComputeOp::Act; }

template <class T>
void copy_in(std::vector<T>& dst, const uint8_t* src, size_t n) {
  dst.resize(n);
  std::memcpy(dst.data(), src, n * sizeof(T));
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

Nfu::Footprint Nfu::footprint(const Instr& in) const {
  const auto op = static_cast<ComputeOp>(in.op);
  const auto dtype = static_cast<isa::DType>(in.dtype);
  const kernels::Geometry g = geometry(in);
  const uint64_t esize = isa::data_bytes(dtype);
  Footprint f;
  const uint64_t ib = isa::elem_bytes(static_cast<isa::Buffer>(in.in_buf), dtype);
  f.in = g.in_elems() * ib;
  f.in_extent = f.in;
  if (is_elementwise(op) && (g.in_h != g.out_h || g.in_w != g.out_w)) {
    // v3: the operand is the out_h x out_w window at in_addr of a map of in_h x in_w planes
    f.in = uint64_t{g.cin} * g.out_h * g.out_w * ib;
    f.in_extent = ((uint64_t{g.cin} - 1) * g.in_h * g.in_w + uint64_t{g.out_h - 1} * g.in_w + g.out_w) * ib;
  }
  if (is_conv(op)) f.weights = g.weight_elems() * esize;
  if (is_conv(op) && in.has_bias) f.bias = uint64_t{g.cout} * esize;
  // With an output halo the whole padded map is written; partial sums are read from inside it.
  f.out_write = uint64_t{g.cout} * (in.out_pad_top + g.out_h + in.out_pad_bottom) *
                (in.out_pad_left + g.out_w + in.out_pad_right) * 4;
  if ((is_conv(op) && in.accumulate) || op == ComputeOp::Add) f.out_read = g.out_elems() * 4;
  return f;
}

uint64_t Nfu::cycles(const Instr& in) const {
  const auto op = static_cast<ComputeOp>(in.op);
  const kernels::Geometry g = geometry(in);
  const uint64_t tn = std::max<uint32_t>(1, ctx_.arch().tn), stages = ctx_.arch().nfu_stages;
  const uint64_t blocks = ceil_div(g.cout, tn) * g.out_h * g.out_w;
  const uint64_t inner = isa::nfu_inner_cycles(op, g.cin, uint64_t{g.kh} * g.kw, tn);
  const uint64_t pipeline = in.fine ? blocks * inner + stages : blocks * (inner + stages);
  // Buffer ports can only slow the NFU down.
  const Footprint f = footprint(in);
  const bool in_nbout = &input_buffer(in) == &nbout_;
  const uint64_t nbin = in_nbout ? 0 : f.in, nbout = f.out_read + f.out_write + (in_nbout ? f.in : 0);
  return std::max(
      {pipeline, nbin_.port_cycles(nbin), sb_.port_cycles(f.weights + f.bias), nbout_.port_cycles(nbout)});
}

void Nfu::fail(const Instr& in, uint32_t index, const char* kind, const std::string& msg) {
  ctx_.fault(kind, index, unit_name(kComputeUnit),
             std::string(kind) + " in COMPUTE." + isa::compute_op_name(static_cast<ComputeOp>(in.op)) +
                 " (instruction " + std::to_string(index) + ", NFU): " + msg);
}

bool Nfu::validate(const Instr& in, uint32_t index) {
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
  if (uint64_t{g.out_h - 1} * g.stride_h + uint64_t{g.kh - 1} * g.dil_h >= g.in_h ||
      uint64_t{g.out_w - 1} * g.stride_w + uint64_t{g.kw - 1} * g.dil_w >= g.in_w) {
    fail(in, index, "buffer-overflow",
         "the window leaves the " + std::to_string(g.in_h) + "x" + std::to_string(g.in_w) + " input map");
    return false;
  }
  const Footprint f = footprint(in);
  struct Region {
    const Buffer* buf;
    uint64_t addr, bytes;
    const char* what;
  };
  const Region regions[] = {{&input_buffer(in), in.in_addr, f.in_extent, "input map"},
                            {&sb_, in.w_addr, f.weights, "weights"},
                            {&sb_, bias_addr(in, f), f.bias, "biases"},
                            {&nbout_, in.out_addr, f.out_write, "output map"}};
  for (const Region& r : regions) {
    if (r.bytes == 0 || r.buf->contains(r.addr, r.bytes)) continue;
    fail(in, index, "buffer-overflow",
         std::string(r.what) + " at " + r.buf->name() + " bytes [" + std::to_string(r.addr) + ", " +
             std::to_string(r.addr + r.bytes) + ") exceeds its " + std::to_string(r.buf->capacity()) +
             " bytes");
    return false;
  }
  return true;
}

// Reads the input map as data elements: NBin holds them directly; NBout holds accumulators
// with finished values, which int16 mode saturates to the data format.
template <class Data, class Acc>
void Nfu::gather_input(const Instr& in, const kernels::Geometry& g, std::vector<Data>& dst) const {
  const Buffer& buf = input_buffer(in);
  if (is_elementwise(static_cast<ComputeOp>(in.op)) && (g.in_h != g.out_h || g.in_w != g.out_w)) {
    // a window of a larger map (v3): gather it densely, plane by plane and row by row
    const size_t eb = &buf == &nbout_ ? 4 : sizeof(Data);
    dst.resize(g.out_elems());
    for (size_t c = 0; c < g.cin; ++c)
      for (size_t y = 0; y < g.out_h; ++y) {
        const uint8_t* row = buf.at(in.in_addr + ((c * g.in_h + y) * g.in_w) * eb);
        Data* d = &dst[(c * g.out_h + y) * g.out_w];
        for (size_t x = 0; x < g.out_w; ++x) {
          if (eb == sizeof(Data)) {
            std::memcpy(&d[x], row + x * eb, eb);
          } else {
            int32_t v;
            std::memcpy(&v, row + x * 4, 4);
            d[x] = static_cast<Data>(numerics::sat16(v));
          }
        }
      }
    return;
  }
  const size_t n = g.in_elems();
  if (sizeof(Data) == 4 || &buf != &nbout_) {
    copy_in(dst, buf.at(in.in_addr), n);
    return;
  }
  dst.resize(n);
  const uint8_t* src = buf.at(in.in_addr);
  for (size_t i = 0; i < n; ++i) {
    int32_t v;
    std::memcpy(&v, src + i * 4, 4);
    dst[i] = static_cast<Data>(numerics::sat16(v));
  }
}

template <class Data, class Acc>
void Nfu::run(const Instr& in, Scratch<Data, Acc>& s) {
  const auto op = static_cast<ComputeOp>(in.op);
  const auto act = static_cast<isa::Activation>(in.act);
  const kernels::Geometry g = geometry(in);
  const size_t n = g.out_elems();
  const bool halo = in.out_pad_top | in.out_pad_bottom | in.out_pad_left | in.out_pad_right;
  // Without a halo the kernels work in place on NBout; with one, on a dense scratch map that
  // is scattered into the padded output afterwards.
  uint8_t* out = nbout_.at(in.out_addr);
  const size_t pw = in.out_pad_left + g.out_w + in.out_pad_right, ph = in.out_pad_top + g.out_h + in.out_pad_bottom;
  if (halo) {
    s.dense.resize(n * sizeof(Acc));
    const bool reads_out = (is_conv(op) && in.accumulate) || op == ComputeOp::Add;
    if (reads_out)
      for (size_t c = 0; c < g.cout; ++c)
        for (size_t y = 0; y < g.out_h; ++y)
          std::memcpy(s.dense.data() + ((c * g.out_h + y) * g.out_w) * sizeof(Acc),
                      out + ((c * ph + in.out_pad_top + y) * pw + in.out_pad_left) * sizeof(Acc),
                      g.out_w * sizeof(Acc));
  }
  uint8_t* const final_out = out;
  if (halo) out = s.dense.data();
  gather_input<Data, Acc>(in, g, s.in);
  s.acc.resize(n);
  switch (op) {
    case ComputeOp::Conv:
    case ComputeOp::DwConv:
      copy_in(s.weights, sb_.at(in.w_addr), g.weight_elems());
      if (in.accumulate) {
        copy_in(s.acc, out, n);
      } else if (in.has_bias) {
        copy_in(s.bias, sb_.at(bias_addr(in, footprint(in))), g.cout);
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
      copy_in(s.acc, out, n);
      kernels::add(s.in.data(), n, act, s.acc.data());
      break;
    case ComputeOp::Act:
      kernels::activate(s.in.data(), n, act, s.acc.data());
      break;
  }
  if (!halo) {
    std::memcpy(out, s.acc.data(), n * sizeof(Acc));
    return;
  }
  // Ring of pad values (zero, or the lowest value for a max-pool consumer), then the interior.
  Acc padv{0};
  if (in.out_pad_value == static_cast<uint32_t>(isa::PadValue::Min)) {
    if constexpr (sizeof(Data) == 2)
      padv = numerics::kInt16Min;
    else
      padv = -std::numeric_limits<float>::infinity();
  }
  std::vector<Acc>& full = s.padded;
  full.assign(size_t{g.cout} * ph * pw, padv);
  for (size_t c = 0; c < g.cout; ++c)
    for (size_t y = 0; y < g.out_h; ++y)
      std::memcpy(&full[(c * ph + in.out_pad_top + y) * pw + in.out_pad_left], &s.acc[(c * g.out_h + y) * g.out_w],
                  g.out_w * sizeof(Acc));
  std::memcpy(final_out, full.data(), full.size() * sizeof(Acc));
}

void Nfu::count(const Instr& in) {
  const Footprint f = footprint(in);
  Stats& s = ctx_.stats();
  LayerStats& layer = ctx_.layer(in.layer);
  const uint64_t m = macs(in);
  s.macs += m;
  layer.macs += m;
  auto count_buf = [&](Buffer& b, isa::Buffer id, uint64_t addr, uint64_t read, uint64_t written,
                       uint64_t end) {
    const size_t i = static_cast<size_t>(id);
    if (read || written) b.count(s.buffers[i], layer.buffers[i], read, written, addr + end);
  };
  const bool in_nbout = &input_buffer(in) == &nbout_;
  count_buf(in_nbout ? nbout_ : nbin_, in_nbout ? isa::Buffer::NBout : isa::Buffer::NBin, in.in_addr, f.in, 0,
            f.in);
  count_buf(sb_, isa::Buffer::SB, in.w_addr, f.weights, 0, f.weights);
  count_buf(sb_, isa::Buffer::SB, bias_addr(in, f), f.bias, 0, f.bias);
  count_buf(nbout_, isa::Buffer::NBout, in.out_addr, f.out_read, f.out_write, f.out_write);
}

// The buffer regions this COMPUTE holds while it runs, for the occupancy signals of the VCD.
void Nfu::trace_regions(Tracer& t, const Instr& in) const {
  const Footprint f = footprint(in);
  t.touch(kComputeUnit, static_cast<int>(in.in_buf), in.in_addr, f.in);
  t.touch(kComputeUnit, static_cast<int>(isa::Buffer::SB), in.w_addr, f.weights);
  t.touch(kComputeUnit, static_cast<int>(isa::Buffer::SB), bias_addr(in, f), f.bias);
  t.touch(kComputeUnit, static_cast<int>(isa::Buffer::NBout), in.out_addr, f.out_write);
}

uint64_t Nfu::execute(const Instr& in, uint32_t index) {
  const uint64_t now = ctx_.now();
  if (!validate(in, index)) return now;
  if (ctx_.functional()) {
    if (in.dtype == static_cast<uint32_t>(isa::DType::Fp32))
      run(in, fp32_);
    else
      run(in, int16_);
  }
  count(in);
  if (Tracer* t = ctx_.tracer()) trace_regions(*t, in);
  return now + cycles(in);
}

}  // namespace fusesim::hw
