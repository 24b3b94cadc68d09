// ISA v4 map descriptors in the hw model: LOAD/STORE through descriptors (addresses, padding,
// DMA runs split at ring wraps and interleaved rows), COMPUTE reading and writing through them
// with out_nbin, DESC at dispatch and the faults. Expected addresses are worked out from the
// layout in docs/isa.md, not from isa::MapView.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../support/sc_fixture.h"
#include "hw_harness.h"
#include "isa/numerics.h"

namespace fusesim::testing {
namespace {

using isa::Buffer;
using isa::ComputeOp;
using isa::Opcode;
using MapDma = ScTest;
using MapAccel = ScTest;

// Position of (Y, X) in a plane laid out in groups of `group` rows interleaved by column.
uint64_t plane_pos(uint64_t y, uint64_t x, uint64_t gpitch, uint64_t group) {
  return ((y / group) * gpitch + x) * group + y % group;
}

// ---- DMA -------------------------------------------------------------------------------------

struct DmaOutcome {
  uint64_t done = 0, bursts = 0, dram_read = 0, dram_write = 0;
  std::vector<uint8_t> nbin, nbout, dram;  // dram: the first 1 KiB
  hw::Fault fault;
};

// Runs `program` on the DMA harness in a fresh kernel, each instruction with its map.
DmaOutcome run_dma(const ArchParams& arch, const std::vector<Instr>& program,
                   const std::vector<isa::MapDesc>& maps, const std::vector<uint8_t>& dram_at_0 = {},
                   const std::vector<int32_t>& nbout_at_0 = {}) {
  ::fusesim::testing::FreshKernel kernel;
  DmaHarness h("h", arch);
  if (!dram_at_0.empty()) h.dram.write(0, dram_at_0.data(), dram_at_0.size());
  if (!nbout_at_0.empty()) std::memcpy(h.nbout.at(0), nbout_at_0.data(), nbout_at_0.size() * 4);
  h.program = program;
  h.maps = maps;
  ::fusesim::testing::sc_run();
  DmaOutcome o;
  const hw::Stats& s = h.ctx.stats();
  o.done = h.done.empty() ? 0 : h.done.back();
  o.bursts = s.dram_row_hits + s.dram_row_misses;
  o.dram_read = s.dram_read_bytes;
  o.dram_write = s.dram_write_bytes;
  o.nbin.assign(h.nbin.at(0), h.nbin.at(0) + h.nbin.capacity());
  o.nbout.assign(h.nbout.at(0), h.nbout.at(0) + h.nbout.capacity());
  o.dram.resize(1024);
  h.dram.read(0, o.dram.data(), o.dram.size());
  o.fault = s.fault;
  return o;
}

int16_t i16_at(const std::vector<uint8_t>& bytes, uint64_t addr) {
  return values_of<int16_t>(&bytes[addr], 1)[0];
}

// 64 int16 (128 bytes) loaded into a 64-element ring from position 40: elements 0..23 fill
// positions 40..63, elements 24..63 wrap to positions 0..39. The row is contiguous in DRAM but
// not in NBin, so it is two runs, DRAM bytes [0, 48) and [48, 128): three bursts ([0, 48),
// [48, 64), [64, 128)) where the dense LOAD of the same bytes needs two. With one burst in
// flight each burst waits for the one before: setup 4, first burst 65 (latency + row miss) + 4
// on the bus = 73, second 50 + 4 = 127 dense; with the split 4 + 65 + 3 = 72, 72 + 50 + 1 = 123,
// 123 + 50 + 4 = 177: the extra burst costs one more latency.
TEST_F(MapDma, RingLoadWrapsAndSplitsItsRun) {
  ArchParams a = round_arch();
  a.dma_outstanding = 1;
  std::vector<int16_t> values;
  for (int i = 0; i < 64; ++i) values.push_back(static_cast<int16_t>(7 * i + 1));
  const Instr ld = load(Buffer::NBin, 0, 0, 64);
  const DmaOutcome dense = run_dma(a, {ld}, {}, bytes_of(values));
  ASSERT_FALSE(dense.fault.raised) << dense.fault.message;
  EXPECT_EQ(dense.bursts, 2u);
  EXPECT_EQ(dense.done, 127u);

  Instr ring_ld = ld;
  ring_ld.buf_desc = 1;
  ring_ld.buf_addr = 40 * 2;
  const DmaOutcome ring = run_dma(a, {ring_ld}, {isa::MapDesc::of(0, 64, 64, 1, 64)}, bytes_of(values));
  ASSERT_FALSE(ring.fault.raised) << ring.fault.message;
  for (int i = 0; i < 64; ++i) EXPECT_EQ(i16_at(ring.nbin, ((40 + i) % 64) * 2), values[i]) << i;
  EXPECT_EQ(ring.dram_read, dense.dram_read);
  EXPECT_EQ(ring.bursts, 3u);
  EXPECT_EQ(ring.done, 177u);
}

// Two channels of a padded 4x5 pattern (data rows 1..3, columns 1..3, INT16_MIN padding) into
// a layout of 2-row groups (gpitch 6, planes of 64 elements at byte 256), starting at (Y=1,
// X=1), position 3: element (k, r, c) lies at (Y, X) = (1 + r, 1 + c) of plane k. Columns of a
// row are 2 elements apart, so each of the 18 data elements is a DMA run (and a burst) of its own.
TEST_F(MapDma, GroupedLayoutPlacesDataAndPaddingAtTheirAddresses) {
  std::vector<int16_t> m;  // 2 x 5 x 6, value 1000k + 100R + C
  for (int k = 0; k < 2; ++k)
    for (int r = 0; r < 5; ++r)
      for (int c = 0; c < 6; ++c) m.push_back(static_cast<int16_t>(1000 * k + 100 * r + c));
  Instr ld = load(Buffer::NBin, 0, 256 + 3 * 2, 5, 4, 2, 6, 30);
  ld.pad_top = ld.pad_left = ld.pad_right = 1;
  ld.pad_value = static_cast<uint32_t>(isa::PadValue::Min);
  ld.buf_desc = 4;
  const DmaOutcome o = run_dma(round_arch(), {ld}, {isa::MapDesc::of(256, 64, 6, 2, 0)}, bytes_of(m));
  ASSERT_FALSE(o.fault.raised) << o.fault.message;
  for (int k = 0; k < 2; ++k) {
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 5; ++c) {
        const bool data = r >= 1 && c >= 1 && c <= 3;
        const int16_t want =
            data ? static_cast<int16_t>(1000 * k + 100 * (r - 1) + (c - 1)) : numerics::kInt16Min;
        EXPECT_EQ(i16_at(o.nbin, 256 + (k * 64 + plane_pos(1 + r, 1 + c, 6, 2)) * 2), want) << k << r << c;
      }
    // (Y=0, X=0), (Y=1, X=0) and (Y=0, X=1) are outside the pattern: untouched.
    for (int p = 0; p < 3; ++p) EXPECT_EQ(i16_at(o.nbin, 256 + (k * 64 + p) * 2), 0) << p;
  }
  EXPECT_EQ(o.bursts, 18u);
  EXPECT_EQ(o.dram_read, 18u * 2);
}

// STORE reads NBout through an 8-element ring from position 5 (planes of 8): element (k, 0, c)
// is accumulator (k, (5 + c) % 8), narrowed with saturation, written densely. Each plane is two
// buffer runs (positions 5..7 and 0..2), so 4 runs and 4 bursts.
TEST_F(MapDma, StoreReadsThroughARing) {
  std::vector<int32_t> acc(16);
  for (int p = 0; p < 16; ++p) acc[p] = 5000 * p - 30000;  // -30000 .. 45000
  Instr st = store(512, 5 * 4, 6, 1, 2);
  st.buf_desc = 2;
  const DmaOutcome o = run_dma(round_arch(), {st}, {isa::MapDesc::of(0, 8, 8, 1, 8)}, {}, acc);
  ASSERT_FALSE(o.fault.raised) << o.fault.message;
  for (int k = 0; k < 2; ++k)
    for (int c = 0; c < 6; ++c)
      EXPECT_EQ(i16_at(o.dram, 512 + (k * 6 + c) * 2), numerics::sat16(acc[k * 8 + (5 + c) % 8])) << k << c;
  EXPECT_EQ(i16_at(o.dram, 512 + 8 * 2), 32767);  // (1, 0, 2) is accumulator (1, 7): 45000 saturated
  EXPECT_EQ(o.dram_write, 24u);
  EXPECT_EQ(o.bursts, 4u);
}

// Planes of 300 int16 from byte 1024: a 2-plane pattern's elements (1024..1031, 1624..1631) are
// inside the 2 KiB NBin, but with a ring of 300 the second plane's ring region [1624, 2224) is
// not, and every byte of it may be written.
TEST_F(MapDma, RingRegionLeavingTheBufferFaults) {
  Instr ld = load(Buffer::NBin, 0, 1024, 4, 1, 2);
  ld.buf_desc = 1;
  const DmaOutcome no_ring = run_dma(round_arch(), {ld}, {isa::MapDesc::of(1024, 300, 16, 1, 0)});
  EXPECT_FALSE(no_ring.fault.raised) << no_ring.fault.message;
  const DmaOutcome ring = run_dma(round_arch(), {load(Buffer::NBin, 0, 0, 4), ld},
                                  {isa::MapDesc{}, isa::MapDesc::of(1024, 300, 16, 1, 300)});
  ASSERT_TRUE(ring.fault.raised);
  EXPECT_EQ(ring.fault.kind, "buffer-overflow");
  EXPECT_EQ(ring.fault.instr_index, 1);
  EXPECT_EQ(ring.fault.unit, "load");
  EXPECT_NE(ring.fault.message.find("[1024, 2224)"), std::string::npos) << ring.fault.message;
  EXPECT_NE(ring.fault.message.find("ring regions"), std::string::npos) << ring.fault.message;
}

TEST_F(MapDma, StartOutsideItsDescriptorFaults) {
  const isa::MapDesc d = isa::MapDesc::of(512, 64, 8, 1, 32);
  for (uint32_t start : {256u, 512u + 40 * 2}) {  // below the base; position 40 of a ring of 32
    Instr ld = load(Buffer::NBin, 0, start, 4);
    ld.buf_desc = 3;
    const DmaOutcome o = run_dma(round_arch(), {ld}, {d});
    ASSERT_TRUE(o.fault.raised) << start;
    EXPECT_EQ(o.fault.kind, "buffer-overflow");
    EXPECT_EQ(o.fault.instr_index, 0);
    EXPECT_NE(o.fault.message.find("outside map descriptor 3"), std::string::npos) << o.fault.message;
  }
}

// ---- NFU ---------------------------------------------------------------------------------------

// Deterministic pseudo-random values: int16 activations in [-2, 2) (Q8.8), weights in
// [-0.5, 0.5) (Q4.12); fp32 the same real ranges.
struct Lcg {
  uint32_t s = 12345;
  uint32_t next() { return s = s * 1664525u + 1013904223u; }
  int span(int n) { return static_cast<int>((next() >> 8) % static_cast<uint32_t>(n)) - n / 2; }
};
template <class T>
T act_value(Lcg& g) {
  if constexpr (sizeof(T) == 2)
    return static_cast<T>(g.span(1024));
  else
    return static_cast<float>(g.span(1024)) / 256.f;
}
template <class T>
T weight_value(Lcg& g) {
  if constexpr (sizeof(T) == 2)
    return static_cast<T>(g.span(4096));
  else
    return static_cast<float>(g.span(4096)) / 4096.f;
}

template <class T>
void put(hw::Buffer& b, uint64_t addr, T v) {
  std::memcpy(b.at(addr), &v, sizeof(T));
}
template <class T>
T get(const hw::Buffer& b, uint64_t addr) {
  T v;
  std::memcpy(&v, b.at(addr), sizeof(T));
  return v;
}

// conv 3 -> 4 channels, 3x3 over a 6x6 input, bias, relu, output 4x4 with a halo of 1 (6x6).
Instr conv_with_halo(isa::DType dtype) {
  Instr c = op(Opcode::Compute);
  c.op = static_cast<uint32_t>(ComputeOp::Conv);
  c.dtype = static_cast<uint32_t>(dtype);
  c.cin = 3;
  c.cout = 4;
  c.in_h = c.in_w = 6;
  c.out_h = c.out_w = 4;
  c.kh = c.kw = 3;
  c.out_pad_top = c.out_pad_bottom = c.out_pad_left = c.out_pad_right = 1;
  c.has_bias = 1;
  c.final = 1;
  c.act = static_cast<uint32_t>(isa::Activation::Relu);
  c.shift = 12;
  c.fine = 1;
  return c;
}

// The input lives in a ring of three 2-row groups (gpitch 6, group 2, ring 36, planes of 40 at
// byte 0) whose oldest group is overwritten next: the map starts at group 1 (position 12), so
// its rows 4 and 5 wrap to positions 0..11. The output goes to NBin (out_nbin) through a ring
// of 36 with a row pitch of 6 (planes of 40 at byte 1024) starting at position 30, so all but
// its first row wrap. Each output element must equal the dense conv's, narrowed as STORE does.
template <class T>
void conv_through_descriptors_matches_dense(isa::DType dtype) {
  constexpr uint64_t e = sizeof(T);
  Lcg rng;
  std::vector<T> input(3 * 36), weights(4 * 3 * 9), bias(4);
  for (T& v : input) v = act_value<T>(rng);
  for (T& v : weights) v = weight_value<T>(rng);
  for (T& v : bias) v = act_value<T>(rng);

  NfuBench dense, mapped;
  for (NfuBench* b : {&dense, &mapped}) {
    std::memcpy(b->sb.at(0), weights.data(), weights.size() * e);
    std::memcpy(b->sb.at(weights.size() * e), bias.data(), bias.size() * e);
  }
  std::memcpy(dense.nbin.at(0), input.data(), input.size() * e);
  const Instr ref = conv_with_halo(dtype);
  dense.nfu.execute(ref, 0, {}, {});
  ASSERT_FALSE(dense.ctx.stats().fault.raised) << dense.ctx.stats().fault.message;

  auto in_addr = [&](uint64_t ci, uint64_t y, uint64_t x) {
    return (ci * 40 + plane_pos(2 + y, x, 6, 2) % 36) * e;
  };
  auto out_addr = [&](uint64_t co, uint64_t y, uint64_t x) {
    return 1024 + (co * 40 + (30 + y * 6 + x) % 36) * e;
  };
  for (uint64_t ci = 0; ci < 3; ++ci)
    for (uint64_t y = 0; y < 6; ++y)
      for (uint64_t x = 0; x < 6; ++x) put(mapped.nbin, in_addr(ci, y, x), input[(ci * 6 + y) * 6 + x]);
  std::memset(mapped.nbin.at(1024), 0x5A, 4 * 40 * e);  // a sentinel in the output planes
  Instr c = ref;
  c.in_desc = 1;
  c.in_addr = 12 * e;
  c.out_desc = 2;
  c.out_nbin = 1;
  c.out_addr = 1024 + 30 * e;
  mapped.nfu.execute(c, 0, isa::MapDesc::of(0, 40, 6, 2, 36), isa::MapDesc::of(1024, 40, 6, 1, 36));
  ASSERT_FALSE(mapped.ctx.stats().fault.raised) << mapped.ctx.stats().fault.message;

  int nonzero = 0;
  for (uint64_t co = 0; co < 4; ++co) {
    for (uint64_t y = 0; y < 6; ++y)
      for (uint64_t x = 0; x < 6; ++x) {
        const uint64_t dense_addr = ((co * 6 + y) * 6 + x) * 4;
        T want;
        if constexpr (sizeof(T) == 2)
          want = numerics::sat16(get<int32_t>(dense.nbout, dense_addr));
        else
          want = get<float>(dense.nbout, dense_addr);
        EXPECT_EQ(get<T>(mapped.nbin, out_addr(co, y, x)), want) << co << "," << y << "," << x;
        nonzero += want != T{0};
      }
    for (uint64_t p = 36; p < 40; ++p)  // between the rings: untouched
      EXPECT_EQ(mapped.nbin.at(1024 + (co * 40 + p) * e)[0], 0x5A) << p;
  }
  EXPECT_GT(nonzero, 16);  // the comparison is not between two empty maps
  // The output bytes go through the NBin port and count as NBin writes.
  const hw::BufferStats& nbin = mapped.ctx.stats().buffers[static_cast<size_t>(Buffer::NBin)];
  EXPECT_EQ(nbin.read_bytes, 3u * 36 * e);
  EXPECT_EQ(nbin.write_bytes, 4u * 36 * e);
  EXPECT_EQ(mapped.ctx.stats().buffers[static_cast<size_t>(Buffer::NBout)].write_bytes, 0u);
}

TEST(MapNfu, ConvFromAGroupedRingIntoNBinMatchesDenseInt16) {
  conv_through_descriptors_matches_dense<int16_t>(isa::DType::Int16);
}
TEST(MapNfu, ConvFromAGroupedRingIntoNBinMatchesDenseFp32) {
  conv_through_descriptors_matches_dense<float>(isa::DType::Fp32);
}

Instr act16(uint32_t hw) {
  Instr in = op(Opcode::Compute);
  in.op = static_cast<uint32_t>(ComputeOp::Act);
  in.cin = in.cout = 16;
  in.in_h = in.in_w = in.out_h = in.out_w = hw;
  in.fine = 1;
  return in;
}

// An act over 16 channels of 4x4 is 16 blocks of 1 cycle + 3 stages = 19 NFU cycles. To NBout,
// NBin reads 256 elements (int16 512 bytes at 32 a cycle: 16; fp32 1 KiB: 32) and NBout writes
// 1 KiB at 64 (16): 19 cycles in int16, 32 in fp32. With out_nbin, NBin's port carries the bytes
// read and as many written: 32 cycles in int16, 64 in fp32.
TEST(MapNfu, OutNbinPortBoundCountsTheWrittenBytes) {
  for (auto dtype : {isa::DType::Int16, isa::DType::Fp32}) {
    const uint64_t e = isa::data_bytes(dtype);
    NfuBench b;
    Instr in = act16(4);
    in.dtype = static_cast<uint32_t>(dtype);
    EXPECT_EQ(b.nfu.cycles(in), e == 2 ? 19u : 32u);
    in.out_nbin = 1;
    in.out_addr = 1024;
    EXPECT_EQ(b.nfu.cycles(in), 2 * 256 * e / 32);
    EXPECT_EQ(b.nfu.execute(in, 0, {}, {}), 2 * 256 * e / 32);
    ASSERT_FALSE(b.ctx.stats().fault.raised) << b.ctx.stats().fault.message;
    const hw::BufferStats& nbin = b.ctx.stats().buffers[static_cast<size_t>(Buffer::NBin)];
    EXPECT_EQ(nbin.read_bytes, 256 * e);
    EXPECT_EQ(nbin.write_bytes, 256 * e);
    EXPECT_EQ(nbin.peak_bytes, 1024 + 256 * e);
    EXPECT_EQ(b.ctx.stats().buffers[static_cast<size_t>(Buffer::NBout)].write_bytes, 0u);
  }
}

// Runs one COMPUTE on a fresh bench and returns the fault it raised (none: kind empty).
hw::Fault fault_of(const Instr& in, const isa::MapDesc& in_map = {}, const isa::MapDesc& out_map = {}) {
  NfuBench b;
  b.nfu.execute(in, 7, in_map, out_map);
  return b.ctx.stats().fault;
}

// NBin holds data elements: a conv may write there only its final values from scratch, and an
// add, which reads its operand from the NBout output, not at all. Pooling is always final.
TEST(MapNfu, OutNbinNeedsFinalValues) {
  Instr conv = conv_with_halo(isa::DType::Int16);
  conv.out_nbin = 1;
  conv.out_addr = 1024;
  EXPECT_EQ(fault_of(conv).kind, "");
  for (auto [final, accumulate] : {std::pair{0, 0}, std::pair{1, 1}, std::pair{0, 1}}) {
    Instr c = conv;
    c.final = final;
    c.accumulate = accumulate;
    const hw::Fault f = fault_of(c);
    EXPECT_EQ(f.kind, "decode") << final << accumulate;
    EXPECT_EQ(f.instr_index, 7);
    EXPECT_EQ(f.unit, "compute");
    EXPECT_NE(f.message.find("out_nbin"), std::string::npos) << f.message;
  }
  Instr add = act16(2);
  add.op = static_cast<uint32_t>(ComputeOp::Add);
  add.out_nbin = 1;
  add.out_addr = 1024;
  EXPECT_EQ(fault_of(add).kind, "decode");
  Instr pool = add;
  pool.op = static_cast<uint32_t>(ComputeOp::MaxPool);
  EXPECT_EQ(fault_of(pool).kind, "");
}

// A descriptor expresses windows itself: an act reading through one must read its whole map.
TEST(MapNfu, DescriptorInputOfActMustMatchTheOutput) {
  Instr a = act16(2);
  a.in_h = a.in_w = 4;
  EXPECT_EQ(fault_of(a).kind, "");  // dense: the v3 window
  a.in_desc = 1;
  const hw::Fault f = fault_of(a, isa::MapDesc::of(0, 64, 4, 1, 0));
  EXPECT_EQ(f.kind, "decode");
  EXPECT_NE(f.message.find("must equal out_h x out_w"), std::string::npos) << f.message;
}

// 2 channels through planes of 300 int16 at NBin byte 1024 with a ring of 300: the second
// plane's ring region [1624, 2224) leaves the 2 KiB NBin. An input starting below its
// descriptor's base is outside it.
TEST(MapNfu, DescriptorOperandsOutsideTheirBufferOrDescriptorFault) {
  Instr a = act16(2);
  a.cin = a.cout = 2;
  a.out_nbin = 1;
  a.out_addr = 1024;
  a.out_desc = 5;
  EXPECT_EQ(fault_of(a, {}, isa::MapDesc::of(1024, 300, 2, 1, 0)).kind, "");
  hw::Fault f = fault_of(a, {}, isa::MapDesc::of(1024, 300, 2, 1, 300));
  EXPECT_EQ(f.kind, "buffer-overflow");
  EXPECT_NE(f.message.find("output map at NBin bytes [1024, 2224)"), std::string::npos) << f.message;
  a.in_desc = 6;
  a.in_addr = 0;
  f = fault_of(a, isa::MapDesc::of(256, 64, 2, 1, 0), {});
  EXPECT_EQ(f.kind, "buffer-overflow");
  EXPECT_NE(f.message.find("input map start address 0 is outside map descriptor 6"), std::string::npos)
      << f.message;
}

// ---- whole programs --------------------------------------------------------------------------

constexpr uint32_t kIn = 0x10000, kW = 0x20000, kOut = 0x30000;

Instr desc_instr(uint32_t id, uint32_t base, uint32_t cpitch, uint32_t gpitch, uint32_t group,
                 uint32_t ring) {
  Instr d = op(Opcode::Desc);
  d.desc_id = id;
  d.desc_base = base;
  d.desc_cpitch = cpitch;
  d.desc_gpitch = gpitch;
  d.desc_group = group;
  d.desc_ring = ring;
  return d;
}

TEST_F(MapAccel, DescWithUnusableValuesIsADecodeFault) {
  const Instr bad[] = {desc_instr(0, 0, 64, 8, 1, 0),   // register 0 is the dense layout
                       desc_instr(1, 0, 64, 8, 0, 0),   // group 0
                       desc_instr(2, 0, 64, 8, 4, 6)};  // ring not a multiple of group
  for (const Instr& d : bad) {
    const RunResult r = run_program(round_arch(), hw::Mode::Functional, [&](TestHost& h) {
      h.program = {op(Opcode::Nop), op(Opcode::Nop), d, op(Opcode::End)};
    });
    ASSERT_TRUE(r.stats.fault.raised) << d.desc_id;
    EXPECT_EQ(r.stats.fault.kind, "decode");
    EXPECT_EQ(r.stats.fault.instr_index, 2);
    EXPECT_EQ(r.stats.fault.unit, "controller");
    EXPECT_NE(r.stats.fault.message.find("instruction 2"), std::string::npos) << r.stats.fault.message;
    EXPECT_EQ(r.error, 3u);
    EXPECT_EQ(r.error_instr, 2u);
  }
  // A good DESC runs in zero cycles on the controller and enters no queue.
  const RunResult ok = run_program(round_arch(), hw::Mode::Functional, [&](TestHost& h) {
    Instr d = desc_instr(7, 0, 64, 8, 4, 32);
    d.pop_prev = d.push_next = 1;  // token fields on DESC are ignored
    h.program = {d, op(Opcode::End)};
  });
  ASSERT_FALSE(ok.stats.fault.raised) << ok.stats.fault.message;
  for (int u = 0; u < hw::kNumUnits; ++u) EXPECT_EQ(ok.stats.units[u].instrs, 0u);
}

// The conv of the NFU test above as programs: LOAD pads a 3x4x4 DRAM map by 1 into the grouped
// input ring (padding written at its mapped addresses), the conv writes through the output
// ring into NBin, and an act reads that map back through the same descriptor into NBout for
// the STORE. The dense program LOADs, convolves into NBout and STOREs. Both store 4x6x6 values.
template <class T>
std::vector<Instr> conv_program(isa::DType dtype, bool mapped) {
  constexpr uint32_t e = sizeof(T);
  Instr li = load(Buffer::NBin, kIn, 0, 6, 6, 3, 4, 16);
  li.pad_top = li.pad_bottom = li.pad_left = li.pad_right = 1;
  Instr lw = load(Buffer::SB, kW, 0, 4 * 3 * 9 + 4);
  lw.push_next = 1;
  Instr c = conv_with_halo(dtype);
  c.pop_prev = 1;
  Instr st = store(kOut, 0, 6, 6, 4);
  st.pop_prev = 1;
  std::vector<Instr> p;
  if (!mapped) {
    c.push_next = 1;
    p = {li, lw, c, st, op(Opcode::End)};
  } else {
    li.buf_desc = 1;
    li.buf_addr = 12 * e;
    c.in_desc = 1;
    c.in_addr = 12 * e;
    c.out_desc = 2;
    c.out_nbin = 1;
    c.out_addr = 1024 + 30 * e;
    Instr back = act16(6);
    back.cin = back.cout = 4;
    back.in_desc = 2;
    back.in_addr = c.out_addr;
    back.push_next = 1;
    p = {desc_instr(1, 0, 40, 6, 2, 36),
         desc_instr(2, 1024, 40, 6, 1, 36),
         li,
         lw,
         c,
         back,
         st,
         op(Opcode::End)};
  }
  for (Instr& in : p) in.dtype = static_cast<uint32_t>(dtype);
  return p;
}

template <class T>
void conv_program_matches_dense(isa::DType dtype) {
  constexpr uint64_t e = sizeof(T);
  Lcg rng;
  std::vector<T> input(3 * 16), weights(4 * 3 * 9 + 4);
  for (T& v : input) v = act_value<T>(rng);
  for (T& v : weights) v = weight_value<T>(rng);
  auto run = [&](bool mapped, hw::Mode mode) {
    return run_program(round_arch(), mode, [&](TestHost& h) {
      h.program = conv_program<T>(dtype, mapped);
      h.data = {{kIn, bytes_of(input)}, {kW, bytes_of(weights)}};
      h.read_addr = kOut;
      h.read_len = 4 * 36 * e;
    });
  };
  const RunResult dense = run(false, hw::Mode::Functional), mapped = run(true, hw::Mode::Functional);
  ASSERT_FALSE(dense.stats.fault.raised) << dense.stats.fault.message;
  ASSERT_FALSE(mapped.stats.fault.raised) << mapped.stats.fault.message;
  const std::vector<T> want = values_of<T>(dense.readback.data(), 4 * 36);
  EXPECT_EQ(values_of<T>(mapped.readback.data(), 4 * 36), want);
  EXPECT_GT(std::count_if(want.begin(), want.end(), [](T v) { return v != T{0}; }), 16);
  // NBin: the padded input pattern (3x6x6) written by LOAD, then the conv's 4x6x6 output.
  const auto& nbin = mapped.stats.buffers[static_cast<size_t>(Buffer::NBin)];
  EXPECT_EQ(nbin.write_bytes, (3 * 36 + 4 * 36) * e);
  EXPECT_EQ(nbin.read_bytes, (3 * 36 + 4 * 36) * e);
  EXPECT_EQ(mapped.stats.buffers[static_cast<size_t>(Buffer::NBout)].write_bytes, 4u * 36 * 4);
  // Timing mode moves no data and takes the same cycles.
  EXPECT_EQ(run(true, hw::Mode::Timing).stats.cycles, mapped.stats.cycles);
}

TEST_F(MapAccel, ConvThroughDescriptorsMatchesTheDenseProgramInt16) {
  conv_program_matches_dense<int16_t>(isa::DType::Int16);
}
TEST_F(MapAccel, ConvThroughDescriptorsMatchesTheDenseProgramFp32) {
  conv_program_matches_dense<float>(isa::DType::Fp32);
}

// Register 1 names layout A (NBin byte 0) when the first act is dispatched and layout B (byte
// 512) when the second is. The first act waits for its LOAD's token, so the DESC rewriting
// register 1 is dispatched before it runs; it must still read through A (with B its start, 0,
// would lie below B's base), and the second through B.
TEST_F(MapAccel, DescriptorsAreResolvedAtDispatch) {
  std::vector<int16_t> x, y;
  for (int i = 0; i < 16; ++i) {
    x.push_back(static_cast<int16_t>(256 * (i + 1)));
    y.push_back(static_cast<int16_t>(-100 * (i + 1)));
  }
  auto act_row = [](uint32_t in_addr, uint32_t out_addr) {
    Instr a = op(Opcode::Compute);
    a.op = static_cast<uint32_t>(ComputeOp::Act);
    a.cin = a.cout = 1;
    a.in_h = a.out_h = 1;
    a.in_w = a.out_w = 16;
    a.in_desc = 1;
    a.in_addr = in_addr;
    a.out_addr = out_addr;
    a.pop_prev = a.push_next = 1;
    return a;
  };
  Instr lx = load(Buffer::NBin, kIn, 0, 16), ly = load(Buffer::NBin, kIn + 32, 512, 16);
  lx.buf_desc = ly.buf_desc = 1;
  lx.push_next = ly.push_next = 1;
  Instr sx = store(kOut, 0, 16), sy = store(kOut + 32, 64, 16);
  sx.pop_prev = sy.pop_prev = 1;
  const RunResult r = run_program(round_arch(), hw::Mode::Functional, [&](TestHost& h) {
    h.program = {desc_instr(1, 0, 16, 16, 1, 0),
                 lx,
                 act_row(0, 0),
                 desc_instr(1, 512, 16, 16, 1, 0),
                 ly,
                 act_row(512, 64),
                 sx,
                 sy,
                 op(Opcode::End)};
    h.data = {{kIn, bytes_of(x)}, {kIn + 32, bytes_of(y)}};
    h.read_addr = kOut;
    h.read_len = 64;
  });
  ASSERT_FALSE(r.stats.fault.raised) << r.stats.fault.message;
  EXPECT_EQ(values_of<int16_t>(r.readback.data(), 16), x);
  EXPECT_EQ(values_of<int16_t>(r.readback.data() + 32, 16), y);
  // The LOAD after the second DESC started no later than the first act: the DESC had been
  // dispatched when the act ran.
  uint64_t load_y = 0, act_x = 0;
  for (const hw::InstrRecord& rec : r.stats.timeline) {
    if (rec.index == 4) load_y = rec.start;
    if (rec.index == 2) act_x = rec.start;
  }
  EXPECT_LE(load_y, act_x);
}

}  // namespace
}  // namespace fusesim::testing
