// Helpers for the hw tests: a small arch with round numbers, instruction builders, a DMA
// harness (DMA wired straight to the DRAM) and a tiny host that runs a whole program through
// the Accelerator's TLM socket and interrupt.
#pragma once

#include <tlm_utils/simple_initiator_socket.h>

#include <cstring>
#include <functional>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "accelerator.h"
#include "buffer.h"
#include "csr_block.h"
#include "dma.h"
#include "dram_model.h"
#include "interconnect.h"
#include "isa/isa.h"
#include "isa/map_desc.h"
#include "nfu.h"
#include "run_context.h"
#include "../support/sc_fixture.h"

namespace fusesim::testing {

using isa::Instr;

// 1 GHz and 16 GB/s give 16 bytes per cycle; 50 ns latency and 15 ns row miss are 50 and 15
// cycles; so every expected number below is plain integer arithmetic.
inline ArchParams round_arch() {
  ArchParams a;
  a.name = "test";
  a.clock_ghz = 1.0;
  a.tn = 16;
  a.nfu_stages = 3;
  a.nbin = {2048, 1, 32};
  a.nbout = {2048, 1, 64};
  a.sb = {32768, 1, 512};
  a.dma_burst_bytes = 64;
  a.dma_outstanding = 8;
  a.dma_setup_cycles = 4;
  a.dram_bandwidth_gbps = 16;
  a.dram_latency_ns = 50;
  a.dram_row_miss_ns = 15;
  a.dram_banks = 8;
  a.dram_row_bytes = 2048;
  a.dram_open_page = true;
  a.dram_bytes = 1ull << 32;
  a.queue_depth = 4;
  a.fetch_words = 8;
  return a;
}

inline hw::AcceleratorOptions options(hw::Mode mode, uint64_t bw_window, bool timeline) {
  hw::AcceleratorOptions o;
  o.mode = mode;
  o.bw_window = bw_window;
  o.keep_timeline = timeline;
  return o;
}

inline Instr op(isa::Opcode o) {
  Instr i;
  i.opcode = static_cast<uint32_t>(o);
  return i;
}

inline Instr load(isa::Buffer buf, uint32_t dram_addr, uint32_t buf_addr, uint32_t s0, uint32_t s1 = 1,
                  uint32_t s2 = 1, uint32_t stride1 = 0, uint32_t stride2 = 0) {
  Instr i = op(isa::Opcode::Load);
  i.buf = static_cast<uint32_t>(buf);
  i.dram_addr = dram_addr;
  i.buf_addr = buf_addr;
  i.size0 = s0;
  i.size1 = s1;
  i.size2 = s2;
  i.stride1 = stride1 ? stride1 : s0;
  i.stride2 = stride2 ? stride2 : s0 * s1;
  return i;
}

inline Instr store(uint32_t dram_addr, uint32_t buf_addr, uint32_t s0, uint32_t s1 = 1, uint32_t s2 = 1,
                   uint32_t stride1 = 0, uint32_t stride2 = 0) {
  Instr i = load(isa::Buffer::NBout, dram_addr, buf_addr, s0, s1, s2, stride1, stride2);
  i.opcode = static_cast<uint32_t>(isa::Opcode::Store);
  return i;
}

template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}
template <class T>
std::vector<T> values_of(const uint8_t* p, size_t n) {
  std::vector<T> v(n);
  std::memcpy(v.data(), p, n * sizeof(T));
  return v;
}

// The NFU on its own buffers, for timing formulas and for COMPUTEs run straight on the buffers.
struct NfuBench {
  hw::RunContext ctx{round_arch(), hw::AcceleratorOptions{}};
  hw::Buffer nbin{"NBin", ctx.arch().nbin}, sb{"SB", ctx.arch().sb}, nbout{"NBout", ctx.arch().nbout};
  hw::Nfu nfu{ctx, nbin, sb, nbout};
};

