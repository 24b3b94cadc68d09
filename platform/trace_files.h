// Files for the trace viewers: the GTKWave save file that groups the VCD's signals, the
// Chrome trace-event timeline (Perfetto, chrome://tracing) and the VCD -> FST conversion.
// docs/traces.md describes what each shows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hw/stats.h"

namespace fusesim {

// trace.gtkw for `gtkwave trace.vcd trace.gtkw`: one group per concern (units, queues, program
// counters, layers, buffer occupancy, tokens, DRAM), built from hw::trace_signals().
void write_gtkw(const std::string& path, const std::string& vcd_path);

// timeline.json: one track per unit (load DMA, NFU, store DMA), one complete ("X") slice per
// executed instruction named after its layer (`layer_names[Instr::layer]`, or "layer N"), plus
// DRAM read/write bandwidth counters per window. ts and dur are microseconds of simulated time
// (cycle x period); each slice's args give its exact cycles and instruction index.
void write_timeline_json(const std::string& path, const hw::Stats& stats,
                         const std::vector<std::string>& layer_names, uint64_t period_ps, double clock_ghz);

// Runs `vcd2fst VCD FST` when vcd2fst is on the PATH. Returns a one-line message saying what
// happened; `ok` is false when the tool is missing or failed.
struct FstResult {
  bool ok = false;
  std::string message;
};
FstResult convert_to_fst(const std::string& vcd_path, const std::string& fst_path);

}  // namespace fusesim
