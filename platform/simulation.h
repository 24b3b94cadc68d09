// One co-simulation run: elaborate the accelerator and the host driver, run to the interrupt,
// and collect statistics and outputs. SystemC elaborates once per process, so call it once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "hw/stats.h"
#include "isa/arch_params.h"

namespace fusesim {
namespace hw {
class BandwidthSink;
}

struct SimOptions {
  bool functional = true;      // false: timing-only, no data moved or computed
  uint64_t bw_window = 1000;   // cycles per DRAM bandwidth sample
  bool timeline = false;       // keep per-instruction records
  std::string vcd_path;        // non-empty: write the VCD waveform there (hw/tracer.h)
  uint64_t trace_from = 0, trace_to = UINT64_MAX;  // VCD window, cycles from CTRL.start
  hw::BandwidthSink* bw_sink = nullptr;  // takes the bandwidth windows as they become final
  bool data_thread = true;     // functional: data and kernels on a second thread (hw/data_thread.h)
};

struct SimResult {
  hw::Stats stats;
  bool finished = false;       // END reached without a fault
  std::string fault;           // one line naming the fault, the instruction index and unit
  std::vector<std::vector<uint8_t>> outputs;  // functional runs
  double wall_seconds = 0;     // elaboration + simulation
};

// With `stream`, the program is still being generated (compiler::StreamedCompile, which has
// started): the run fetches its words as they become final and is the same run.
SimResult simulate(const ArchParams& arch, const compiler::Program& program,
                   const std::vector<uint8_t>& input, const SimOptions& opt,
                   compiler::WordStream* stream = nullptr);

}  // namespace fusesim
