// CSR reads and writes. Registers are 32-bit and word-aligned; other accesses get a TLM error.
#include "csr_block.h"

#include <cstring>
#include <utility>

#include "accelerator.h"

namespace fusesim::hw {

CsrBlock::CsrBlock(sc_core::sc_module_name name, RunContext& ctx,
                   std::function<void(uint32_t, uint32_t)> start)
    : sc_module(name), socket("socket"), irq("irq"), ctx_(ctx), start_(std::move(start)) {
  socket.register_b_transport(this, &CsrBlock::b_transport);
  socket.register_transport_dbg(this, &CsrBlock::transport_dbg);
  irq.initialize(false);
  // The irq port is written from a method so that any process (or the host) can change it.
  SC_HAS_PROCESS(CsrBlock);
  SC_METHOD(drive_irq);
  sensitive << irq_update_;
  dont_initialize();
}

uint32_t CsrBlock::error_code(const std::string& kind) {
  if (kind == "buffer-overflow") return 1;
  if (kind == "dram-range") return 2;
  if (kind == "decode") return 3;
  if (kind == "deadlock") return 4;
  return 0;
}

uint32_t CsrBlock::read_reg(uint32_t offset) const {
  const Stats& s = ctx_.stats();
  const bool busy = ctx_.started() && !ctx_.finished();
  // A fault shows once the run is finished as SystemC's time has it (RunContext::enter_local).
  const bool halted = ctx_.finished() && ctx_.halted();
  switch (offset) {
    case kCtrl:
      return 0;
    case kStatus:
      return (busy ? 1u : 0u) | (ctx_.finished() ? 2u : 0u) | (halted ? 4u : 0u);
    case kProgAddr:
      return prog_addr_;
    case kProgLen:
      return prog_len_;
    case kIrqEnable:
      return irq_enable_;
    case kIrqStatus:
      return irq_pending_;
    case kCycleLo:
      return static_cast<uint32_t>(ctx_.elapsed());
    case kCycleHi:
      return static_cast<uint32_t>(ctx_.elapsed() >> 32);
    case kError:
      return halted ? error_code(s.fault.kind) : 0;
    case kErrorInstr:
      return halted ? static_cast<uint32_t>(s.fault.instr_index) : 0;
  }
  return 0;
}

void CsrBlock::write_reg(uint32_t offset, uint32_t value) {
  switch (offset) {
    case kCtrl:
      // A start while a run is in progress is ignored; one run per accelerator instance.
      if ((value & 1) && !ctx_.started()) start_(prog_addr_, prog_len_);
      break;
    case kProgAddr:
      prog_addr_ = value;
      break;
    case kProgLen:
      prog_len_ = value;
      break;
    case kIrqEnable:
      irq_enable_ = value & 1;
      irq_update_.notify(sc_core::SC_ZERO_TIME);
      break;
    case kIrqStatus:
      irq_pending_ &= ~(value & 1);
      irq_update_.notify(sc_core::SC_ZERO_TIME);
      break;
    default:
      break;  // read-only registers ignore writes
  }
}

void CsrBlock::run_finished() {
  irq_pending_ = 1;
  irq_update_.notify(sc_core::SC_ZERO_TIME);
}

void CsrBlock::drive_irq() { irq.write(irq_enable_ && irq_pending_); }

bool CsrBlock::access(tlm::tlm_generic_payload& p) {
  const uint64_t a = p.get_address();
  if (p.get_data_length() != 4 || a % 4 != 0 || a >= kCsrSpan || p.get_byte_enable_ptr()) {
    p.set_response_status(p.get_data_length() != 4 ? tlm::TLM_BURST_ERROR_RESPONSE
                                                   : tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return false;
  }
  uint32_t v = 0;
  if (p.is_write()) {
    std::memcpy(&v, p.get_data_ptr(), 4);
    write_reg(static_cast<uint32_t>(a), v);
  } else if (p.is_read()) {
    v = read_reg(static_cast<uint32_t>(a));
    std::memcpy(p.get_data_ptr(), &v, 4);
  }
  p.set_response_status(tlm::TLM_OK_RESPONSE);
  return true;
}

// A register access costs one accelerator cycle.
void CsrBlock::b_transport(tlm::tlm_generic_payload& p, sc_core::sc_time& delay) {
  if (access(p)) delay += ctx_.period();
}

unsigned CsrBlock::transport_dbg(tlm::tlm_generic_payload& p) { return access(p) ? 4 : 0; }

}  // namespace fusesim::hw
