// Run reports: the stdout summary, report.json, layers.csv and bandwidth.csv.
#pragma once

#include <ostream>
#include <string>

#include "compiler/compiler.h"
#include "isa/arch_params.h"
#include "simulation.h"

namespace fusesim {

struct CheckResult {
  bool done = false;       // --check was asked for and ran
  bool passed = false;
  double max_abs_err = 0;
  double rel_err = 0;      // max |out - ref| / max |ref|
  uint64_t mismatches = 0; // elements that differ (int16: any bit; fp32: beyond tolerance)
  uint64_t elements = 0;
  std::string against;     // "reference executor" or the expected file
};

struct EnergyBreakdown {  // picojoules
  double mac = 0, nbin = 0, nbout = 0, sb = 0, dram = 0, static_ = 0;
  double total() const { return mac + nbin + nbout + sb + dram + static_; }
};

struct RunReport {
  std::string model_path, model_name;
  const ArchParams* arch = nullptr;
  compiler::CompileOptions copt;
  bool functional = true;
  const compiler::Program* program = nullptr;
  const SimResult* sim = nullptr;
  CheckResult check;
  // From loading the model until codegen ended (including it). The simulation starts as soon as
  // the schedule is made and runs alongside codegen, so the two phases overlap.
  double compile_seconds = 0;
  double wall_seconds = 0;  // loading, compiling and simulating, overlapped; 0: their sum
};

EnergyBreakdown energy_of(const ArchParams& arch, const hw::Stats& s);
EnergyBreakdown energy_of_layer(const ArchParams& arch, const hw::LayerStats& l, uint64_t cycles);

void print_summary(std::ostream& os, const RunReport& r);
// Writes report.json, layers.csv and bandwidth.csv into `dir` (created if needed), and
// timeline.json when the run kept its per-instruction timeline (SimOptions::timeline).
void write_reports(const std::string& dir, const RunReport& r);

}  // namespace fusesim
