// Address router between the initiators (controller fetch, load DMA, store DMA, host) and the
// targets: DRAM at [0, dram.bytes) and the CSR block at [kCsrBase, kCsrBase + kCsrSpan).
#pragma once

#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>

#include <cstdint>
#include <systemc>
#include <tlm>

namespace fusesim::hw {

class Interconnect : public sc_core::sc_module {
 public:
  tlm_utils::multi_passthrough_target_socket<Interconnect> target;  // every initiator binds here
  tlm_utils::simple_initiator_socket<Interconnect> to_dram, to_csr;

  Interconnect(sc_core::sc_module_name name, uint64_t dram_bytes);

 private:
  uint64_t dram_bytes_;
  // Picks the target and rebases the address to it; null when nothing is mapped there.
  tlm_utils::simple_initiator_socket<Interconnect>* route(tlm::tlm_generic_payload& p, uint64_t& offset);
  void b_transport(int id, tlm::tlm_generic_payload& p, sc_core::sc_time& delay);
  unsigned transport_dbg(int id, tlm::tlm_generic_payload& p);
  bool get_direct_mem_ptr(int id, tlm::tlm_generic_payload& p, tlm::tlm_dmi& dmi);
};

}  // namespace fusesim::hw
