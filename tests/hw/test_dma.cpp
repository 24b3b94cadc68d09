// DMA patterns (strides, padding, widening, narrowing), timing and faults, with the DMA wired
// to the DRAM through the interconnect.
#include <gtest/gtest.h>

#include "../support/sc_fixture.h"
#include "hw_harness.h"
#include "isa/numerics.h"

namespace fusesim::testing {
namespace {

using isa::Buffer;
using Dma = ScTest;

// Two channels of a 5x6 int16 matrix, value 1000k + 100R + C at element 30k + 6R + C.
void fill_matrix(hw::DramModel& dram) {
  std::vector<int16_t> m;
  for (int k = 0; k < 2; ++k)
    for (int r = 0; r < 5; ++r)
      for (int c = 0; c < 6; ++c) m.push_back(static_cast<int16_t>(1000 * k + 100 * r + c));
  const auto b = bytes_of(m);
  dram.write(0, b.data(), b.size());
}

// size 2x5x4 with padding top 1, bottom 1, left 1 from element (R=1, C=1): buffer (k, r, c)
// holds DRAM (k, R=r, C=c) for r in 1..3 and c in 1..3, padding elsewhere.
Instr padded_load(Buffer buf, isa::PadValue pad) {
  Instr in = load(buf, 2 * 7, 0, 4, 5, 2, 6, 30);
  in.pad_top = in.pad_bottom = in.pad_left = 1;
  in.pad_value = static_cast<uint32_t>(pad);
  return in;
}

template <class T>
void expect_padded(const std::vector<T>& got, T pad) {
  ASSERT_EQ(got.size(), 40u);
  for (int k = 0; k < 2; ++k)
    for (int r = 0; r < 5; ++r)
      for (int c = 0; c < 4; ++c) {
        const bool data = r >= 1 && r <= 3 && c >= 1;
        EXPECT_EQ(got[(k * 5 + r) * 4 + c], data ? T(1000 * k + 100 * r + c) : pad)
            << k << "," << r << "," << c;
      }
}

TEST_F(Dma, StridedLoadWithMinPadding) {
  DmaHarness h("h", round_arch());
  fill_matrix(h.dram);
  h.program = {padded_load(Buffer::NBin, isa::PadValue::Min)};
  ::fusesim::testing::sc_run();
  expect_padded(values_of<int16_t>(h.nbin.at(0), 40), numerics::kInt16Min);
  EXPECT_EQ(h.ctx.stats().dram_read_bytes, 2u * 3 * 3 * 2);  // only data elements cross the bus
}

TEST_F(Dma, LoadIntoNBoutWidensWithZeroPadding) {
  DmaHarness h("h", round_arch());
  fill_matrix(h.dram);
  h.program = {padded_load(Buffer::NBout, isa::PadValue::Zero)};
  ::fusesim::testing::sc_run();
  expect_padded(values_of<int32_t>(h.nbout.at(0), 40), 0);
}

// 1 KiB contiguous: setup 4, then with 16 bursts in flight the bus is the limit
// (4 + 65 + 64); with 8 in flight the second wave waits for the first burst (done at 73)
// plus the latency, and then streams its 8 bursts: 73 + 50 + 32 = 155.
TEST_F(Dma, LoadTiming) {
  ArchParams a = round_arch();
  a.dma_outstanding = 16;
  {
    DmaHarness h("h16", a);
    h.program = {load(Buffer::NBin, 0, 0, 512)};
    ::fusesim::testing::sc_run();
    EXPECT_EQ(h.done.at(0), 4u + 65u + 64u);
  }
  ::fusesim::testing::FreshKernel kernel;
  DmaHarness h("h8", round_arch());
  h.program = {load(Buffer::NBin, 0, 0, 512)};
  ::fusesim::testing::sc_run();
  EXPECT_EQ(h.done.at(0), 155u);
}

// The buffer port bounds a transfer from below: SB of 4 bytes a cycle takes 256 cycles for 1 KiB.
TEST_F(Dma, BufferPortBoundsTransfer) {
  ArchParams a = round_arch();
  a.sb.port_bytes = 4;
  a.dma_outstanding = 16;
  DmaHarness h("h", a);
  h.program = {load(Buffer::SB, 0, 0, 512)};
  ::fusesim::testing::sc_run();
  EXPECT_EQ(h.done.at(0), 4u + 256u);
}

// STORE narrows NBout accumulators with saturation into a strided 2x2 pattern.
TEST_F(Dma, StoreNarrowsAndSaturates) {
  DmaHarness h("h", round_arch());
  const std::vector<int32_t> acc = {40000, -40000, 123, -7};
  std::memcpy(h.nbout.at(16), acc.data(), 16);
  h.program = {store(2 * 100, 16, 2, 2, 1, 10)};
  ::fusesim::testing::sc_run();
  std::vector<uint8_t> raw(24);
  h.dram.read(200, raw.data(), raw.size());
  const auto v = values_of<int16_t>(raw.data(), 12);
  EXPECT_EQ(v[0], 32767);
  EXPECT_EQ(v[1], -32768);
  EXPECT_EQ(v[10], 123);
  EXPECT_EQ(v[11], -7);
  EXPECT_EQ(v[2], 0);  // between the rows: untouched
  EXPECT_EQ(h.ctx.stats().dram_write_bytes, 8u);
}

TEST_F(Dma, Fp32RoundTripThroughNBout) {
  DmaHarness h("h", round_arch());
  const std::vector<float> in = {1.5f, -2.25f, 3e10f};
  const auto b = bytes_of(in);
  h.dram.write(0, b.data(), b.size());
  Instr l = load(Buffer::NBout, 0, 0, 3), s = store(64, 0, 3);
  l.dtype = s.dtype = static_cast<uint32_t>(isa::DType::Fp32);
  h.program = {l, s};
  ::fusesim::testing::sc_run();
  std::vector<uint8_t> out(12);
  h.dram.read(64, out.data(), 12);
  EXPECT_EQ(values_of<float>(out.data(), 3), in);
}

TEST_F(Dma, TimingModeMovesNoDataButTakesTheSameCycles) {
  uint64_t functional_done = 0;
  {
    DmaHarness h("f", round_arch(), hw::Mode::Functional);
    fill_matrix(h.dram);
    h.program = {padded_load(Buffer::NBin, isa::PadValue::Min)};
    ::fusesim::testing::sc_run();
    functional_done = h.done.at(0);
  }
  ::fusesim::testing::FreshKernel kernel;
  DmaHarness h("t", round_arch(), hw::Mode::Timing);
  fill_matrix(h.dram);
  h.program = {padded_load(Buffer::NBin, isa::PadValue::Min)};
  ::fusesim::testing::sc_run();
  EXPECT_EQ(h.done.at(0), functional_done);
  EXPECT_EQ(values_of<int16_t>(h.nbin.at(0), 40), std::vector<int16_t>(40, 0));
}

// 2040 + 8 * 2 bytes > 2 KiB of NBin.
TEST_F(Dma, BufferOverflowNamesInstructionAndUnit) {
  DmaHarness h("h", round_arch());
  h.program = {load(Buffer::NBin, 0, 0, 8), load(Buffer::NBin, 0, 2040, 8)};
  ::fusesim::testing::sc_run();
  const hw::Fault& f = h.ctx.stats().fault;
  ASSERT_TRUE(f.raised);
  EXPECT_EQ(f.kind, "buffer-overflow");
  EXPECT_EQ(f.instr_index, 1);
  EXPECT_EQ(f.unit, "load");
  EXPECT_NE(f.message.find("NBin"), std::string::npos) << f.message;
}

TEST_F(Dma, DramRangeFault) {
  ArchParams a = round_arch();
  a.dram_bytes = 1 << 20;
  DmaHarness h("h", a);
  h.program = {store((1 << 20) - 4, 0, 4)};  // 8 bytes from 4 below the end
  ::fusesim::testing::sc_run();
  const hw::Fault& f = h.ctx.stats().fault;
  ASSERT_TRUE(f.raised);
  EXPECT_EQ(f.kind, "dram-range");
  EXPECT_EQ(f.instr_index, 0);
  EXPECT_EQ(f.unit, "store");
}

}  // namespace
}  // namespace fusesim::testing
