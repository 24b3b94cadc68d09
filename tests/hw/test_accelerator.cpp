// Whole programs through the Accelerator with a tiny host: CSRs, IRQ, controller, tokens,
// identical cycles in timing and functional mode, and reported faults.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "../support/sc_fixture.h"
#include "hw_harness.h"

namespace fusesim::testing {
namespace {

using isa::Buffer;
using isa::Opcode;
using Accel = ScTest;

constexpr uint32_t kIn = 0x10000, kW = 0x20000, kOut = 0x30000;

// A 3x3 conv of a 4x4 map of ones, zero-padded by the LOAD to 6x6, with all-ones weights:
// each output counts its in-map neighbours (4 at corners, 6 on edges, 9 inside).
std::vector<Instr> box_sum_program() {
  Instr li = load(Buffer::NBin, kIn, 0, 6, 6, 1, 4);
  li.pad_top = li.pad_bottom = li.pad_left = li.pad_right = 1;
  Instr lw = load(Buffer::SB, kW, 0, 9);
  lw.push_next = 1;
  Instr c = op(Opcode::Compute);
  c.op = static_cast<uint32_t>(isa::ComputeOp::Conv);
  c.cin = c.cout = 1;
  c.in_h = c.in_w = 6;
  c.out_h = c.out_w = 4;
  c.kh = c.kw = 3;
  c.stride_h = c.stride_w = c.dil_h = c.dil_w = 1;
  c.final = 1;
  c.shift = 12;
  c.fine = 1;
  c.pop_prev = c.push_next = 1;
  Instr s = store(kOut, 0, 16);
  s.pop_prev = 1;
  return {li, lw, c, s, op(Opcode::End)};
}

void expect_accounting_adds_up(const hw::Stats& s) {
  for (int u = 0; u < hw::kNumUnits; ++u) {
    const hw::UnitStats& us = s.units[u];
    EXPECT_EQ(us.busy_cycles + us.stall_token_cycles + us.stall_fetch_cycles + us.idle_cycles, s.cycles)
        << hw::unit_name(u);
  }
}

void box_sum_setup(TestHost& h) {
  h.program = box_sum_program();
  h.data = {{kIn, bytes_of(std::vector<int16_t>(16, 256))}, {kW, bytes_of(std::vector<int16_t>(9, 4096))}};
  h.read_addr = kOut;
  h.read_len = 32;
}

TEST_F(Accel, SmallConvProgramComputesAndInterrupts) {
  const RunResult r = run_program(round_arch(), hw::Mode::Functional, box_sum_setup);
  ASSERT_TRUE(r.irq_seen);
  ASSERT_FALSE(r.stats.fault.raised) << r.stats.fault.message;
  EXPECT_EQ(r.dbg_failures, 0);
  EXPECT_EQ(r.status, 2u);  // done, not busy, no error
  const std::vector<int16_t> counts = {4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4};
  std::vector<int16_t> expected;
  for (int16_t c : counts) expected.push_back(static_cast<int16_t>(c * 256));
  EXPECT_EQ(values_of<int16_t>(r.readback.data(), 16), expected);
  EXPECT_EQ(r.csr_cycles, r.stats.cycles);
  EXPECT_FALSE(r.irq_after_ack);  // IRQ_STATUS is write-1-to-clear
  EXPECT_EQ(r.stats.macs, 16u * 9u);
  EXPECT_EQ(r.stats.fetch_bytes, 5u * 32u);
  // DRAM bytes: 32 of input, 18 of weights, 160 of program read; 32 of output written.
  EXPECT_EQ(r.stats.dram_read_bytes, 32u + 18u + 160u);
  EXPECT_EQ(r.stats.dram_write_bytes, 32u);
}

TEST_F(Accel, CycleAccountingAddsUp) {
  const RunResult r = run_program(round_arch(), hw::Mode::Functional, box_sum_setup);
  ASSERT_GT(r.stats.cycles, 0u);
  expect_accounting_adds_up(r.stats);
  EXPECT_EQ(r.stats.units[hw::kLoadUnit].instrs, 2u);
  // The compute unit was busy for exactly the NFU formula: a 1-channel conv packs its 9 taps
  // into the 16 lanes (cin < Tn), so 16 blocks * ceil(1 * 9 / 16) + 3 stages.
  EXPECT_EQ(r.stats.units[hw::kComputeUnit].busy_cycles, 16u * 1u + 3u);
  uint64_t rd = 0;
  for (uint64_t v : r.stats.bw_read) rd += v;
  EXPECT_EQ(rd, r.stats.dram_read_bytes);
  EXPECT_EQ(r.stats.timeline.size(), 4u);
  // Layers see the DMA traffic; the rest of the DRAM reads are instruction fetch.
  uint64_t layer_rd = 0, layer_wr = 0;
  for (const hw::LayerStats& l : r.stats.layers) {
    layer_rd += l.dram_read_bytes;
    layer_wr += l.dram_write_bytes;
  }
  EXPECT_EQ(layer_rd + r.stats.fetch_bytes, r.stats.dram_read_bytes);
  EXPECT_EQ(layer_wr, r.stats.dram_write_bytes);
}

TEST_F(Accel, TimingModeTakesIdenticalCycles) {
  const RunResult f = run_program(round_arch(), hw::Mode::Functional, box_sum_setup);
  const RunResult t = run_program(round_arch(), hw::Mode::Timing, box_sum_setup);
  ASSERT_FALSE(t.stats.fault.raised);
  EXPECT_EQ(f.stats.cycles, t.stats.cycles);
  EXPECT_EQ(f.stats.dram_read_bytes, t.stats.dram_read_bytes);
  for (int u = 0; u < hw::kNumUnits; ++u)
    EXPECT_EQ(f.stats.units[u].busy_cycles, t.stats.units[u].busy_cycles);
  EXPECT_EQ(values_of<int16_t>(t.readback.data(), 16), std::vector<int16_t>(16, 0));  // nothing stored
}

// conv (bias 0.5, partial sums kept) + conv accumulating onto them (final) + 2x2 max pool
// reading NBout: the centre of the box sum is 9, so every pooled quadrant is 2 * 9 + 0.5.
std::vector<Instr> two_pass_program(isa::DType dtype) {
  std::vector<Instr> p = box_sum_program();
  // ISA v2: the bias sits right after the 3x3 weights in SB
  const uint32_t bias_sb = 9 * isa::data_bytes(dtype);
  Instr lb = load(Buffer::SB, kW + 64, bias_sb, 1);
  lb.push_next = 1;
  p[1].push_next = 0;
  Instr first = p[2], second = p[2];
  first.has_bias = 1;
  first.final = 0;
  first.push_next = 0;
  second.pop_prev = 0;
  second.accumulate = 1;
  second.push_next = 0;
  Instr pool = op(Opcode::Compute);
  pool.op = static_cast<uint32_t>(isa::ComputeOp::MaxPool);
  pool.in_buf = static_cast<uint32_t>(Buffer::NBout);
  pool.cin = pool.cout = 1;
  pool.in_h = pool.in_w = 4;
  pool.out_h = pool.out_w = 2;
  pool.kh = pool.kw = pool.stride_h = pool.stride_w = 2;
  pool.out_addr = 256;
  pool.push_next = 1;
  Instr st = store(kOut, 256, 4);
  st.pop_prev = 1;
  std::vector<Instr> prog = {p[0], p[1], lb, first, second, pool, st, op(Opcode::End)};
  for (Instr& in : prog) in.dtype = static_cast<uint32_t>(dtype);
  return prog;
}

TEST_F(Accel, BiasAccumulateAndPoolFromNBoutInt16) {
  const RunResult r = run_program(round_arch(), hw::Mode::Functional, [](TestHost& h) {
    h.program = two_pass_program(isa::DType::Int16);
    h.data = {{kIn, bytes_of(std::vector<int16_t>(16, 256))},
              {kW, bytes_of(std::vector<int16_t>(9, 4096))},
              {kW + 64, bytes_of(std::vector<int16_t>{128})}};
    h.read_addr = kOut;
    h.read_len = 8;
  });
  ASSERT_FALSE(r.stats.fault.raised) << r.stats.fault.message;
  EXPECT_EQ(values_of<int16_t>(r.readback.data(), 4),
            std::vector<int16_t>(4, static_cast<int16_t>(18.5 * 256)));
  EXPECT_EQ(r.stats.macs, 2u * 16u * 9u);
}

TEST_F(Accel, BiasAccumulateAndPoolFromNBoutFp32) {
  const RunResult r = run_program(round_arch(), hw::Mode::Functional, [](TestHost& h) {
    h.program = two_pass_program(isa::DType::Fp32);
    h.data = {{kIn, bytes_of(std::vector<float>(16, 1.f))},
              {kW, bytes_of(std::vector<float>(9, 1.f))},
              {kW + 64, bytes_of(std::vector<float>{0.5f})}};
    h.read_addr = kOut;
    h.read_len = 16;
  });
  ASSERT_FALSE(r.stats.fault.raised) << r.stats.fault.message;
  EXPECT_EQ(values_of<float>(r.readback.data(), 4), std::vector<float>(4, 18.5f));
}

// Without tokens, STORE could read NBout before the LOAD has filled it; SYNC orders them.
TEST_F(Accel, SyncWaitsForAllQueuesToDrain) {
  const std::vector<int16_t> values = {1, -2, 300, -32768};
  const RunResult r = run_program(round_arch(), hw::Mode::Functional, [&](TestHost& h) {
    h.program = {load(Buffer::NBout, kIn, 0, 4), op(Opcode::Sync), store(kOut, 0, 4), op(Opcode::End)};
    h.data = {{kIn, bytes_of(values)}};
    h.read_addr = kOut;
    h.read_len = 8;
  });
  ASSERT_FALSE(r.stats.fault.raised) << r.stats.fault.message;
  EXPECT_EQ(values_of<int16_t>(r.readback.data(), 4), values);
  const auto& tl = r.stats.timeline;
  ASSERT_EQ(tl.size(), 2u);
  EXPECT_GE(tl[1].start, tl[0].end);
}

// The compute waits for a token from the load queue that no instruction ever sends.
TEST_F(Accel, TokenDeadlockIsReportedNotHung) {
  const RunResult r = run_program(round_arch(), hw::Mode::Functional, [](TestHost& h) {
    Instr c = box_sum_program()[2];
    h.program = {load(Buffer::NBin, kIn, 0, 4), c, op(Opcode::End)};
  });
  ASSERT_TRUE(r.stats.fault.raised);
  EXPECT_EQ(r.stats.fault.kind, "deadlock");
  EXPECT_EQ(r.stats.fault.instr_index, 1);
  EXPECT_EQ(r.stats.fault.unit, "compute");
  EXPECT_NE(r.stats.fault.message.find("instruction 1 waits for a token from load"), std::string::npos)
      << r.stats.fault.message;
  EXPECT_TRUE(r.irq_seen);  // detected live: the host is interrupted
  EXPECT_EQ(r.error, 4u);
  EXPECT_EQ(r.error_instr, 1u);
  EXPECT_EQ(r.status & 4u, 4u);
  expect_accounting_adds_up(r.stats);  // also on a faulted run
}

// The controller runs a program on a local clock ahead of SystemC's time (temporal decoupling,
// hw/controller.cpp), but a driver that polls the CSRs sees the run as SystemC's time has it:
// busy, with CYCLE counting, until the cycle it ends, then done (and a fault's bit and ERROR only
// then). The run's figures are those of a host that waits for the interrupt.
TEST_F(Accel, PollingHostSeesTheRunAtSystemCTime) {
  for (const bool faulty : {false, true}) {
    SCOPED_TRACE(faulty ? "deadlocked program" : "box sum");
    const auto setup = [&](TestHost& h) {
      box_sum_setup(h);
      if (faulty) h.program = {load(Buffer::NBin, kIn, 0, 4), box_sum_program()[2], op(Opcode::End)};
    };
    const RunResult quiet = run_program(round_arch(), hw::Mode::Timing, setup);
    std::vector<TestHost::Poll> polls;
    const RunResult r = run_program(round_arch(), hw::Mode::Timing, [&](TestHost& h) {
      setup(h);
      h.poll_ns = 7;
      h.on_done = [&](const TestHost& host) { polls = host.polls; };
    });
    EXPECT_EQ(r.stats.cycles, quiet.stats.cycles);
    EXPECT_EQ(r.stats.dram_read_bytes, quiet.stats.dram_read_bytes);
    EXPECT_EQ(r.status, quiet.status);
    EXPECT_EQ(r.error, faulty ? 4u : 0u);
    ASSERT_GE(polls.size(), 4u);
    // 1 GHz: a nanosecond is a cycle. STATUS is read at at_ns, CYCLE a cycle later.
    const uint64_t start = polls[0].at_ns + 1 - polls[0].cycle, end = start + r.stats.cycles;
    size_t busy = 0;
    for (const auto& p : polls) {
      if (p.at_ns < end) {
        ++busy;
        EXPECT_EQ(p.status, 1u) << "at " << p.at_ns;
        EXPECT_EQ(p.cycle, p.at_ns + 1 - start) << "at " << p.at_ns;
      } else {
        EXPECT_EQ(p.status, faulty ? 6u : 2u) << "at " << p.at_ns;
        EXPECT_EQ(p.cycle, r.stats.cycles) << "at " << p.at_ns;
      }
    }
    EXPECT_EQ(busy, polls.size() - 1);  // the last poll is the first after the end
    EXPECT_GE(busy, 3u);
  }
}

TEST_F(Accel, UndecodableWordIsReported) {
  const RunResult r = run_program(round_arch(), hw::Mode::Functional, [](TestHost& h) {
    for (const Instr& in : {load(Buffer::NBin, kIn, 0, 4), op(Opcode::Nop)}) {
      uint8_t w[isa::kInstrBytes];
      isa::to_bytes(isa::encode(in), w);
      h.raw_program.insert(h.raw_program.end(), w, w + isa::kInstrBytes);
    }
    std::vector<uint8_t> bad(isa::kInstrBytes, 0);
    bad[0] = 0x0F;  // opcode 15 does not exist
    h.raw_program.insert(h.raw_program.end(), bad.begin(), bad.end());
  });
  ASSERT_TRUE(r.stats.fault.raised);
  EXPECT_EQ(r.stats.fault.kind, "decode");
  EXPECT_EQ(r.stats.fault.instr_index, 2);
  EXPECT_EQ(r.error, 3u);
  EXPECT_EQ(r.error_instr, 2u);
}

// The conv's output map (4x4x4 bytes at 2040) leaves the 2 KiB NBout.
TEST_F(Accel, ComputeBufferOverflowNamesNfu) {
  const RunResult r = run_program(round_arch(), hw::Mode::Functional, [](TestHost& h) {
    std::vector<Instr> p = box_sum_program();
    p[2].out_addr = 2040;
    h.program = p;
  });
  ASSERT_TRUE(r.stats.fault.raised);
  EXPECT_EQ(r.stats.fault.kind, "buffer-overflow");
  EXPECT_EQ(r.stats.fault.instr_index, 2);
  EXPECT_EQ(r.stats.fault.unit, "compute");
  EXPECT_EQ(r.error, 1u);
  expect_accounting_adds_up(r.stats);
}

TEST_F(Accel, ProgramWithoutEndIsReported) {
  const RunResult r = run_program(round_arch(), hw::Mode::Functional,
                                  [](TestHost& h) { h.program = {load(Buffer::NBin, kIn, 0, 4)}; });
  ASSERT_TRUE(r.stats.fault.raised);
  EXPECT_EQ(r.stats.fault.kind, "decode");
  EXPECT_EQ(r.stats.fault.instr_index, 1);
}

// With a VCD path the run writes a waveform whose busy lines toggle once per instruction.
TEST_F(Accel, VcdTraceRecordsUnitActivity) {
  const std::string path = ::testing::TempDir() + "fusesim_hw_trace_" + std::to_string(::getpid()) + ".vcd";
  std::remove(path.c_str());
  {
    ArchParams arch = round_arch();
    ::fusesim::testing::FreshKernel kernel;
    hw::AcceleratorOptions opt;
    opt.vcd_path = path;
    auto acc = std::make_unique<hw::Accelerator>("acc", arch, opt);
    auto host = std::make_unique<TestHost>("host");
    sc_core::sc_signal<bool> irq("irq_line");
    acc->irq(irq);
    host->irq(irq);
    host->socket.bind(acc->host_socket);
    box_sum_setup(*host);
    ::fusesim::testing::sc_run();
    ASSERT_TRUE(acc->done());
  }  // closes the trace file
  std::ifstream f(path);
  ASSERT_TRUE(f.good()) << path;
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string vcd = ss.str();
  for (const char* name :
       {"busy_load", "busy_compute", "busy_store", "queue_load", "nfu_layer", "pc", "dram_read_bytes"})
    EXPECT_NE(vcd.find(name), std::string::npos) << name;
  EXPECT_NE(vcd.find("#"), std::string::npos);  // at least one time step with changes
}

// The host can take a DMI pointer to a DRAM page; unmapped addresses are TLM address errors.
struct Probe : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Probe> socket{"socket"};
  explicit Probe(sc_core::sc_module_name n) : sc_module(n) {}
};

TEST_F(Accel, HostDmiAndUnmappedAddresses) {
  hw::Accelerator acc("acc", round_arch(), hw::AcceleratorOptions{});
  Probe host("host");
  sc_core::sc_signal<bool> irq("irq_line");
  acc.irq(irq);
  host.socket.bind(acc.host_socket);
  ::fusesim::testing::sc_run(sc_core::SC_ZERO_TIME);  // elaborate
  auto& probe = host.socket;
  tlm::tlm_generic_payload p;
  tlm::tlm_dmi dmi;
  p.set_address(0x12345);
  ASSERT_TRUE(probe->get_direct_mem_ptr(p, dmi));
  EXPECT_LE(dmi.get_start_address(), 0x12345u);
  EXPECT_GE(dmi.get_end_address(), 0x12345u);
  dmi.get_dmi_ptr()[0x12345 - dmi.get_start_address()] = 0x5A;
  uint8_t byte = 0;
  p.set_command(tlm::TLM_READ_COMMAND);
  p.set_data_ptr(&byte);
  p.set_data_length(1);
  EXPECT_EQ(probe->transport_dbg(p), 1u);
  EXPECT_EQ(byte, 0x5A);

  uint32_t word = 0;
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  p.set_address(hw::kCsrBase + hw::kCsrSpan);  // just past the CSRs
  p.set_data_ptr(reinterpret_cast<uint8_t*>(&word));
  p.set_data_length(4);
  p.set_streaming_width(4);
  probe->b_transport(p, delay);
  EXPECT_EQ(p.get_response_status(), tlm::TLM_ADDRESS_ERROR_RESPONSE);
}


// ISA v3 store fence: a copy (LOAD, act, STORE) into kOut, then a second copy that reads kOut
// back into kOut + 0x100. With the fence the second LOAD starts only once the STORE it reads has
// completed and moves the stored values; without it nothing orders the two (the race a barrier
// used to prevent), and the LOAD runs while the STORE is still in flight.
constexpr uint32_t kOut2 = kOut + 0x100;
std::vector<Instr> copy_twice_program(bool fence) {
  auto act = [](uint32_t in_addr, uint32_t out_addr) {
    Instr c = op(Opcode::Compute);
    c.op = static_cast<uint32_t>(isa::ComputeOp::Act);
    c.cin = c.cout = 16;
    c.out_h = c.out_w = 1;
    c.in_addr = in_addr;
    c.out_addr = out_addr;
    c.pop_prev = c.push_next = 1;
    return c;
  };
  Instr l1 = load(Buffer::NBin, kIn, 0, 16);
  l1.push_next = 1;
  Instr s1 = store(kOut, 0, 16);
  s1.pop_prev = 1;
  Instr l2 = load(Buffer::NBin, kOut, 64, 16);
  l2.push_next = 1;
  l2.store_fence = fence;
  Instr s2 = store(kOut2, 128, 16);
  s2.pop_prev = 1;
  return {l1, act(0, 0), s1, l2, act(64, 128), s2, op(Opcode::End)};
}

std::vector<int16_t> ramp16() {
  std::vector<int16_t> v;
  for (int i = 0; i < 16; ++i) v.push_back(static_cast<int16_t>(256 * (i + 1)));
  return v;
}

const hw::InstrRecord& record_of(const hw::Stats& s, uint32_t index) {
  for (const hw::InstrRecord& r : s.timeline)
    if (r.index == index) return r;
  throw std::runtime_error("instruction not in the timeline");
}

TEST_F(Accel, StoreFenceOrdersALoadAfterTheStoreItReads) {
  for (bool fence : {true, false}) {
    const RunResult r = run_program(round_arch(), hw::Mode::Functional, [&](TestHost& h) {
      h.program = copy_twice_program(fence);
      h.data = {{kIn, bytes_of(ramp16())}};
      h.read_addr = kOut2;
      h.read_len = 32;
    });
    ASSERT_FALSE(r.stats.fault.raised) << r.stats.fault.message;
    const hw::InstrRecord &st = record_of(r.stats, 2), &ld = record_of(r.stats, 3);
    if (fence) {
      EXPECT_GE(ld.start, st.end);
      EXPECT_GT(r.stats.stall_fence_cycles, 0u);
      EXPECT_EQ(values_of<int16_t>(r.readback.data(), 16), ramp16());
    } else {
      EXPECT_LT(ld.start, st.end);  // nothing held it back
      EXPECT_EQ(r.stats.stall_fence_cycles, 0u);
    }
    expect_accounting_adds_up(r.stats);
  }
}

// A fence with slack skips the latest stores: here the only earlier STORE is excused, so the
// LOAD does not wait at all.
TEST_F(Accel, StoreFenceSlackExcusesTheLatestStores) {
  const RunResult r = run_program(round_arch(), hw::Mode::Timing, [&](TestHost& h) {
    h.program = copy_twice_program(true);
    h.program[3].fence_slack = 1;
    h.data = {{kIn, bytes_of(ramp16())}};
  });
  ASSERT_FALSE(r.stats.fault.raised) << r.stats.fault.message;
  EXPECT_LT(record_of(r.stats, 3).start, record_of(r.stats, 2).end);
  EXPECT_EQ(r.stats.stall_fence_cycles, 0u);
}

}  // namespace
}  // namespace fusesim::testing
