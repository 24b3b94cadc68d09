// Optional VCD waveform of a run (AcceleratorOptions::vcd_path). The units report events
// (dispatch, start, finish, buffer regions touched, tokens); the tracer keeps one value per
// signal, records a change only when a value really changes, and writes the VCD itself when the
// run ends, merged with the DRAM bandwidth per window (known only once every burst is booked).
// Nothing changes per cycle, so a whole network stays small. docs/traces.md lists the signals.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "stats.h"

namespace fusesim::hw {

class RunContext;

// One waveform signal: its VCD name, width (0 = real), and the GTKWave group it belongs to.
struct TraceSignal {
  const char* name;
  uint32_t width;
  const char* group;
  const char* description;
};

enum TraceSig : uint32_t {
  kSigBusyLoad,
  kSigBusyCompute,
  kSigBusyStore,
  kSigQueueLoad,
  kSigQueueCompute,
  kSigQueueStore,
  kSigPcFetch,
  kSigPcLoad,
  kSigPcCompute,
  kSigPcStore,
  kSigLayerLoad,
  kSigLayerCompute,
  kSigLayerStore,
  kSigNBin,
  kSigSB,
  kSigNBout,
  kSigTokLoadToCompute,
  kSigTokComputeToLoad,
  kSigTokComputeToStore,
  kSigTokStoreToCompute,
  kSigDramReadBytes,
  kSigDramWriteBytes,
  kSigDramReadGbps,
  kSigDramWriteGbps,
  kNumTraceSigs
};

// The signal table, indexed by TraceSig; the VCD header and the GTKWave save file both use it.
const std::array<TraceSignal, kNumTraceSigs>& trace_signals();
// VCD scope that holds every signal ("accel"); GTKWave names a signal "accel.NAME[w-1:0]".
constexpr const char* kTraceScope = "accel";

class Tracer {
 public:
  // Opens `vcd_path` for writing (throws InputError when it cannot); records changes in cycles
  // [from_cycle, to_cycle] counted from CTRL.start. The file is written when the run ends.
  Tracer(RunContext& ctx, const std::string& vcd_path, uint64_t from_cycle = 0,
         uint64_t to_cycle = UINT64_MAX);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Controller: an instruction entered `unit`'s queue, which now holds `depth`.
  void dispatched(int unit, uint32_t index, uint32_t depth);
  // Controller: `unit` starts (busy) or finishes an instruction; its queue now holds `depth`.
  void started(int unit, uint32_t index, uint32_t layer, uint32_t depth);
  void finished(int unit);
  // DMA / NFU: the instruction running on `unit` touches [addr, addr + bytes) of `buffer`
  // (isa::Buffer numbering). Occupancy = bytes of the union of the regions in flight.
  void touch(int unit, int buffer, uint64_t addr, uint64_t bytes);
  void tokens(int channel, uint64_t count);

  // Writes the VCD (once): the recorded changes plus the DRAM bandwidth windows of `stats`.
  void write(uint64_t end_cycle, const Stats& stats);
  uint64_t changes() const { return changes_.size(); }

 private:
  struct Change {
    uint64_t cycle;  // from CTRL.start
    uint64_t value;  // integer, or the bits of a double for real signals
    uint32_t sig;
  };
  struct Region {
    int buffer;
    uint64_t begin, end;
  };

  RunContext& ctx_;
  std::string path_;
  std::FILE* file_;
  uint64_t from_, to_;
  bool written_ = false;
  std::array<uint64_t, kNumTraceSigs> value_{};    // current value of every signal
  std::array<uint64_t, kNumTraceSigs> initial_{};  // value at from_ (changes before the window)
  std::array<size_t, kNumTraceSigs> last_{};       // index in changes_ of each signal's last change
  std::array<uint64_t, kNumTraceSigs> before_{};   // value before that change
  std::vector<Change> changes_;
  std::array<std::vector<Region>, kNumUnits> regions_;

  void set(uint32_t sig, uint64_t value);
  void occupancy(int buffer);
};

}  // namespace fusesim::hw
