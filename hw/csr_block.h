// The host-visible control and status registers (map in accelerator.h) and the interrupt line.
#pragma once

#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <functional>
#include <systemc>
#include <tlm>

#include "run_context.h"

namespace fusesim::hw {

class CsrBlock : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<CsrBlock> socket;
  sc_core::sc_out<bool> irq;

  // `start` is called on CTRL.start with PROG_ADDR and PROG_LEN.
  CsrBlock(sc_core::sc_module_name name, RunContext& ctx, std::function<void(uint32_t, uint32_t)> start);

  // Called when the run ends (END or fault): sets done/error and the pending interrupt.
  void run_finished();
  static uint32_t error_code(const std::string& fault_kind);

 private:
  RunContext& ctx_;
  std::function<void(uint32_t, uint32_t)> start_;
  uint32_t prog_addr_ = 0, prog_len_ = 0, irq_enable_ = 0, irq_pending_ = 0;
  sc_core::sc_event irq_update_;

  uint32_t read_reg(uint32_t offset) const;
  void write_reg(uint32_t offset, uint32_t value);
  void drive_irq();
  bool access(tlm::tlm_generic_payload& p);
  void b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& p);
};

}  // namespace fusesim::hw
