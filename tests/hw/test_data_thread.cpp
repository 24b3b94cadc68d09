// The data thread of functional runs (hw/data_thread.h): its ring (order, a full ring, errors,
// teardown), and whole programs run with it and without it: the same bytes, cycles and
// statistics, including a STORE into the program's own words, which the controller must see.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "../support/sc_fixture.h"
#include "data_thread.h"
#include "hw_harness.h"

namespace fusesim::testing {
namespace {

using isa::Buffer;
using isa::Opcode;
using Accel = ScTest;

struct Append {
  uint64_t value;
  bool slow;  // sleeps first, so that the producer fills the ring and waits
};
void append(void* unit, const hw::DataThread::Job& job) {
  const Append& a = job.arg<Append>();
  if (a.slow) std::this_thread::sleep_for(std::chrono::microseconds(200));
  static_cast<std::vector<uint64_t>*>(unit)->push_back(a.value + job.in.layer);
}

TEST(DataThread, RunsEveryJobOnceInTheOrderHandedOver) {
  std::vector<uint64_t> seen;  // written by the data thread only, read after drain()
  hw::DataThread t(4);
  Instr in;
  for (uint64_t i = 0; i < 20000; ++i) {
    in.layer = static_cast<uint32_t>(i % 3);  // the instruction travels with the job, copied
    t.post(&append, &seen, in, Append{i * 10, i % 997 == 0});
  }
  t.drain();
  EXPECT_TRUE(t.idle());
  EXPECT_EQ(t.jobs(), 20000u);
  ASSERT_EQ(seen.size(), 20000u);
  for (uint64_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], i * 10 + i % 3) << "job " << i;
}

TEST(DataThread, DrainRethrowsTheFirstErrorAndSkipsTheJobsAfterIt) {
  std::vector<uint64_t> seen;
  hw::DataThread t(8);
  auto fails = [](void*, const hw::DataThread::Job& job) {
    throw std::runtime_error("job " + std::to_string(job.arg<Append>().value));
  };
  const Instr in;
  t.post(&append, &seen, in, Append{1, false});
  t.post(+fails, nullptr, in, Append{2, false});
  t.post(+fails, nullptr, in, Append{3, false});
  t.post(&append, &seen, in, Append{4, false});
  try {
    t.drain();
    FAIL() << "drain() did not rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "job 2");
  }
  EXPECT_EQ(seen, std::vector<uint64_t>{1});
  t.drain();  // reported once; the thread goes on with new jobs
  t.post(&append, &seen, in, Append{5, false});
  t.drain();
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 5}));
}

TEST(DataThread, TeardownFinishesTheJobsHandedOver) {
  std::vector<uint64_t> seen;
  {
    hw::DataThread t(2);
    for (uint64_t i = 0; i < 6; ++i) t.post(&append, &seen, Instr{}, Append{i, true});
  }
  EXPECT_EQ(seen, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5}));
}

// ---- whole programs --------------------------------------------------------------------------

constexpr uint32_t kIn = 0x10000, kW = 0x20000, kOut = 0x30000;

// Two layers' worth of traffic on every path a transfer takes: a padded LOAD of int16 into NBin,
// weights into SB, partial sums widened into NBout, a conv accumulating over two input tiles,
// a narrowed STORE, and a max pool of the stored map loaded back (a read after the write).
void two_layer_setup(TestHost& h) {
  std::vector<int16_t> in(2 * 8 * 8), w(4 * 2 * 9), psum(4 * 8 * 8);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int16_t>((i * 37 % 101) * 64 - 3000);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int16_t>((i * 53 % 29) * 16 - 200);
  for (size_t i = 0; i < psum.size(); ++i) psum[i] = static_cast<int16_t>(i * 7 % 50);
  h.data = {{kIn, bytes_of(in)}, {kW, bytes_of(w)}, {kOut + 0x8000, bytes_of(psum)}};
  auto conv = [](uint32_t in_addr, uint32_t w_addr, bool accumulate, bool final) {
    Instr c = op(Opcode::Compute);
    c.op = static_cast<uint32_t>(isa::ComputeOp::Conv);
    c.cin = 1;
    c.cout = 4;
    c.in_h = c.in_w = 10;
    c.out_h = c.out_w = 8;
    c.kh = c.kw = 3;
    c.stride_h = c.stride_w = c.dil_h = c.dil_w = 1;
    c.in_addr = in_addr;
    c.w_addr = w_addr;
    c.accumulate = accumulate;
    c.final = final;
    c.act = static_cast<uint32_t>(isa::Activation::Relu);
    c.shift = 8;
    return c;
  };
  std::vector<Instr> p;
  for (uint32_t k = 0; k < 2; ++k) {  // the two input channels, one tile each
    Instr li = load(Buffer::NBin, kIn + k * 128, k * 200, 10, 10, 1, 8);
    li.pad_top = li.pad_bottom = li.pad_left = li.pad_right = 1;
    Instr lw = load(Buffer::SB, kW + k * 18, k * 128, 9, 4, 1, 18);  // cout 4 x 9 taps of channel k
    p.push_back(li);
    p.push_back(lw);
  }
  p.push_back(load(Buffer::NBout, kOut + 0x8000, 0, 256));  // the partial sums, widened
  p.back().push_next = 1;
  Instr c0 = conv(0, 0, true, false), c1 = conv(200, 128, true, true);
  c0.pop_prev = 1;
  c1.push_next = 1;
  p.push_back(c0);
  p.push_back(c1);
  Instr s = store(kOut, 0, 256);
  s.pop_prev = 1;
  p.push_back(s);
  p.push_back(op(Opcode::Sync));
  // The stored map back (4 planes of 8x8) and a 2x2 max pool of it, stored after the first.
  p.push_back(load(Buffer::NBin, kOut, 512, 64, 1, 4, 64, 64));
  p.back().push_next = 1;
  Instr mp = op(Opcode::Compute);
  mp.op = static_cast<uint32_t>(isa::ComputeOp::MaxPool);
  mp.cin = mp.cout = 4;
  mp.in_h = mp.in_w = 8;
  mp.out_h = mp.out_w = 4;
  mp.kh = mp.kw = mp.stride_h = mp.stride_w = 2;
  mp.dil_h = mp.dil_w = 1;
  mp.in_addr = 512;
  mp.out_addr = 1024;
  mp.final = 1;
  mp.pop_prev = mp.push_next = 1;
  p.push_back(mp);
  Instr s2 = store(kOut + 512, 1024, 64);
  s2.pop_prev = 1;
  p.push_back(s2);
  p.push_back(op(Opcode::End));
  h.program = p;
  h.read_addr = kOut;
  h.read_len = 512 + 128;
}

