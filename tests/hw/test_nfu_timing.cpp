// NFU cycle counts from the pipeline formula of docs/isa.md, and MAC counts.
#include <gtest/gtest.h>

#include "hw_harness.h"
#include "nfu.h"

namespace fusesim::testing {
namespace {

struct NfuBench {
  hw::RunContext ctx{round_arch(), hw::AcceleratorOptions{}};
  hw::Buffer nbin{"NBin", ctx.arch().nbin}, sb{"SB", ctx.arch().sb}, nbout{"NBout", ctx.arch().nbout};
  hw::Nfu nfu{ctx, nbin, sb, nbout};
};

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

// Pooling has Tn channels in parallel and kh*kw cycles per block.
TEST(NfuTiming, PoolingInnerIsWindow) {
  NfuBench b;
  Instr in = op(isa::Opcode::Compute);
  in.op = static_cast<uint32_t>(isa::ComputeOp::MaxPool);
  in.cin = in.cout = 16;
  in.in_h = in.in_w = 6;
  in.out_h = in.out_w = 2;
  in.kh = in.kw = 3;
  in.stride_h = in.stride_w = 3;
  EXPECT_EQ(b.nfu.cycles(in), 4u * (9u + 3u));
}

}  // namespace
}  // namespace fusesim::testing
