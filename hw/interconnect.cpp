// Routing of TLM transactions by address. The interconnect adds no delay of its own.
#include "interconnect.h"

#include "accelerator.h"

namespace fusesim::hw {

Interconnect::Interconnect(sc_core::sc_module_name name, uint64_t dram_bytes)
    : sc_module(name), target("target"), to_dram("to_dram"), to_csr("to_csr"), dram_bytes_(dram_bytes) {
  target.register_b_transport(this, &Interconnect::b_transport);
  target.register_transport_dbg(this, &Interconnect::transport_dbg);
  target.register_get_direct_mem_ptr(this, &Interconnect::get_direct_mem_ptr);
}

tlm_utils::simple_initiator_socket<Interconnect>* Interconnect::route(tlm::tlm_generic_payload& p,
                                                                      uint64_t& offset) {
  const uint64_t a = p.get_address();
  if (a < dram_bytes_) {
    offset = 0;
    return &to_dram;
  }
  if (a >= kCsrBase && a < kCsrBase + kCsrSpan) {
    offset = kCsrBase;
    return &to_csr;
  }
  return nullptr;
}

void Interconnect::b_transport(int, tlm::tlm_generic_payload& p, sc_core::sc_time& delay) {
  uint64_t offset = 0;
  auto* out = route(p, offset);
  if (!out) {
    p.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  p.set_address(p.get_address() - offset);
  (*out)->b_transport(p, delay);
  p.set_address(p.get_address() + offset);
}

unsigned Interconnect::transport_dbg(int, tlm::tlm_generic_payload& p) {
  uint64_t offset = 0;
  auto* out = route(p, offset);
  if (!out) return 0;
  p.set_address(p.get_address() - offset);
  const unsigned n = (*out)->transport_dbg(p);
  p.set_address(p.get_address() + offset);
  return n;
}

// Only DRAM offers DMI; it sits at offset 0, so its ranges need no translation.
bool Interconnect::get_direct_mem_ptr(int, tlm::tlm_generic_payload& p, tlm::tlm_dmi& dmi) {
  uint64_t offset = 0;
  return route(p, offset) == &to_dram && to_dram->get_direct_mem_ptr(p, dmi);
}

}  // namespace fusesim::hw