// DMA engines wired to the DRAM through the interconnect; runs a list of LOAD/STORE instructions one after
// the other on their engine and records each completion cycle.
struct DmaHarness : sc_core::sc_module {
  hw::RunContext ctx;
  hw::Buffer nbin, sb, nbout;
  hw::DramModel dram;
  hw::Interconnect interconnect;
  hw::CsrBlock csr;
  sc_core::sc_signal<bool> irq;
  hw::Dma load_dma, store_dma;
  std::vector<Instr> program;
  std::vector<isa::MapDesc> maps;  // the buf_desc register value of each instruction (default: dense)
  std::vector<uint64_t> done;

  SC_HAS_PROCESS(DmaHarness);
  DmaHarness(sc_core::sc_module_name n, const ArchParams& a, hw::Mode mode = hw::Mode::Functional)
      : sc_module(n),
        ctx(a, options(mode, 10, false)),
        nbin("NBin", a.nbin),
        sb("SB", a.sb),
        nbout("NBout", a.nbout),
        dram("dram", ctx),
        interconnect("interconnect", a.dram_bytes),
        csr("csr", ctx, [](uint32_t, uint32_t) {}),
        load_dma("load_dma", ctx, {&nbin, &sb, &nbout}, hw::kLoadUnit),
        store_dma("store_dma", ctx, {&nbin, &sb, &nbout}, hw::kStoreUnit) {
    load_dma.socket.bind(interconnect.target);
    store_dma.socket.bind(interconnect.target);
    interconnect.to_dram.bind(dram.socket);
    interconnect.to_csr.bind(csr.socket);
    csr.irq(irq);
    SC_THREAD(run);
  }
  void run() {
    ctx.begin_run();
    for (size_t i = 0; i < program.size() && !ctx.halted(); ++i) {
      const bool is_load = program[i].opcode == static_cast<uint32_t>(isa::Opcode::Load);
      const isa::MapDesc map = i < maps.size() ? maps[i] : isa::MapDesc{};
      const uint64_t d = (is_load ? load_dma : store_dma).execute(program[i], static_cast<uint32_t>(i), map);
      done.push_back(d);
      ctx.wait_until(d);
    }
  }
};

// What a whole-program run leaves behind.
struct RunResult {
  hw::Stats stats;
  bool irq_seen = false, irq_after_ack = true;
  uint32_t status = 0, error = 0, error_instr = 0;
  uint64_t csr_cycles = 0;
  int dbg_failures = 0;  // transport_dbg calls that moved fewer bytes than asked
  std::vector<uint8_t> readback;
  uint64_t data_jobs = 0;  // jobs handed to the data thread (0: none ran)
};

