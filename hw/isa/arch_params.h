// Plain, validated architecture parameters parsed from configs/arch/*.yaml. Shared by the
// compiler (tiling, cost model) and the hardware model (which turns them into sc_time values).
// Every key is documented in configs/arch/diannao.yaml.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fusesim {

struct BufferParams {
  uint64_t bytes = 0;
  uint32_t banks = 1;
  uint32_t port_bytes = 0;  // bytes per cycle through the buffer's port
};

struct EnergyParams {  // picojoules per access, and static power
  double mac_pj = 0, nbin_byte_pj = 0, nbout_byte_pj = 0, sb_byte_pj = 0, dram_byte_pj = 0;
  double static_mw = 0;
};

struct ArchParams {
  std::string name;
  std::string source;  // file it was read from
  double clock_ghz = 0.98;
  // NFU
  uint32_t tn = 16;
  uint32_t nfu_stages = 3;
  uint32_t nfu_pwl_segments = 16;  // NFU-3's interpolation table (hw/isa/numerics.h)
  // Buffers
  BufferParams nbin, nbout, sb;
  // DMA
  uint32_t dma_burst_bytes = 64;
  uint32_t dma_outstanding = 8;
  uint32_t dma_setup_cycles = 4;  // per instruction: descriptor decode and address generation
  // DRAM
  double dram_bandwidth_gbps = 12.8;
  double dram_latency_ns = 50;
  uint32_t dram_banks = 8;
  uint32_t dram_row_bytes = 2048;
  bool dram_open_page = true;
  double dram_row_miss_ns = 15;  // extra time of a row miss (precharge + activate)
  uint64_t dram_bytes = 1ull << 32;
  // Controller
  uint32_t queue_depth = 32;
  uint32_t fetch_words = 64;  // instructions fetched per DRAM read
  EnergyParams energy;

  // Derived figures
  double period_ns() const { return 1.0 / clock_ghz; }
  double dram_bytes_per_cycle() const { return dram_bandwidth_gbps / clock_ghz; }
  uint64_t dram_latency_cycles() const;
  uint64_t dram_row_miss_cycles() const;
  uint64_t onchip_bytes() const { return nbin.bytes + nbout.bytes + sb.bytes; }
};

// Reads and validates an arch file; `overrides` are dotted keys (e.g. buffers.sb.bytes) with
// YAML values applied before validation. Throws InputError naming file:line:col and key path.
ArchParams load_arch(const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& overrides = {});

}  // namespace fusesim
