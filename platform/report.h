// Run reports: the stdout summary, report.json, layers.csv and bandwidth.csv.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <fstream>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "compiler/compiler.h"
#include "hw/accelerator.h"
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

// bandwidth.csv written while the run goes on: the rows of the windows the DRAM reports final
// (hw::BandwidthSink, passed as SimOptions::bw_sink) are formatted and written by a thread of
// its own, on the core that is idle once codegen is done; write_reports() adds the rest at the
// end. Until then the file is DIR/bandwidth.csv.partial, removed if the run is abandoned.
class BandwidthCsvStream : public hw::BandwidthSink {
 public:
  BandwidthCsvStream(const std::string& dir, const ArchParams& arch, uint64_t bw_window);
  ~BandwidthCsvStream() override;
  BandwidthCsvStream(const BandwidthCsvStream&) = delete;
  BandwidthCsvStream& operator=(const BandwidthCsvStream&) = delete;
  void windows(uint64_t first, const uint64_t* read, const uint64_t* written, uint64_t n) override;
  const std::string& path() const { return path_; }
  // Waits until every window handed over is written, moves the file to its name and returns
  // how many rows (windows) it has.
  uint64_t finish();

 private:
  struct Batch {
    uint64_t first = 0;
    std::vector<uint64_t> read, written;
  };
  std::string path_, partial_;
  const ArchParams& arch_;
  uint64_t window_;
  std::ofstream file_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Batch> batches_;
  bool stopping_ = false, finished_ = false;
  uint64_t rows_ = 0;  // written by the thread; read after it is joined
  std::thread thread_;
  void loop();
  void stop();
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
  BandwidthCsvStream* bw_stream = nullptr;  // bandwidth.csv's rows so far (null: all written at the end)
};

EnergyBreakdown energy_of(const ArchParams& arch, const hw::Stats& s);
EnergyBreakdown energy_of_layer(const ArchParams& arch, const hw::LayerStats& l, uint64_t cycles);

void print_summary(std::ostream& os, const RunReport& r);
// Writes report.json, layers.csv and bandwidth.csv into `dir` (created if needed), and
// timeline.json when the run kept its per-instruction timeline (SimOptions::timeline).
void write_reports(const std::string& dir, const RunReport& r);

}  // namespace fusesim
