// NFU cycle counts from the pipeline formula of docs/isa.md, and MAC counts.
#include <gtest/gtest.h>

#include "hw_harness.h"

namespace fusesim::testing {
namespace {

Instr conv(uint32_t cin, uint32_t cout, uint32_t out, uint32_t k) {
  Instr in = op(isa::Opcode::Compute);
  in.op = static_cast<uint32_t>(isa::ComputeOp::Conv);
  in.cin = cin;
  in.cout = cout;
  in.out_h = in.out_w = out;
  in.in_h = in.in_w = out + k - 1;
  in.kh = in.kw = k;
  in.stride_h = in.stride_w = 1;
  return in;
}

// A channel-wise op (pooling, depthwise, add) over c channels: an out x out map from an
// in x in input with a k x k window at `stride`.
Instr channelwise(isa::ComputeOp kind, uint32_t c, uint32_t in_hw, uint32_t out, uint32_t k = 1, uint32_t stride = 1) {
  Instr in = op(isa::Opcode::Compute);
  in.op = static_cast<uint32_t>(kind);
  in.cin = in.cout = c;
  in.in_h = in.in_w = in_hw;
  in.out_h = in.out_w = out;
  in.kh = in.kw = k;
  in.stride_h = in.stride_w = stride;
  return in;
}

// Compute-bound conv, Tn = 16: blocks = ceil(32/16) * 4 * 4 = 32 output blocks, each needing
// inner = ceil(32/16) * 3 * 3 = 18 NFU cycles. Ports are not binding: NBin 32*6*6*2/32 = 72,
// SB 32*32*9*2/512 = 36, NBout 32*16*4/64 = 32 cycles.
TEST(NfuTiming, ComputeBoundConvFromFirstPrinciples) {
  NfuBench b;
  Instr in = conv(32, 32, 4, 3);
  in.fine = 1;
  EXPECT_EQ(b.nfu.cycles(in), 32u * 18u + 3u);  // pipeline fills once
  in.fine = 0;
  EXPECT_EQ(b.nfu.cycles(in), 32u * (18u + 3u));  // every block drains through the 3 stages
  EXPECT_EQ(hw::Nfu::macs(in), 32u * 16u * 32u * 9u);
}

// cout not a multiple of Tn still costs whole blocks: ceil(17/16) = 2.
TEST(NfuTiming, PartialBlocksCostWholeBlocks) {
  NfuBench b;
  Instr in = conv(16, 17, 2, 1);
  in.fine = 1;
  EXPECT_EQ(b.nfu.cycles(in), 2u * 4u * 1u + 3u);
}

// An element-wise add of 16 channels of 8x8: 64 blocks of 1 cycle, but NBout must read and
// write 16*64*4 bytes each through 64 bytes a cycle: 8192 / 64 = 128 cycles.
TEST(NfuTiming, BufferPortBoundsElementwiseOps) {
  NfuBench b;
  Instr in = op(isa::Opcode::Compute);
  in.op = static_cast<uint32_t>(isa::ComputeOp::Add);
  in.cin = in.cout = 16;
  in.in_h = in.in_w = in.out_h = in.out_w = 8;
  in.fine = 1;
  EXPECT_EQ(b.nfu.cycles(in), 128u);
  EXPECT_EQ(hw::Nfu::macs(in), 0u);
}

// ISA v3: an add may read an 8x8 window of a 10x10 map (the residual of a fused group). The
// ports count the window only: NBin 16*64*2 B / 32 = 64 cycles, NBout reads and writes
// 16*64*4 B each / 64 = 128 cycles, which binds, as for the dense 8x8 operand above.
TEST(NfuTiming, AWindowedAddCountsOnlyTheWindowAtThePorts) {
  NfuBench b;
  Instr in = channelwise(isa::ComputeOp::Add, 16, 10, 8);
  in.fine = 1;
  EXPECT_EQ(b.nfu.cycles(in), 128u);
}

// Pooling has Tn channels in parallel, and each channel's tree takes Tn window taps a cycle:
// a 3x3 window is ceil(9/16) = 1 cycle per block (it was kh*kw = 9 before ISA v3), so 4 blocks
// take 4 * (1 + 3) = 16 cycles, and the NBin port binds: 16*6*6*2 B / 32 B a cycle = 36.
TEST(NfuTiming, PoolingTakesTapsInParallel) {
  NfuBench b;
  Instr in = channelwise(isa::ComputeOp::MaxPool, 16, 6, 2, 3, 3);
  EXPECT_EQ(b.nfu.cycles(in), 36u);
  // Overlapping 5x5 windows at stride 1 over the same input: 4 blocks * (ceil(25/16) + 3) = 20
  // NFU cycles, below the same 36-cycle NBin bound; 16 channels of 32 blocks (out 8x8 from a
  // 12x12 input) are 64 * (2 + 3) = 320 cycles against 16*144*2/32 = 144 for the port.
  in.kh = in.kw = 5;
  in.stride_h = in.stride_w = 1;
  in.out_h = in.out_w = 2;
  EXPECT_EQ(b.nfu.cycles(in), 36u);
  in.in_h = in.in_w = 12;
  in.out_h = in.out_w = 8;
  EXPECT_EQ(b.nfu.cycles(in), 64u * (2u + 3u));
}

// Depthwise: 32 channels of 8x8 with a 3x3 window are ceil(32/16) * 64 = 128 blocks of
// ceil(9/16) = 1 cycle; NBin reads 32*10*10*2 = 6400 B at 32 B a cycle = 200 cycles, which binds.
TEST(NfuTiming, DepthwiseTakesTapsInParallelUpToThePortBound) {
  NfuBench b;
  Instr in = channelwise(isa::ComputeOp::DwConv, 32, 10, 8, 3);
  in.fine = 1;
  EXPECT_EQ(b.nfu.cycles(in), 200u);
  EXPECT_EQ(hw::Nfu::macs(in), 32u * 64u * 9u);
}

// A stem conv (cin 3 < Tn) packs (channel, tap) pairs into the lanes: 3 * 7 * 7 = 147 products
// per output are ceil(147/16) = 10 cycles instead of ceil(3/16) * 49 = 49.
TEST(NfuTiming, SmallInputChannelConvPacksTheWindow) {
  NfuBench b;
  Instr in = conv(3, 16, 2, 7);
  in.fine = 1;
  EXPECT_EQ(b.nfu.cycles(in), 4u * 10u + 3u);
}

}  // namespace
}  // namespace fusesim::testing
