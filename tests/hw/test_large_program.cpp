// A long tiled conv program (four instructions a tile, coarse token handshakes) of AlexNet's
// instruction count for DianNao. Disabled by default: it exists to be run by hand, e.g.
//   time test_hw --gtest_also_run_disabled_tests --gtest_filter='*LargeProgram*Timing*'
// and it checks the invariants that must hold at that scale.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

#include "../support/sc_fixture.h"
#include "hw_harness.h"

namespace fusesim::testing {
namespace {

using isa::Buffer;
using isa::Opcode;

uint32_t tiles() {
  const char* env = std::getenv("FUSESIM_LARGE_TILES");
  return env ? static_cast<uint32_t>(std::atoi(env)) : 50000;  // 200k instructions
}

// Tile i: LOAD input 16x6x6, LOAD 16x16x3x3 weights, conv to 16x4x4, STORE. The load of tile
// i waits for the compute of tile i-1 to release NBin/SB; the compute of tile i waits for the
// store of tile i-1 to drain NBout.
std::vector<Instr> tiled_program(uint32_t n) {
  std::vector<Instr> p;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t layer = i / 1000;
    Instr li = load(Buffer::NBin, 0x4000000 + (i % 64) * 1152, 0, 6, 6, 16);
    li.pop_next = i > 0;
    Instr lw = load(Buffer::SB, 0x4100000 + (i % 8) * 4608, 0, 2304);
    lw.push_next = 1;
    Instr c = op(Opcode::Compute);
    c.op = static_cast<uint32_t>(isa::ComputeOp::Conv);
    c.cin = c.cout = 16;
    c.in_h = c.in_w = 6;
    c.out_h = c.out_w = 4;
    c.kh = c.kw = 3;
    c.final = c.fine = 1;
    c.shift = 12;
    c.act = static_cast<uint32_t>(isa::Activation::Relu);
    c.pop_prev = c.push_prev = c.push_next = 1;
    c.pop_next = i > 0;
    Instr s = store(0x8000000 + i * 512, 0, 16, 16);
    s.pop_prev = s.push_prev = 1;
    for (Instr* in : {&li, &lw, &c, &s}) {
      in->layer = layer;
      p.push_back(*in);
    }
  }
  p.push_back(op(Opcode::End));
  return p;
}

hw::Stats run_large(hw::Mode mode) {
  const uint32_t n = tiles();
  ArchParams arch = round_arch();
  arch.clock_ghz = 0.98;
  arch.dram_bandwidth_gbps = 12.8;
  arch.queue_depth = 32;
  arch.fetch_words = 64;
  const RunResult r = run_program(arch, mode, [n](TestHost& h) {
    h.program = tiled_program(n);
    h.data = {{0x4000000, std::vector<uint8_t>(64 * 1152, 1)},
              {0x4100000, std::vector<uint8_t>(8 * 4608, 2)}};
  });
  EXPECT_FALSE(r.stats.fault.raised) << r.stats.fault.message;
  EXPECT_EQ(r.stats.macs, uint64_t{n} * 16 * 16 * 16 * 9);
  EXPECT_EQ(r.stats.units[hw::kComputeUnit].instrs, n);
  for (int u = 0; u < hw::kNumUnits; ++u) {
    const hw::UnitStats& s = r.stats.units[u];
    EXPECT_EQ(s.busy_cycles + s.stall_token_cycles + s.stall_fetch_cycles + s.idle_cycles, r.stats.cycles);
  }
  std::cout << "tiles " << n << " cycles " << r.stats.cycles << " macs " << r.stats.macs << " dram_rd "
            << r.stats.dram_read_bytes << " dram_wr " << r.stats.dram_write_bytes << " nfu_busy "
            << r.stats.units[hw::kComputeUnit].busy_cycles << " load_busy "
            << r.stats.units[hw::kLoadUnit].busy_cycles << " row_hits " << r.stats.dram_row_hits
            << " row_misses " << r.stats.dram_row_misses << "\n";
  return r.stats;
}

using LargeProgram = ScTest;

TEST_F(LargeProgram, DISABLED_Timing) { run_large(hw::Mode::Timing); }
TEST_F(LargeProgram, DISABLED_Functional) { run_large(hw::Mode::Functional); }

}  // namespace
}  // namespace fusesim::testing
