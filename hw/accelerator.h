// Top module of the accelerator: wires the controller, the load and store DMA, NBin/NBout/SB,
// the NFU, the DRAM model, the interconnect and the CSR block. The host sees one TLM target
// socket (DRAM at 0, CSRs at kCsrBase) and one interrupt line.
#pragma once

#include <tlm_utils/simple_target_socket.h>

#include <memory>
#include <string>
#include <systemc>
#include <tlm>

#include "isa/arch_params.h"
#include "stats.h"

namespace fusesim::hw {

// CSR map (byte offsets from kCsrBase; 32-bit registers)
constexpr uint64_t kCsrBase = 0x1'0000'0000ull;
constexpr uint64_t kCsrSpan = 0x100;  // bytes of CSR address space
enum Csr : uint32_t {
  kCtrl = 0x00,       // write 1: start
  kStatus = 0x04,     // bit0 busy, bit1 done, bit2 error
  kProgAddr = 0x08,   // DRAM byte address of the program
  kProgLen = 0x0C,    // number of instructions
  kIrqEnable = 0x10,  // bit0: raise irq on done or error
  kIrqStatus = 0x14,  // bit0 pending; write 1 to clear
  kCycleLo = 0x18,    // cycles since start (stops at done)
  kCycleHi = 0x1C,
  kError = 0x20,       // 0 none, 1 buffer-overflow, 2 dram-range, 3 decode, 4 deadlock
  kErrorInstr = 0x24,  // index of the faulting instruction
};

enum class Mode { Functional, Timing };

// A program that is still being generated while it runs (`fusesim run` overlaps codegen with
// the simulation on two cores). Before fetching words [first, end) the controller calls
// await(end), which returns once those words are final and in DRAM: the number of words the
// program is known to have, at least `end` or its whole length when that is shorter; -1 if its
// generation failed, which stops the run (a `program` fault). PROG_LEN then bounds the room
// the words have, and the program's END its length. The simulated run is the one of the same
// program placed whole before the start.
class ProgramFeed {
 public:
  virtual ~ProgramFeed() = default;
  virtual int64_t await(uint64_t end) = 0;
};

// Takes the DRAM bandwidth series (Stats::bw_read/bw_write) while the run goes on: the windows
// that have become final, in order, in batches of at least kBatch, on the simulation thread (a
// window is final once it ends by the current time: no burst can start in it any more). The
// rest of the series, the last window included, is only in the Stats at the end.
class BandwidthSink {
 public:
  static constexpr uint64_t kBatch = 4096;
  virtual ~BandwidthSink() = default;
  // Windows [first, first + n): the bytes read and written in each.
  virtual void windows(uint64_t first, const uint64_t* read, const uint64_t* written, uint64_t n) = 0;
};

struct AcceleratorOptions {
  Mode mode = Mode::Functional;
  uint64_t bw_window = 1000;   // cycles per bandwidth sample
  bool keep_timeline = false;  // record every instruction's start/end (for timeline.json)
  std::string vcd_path;        // non-empty: write a VCD waveform there (see hw/tracer.h)
  uint64_t trace_from = 0, trace_to = UINT64_MAX;  // VCD window, in cycles from CTRL.start
  ProgramFeed* feed = nullptr;  // a program still being generated (null: it is whole in DRAM)
  BandwidthSink* bw_sink = nullptr;  // takes the bandwidth windows as they become final
  // Functional mode on a host with more than one core: move the data and run the NFU kernels on a
  // second thread, in the order the simulation would (hw/data_thread.h). Same cycles, same bytes.
  bool data_thread = true;
};

class Controller;
class Dma;
class Nfu;
class Buffer;
class DramModel;
class Interconnect;
class CsrBlock;

class Accelerator : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Accelerator> host_socket;  // from the host driver
  sc_core::sc_out<bool> irq;

  Accelerator(sc_core::sc_module_name name, const ArchParams& arch, const AcceleratorOptions& opt);
  ~Accelerator() override;

  const Stats& stats() const;
  Stats& stats();
  bool done() const;  // END reached or a fault stopped the run
  // Before the run: `len` bytes at DRAM address `addr` as an initial memory image (as DRAMSys
  // loads initial contents), untimed and without a copy of whole pages: `data` must outlive the
  // accelerator unchanged.
  void map_dram_image(uint64_t addr, const uint8_t* data, uint64_t len);
  static constexpr uint64_t kImagePageBytes = 64 * 1024;  // the DRAM's pages, borrowed when whole
  // Called after sc_start returns: if the run never finished, turn the starvation into a
  // `deadlock` fault naming each queue's blocked instruction.
  void diagnose_unfinished();
  // Jobs handed to the data thread so far (0 without one: timing mode, data_thread off, one core).
  uint64_t data_jobs() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  void host_b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay);
  unsigned host_transport_dbg(tlm::tlm_generic_payload& p);
  bool host_get_direct_mem_ptr(tlm::tlm_generic_payload& p, tlm::tlm_dmi& dmi);  // DRAM pages only
};

}  // namespace fusesim::hw
