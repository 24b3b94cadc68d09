// DRAM behind a TLM-2.0 target socket: a shared bandwidth reservation (busy-until) plus
// first-word latency and per-bank row buffers, over sparse storage of the 32-bit space.
#pragma once

#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <memory>
#include <systemc>
#include <tlm>
#include <vector>

#include "dram_request.h"
#include "run_context.h"

namespace fusesim::hw {

class DramModel : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<DramModel> socket;

  DramModel(sc_core::sc_module_name name, RunContext& ctx);

  // Times `len` bytes at `addr` split into bursts; returns the absolute cycle the last byte
  // has moved. `counted` requests go into the run statistics.
  uint64_t schedule(uint64_t addr, uint64_t len, bool write, uint64_t issue_cycle, uint32_t burst_bytes,
                    BurstWindow* window, bool counted);
  // Untimed data access (reads of never-written memory give 0).
  void read(uint64_t addr, uint8_t* dst, uint64_t len);
  void write(uint64_t addr, const uint8_t* src, uint64_t len);

 private:
  static constexpr uint64_t kPageBytes = 64 * 1024;
  RunContext& ctx_;
  uint64_t bytes_;
  // Bandwidth as an exact ratio: one byte takes byte_ticks_ ticks, a cycle is cycle_ticks_.
  uint64_t byte_ticks_, cycle_ticks_;
  uint64_t busy_until_ticks_ = 0;
  uint64_t latency_, row_miss_;
  std::vector<int64_t> open_row_;  // per bank; -1 none
  std::vector<std::unique_ptr<uint8_t[]>> pages_;

  uint8_t* page(uint64_t index, bool create);
  template <class Fn>
  void for_each_page(uint64_t addr, uint64_t len, Fn fn);
  bool row_hit(uint64_t addr);
  void count(uint64_t bytes, bool write, uint64_t cycle, bool hit);

  void b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& p);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& p, tlm::tlm_dmi& dmi);
  bool in_range(const tlm::tlm_generic_payload& p) const;
  static bool supported(const tlm::tlm_generic_payload& p);
};

}  // namespace fusesim::hw
