// Counters collected by the accelerator model during a run: per unit, per layer, per buffer,
// DRAM traffic, and faults. Plain C++ so that platform/report can use it without SystemC.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace fusesim::hw {

enum Unit { kLoadUnit = 0, kComputeUnit = 1, kStoreUnit = 2, kNumUnits = 3 };
const char* unit_name(int u);

// Token channels between neighbouring queues (docs/isa.md), named by who sends the token. A
// unit waiting on a channel names the stall's cause: the NFU waiting on kLoadToCompute waits
// for data, the load DMA waiting on kComputeToLoad waits for the NFU to free a buffer, ...
enum Channel {
  kLoadToCompute = 0,
  kComputeToLoad = 1,
  kComputeToStore = 2,
  kStoreToCompute = 3,
  kNumChannels = 4
};
const char* channel_name(int ch);      // "load_to_compute", ...
const char* stall_cause_name(int ch);  // the waiter's view: "nfu_wait_load", "load_wait_nfu", ...

struct UnitStats {
  uint64_t instrs = 0;
  uint64_t busy_cycles = 0;         // executing an instruction
  uint64_t stall_token_cycles = 0;  // waiting for a dependency token
  uint64_t stall_fetch_cycles = 0;  // queue empty: waiting for the controller to dispatch
  uint64_t idle_cycles = 0;         // after its last instruction until the end of the run
  // busy + stall_token + stall_fetch + idle == total cycles of the run
};

struct BufferStats {
  uint64_t read_bytes = 0, write_bytes = 0;
  uint64_t peak_bytes = 0;  // highest byte address touched + 1
};

struct LayerStats {  // per value of Instr::layer
  uint64_t first_cycle = UINT64_MAX, last_cycle = 0;
  uint64_t macs = 0;
  uint64_t nfu_busy_cycles = 0;
  uint64_t dram_read_bytes = 0, dram_write_bytes = 0;
  std::array<uint64_t, kNumUnits> stall_token_cycles{};
  // The same token waits split by the channel waited on; with the store-fence waits of the load
  // unit they sum to stall_token_cycles.
  std::array<uint64_t, kNumChannels> stall_channel_cycles{};
  uint64_t stall_fence_cycles = 0;
  // Queue empty before this layer's instruction arrived (the controller had not dispatched it).
  std::array<uint64_t, kNumUnits> stall_fetch_cycles{};
  uint64_t fetch_bytes = 0;              // instruction words of this layer read from DRAM
  std::array<BufferStats, 3> buffers{};  // NBin, SB, NBout
};

struct InstrRecord {  // one executed instruction, for timelines (kept only when asked for)
  uint32_t index, layer;
  uint8_t unit;
  uint64_t start, end;
};

struct Fault {
  bool raised = false;
  std::string kind;  // buffer-overflow, dram-range, decode, deadlock
  int64_t instr_index = -1;
  std::string unit;
  std::string message;
};

struct Stats {
  uint64_t cycles = 0;  // from CTRL.start to END
  uint64_t macs = 0;
  uint64_t dram_read_bytes = 0, dram_write_bytes = 0;  // accelerator traffic incl. instruction fetch
  uint64_t fetch_bytes = 0;
  uint64_t dram_row_hits = 0, dram_row_misses = 0;
  uint64_t dram_runs = 0;  // contiguous requests timed (a fetch, or one run of a LOAD/STORE)
  std::array<UnitStats, kNumUnits> units{};
  std::array<uint64_t, kNumChannels> stall_channel_cycles{};  // token waits by channel
  uint64_t stall_fence_cycles = 0;  // LOADs waiting at a store fence (counted as token stalls of the load unit)
  std::array<BufferStats, 3> buffers{};                       // NBin, SB, NBout
  std::vector<LayerStats> layers;
  // DRAM bytes per window of `bw_window` cycles
  uint64_t bw_window = 1000;
  std::vector<uint64_t> bw_read, bw_write;
  std::vector<InstrRecord> timeline;
  Fault fault;
};

}  // namespace fusesim::hw