// The host driver of a test: places program and data with transport_dbg, programs the CSRs
// with timed b_transport, waits for the interrupt and reads the result back.
struct TestHost : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<TestHost> socket;
  sc_core::sc_in<bool> irq;
  uint32_t prog_addr = 0x1000;
  std::vector<Instr> program;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> data;
  std::vector<uint8_t> raw_program;  // used instead of `program` when not empty
  uint64_t read_addr = 0, read_len = 0;
  // A polling driver: with poll_ns > 0 the host reads STATUS and CYCLE every poll_ns after the
  // start until STATUS says done, recording each read, before it waits for the interrupt.
  uint64_t poll_ns = 0;
  struct Poll {
    uint64_t at_ns;  // when STATUS was read (SystemC time)
    uint32_t status, cycle;
  };
  std::vector<Poll> polls;
  std::function<void(const TestHost&)> on_done;  // called at the end of run()
  RunResult result;

  SC_HAS_PROCESS(TestHost);
  explicit TestHost(sc_core::sc_module_name n) : sc_module(n), socket("socket"), irq("irq") {
    SC_THREAD(run);
  }

  void dbg(tlm::tlm_command cmd, uint64_t addr, uint8_t* p, size_t n) {
    tlm::tlm_generic_payload gp;
    gp.set_command(cmd);
    gp.set_address(addr);
    gp.set_data_ptr(p);
    gp.set_data_length(static_cast<unsigned>(n));  // streaming width left unset, as debug transport allows
    if (socket->transport_dbg(gp) != n) result.dbg_failures += 1;
  }
  uint32_t csr(tlm::tlm_command cmd, uint32_t reg, uint32_t value = 0) {
    tlm::tlm_generic_payload gp;
    gp.set_command(cmd);
    gp.set_address(hw::kCsrBase + reg);
    gp.set_data_ptr(reinterpret_cast<unsigned char*>(&value));
    gp.set_data_length(4);
    gp.set_streaming_width(4);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(gp, delay);
    wait(delay);
    return value;
  }
  void run() {
    std::vector<uint8_t> words = raw_program;
    for (const Instr& in : program) {
      uint8_t w[isa::kInstrBytes];
      isa::to_bytes(isa::encode(in), w);
      words.insert(words.end(), w, w + isa::kInstrBytes);
    }
    dbg(tlm::TLM_WRITE_COMMAND, prog_addr, words.data(), words.size());
    for (auto& [addr, bytes] : data) dbg(tlm::TLM_WRITE_COMMAND, addr, bytes.data(), bytes.size());
    csr(tlm::TLM_WRITE_COMMAND, hw::kProgAddr, prog_addr);
    csr(tlm::TLM_WRITE_COMMAND, hw::kProgLen, static_cast<uint32_t>(words.size() / isa::kInstrBytes));
    csr(tlm::TLM_WRITE_COMMAND, hw::kIrqEnable, 1);
    csr(tlm::TLM_WRITE_COMMAND, hw::kCtrl, 1);
    while (poll_ns > 0) {
      const uint64_t at = static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e9 + 0.5);
      const uint32_t status = csr(tlm::TLM_READ_COMMAND, hw::kStatus);
      polls.push_back({at, status, csr(tlm::TLM_READ_COMMAND, hw::kCycleLo)});
      if (status & 2u) break;
      wait(sc_core::sc_time(static_cast<double>(poll_ns), sc_core::SC_NS));
    }
    if (!irq.read()) wait(irq.posedge_event());
    result.irq_seen = true;
    result.status = csr(tlm::TLM_READ_COMMAND, hw::kStatus);
    result.error = csr(tlm::TLM_READ_COMMAND, hw::kError);
    result.error_instr = csr(tlm::TLM_READ_COMMAND, hw::kErrorInstr);
    result.csr_cycles =
        csr(tlm::TLM_READ_COMMAND, hw::kCycleLo) | uint64_t{csr(tlm::TLM_READ_COMMAND, hw::kCycleHi)} << 32;
    csr(tlm::TLM_WRITE_COMMAND, hw::kIrqStatus, 1);  // acknowledge (write 1 to clear)
    wait(sc_core::SC_ZERO_TIME);
    result.irq_after_ack = irq.read();
    result.readback.resize(read_len);
    dbg(tlm::TLM_READ_COMMAND, read_addr, result.readback.data(), read_len);
    if (on_done) on_done(*this);
  }
};

// Elaborates an Accelerator and a TestHost in a fresh kernel, runs to completion (or
// starvation), and returns what the host saw. `setup` fills in the host's program and data.
// `data_thread`: AcceleratorOptions::data_thread (a functional run's data on a second thread).
template <class Setup>
RunResult run_program(const ArchParams& arch, hw::Mode mode, Setup setup, bool data_thread = true) {
  ::fusesim::testing::FreshKernel kernel;
  hw::AcceleratorOptions opt = options(mode, 100, true);
  opt.data_thread = data_thread;
  auto acc = std::make_unique<hw::Accelerator>("acc", arch, opt);
  auto host = std::make_unique<TestHost>("host");
  sc_core::sc_signal<bool> irq("irq_line");
  acc->irq(irq);
  host->irq(irq);
  host->socket.bind(acc->host_socket);
  setup(*host);
  ::fusesim::testing::sc_run();
  if (!acc->done()) acc->diagnose_unfinished();
  RunResult r = host->result;
  r.stats = acc->stats();
  r.data_jobs = acc->data_jobs();
  return r;
}

}  // namespace fusesim::testing