void expect_same_run(const RunResult& a, const RunResult& b) {
  EXPECT_EQ(a.readback, b.readback);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.stats.cycles, b.stats.cycles);
  EXPECT_EQ(a.stats.dram_read_bytes, b.stats.dram_read_bytes);
  EXPECT_EQ(a.stats.dram_write_bytes, b.stats.dram_write_bytes);
  EXPECT_EQ(a.stats.bw_read, b.stats.bw_read);
  EXPECT_EQ(a.stats.bw_write, b.stats.bw_write);
  for (int u = 0; u < hw::kNumUnits; ++u) EXPECT_EQ(a.stats.units[u].busy_cycles, b.stats.units[u].busy_cycles);
}

TEST_F(Accel, DataThreadGivesTheBytesAndCyclesOfOneThread) {
  const RunResult one = run_program(round_arch(), hw::Mode::Functional, two_layer_setup, false);
  const RunResult two = run_program(round_arch(), hw::Mode::Functional, two_layer_setup, true);
  ASSERT_FALSE(one.stats.fault.raised) << one.stats.fault.message;
  EXPECT_EQ(one.status, 2u);
  EXPECT_EQ(one.data_jobs, 0u);
  if (std::thread::hardware_concurrency() > 1) {
    EXPECT_EQ(two.data_jobs, 11u);  // every LOAD, COMPUTE and STORE
  }
  expect_same_run(one, two);
  // Not a vacuous comparison: the conv wrote non-zero values and the pool picked among them.
  int nonzero = 0;
  for (uint8_t b : one.readback) nonzero += b != 0;
  EXPECT_GT(nonzero, 200);
  const RunResult timing = run_program(round_arch(), hw::Mode::Timing, two_layer_setup, true);
  EXPECT_EQ(timing.stats.cycles, two.stats.cycles);
  EXPECT_EQ(timing.data_jobs, 0u);
}

// A STORE over a later instruction word, which the controller fetches after the STORE is done:
// the word written (END) is the one run, with and without the data thread. Left alone, the word
// there is a NOP, the last before PROG_LEN, and the run faults past it.
void self_modifying_setup(TestHost& h) {
  constexpr uint32_t kEndWord = 0x20000, kAt = 40;  // instruction 40 becomes END
  uint8_t end[isa::kInstrBytes];
  isa::to_bytes(isa::encode(op(Opcode::End)), end);
  h.data = {{kEndWord, std::vector<uint8_t>(end, end + isa::kInstrBytes)}};
  h.program = {load(Buffer::NBout, kEndWord, 0, isa::kInstrBytes / 2), op(Opcode::Sync),
               store(h.prog_addr + kAt * isa::kInstrBytes, 0, isa::kInstrBytes / 2), op(Opcode::Sync)};
  while (h.program.size() <= kAt) h.program.push_back(op(Opcode::Nop));
  h.read_addr = h.prog_addr + kAt * isa::kInstrBytes;
  h.read_len = isa::kInstrBytes;
}

TEST_F(Accel, StoreIntoTheProgramIsFetchedWithTheDataThread) {
  const RunResult one = run_program(round_arch(), hw::Mode::Functional, self_modifying_setup, false);
  const RunResult two = run_program(round_arch(), hw::Mode::Functional, self_modifying_setup, true);
  ASSERT_FALSE(one.stats.fault.raised) << one.stats.fault.message;
  EXPECT_EQ(one.status, 2u);  // ended at the END the STORE wrote, not past PROG_LEN
  expect_same_run(one, two);
  uint8_t end[isa::kInstrBytes];
  isa::to_bytes(isa::encode(op(Opcode::End)), end);
  EXPECT_EQ(two.readback, std::vector<uint8_t>(end, end + isa::kInstrBytes));
  // Without the STORE the NOP runs and the program runs past its end.
  const RunResult left = run_program(round_arch(), hw::Mode::Functional, [](TestHost& h) {
    self_modifying_setup(h);
    h.program[2] = op(Opcode::Nop);
  });
  EXPECT_TRUE(left.stats.fault.raised);
}

}  // namespace
}  // namespace fusesim::testing
